// Dense batch benchmark: spbmm's cpu dense batch path against Eigen and OpenBLAS per entry on
// workloads W1, W2 and W5 (bench/WORKLOADS.md), measured interleaved in the same run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "baselines_dense.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "spbmm/dense.hpp"
#include "workloads.hpp"

namespace {

using spbmm::DenseBatch;
using spbmm::DenseView;
using spbmm::bench::DenseShapes;

struct Args {
  int threads = 2;
  int reps = 7;
  std::vector<std::string> workloads;
  std::vector<std::string> precisions;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: bench_dense [--threads T] [--reps R] [--precision f32|f64|both] "
      "[W1] [W2] [W5]\n"
      "Runs each workload with spbmm (cpu::dense_batch), Eigen per entry and OpenBLAS per\n"
      "entry, interleaved, and prints the best of R runs after a warm-up.\n");
}

bool parse(int argc, char** argv, Args& args) {
  std::string precision = "both";
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if ((s == "--threads" || s == "--reps" || s == "--precision") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (s == "--threads") args.threads = std::atoi(v.c_str());
      if (s == "--reps") args.reps = std::atoi(v.c_str());
      if (s == "--precision") precision = v;
    } else if (s == "W1" || s == "W2" || s == "W5") {
      args.workloads.push_back(s);
    } else {
      return false;
    }
  }
  if (args.threads < 1 || args.reps < 1) return false;
  if (precision == "both") {
    args.precisions = {"f32", "f64"};
  } else if (precision == "f32" || precision == "f64") {
    args.precisions = {precision};
  } else {
    return false;
  }
  if (args.workloads.empty()) args.workloads = {"W1", "W2", "W5"};
  return true;
}

DenseShapes shapes_for(const std::string& w) {
  if (w == "W1") return spbmm::bench::w1_shapes();
  if (w == "W2") return spbmm::bench::w2_shapes();
  return spbmm::bench::w5_shapes();
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Largest elementwise difference relative to max(1, |want|).
template <class T>
double max_rel_diff(const DenseBatch<T>& got, const DenseBatch<T>& want) {
  double worst = 0;
  for (std::size_t i = 0; i < got.values().size(); ++i) {
    const double w = want.values()[i];
    const double d = std::fabs(static_cast<double>(got.values()[i]) - w);
    worst = std::max(worst, std::isnan(d) ? std::numeric_limits<double>::infinity()
                                          : d / std::max(1.0, std::fabs(w)));
  }
  return worst;
}

template <class T>
bool run(const std::string& name, const char* precision, const Args& args) {
  const DenseShapes s = shapes_for(name);
  DenseBatch<T> a, b;
  spbmm::bench::dense_operands(s, a, b);
  const std::vector<DenseBatch<T>> c(3, DenseBatch<T>(s.m, s.n));
  std::vector<DenseBatch<T>> out = c;
  double flops = 0;
  std::int64_t max_k = 1;
  for (std::size_t i = 0; i < s.m.size(); ++i) {
    flops += 2.0 * static_cast<double>(s.m[i]) * static_cast<double>(s.k[i]) *
             static_cast<double>(s.n[i]);
    max_k = std::max(max_k, s.k[i]);
  }
  const std::vector<DenseView<const T>> va = std::as_const(a).view().entries();
  const std::vector<DenseView<const T>> vb = std::as_const(b).view().entries();
  std::vector<std::vector<DenseView<T>>> vc;
  for (auto& o : out) vc.push_back(o.view().entries());

  const bool blas = spbmm::bench::have_blas_baseline();
  const int t = args.threads;
  const std::vector<std::function<void()>> methods = {
      [&] {
        spbmm::kernels::cpu::dense_batch<T>(spbmm::Op::N, spbmm::Op::N, T(1), va, vb, T(0), vc[0],
                                            t);
      },
      [&] { spbmm::bench::eigen_per_entry<T>(va, vb, vc[1], t); },
      [&] {
        if (blas) spbmm::bench::blas_per_entry<T>(va, vb, vc[2], t);
      },
  };
  std::vector<double> best(methods.size(), std::numeric_limits<double>::infinity());
  for (const auto& m : methods) m();  // warm-up: page faults, thread pools, caches
  // Interleaved so that noise from other processes hits every method alike.
  for (int r = 0; r < args.reps; ++r) {
    for (std::size_t m = 0; m < methods.size(); ++m)
      best[m] = std::min(best[m], seconds_of(methods[m]));
  }
  const double tol =
      16.0 * static_cast<double>(std::numeric_limits<T>::epsilon()) * static_cast<double>(max_k);
  const double err_eigen = max_rel_diff(out[0], out[1]);
  const double err_blas = blas ? max_rel_diff(out[0], out[2]) : 0.0;
  const bool ok = err_eigen <= tol && err_blas <= tol;
  const double g0 = flops / best[0] * 1e-9;
  const double g1 = flops / best[1] * 1e-9;
  const double g2 = blas ? flops / best[2] * 1e-9 : 0.0;
  std::printf("%-4s %-4s %8.1f %8.1f %8.1f %9.2f %9.2f  %-8s %.1e\n", name.c_str(), precision, g0,
              g1, g2, g0 / g1, blas ? g0 / g2 : 0.0, ok ? "ok" : "MISMATCH",
              std::max(err_eigen, err_blas));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    usage();
    return 2;
  }
  std::printf("threads %d, best of %d runs after a warm-up; GFLOP/s counts 2*M*K*N\n", args.threads,
              args.reps);
  std::printf("%-4s %-4s %8s %8s %8s %9s %9s  %-8s %s\n", "wl", "prec", "spbmm", "Eigen",
              "OpenBLAS", "x Eigen", "x BLAS", "check", "max rel diff");
  bool ok = true;
  for (const auto& w : args.workloads) {
    for (const auto& p : args.precisions) {
      ok = (p == "f32" ? run<float>(w, "f32", args) : run<double>(w, "f64", args)) && ok;
    }
  }
  return ok ? 0 : 1;
}
