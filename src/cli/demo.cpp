// `spbmm demo`: multiplies the bundled ragged batch, checks it against the reference kernels.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/spbmm.hpp"

namespace spbmm::cli {

namespace {

using T = float;
using I = std::int32_t;

constexpr const char* kDemoHelp =
    "usage: spbmm demo [DIR] [--cols N] [--threads T] [--quiet]\n"
    "\n"
    "Loads every .mtx file in DIR (default: the bundled demo batch) as one ragged CSR batch,\n"
    "plans it (the table shows the kernel chosen for each entry and why), multiplies each\n"
    "entry by a random dense matrix with N columns (default 32), checks the result against\n"
    "the reference kernel on the dense form of each entry, and prints the time per entry, per\n"
    "kernel and for the whole batch. Steps longer than a second show their progress on stderr\n"
    "when it is a terminal. --quiet prints only the summary and no progress.\n"
    "\n"
    "example: spbmm demo --cols 64 --threads 2\n";

std::string default_demo_dir() {
  for (const char* dir : {SPBMM_DEMO_DIR_SOURCE, SPBMM_DEMO_DIR_INSTALLED}) {
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) return dir;
  }
  return SPBMM_DEMO_DIR_SOURCE;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Largest |got - want| / max(1, |want|) over the entry.
double max_rel_error(const DenseView<const T>& got, const DenseView<const T>& want) {
  double worst = 0;
  for (std::int64_t i = 0; i < got.rows; ++i) {
    for (std::int64_t j = 0; j < got.cols; ++j) {
      const double w = want(i, j);
      worst = std::max(worst, std::fabs(got(i, j) - w) / std::max(1.0, std::fabs(w)));
    }
  }
  return worst;
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  std::string dir;
  std::int64_t n = 32;
  int threads = 0;
  bool quiet = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "spbmm demo: %s needs a value\n", arg.c_str());
        return nullptr;
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kDemoHelp, stdout);
      return 0;
    } else if (arg == "--cols" || arg == "--threads") {
      const char* v = value();
      if (v == nullptr) return 2;
      char* end = nullptr;
      const long x = std::strtol(v, &end, 10);
      if (*v == '\0' || *end != '\0' || x < (arg == "--cols" ? 1 : 0) || x > 1000000) {
        std::fprintf(stderr, "spbmm demo: bad value '%s' for %s\n", v, arg.c_str());
        return 2;
      }
      if (arg == "--cols") {
        n = x;
      } else {
        threads = static_cast<int>(x);
      }
    } else if (arg == "--quiet" || arg == "-q") {
      quiet = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "spbmm demo: unknown option '%s' (see spbmm demo --help)\n",
                   arg.c_str());
      return 2;
    } else if (dir.empty()) {
      dir = arg;
    } else {
      std::fprintf(stderr, "spbmm demo: more than one directory given\n");
      return 2;
    }
  }
  if (dir.empty()) dir = default_demo_dir();

  try {
    const auto t_load = std::chrono::steady_clock::now();
    const std::vector<std::string> files = list_matrix_market_files(dir);
    if (files.empty()) {
      std::fprintf(stderr, "spbmm demo: no .mtx files in %s\n", dir.c_str());
      return 1;
    }
    Progress loading("reading " + std::to_string(files.size()) + " files from " + dir, quiet);
    const CsrBatch<T, I> a = read_matrix_market_csr_batch<T, I>(files);
    loading.done();
    const double load_s = seconds_since(t_load);

    // One random right-hand side per entry, cols(A_i) x n.
    std::vector<std::int64_t> b_rows(a.size()), b_cols(a.size(), n);
    for (std::size_t i = 0; i < a.size(); ++i) b_rows[i] = a.cols(i);
    DenseBatch<T> b(b_rows, b_cols);
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<T> u(-1, 1);
    for (auto& x : b.values()) x = u(rng);

    // Analyse once, then run: the plan's choices are what the timings below measure.
    PlanOptions popts;
    popts.threads = threads;
    const auto t_plan = std::chrono::steady_clock::now();
    const Plan<T, I> plan(BatchView<T, I>(a), n, popts);
    const double plan_s = seconds_since(t_plan);
    if (!quiet) std::printf("%s\n", plan.explain().c_str());
    std::fflush(stdout);

    // The table is printed once the runs are over so that progress lines never cut into it.
    std::string table;
    const auto row = [&table](const char* fmt, auto... args) {
      const int len = std::snprintf(nullptr, 0, fmt, args...);
      if (len <= 0) return;
      const std::size_t at = table.size();
      table.resize(at + static_cast<std::size_t>(len) + 1);  // long file names are not cut
      std::snprintf(table.data() + at, static_cast<std::size_t>(len) + 1, fmt, args...);
      table.pop_back();  // snprintf's terminating NUL
    };
    Progress running("multiplying and checking " + std::to_string(a.size()) + " entries", quiet);
    DenseBatch<T> c = plan.execute(b.view());  // warm-up; also the result checked below
    double run_s = 1e300;
    for (int rep = 0; rep < 5; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      plan.execute(c.view(), b.view(), T(1), T(0));
      run_s = std::min(run_s, seconds_since(t0));
    }

    if (!quiet) {
      row("%-5s %-30s %11s %8s %8s %-7s %10s %10s\n", "entry", "file", "shape", "nnz", "density",
          "kernel", "time (ms)", "max error");
    }
    double worst = 0;
    double flops = 0;
    std::map<std::string, double> per_kernel;
    for (std::size_t i = 0; i < a.size(); ++i) {
      // Time the entry alone with the kernel the plan chose for it, best of 3.
      const CsrView<T, I> ai = a.entry(i);
      const Kernel kernel = plan.choices()[i].kernel;
      PlanOptions one_opts = popts;
      one_opts.policy.force = kernel;
      const Plan<T, I> one(BatchView<T, I>({MatrixView<T, I>(ai)}), n, one_opts);
      DenseBatch<T> ci({ai.rows}, {n});
      const auto bi = DenseBatchView<const T>::single(b.entry(i));
      double entry_s = 1e300;
      for (int rep = 0; rep < 3; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        one.execute(ci.view(), bi, T(1), T(0));
        entry_s = std::min(entry_s, seconds_since(t0));
      }
      per_kernel[to_string(kernel)] += entry_s;

      // The check: the reference dense kernel on the dense form of the entry.
      const DenseMatrix<T> ad = to_dense(ai);
      DenseMatrix<T> want(ai.rows, n);
      kernels::reference::dense_dense<T>(Op::N, Op::N, T(1), ad.view(), b.entry(i), T(0),
                                         want.view());
      const double err =
          std::max(max_rel_error(c.entry(i), want.view()), max_rel_error(ci.entry(0), want.view()));
      worst = std::max(worst, err);
      flops += 2.0 * static_cast<double>(ai.nnz()) * static_cast<double>(n);
      if (quiet) continue;
      const double density =
          ai.rows && ai.cols ? static_cast<double>(ai.nnz()) / (double(ai.rows) * double(ai.cols))
                             : 0.0;
      char shape[32];
      std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(ai.rows),
                    static_cast<long long>(ai.cols));
      row("%-5zu %-30s %11s %8lld %8.4f %-7s %10.3f %10.2e\n", i,
          std::filesystem::path(files[i]).filename().string().c_str(), shape,
          static_cast<long long>(ai.nnz()), density, to_string(kernel), entry_s * 1e3, err);
    }
    running.done();
    std::printf("spbmm demo: %zu entries from %s, times a random dense matrix with %lld columns\n",
                a.size(), dir.c_str(), static_cast<long long>(n));
    std::fputs(table.c_str(), stdout);
    if (!quiet) {
      std::printf("\ntime per kernel (entries run alone):");
      for (const auto& [name, secs] : per_kernel)
        std::printf("  %s %.3f ms", name.c_str(), secs * 1e3);
      std::printf("\n");
    }
    const double tol = 1e-4;
    std::printf(
        "load %.1f ms; plan %.1f ms; whole batch %.3f ms (%.2f GFLOP/s, best of 5); max relative "
        "error %.2e\n",
        load_s * 1e3, plan_s * 1e3, run_s * 1e3, run_s > 0 ? flops / run_s * 1e-9 : 0.0, worst);
    if (!(worst <= tol)) {
      std::printf("check: FAILED (error above %.0e)\n", tol);
      return 1;
    }
    std::printf("check: OK (every entry within %.0e of the reference)\n", tol);
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "spbmm demo: %s\n", e.what());
    return 1;
  }
}

}  // namespace spbmm::cli
