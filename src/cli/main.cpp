// `spbmm`: the command-line front end; dispatches to one subcommand.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cli/commands.hpp"
#include "dispatch/gpu_cache.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/config.hpp"
#include "spbmm/gpu.hpp"

namespace {

void print_help(std::FILE* out) {
  std::fputs(
      "usage: spbmm <command> [options]\n"
      "\n"
      "Batched matrix products C_i = alpha * op(A_i) * op(B_i) + beta * C_i where each A_i may be\n"
      "sparse (CSR or COO) or dense, and entries may differ in shape.\n"
      "\n"
      "commands:\n"
      "  multiply  multiply Matrix Market files: C_i = alpha * op(A_i) * B_i + beta * C_i\n"
      "  bench     time the named workloads (W1..W12) against Eigen and OpenBLAS baselines\n"
      "  calibrate measure this machine's kernel speeds for the dispatcher\n"
      "  demo      multiply a bundled ragged batch, check it against the reference kernels\n"
      "  info      describe Matrix Market files, or the batch a directory of them forms\n"
      "  convert   rewrite a Matrix Market file\n"
      "\n"
      "  spbmm <command> --help   options of one command\n"
      "  spbmm --version          the version and the features built in\n"
      "  spbmm --gpu              whether a GPU is usable, and why not (exit status 1 if not),\n"
      "                           and where the dispatcher's figures for it are cached\n"
      "  spbmm --mkl              whether the Intel MKL backend loads, and why not (exit status 1\n"
      "                           if not)\n"
      "\n"
      "environment:\n"
      "  SPBMM_MACHINE_FILE=FILE      the dispatcher's figures (spbmm calibrate -o FILE)\n"
      "  SPBMM_MKL_PLUGIN=FILE        the MKL backend to open (else libspbmm_mkl.so next to\n"
      "                               libspbmm)\n"
      "  SPBMM_GPU_AUTOCALIBRATE=0    never measure a GPU's figures unasked (else measured once\n"
      "                               and cached in $XDG_CACHE_HOME/spbmm or ~/.cache/spbmm)\n",
      out);
}

// Which OpenBLAS build the process loaded: its OpenMP build shares spbmm's threads, the pthreads
// build runs a pool of its own. Looked up by name, so the command needs no BLAS header.
const char* blas_name() {
  if (!SPBMM_HAVE_BLAS) return "no (built without BLAS)";
  using Parallel = int (*)();
  auto parallel = reinterpret_cast<Parallel>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (parallel == nullptr) return "OpenBLAS";
  switch (parallel()) {
    case 0:
      return "OpenBLAS (sequential)";
    case 1:
      return "OpenBLAS (pthreads: its own thread pool)";
    case 2:
      return "OpenBLAS (OpenMP: spbmm's thread pool)";
    default:
      return "OpenBLAS";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("spbmm: no command given (see spbmm --help)\n", stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    print_help(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "-V") {
    std::printf("spbmm %s\n", SPBMM_VERSION);
    std::printf("  OpenMP threads: %s\n", SPBMM_HAVE_OPENMP ? "yes" : "no (built without OpenMP)");
    std::printf("  BLAS for large dense products: %s\n", blas_name());
    std::printf(
        "  small dense kernels generated per shape: %s\n",
        SPBMM_HAVE_XSMM ? "LIBXSMM (in plans that repay them)" : "no (built without LIBXSMM)");
    std::printf("  CPU sparse kernels: %s\n",
                spbmm::kernels::cpu::to_string(spbmm::kernels::cpu::active_isa()));
    // No device query here: it would open the CUDA backend (hundreds of MB) just to print a line.
    std::printf("  GPU backend: %s\n", SPBMM_HAVE_CUDA
                                           ? "built in (loaded on first use; spbmm --gpu probes it)"
                                           : "not built in");
    std::printf("  Intel MKL backend: %s\n",
                SPBMM_HAVE_MKL ? "built in (loaded on first use; spbmm --mkl probes it)"
                               : "not built in (-Dmkl)");
    return 0;
  }
  if (cmd == "--mkl") {
    std::printf("%s\n", spbmm::kernels::mkl::status().c_str());
    return spbmm::kernels::mkl::available() ? 0 : 1;
  }
  if (cmd == "--gpu") {
    std::printf("%s\n", spbmm::gpu::status().c_str());
    if (!spbmm::gpu::available()) return 1;
    const std::string dir = spbmm::dispatch::gpu_cache_dir();
    if (std::getenv("SPBMM_MACHINE_FILE") != nullptr) {
      std::printf("GPU figures: from SPBMM_MACHINE_FILE\n");
    } else if (!dir.empty()) {
      const std::string path = spbmm::dispatch::gpu_cache_file(dir, spbmm::gpu::identity());
      spbmm::MachineModel m;
      std::string why;
      const bool ok = spbmm::dispatch::read_gpu_cache(
          path, spbmm::dispatch::device_key(spbmm::gpu::identity()), m, why);
      std::printf(
          "GPU figures: %s %s%s\n", ok ? "cached in" : "not cached yet:", path.c_str(),
          ok ? "" : (why.empty() ? " (measured on first use)" : (" (" + why + ")").c_str()));
    }
    return 0;
  }
  if (cmd == "demo") return spbmm::cli::cmd_demo(argc - 1, argv + 1);
  if (cmd == "info") return spbmm::cli::cmd_info(argc - 1, argv + 1);
  if (cmd == "convert") return spbmm::cli::cmd_convert(argc - 1, argv + 1);
  if (cmd == "multiply") return spbmm::cli::cmd_multiply(argc - 1, argv + 1);
  if (cmd == "bench") return spbmm::cli::cmd_bench(argc - 1, argv + 1);
  if (cmd == "calibrate") return spbmm::cli::cmd_calibrate(argc - 1, argv + 1);
  std::fprintf(stderr, "spbmm: unknown command '%s' (see spbmm --help)\n", cmd.c_str());
  return 2;
}
