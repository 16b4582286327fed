// The `spbmm` subcommands; each takes the arguments after its name and returns the exit code
// (0 success, 1 bad input, 2 bad usage). Errors go to stderr as one line.
#pragma once

namespace spbmm::cli {

int cmd_demo(int argc, char** argv);
int cmd_info(int argc, char** argv);
int cmd_convert(int argc, char** argv);
int cmd_multiply(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_calibrate(int argc, char** argv);

}  // namespace spbmm::cli
