// `spbmm bench`: times the named workloads against their baselines, in-process, in the same run.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "spbmm/error.hpp"
#include "suite.hpp"

namespace spbmm::cli {

namespace {

constexpr const char* kBenchHelp =
    "usage: spbmm bench [W1 ... W10 W12 | all] [--threads T] [--reps R] [--json] [--double]\n"
    "\n"
    "Generates the named benchmark workloads (default: all; defined in bench/WORKLOADS.md and\n"
    "src/cli/bench/workloads.hpp) and times spbmm on each against its baselines in the same\n"
    "run: spbmm through a Plan built once (its build time is reported apart) and executed\n"
    "repeatedly; Eigen and OpenBLAS as the workload names them. After one warm-up, R rounds\n"
    "run spbmm and every baseline in turn; each one's best round counts. Each baseline's result\n"
    "is compared with spbmm's (max relative error); the exit status is 1 when one is off.\n"
    "  W1 W2   dense batches: Eigen per entry, OpenBLAS gemm per entry\n"
    "  W3      one R-MAT graph x dense: Eigen row-major sparse x row-major dense\n"
    "  W4      batched sparse: Eigen loop\n"
    "  W5      ragged dense: Eigen per entry, dynamic schedule\n"
    "  W6 W9   Matrix Market read / write of the W3 matrix in a temporary directory (MB/s)\n"
    "  W7      dispatcher: auto against each forced kernel and the per-entry best\n"
    "  W8      GNN mini-batch: Eigen per-graph loop and Eigen block-diagonal\n"
    "  W10     batched SDDMM on the W8 graphs, k = 128: a plain OpenMP loop\n"
    "  W12     max-reduce SpMM (with arg indices) on the W3 graph, N = 64: a plain OpenMP loop\n"
    "With the Intel MKL backend, W1 W2 W3 W4 W5 W8 also time plans forced to Kernel::Mkl and\n"
    "to the CPU kernel of their format (forced-mkl, forced-sparse or forced-dense) and note what\n"
    "auto chose; auto considers MKL with MKL figures only (SPBMM_MACHINE_FILE from spbmm\n"
    "calibrate).\n"
    "Ratios are baseline time / spbmm time: above 1 means spbmm is faster.\n"
    "\n"
    "options:\n"
    "  --threads T   threads for spbmm and every baseline (default 2)\n"
    "  --reps R      timed runs per measurement (default 5)\n"
    "  --json        one JSON object per workload per line instead of the table\n"
    "  --double      fp64 instead of fp32\n"
    "Exit status: 0 when every result checks, 1 when one does not, 2 for bad usage.\n"
    "\n"
    "example: spbmm bench W3 W7 --threads 2 --reps 5\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "spbmm bench: %s (see spbmm bench --help)\n", msg.c_str());
  return 2;
}

void print_header() {
  std::printf("%-4s %-5s %11s %9s %9s %10s  %-16s %11s %8s\n", "id", "prec", "spbmm ms", "GFLOP/s",
              "plan ms", "max err", "baseline", "ms", "ratio");
}

void print_row(const bench::WorkloadResult& r) {
  char rate[32];
  char plan[32];
  if (r.bytes > 0) {
    std::snprintf(rate, sizeof rate, "%.0f MB/s", r.mb_per_s);
    std::snprintf(plan, sizeof plan, "-");
  } else {
    std::snprintf(rate, sizeof rate, "%.2f", r.gflops);
    std::snprintf(plan, sizeof plan, "%.3f", r.plan_seconds * 1e3);
  }
  std::printf("%-4s %-5s %11.3f %9s %9s %10.2e", r.workload.c_str(), r.precision.c_str(),
              r.spbmm_seconds * 1e3, rate, plan, r.max_rel_error);
  if (r.baselines.empty()) std::printf("  %-16s %11s %8s", "-", "-", "-");
  for (std::size_t i = 0; i < r.baselines.size(); ++i) {
    const auto& b = r.baselines[i];
    if (i > 0) std::printf("\n%-4s %-5s %11s %9s %9s %10s", "", "", "", "", "", "");
    std::printf("  %-16s %11.3f %7.2fx", b.name.c_str(), b.seconds * 1e3,
                b.seconds / r.spbmm_seconds);
  }
  std::printf("%s\n", r.ok ? "" : "   CHECK FAILED");
  for (const auto& note : r.notes) std::printf("     %s\n", note.c_str());
  std::fflush(stdout);
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  bench::SuiteOptions opts;
  bool json = false;
  std::vector<std::string> ids;
  const auto& known = bench::workload_ids();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kBenchHelp, stdout);
      return 0;
    } else if (arg == "--threads" || arg == "--reps") {
      if (i + 1 >= argc) return usage_error(arg + " needs a value");
      const char* v = argv[++i];
      char* end = nullptr;
      const long x = std::strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || x < 1 || x > 100000) {
        return usage_error("bad value '" + std::string(v) + "' for " + arg);
      }
      (arg == "--threads" ? opts.threads : opts.reps) = static_cast<int>(x);
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--double") {
      opts.use_double = true;
    } else if (!arg.empty() && arg[0] == '-') {
      return usage_error("unknown option '" + arg + "'");
    } else if (arg == "all") {
      ids.insert(ids.end(), known.begin(), known.end());
    } else {
      std::string id = arg;
      if (!id.empty() && id[0] == 'w') id[0] = 'W';
      if (std::find(known.begin(), known.end(), id) == known.end()) {
        return usage_error("unknown workload '" + arg + "' (expected W1 .. W10, W12 or all)");
      }
      ids.push_back(id);
    }
  }
  if (ids.empty()) ids = known;

  int status = 0;
  if (!json) {
    std::printf("spbmm bench: %d threads, best of %d runs after a warm-up\n", opts.threads,
                opts.reps);
    print_header();
  }
  for (const auto& id : ids) {
    try {
      const bench::WorkloadResult r = bench::run_workload(id, opts);
      if (json) {
        std::printf("%s\n", bench::to_json(r).c_str());
        std::fflush(stdout);
      } else {
        print_row(r);
      }
      if (!r.ok) {
        std::fprintf(stderr,
                     "spbmm bench: %s: results differ from a baseline (max relative error "
                     "%.3g > %.3g)\n",
                     id.c_str(), r.max_rel_error, r.tolerance);
        status = 1;
      }
    } catch (const Error& e) {
      std::fprintf(stderr, "spbmm bench: %s: %s\n", id.c_str(), e.what());
      status = 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "spbmm bench: %s: out of memory\n", id.c_str());
      status = 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "spbmm bench: %s: %s\n", id.c_str(), e.what());
      status = 1;
    }
  }
  return status;
}

}  // namespace spbmm::cli
