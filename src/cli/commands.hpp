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
// `spbmm multiply` under MPI (mpi_multiply.cpp): runs it and returns true when asked for
// (--distribute) or started as one of several MPI ranks; false leaves it to one process.
bool multiply_distributed(int argc, char** argv, int& status);

}  // namespace spbmm::cli
