// `spbmm calibrate`: measures this machine's kernel speeds (the dispatcher's MachineModel).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "cli/commands.hpp"
#include "dispatch/gpu_cache.hpp"
#include "io/atomic_file.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::cli {

namespace {

constexpr const char* kCalibrateHelp =
    "usage: spbmm calibrate [--threads T] [-o FILE]\n"
    "\n"
    "Measures the throughput of each CPU kernel on this machine (and of the GPU when one is\n"
    "present, and of Intel MKL's SpMM and gemm where the MKL backend loads), which is what\n"
    "the dispatcher compares when it picks a kernel per entry, and how fast each thread reads\n"
    "memory that no cache holds (stream_gbps; cache_mb is a quarter of the last-level cache the\n"
    "system reports), which it adds for batches that outgrow it. Takes a few seconds; run it on\n"
    "a quiet machine. Prints the figures as 'key = value' lines, or\n"
    "writes them to FILE with -o.\n"
    "\n"
    "With a GPU, its figures are also written to the per-device cache\n"
    "($XDG_CACHE_HOME/spbmm, else ~/.cache/spbmm) that plans read when SPBMM_MACHINE_FILE is\n"
    "not set; without a cache file a plan measures them itself the first time a device could\n"
    "matter (SPBMM_GPU_AUTOCALIBRATE=0 turns that off).\n"
    "\n"
    "To use a calibration, point SPBMM_MACHINE_FILE at the file: plans built without an\n"
    "explicit MachineModel then use it instead of the built-in defaults. `spbmm multiply\n"
    "--machine FILE` uses a file for one run; from C++, load it with\n"
    "MachineModel::from_text and pass it in PlanOptions::machine.\n"
    "\n"
    "options:\n"
    "  --threads T   threads to calibrate for (default: the OpenMP default)\n"
    "  -o FILE       write the figures to FILE instead of printing them (FILE is checked\n"
    "                before measuring, and replaced only by a complete file)\n"
    "Exit status: 0 on success, 1 when FILE cannot be written, 2 for bad usage.\n"
    "\n"
    "example: spbmm calibrate --threads 2 -o ~/.spbmm_machine && "
    "export SPBMM_MACHINE_FILE=~/.spbmm_machine\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "spbmm calibrate: %s (see spbmm calibrate --help)\n", msg.c_str());
  return 2;
}

}  // namespace

int cmd_calibrate(int argc, char** argv) {
  int threads = 0;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kCalibrateHelp, stdout);
      return 0;
    } else if (arg == "--threads") {
      if (i + 1 >= argc) return usage_error("--threads needs a value");
      const char* v = argv[++i];
      char* end = nullptr;
      const long t = std::strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || t < 0 || t > 4096) {
        return usage_error("bad value '" + std::string(v) + "' for --threads");
      }
      threads = static_cast<int>(t);
    } else if (arg == "-o" || arg == "--output") {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') return usage_error(arg + " needs a file name");
      out = argv[++i];
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown option '" + arg + "'");
    } else {
      return usage_error("unexpected argument '" + arg + "'");
    }
  }
  try {
    if (!out.empty()) detail::check_output_file(out);  // fail now, not after the measurement
    const MachineModel model = MachineModel::calibrate(threads);
    const std::string text = model.to_text();
    // The device's figures also go to the per-device cache that plans read by default.
    try {
      const std::string cached = dispatch::refresh_gpu_cache(model);
      if (!cached.empty())
        std::fprintf(stderr, "spbmm calibrate: GPU figures cached in %s\n", cached.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "spbmm calibrate: warning: GPU figures not cached: %s\n", e.what());
    }
    if (out.empty()) {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    detail::write_file_atomically(out, text);
    std::printf("spbmm calibrate: wrote %s\n", out.c_str());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "spbmm calibrate: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "spbmm calibrate: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spbmm calibrate: %s\n", e.what());
    return 1;
  }
}

}  // namespace spbmm::cli
