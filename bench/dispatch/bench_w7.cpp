// Benchmarks the dispatcher on W7 (Auto against each kernel forced, and the per-entry best);
// --calibrate prints MachineModel::calibrate() instead.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "spbmm/plan.hpp"
#include "workloads.hpp"

namespace {

using spbmm::BatchView;
using spbmm::CsrBatch;
using spbmm::DenseBatch;
using spbmm::Kernel;
using spbmm::Plan;
using spbmm::PlanOptions;
using Clock = std::chrono::steady_clock;
using T = float;
using I = std::int32_t;

struct Args {
  int threads = 2;
  int reps = 7;
  int calls = 1;  // Policy::expected_calls for the Auto plan
  bool calibrate = false;
  bool explain = false;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: bench_w7 [--threads T] [--reps R>=5] [--expected-calls K] [--explain]\n"
      "       bench_w7 --calibrate [--threads T]\n"
      "Times W7 (fp32) through Plan::execute with Auto and with Sparse, Dense and Eigen\n"
      "forced for the whole batch, interleaved, best of R after a warm-up; then the\n"
      "per-entry best (each entry alone with each forced kernel, the fastest summed).\n"
      "--explain prints the Auto plan and the entries where Auto did not pick the kernel\n"
      "that was fastest alone. --calibrate prints MachineModel::calibrate(T).to_text().\n");
}

bool parse(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    const auto number = [&](int& out) {
      if (i + 1 >= argc) return false;
      out = std::atoi(argv[++i]);
      return true;
    };
    if (s == "--threads") {
      if (!number(a.threads)) return false;
    } else if (s == "--reps") {
      if (!number(a.reps)) return false;
    } else if (s == "--expected-calls") {
      if (!number(a.calls)) return false;
    } else if (s == "--calibrate") {
      a.calibrate = true;
    } else if (s == "--explain") {
      a.explain = true;
    } else {
      return false;
    }
  }
  return a.threads >= 1 && a.reps >= 5 && a.calls >= 1;
}

double seconds_of(const Plan<T, I>& plan, const DenseBatch<T>& b, DenseBatch<T>& c) {
  const auto start = Clock::now();
  plan.execute(c.view(), b.view());
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Interleaved best-of: one warm-up each, then `reps` rounds that time every plan once.
std::vector<double> best_of(const std::vector<const Plan<T, I>*>& plans, const DenseBatch<T>& b,
                            DenseBatch<T>& c, int reps) {
  std::vector<double> best(plans.size(), std::numeric_limits<double>::infinity());
  for (const auto* p : plans) seconds_of(*p, b, c);
  for (int r = 0; r < reps; ++r) {
    for (std::size_t k = 0; k < plans.size(); ++k) {
      best[k] = std::min(best[k], seconds_of(*plans[k], b, c));
    }
  }
  return best;
}

DenseBatch<T> output_for(const CsrBatch<T, I>& a, std::int64_t n) {
  std::vector<std::int64_t> rows(a.size()), cols(a.size(), n);
  for (std::size_t i = 0; i < a.size(); ++i) rows[i] = a.rows(i);
  return DenseBatch<T>(std::move(rows), std::move(cols));
}

PlanOptions forced(Kernel k, int threads) {
  PlanOptions po;
  po.threads = threads;
  po.policy.force = k;
  return po;
}

int run_w7(const Args& args) {
  const CsrBatch<T, I> a = spbmm::bench::w7_batch<T, I>();
  const std::int64_t n = 64;
  const DenseBatch<T> b = spbmm::bench::rhs_for(a, n);
  DenseBatch<T> c = output_for(a, n);
  const BatchView<T, I> av(a);
  double flops = 0;
  for (std::size_t i = 0; i < a.size(); ++i) flops += 2.0 * static_cast<double>(a.nnz(i) * n);

  PlanOptions auto_opts;
  auto_opts.threads = args.threads;
  auto_opts.policy.expected_calls = args.calls;
  const auto t0 = Clock::now();
  const Plan<T, I> plan_auto(av, n, auto_opts);
  const double build = std::chrono::duration<double>(Clock::now() - t0).count();
  const Plan<T, I> plan_sparse(av, n, forced(Kernel::Sparse, args.threads));
  const Plan<T, I> plan_dense(av, n, forced(Kernel::Dense, args.threads));
  const Plan<T, I> plan_eigen(av, n, forced(Kernel::Eigen, args.threads));
  if (args.explain) std::printf("%s\n", plan_auto.explain().c_str());

  const std::vector<double> t =
      best_of({&plan_auto, &plan_sparse, &plan_dense, &plan_eigen}, b, c, args.reps);

  // Per-entry best: every entry alone under each forced kernel.
  const Kernel kernels[] = {Kernel::Sparse, Kernel::Dense, Kernel::Eigen};
  double per_entry_best = 0;
  int agree = 0;
  double auto_choice_alone = 0;
  const std::vector<spbmm::DenseMatrix<T>> b_list = b.to_list();
  for (std::size_t i = 0; i < a.size(); ++i) {
    BatchView<T, I> one;
    one.push_back(a.entry(i));
    const DenseBatch<T> bi = DenseBatch<T>::from_list({b_list[i]});
    DenseBatch<T> ci = DenseBatch<T>::uniform(1, a.rows(i), n);
    std::vector<Plan<T, I>> plans;
    for (Kernel k : kernels) plans.emplace_back(one, n, forced(k, args.threads));
    const std::vector<double> ti = best_of({&plans[0], &plans[1], &plans[2]}, bi, ci, args.reps);
    const std::size_t fastest =
        static_cast<std::size_t>(std::min_element(ti.begin(), ti.end()) - ti.begin());
    per_entry_best += ti[fastest];
    const Kernel chosen = plan_auto.choices()[i].kernel;
    if (chosen == kernels[fastest]) ++agree;
    for (std::size_t k = 0; k < 3; ++k) {
      if (kernels[k] == chosen) auto_choice_alone += ti[k];
    }
    if (args.explain && chosen != kernels[fastest]) {
      std::printf(
          "entry %2zu (%lldx%lld, nnz %lld): auto %s, alone: sparse %.3f dense %.3f eigen "
          "%.3f ms\n",
          i, static_cast<long long>(a.rows(i)), static_cast<long long>(a.cols(i)),
          static_cast<long long>(a.nnz(i)), spbmm::to_string(chosen), ti[0] * 1e3, ti[1] * 1e3,
          ti[2] * 1e3);
    }
  }

  int count[6] = {};
  for (const auto& ch : plan_auto.choices()) ++count[static_cast<int>(ch.kernel)];
  std::printf(
      "W7: 64 CSR entries, M,K in [256,2048], N = 64, densities 0.001/0.01/0.1/0.5; "
      "fp32, %d threads, best of %d after a warm-up\n",
      args.threads, args.reps);
  std::printf("auto plan: %d sparse, %d dense, %d eigen (expected_calls %d), built in %.1f ms\n",
              count[static_cast<int>(Kernel::Sparse)], count[static_cast<int>(Kernel::Dense)],
              count[static_cast<int>(Kernel::Eigen)], args.calls, build * 1e3);
  const auto row = [&](const char* name, double s) {
    std::printf("  %-28s %9.2f ms  %7.1f GFLOP/s (2*nnz*N)  auto speedup %.2fx\n", name, s * 1e3,
                flops / s / 1e9, s / t[0]);
  };
  row("auto", t[0]);
  row("sparse forced", t[1]);
  row("dense forced", t[2]);
  row("eigen forced", t[3]);
  row("per-entry best (sum alone)", per_entry_best);
  row("auto's choices (sum alone)", auto_choice_alone);
  std::printf(
      "auto / per-entry best = %.3f (bar: <= 1.1); auto picked the fastest kernel for "
      "%d of %zu entries\n",
      t[0] / per_entry_best, agree, a.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    usage();
    return 2;
  }
  try {
    if (args.calibrate) {
      std::printf("%s", spbmm::MachineModel::calibrate(args.threads).to_text().c_str());
      return 0;
    }
    omp_set_num_threads(args.threads);
    return run_w7(args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_w7: %s\n", e.what());
    return 1;
  }
}
