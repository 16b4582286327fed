// `spbmm`: the command-line front end; dispatches to one subcommand.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cli/commands.hpp"
#include "kernels/cpu/isa.hpp"
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
      "  spbmm --version          the version and the features built in\n",
      out);
}

}  // namespace

// OpenBLAS's pthreads build starts its own thread pool when the process loads it, and idle pool
// threads spin for about 2^28 cycles before sleeping: they take the cores from spbmm's OpenMP
// threads for the first tenth of a second of every run (a short command ran 250x slower on 2
// cores). OpenBLAS reads OPENBLAS_THREAD_TIMEOUT only when it loads, so the command restarts
// itself once with a short timeout unless the caller has set one.
static void shorten_openblas_spin(char** argv) {
#if SPBMM_HAVE_BLAS
  if (std::getenv("OPENBLAS_THREAD_TIMEOUT") != nullptr) return;
  if (setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
#else
  (void)argv;
#endif
}

int main(int argc, char** argv) {
  shorten_openblas_spin(argv);
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
    std::printf("  BLAS for large dense products: %s\n",
                SPBMM_HAVE_BLAS ? "OpenBLAS" : "no (built without BLAS)");
    std::printf("  CPU sparse kernels: %s\n",
                spbmm::kernels::cpu::to_string(spbmm::kernels::cpu::sparse_isa()));
    std::printf("  GPU backend: %s\n", SPBMM_HAVE_CUDA ? "built in" : "not built in");
    if (SPBMM_HAVE_CUDA) std::printf("  GPU: %s\n", spbmm::gpu::status().c_str());
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
