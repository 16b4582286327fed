// Dense batch benchmark: spbmm's cpu dense batch path against Eigen and OpenBLAS per entry on
// workloads W1, W2 and W5 (bench/WORKLOADS.md), measured interleaved in the same run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "baselines_dense.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "kernels/cpu/isa.hpp"
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
  // Kernel paths timed side by side (empty: the default path only).
  std::vector<spbmm::kernels::cpu::Isa> isas;
  bool blas_route = true;
  // Time with the process's CPU clock instead of the wall clock: on a loaded machine, with
  // --threads 1, it leaves out the time the process waited for a core.
  bool cpu_clock = false;
  // Also time each path with op(B) = T, B stored transposed (the same products).
  bool op_b_t = false;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: bench_dense [--threads T] [--reps R] [--precision f32|f64|both]\n"
      "                   [--isa default|avx512|avx2|generic|all[,...]] [--no-blas-route]\n"
      "                   [--cpu-clock] [--op-b-t]\n"
      "                   [W1] [W2] [W5] [sim] [cube:S]...\n"
      "Runs each workload with spbmm (cpu::dense_batch), Eigen per entry and OpenBLAS per\n"
      "entry, interleaved, and prints the best of R runs after a warm-up. --isa times the\n"
      "listed kernel paths (those the CPU supports) side by side; --no-blas-route keeps every\n"
      "product, however large, on the register-blocked kernel. cube:S is a batch of S^3\n"
      "products of about 2 GFLOP in all. --cpu-clock times with the process CPU clock (for a\n"
      "loaded machine, with --threads 1). --op-b-t also times every path with op(B) = T on\n"
      "B stored transposed (rows marked /T). sim is the similarity batch of the recommender\n"
      "example: 2000 entries of M in [1, 16], K = 64, N in [20, 300].\n");
}

using spbmm::kernels::cpu::Isa;

// A comma-separated list of paths; the ones the CPU lacks are dropped.
bool parse_isas(const std::string& list, std::vector<Isa>& out) {
  const Isa best = spbmm::kernels::cpu::best_isa();
  const auto add = [&](Isa isa) {
    if (static_cast<int>(isa) <= static_cast<int>(best) &&
        std::find(out.begin(), out.end(), isa) == out.end()) {
      out.push_back(isa);
    }
  };
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t end = std::min(list.find(',', pos), list.size());
    const std::string name = list.substr(pos, end - pos);
    if (name == "default") {
      add(best);
    } else if (name == "avx512") {
      add(Isa::Avx512);
    } else if (name == "avx2") {
      add(Isa::Avx2Fma);
    } else if (name == "generic") {
      add(Isa::Generic);
    } else if (name == "all") {
      add(Isa::Avx512);
      add(Isa::Avx2Fma);
      add(Isa::Generic);
    } else {
      return false;
    }
    pos = end + 1;
  }
  return true;
}

bool parse(int argc, char** argv, Args& args) {
  std::string precision = "both";
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if ((s == "--threads" || s == "--reps" || s == "--precision" || s == "--isa") && i + 1 < argc) {
      const std::string v = argv[++i];
      if (s == "--threads") args.threads = std::atoi(v.c_str());
      if (s == "--reps") args.reps = std::atoi(v.c_str());
      if (s == "--precision") precision = v;
      if (s == "--isa" && !parse_isas(v, args.isas)) return false;
    } else if (s == "--no-blas-route") {
      args.blas_route = false;
    } else if (s == "--cpu-clock") {
      args.cpu_clock = true;
    } else if (s == "--op-b-t") {
      args.op_b_t = true;
    } else if (s == "W1" || s == "W2" || s == "W5" || s == "sim" ||
               (s.rfind("cube:", 0) == 0 && std::atoi(s.c_str() + 5) > 0)) {
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
  if (args.isas.empty()) args.isas = {spbmm::kernels::cpu::best_isa()};
  return true;
}

DenseShapes shapes_for(const std::string& w) {
  if (w.rfind("cube:", 0) == 0) {
    // Entries of S x S @ S x S, about 2 GFLOP in all (at least 2 entries).
    const std::int64_t sz = std::atoi(w.c_str() + 5);
    const double per =
        2.0 * static_cast<double>(sz) * static_cast<double>(sz) * static_cast<double>(sz);
    const auto count = static_cast<std::size_t>(std::max(2.0, std::round(2e9 / per)));
    DenseShapes s;
    s.m.assign(count, sz);
    s.k.assign(count, sz);
    s.n.assign(count, sz);
    return s;
  }
  if (w == "sim") {
    std::mt19937_64 rng(spbmm::bench::kSeed);
    std::uniform_int_distribution<std::int64_t> rows(1, 16), cols(20, 300);
    DenseShapes s;
    for (int i = 0; i < 2000; ++i) {
      s.m.push_back(rows(rng));
      s.k.push_back(64);
      s.n.push_back(cols(rng));
    }
    return s;
  }
  if (w == "W1") return spbmm::bench::w1_shapes();
  if (w == "W2") return spbmm::bench::w2_shapes();
  return spbmm::bench::w5_shapes();
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double seconds_of(const std::function<void()>& f, bool cpu_clock) {
  if (cpu_clock) {
    const double t0 = cpu_seconds();
    f();
    return cpu_seconds() - t0;
  }
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
  namespace cpu = spbmm::kernels::cpu;
  const DenseShapes s = shapes_for(name);
  DenseBatch<T> a, b;
  spbmm::bench::dense_operands(s, a, b);
  const std::size_t n_isa = args.isas.size();
  // B stored transposed, for the op(B) = T rows.
  DenseBatch<T> bt(s.n, s.k);
  if (args.op_b_t) {
    for (std::size_t i = 0; i < s.m.size(); ++i) {
      const auto from = std::as_const(b).view()[i];
      const auto to = bt.view()[i];
      for (std::int64_t p = 0; p < from.rows; ++p) {
        for (std::int64_t j = 0; j < from.cols; ++j) to(j, p) = from(p, j);
      }
    }
  }
  const std::size_t n_t = args.op_b_t ? n_isa : 0;
  // Outputs: one per kernel path, then Eigen, then OpenBLAS, then the op(B) = T paths.
  const std::vector<DenseBatch<T>> c(n_isa + 2 + n_t, DenseBatch<T>(s.m, s.n));
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
  const std::vector<DenseView<const T>> vbt = std::as_const(bt).view().entries();
  std::vector<std::vector<DenseView<T>>> vc;
  for (auto& o : out) vc.push_back(o.view().entries());

  const bool blas = spbmm::bench::have_blas_baseline();
  const int t = args.threads;
  std::vector<std::function<void()>> methods;
  for (std::size_t k = 0; k < n_isa; ++k) {
    methods.emplace_back([&, k] {
      cpu::force_isa(args.isas[k]);
      cpu::dense_batch<T>(spbmm::Op::N, spbmm::Op::N, T(1), va, vb, T(0), vc[k], t);
    });
  }
  methods.emplace_back([&] { spbmm::bench::eigen_per_entry<T>(va, vb, vc[n_isa], t); });
  methods.emplace_back([&] {
    if (blas) spbmm::bench::blas_per_entry<T>(va, vb, vc[n_isa + 1], t);
  });
  for (std::size_t k = 0; k < n_t; ++k) {
    methods.emplace_back([&, k] {
      cpu::force_isa(args.isas[k]);
      cpu::dense_batch<T>(spbmm::Op::N, spbmm::Op::T, T(1), va, vbt, T(0), vc[n_isa + 2 + k], t);
    });
  }
  cpu::detail::set_dense_blas_enabled(args.blas_route);
  std::vector<double> best(methods.size(), std::numeric_limits<double>::infinity());
  for (const auto& m : methods) m();  // warm-up: page faults, thread pools, caches
  // Interleaved so that noise from other processes hits every method alike.
  for (int r = 0; r < args.reps; ++r) {
    for (std::size_t m = 0; m < methods.size(); ++m)
      best[m] = std::min(best[m], seconds_of(methods[m], args.cpu_clock));
  }
  cpu::reset_isa();
  cpu::detail::set_dense_blas_enabled(true);
  const double tol =
      16.0 * static_cast<double>(std::numeric_limits<T>::epsilon()) * static_cast<double>(max_k);
  const double g_eigen = flops / best[n_isa] * 1e-9;
  const double g_blas = blas ? flops / best[n_isa + 1] * 1e-9 : 0.0;
  bool all_ok = true;
  for (std::size_t row = 0; row < n_isa + n_t; ++row) {
    const std::size_t k = row < n_isa ? row : n_isa + 2 + (row - n_isa);
    const double err_eigen = max_rel_diff(out[k], out[n_isa]);
    const double err_blas = blas ? max_rel_diff(out[k], out[n_isa + 1]) : 0.0;
    const bool ok = err_eigen <= tol && err_blas <= tol;
    all_ok = all_ok && ok;
    const double g = flops / best[k] * 1e-9;
    const std::string path =
        std::string(cpu::to_string(args.isas[row % n_isa])) + (row < n_isa ? "" : "/T");
    std::printf("%-4s %-4s %-10s %8.1f %8.1f %8.1f %9.2f %9.2f  %-8s %.1e\n", name.c_str(),
                precision, path.c_str(), g, g_eigen, g_blas, g / g_eigen, blas ? g / g_blas : 0.0,
                ok ? "ok" : "MISMATCH", std::max(err_eigen, err_blas));
  }
  return all_ok;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    usage();
    return 2;
  }
  std::printf(
      "threads %d, best of %d runs after a warm-up, paths interleaved; GFLOP/s counts 2*M*K*N%s\n",
      args.threads, args.reps,
      args.blas_route ? (args.cpu_clock ? "; CPU clock" : "")
                      : (args.cpu_clock ? "; no BLAS routing; CPU clock" : "; no BLAS routing"));
  std::printf("%-4s %-4s %-10s %8s %8s %8s %9s %9s  %-8s %s\n", "wl", "prec", "path", "spbmm",
              "Eigen", "OpenBLAS", "x Eigen", "x BLAS", "check", "max rel diff");
  bool ok = true;
  for (const auto& w : args.workloads) {
    for (const auto& p : args.precisions) {
      ok = (p == "f32" ? run<float>(w, "f32", args) : run<double>(w, "f64", args)) && ok;
    }
  }
  return ok ? 0 : 1;
}
