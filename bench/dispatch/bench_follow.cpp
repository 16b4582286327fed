// What following A's values costs a Plan: W8 (512 graphs, N = 128) forward (op N) and backward
// (op T, transposes derived at plan time), executed with unchanged values, with values changed
// before every execute, and with the values declared constant.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "spbmm/plan.hpp"
#include "workloads.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using T = float;
using I = std::int32_t;

// Best of `reps` timings of f() (after one warm-up call), in seconds.
template <class F>
double best_of(int reps, F&& f) {
  f();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int reps = 10;
  std::int64_t n = 128;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--n" && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_follow [--threads T] [--reps R] [--n N]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1 || n < 1) {
    std::fprintf(stderr, "bench_follow: --threads, --reps and --n must be positive\n");
    return 2;
  }
  omp_set_num_threads(threads);
  spbmm::CsrBatch<T, I> a = spbmm::bench::w8_batch<T, I>();
  // Square graphs: B and C of one shape serve both ops.
  const spbmm::DenseBatch<T> b = spbmm::bench::rhs_for<T, I>(a, n);
  spbmm::DenseBatch<T> c = b;
  std::printf("W8 follow-values cost: %zu graphs, %lld nnz, N = %lld, %d threads, best of %d\n",
              a.size(), static_cast<long long>(a.total_nnz()), static_cast<long long>(n), threads,
              reps);
  std::printf("%-4s %-28s %10s %10s\n", "op", "plan", "ms", "vs const");
  for (const spbmm::Op op : {spbmm::Op::N, spbmm::Op::T}) {
    spbmm::PlanOptions po;
    po.op_a = op;
    po.threads = threads;
    po.constant_values = true;
    const spbmm::Plan<T, I> constant(spbmm::BatchView<T, I>(a), n, po);
    po.constant_values = false;
    const spbmm::Plan<T, I> following(spbmm::BatchView<T, I>(a), n, po);
    const double t_const = best_of(reps, [&] { constant.execute(c.view(), b.view()); });
    const double t_same = best_of(reps, [&] { following.execute(c.view(), b.view()); });
    // The values change before every execute: one value flips sign, which keeps the work of the
    // caller out of the timing and still makes every derived form of its entry stale.
    T* first = a.values().data();
    const double t_new = best_of(reps, [&] {
      *first = -*first;
      following.execute(c.view(), b.view());
    });
    // And every value changes: the full refresh.
    auto& values = a.values();
    double t_all_work = 0;
    const double t_all = best_of(reps, [&] {
      const auto t0 = Clock::now();
      for (T& v : values) v = -v;
      t_all_work = std::chrono::duration<double>(Clock::now() - t0).count();
      following.execute(c.view(), b.view());
    });
    const char* name = op == spbmm::Op::N ? "N" : "T";
    std::printf("%-4s %-28s %10.3f %10s\n", name, "constant values", t_const * 1e3, "1.000");
    std::printf("%-4s %-28s %10.3f %10.3f\n", name, "following, values unchanged", t_same * 1e3,
                t_same / t_const);
    std::printf("%-4s %-28s %10.3f %10.3f\n", name, "following, one value changed", t_new * 1e3,
                t_new / t_const);
    std::printf("%-4s %-28s %10.3f %10.3f  (of which %.3f ms negating the values)\n", name,
                "following, all values changed", t_all * 1e3, t_all / t_const, t_all_work * 1e3);
  }
  return 0;
}
