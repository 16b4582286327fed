// Relabelling a graph's nodes in reverse Cuthill-McKee order (spbmm::rcm_order) against the same
// graph numbered as given and with its nodes shuffled: one sparse x dense product per numbering
// through a Plan, the three timed alternately in one process, and the relabelled result checked
// against the shuffled one. Graphs: a k x k grid (gridK), the W3 R-MAT graph (W3), or Matrix Market
// files.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "spbmm/convert.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/reorder.hpp"
#include "workloads.hpp"

namespace {

using namespace spbmm;
using T = float;
using I = std::int32_t;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

CsrMatrix<T, I> grid(std::int64_t k) {
  std::vector<I> ri, ci;
  for (std::int64_t x = 0; x < k; ++x) {
    for (std::int64_t y = 0; y < k; ++y) {
      const std::int64_t a = x * k + y;
      for (const std::int64_t b : {a - k, a + k}) {
        if (b >= 0 && b < k * k) ri.push_back(static_cast<I>(a)), ci.push_back(static_cast<I>(b));
      }
      if (y > 0) ri.push_back(static_cast<I>(a)), ci.push_back(static_cast<I>(a - 1));
      if (y + 1 < k) ri.push_back(static_cast<I>(a)), ci.push_back(static_cast<I>(a + 1));
    }
  }
  std::vector<T> v(ri.size(), T(1));
  return to_csr(CooMatrix<T, I>(k * k, k * k, std::move(ri), std::move(ci), std::move(v)).view());
}

int run(const std::string& name, const CsrMatrix<T, I>& given, std::int64_t n, int threads,
        int reps) {
  std::mt19937_64 rng(bench::kSeed);
  std::vector<I> shuffle(static_cast<std::size_t>(given.rows()));
  std::iota(shuffle.begin(), shuffle.end(), I(0));
  std::shuffle(shuffle.begin(), shuffle.end(), rng);
  const CsrMatrix<T, I> s = permute(given.view(), shuffle);
  double t0 = now();
  const std::vector<I> order = rcm_order(s.view());
  const double t_order = now() - t0;
  t0 = now();
  const CsrMatrix<T, I> r = permute(s.view(), order);
  const double t_permute = now() - t0;

  DenseMatrix<T> b(s.rows(), n);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  for (T& x : b.values()) x = u(rng);
  const DenseMatrix<T> rb = permute_rows(b.view(), order);
  const DenseMatrix<T> gb = permute_rows(b.view(), inverse_permutation(shuffle));
  DenseMatrix<T> c_s(s.rows(), n), c_r(s.rows(), n), c_g(s.rows(), n);
  PlanOptions po;
  po.threads = threads;
  const BatchView<T, I> sa(std::vector<MatrixView<T, I>>{s.view()});
  const BatchView<T, I> ra(std::vector<MatrixView<T, I>>{r.view()});
  const BatchView<T, I> ga(std::vector<MatrixView<T, I>>{given.view()});
  const Plan<T, I> ps(sa, n, po), pr(ra, n, po), pg(ga, n, po);
  auto run_g = [&] {
    pg.execute(DenseBatchView<T>::single(c_g.view()), DenseBatchView<const T>::single(gb.view()));
  };
  auto run_s = [&] {
    ps.execute(DenseBatchView<T>::single(c_s.view()), DenseBatchView<const T>::single(b.view()));
  };
  auto run_r = [&] {
    pr.execute(DenseBatchView<T>::single(c_r.view()), DenseBatchView<const T>::single(rb.view()));
  };
  run_s();
  run_r();
  run_g();
  double best_s = 1e300, best_r = 1e300, best_g = 1e300;
  for (int k = 0; k < reps; ++k) {
    t0 = now();
    run_g();
    best_g = std::min(best_g, now() - t0);
    t0 = now();
    run_s();
    best_s = std::min(best_s, now() - t0);
    t0 = now();
    run_r();
    best_r = std::min(best_r, now() - t0);
  }
  // Row k of the relabelled result belongs to node order[k] of the shuffled numbering.
  const DenseMatrix<T> want = permute_rows(c_s.view(), order);
  double diff = 0, scale = 0;
  for (std::size_t k = 0; k < want.values().size(); ++k) {
    diff = std::max(diff, std::fabs(static_cast<double>(c_r.values()[k]) - want.values()[k]));
    scale = std::max(scale, std::fabs(static_cast<double>(want.values()[k])));
  }
  const double err = scale > 0 ? diff / scale : diff;
  std::printf("%-20s %8lld %9lld %6.1f %9.3f %9.3f %9.3f %7.2fx %7.2fx %8.1f %8.1f %8.1e\n",
              name.c_str(), static_cast<long long>(s.rows()), static_cast<long long>(s.nnz()),
              static_cast<double>(s.rows()) * static_cast<double>(n) * sizeof(T) / (1 << 20),
              best_g * 1e3, best_s * 1e3, best_r * 1e3, best_s / best_r, best_g / best_r,
              t_order * 1e3, t_permute * 1e3, err);
  return err < 1e-4 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 10;
  std::int64_t n = 64;
  std::vector<std::string> graphs;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if ((a == "--threads" || a == "--reps" || a == "--n") && k + 1 < argc) {
      const long v = std::atol(argv[++k]);
      if (v < 1) {
        std::fprintf(stderr, "bench_reorder: %s must be at least 1\n", a.c_str());
        return 2;
      }
      if (a == "--threads") threads = static_cast<int>(v);
      if (a == "--reps") reps = static_cast<int>(v);
      if (a == "--n") n = v;
    } else if (a == "--help" || a.rfind("--", 0) == 0) {
      std::printf(
          "usage: bench_reorder [--threads T] [--reps R] [--n N] [gridK | W3 | FILE.mtx]...\n"
          "Times one sparse x dense product (N columns, fp32, through a Plan) per graph with its\n"
          "nodes as given, shuffled, and relabelled from the shuffle by spbmm::rcm_order,\n"
          "alternately in one process, and checks that the results agree. Default graphs:\n"
          "grid512 W3.\n");
      return a == "--help" ? 0 : 2;
    } else {
      graphs.push_back(a);
    }
  }
  if (graphs.empty()) graphs = {"grid512", "W3"};
  omp_set_num_threads(threads);
  std::printf("threads %d, N = %lld, fp32, best of %d; shuffled and relabelled run alternately\n",
              threads, static_cast<long long>(n), reps);
  std::printf("%-20s %8s %9s %6s %9s %9s %9s %8s %8s %8s %8s %8s\n", "graph", "nodes", "nnz",
              "B MiB", "given ms", "shuf ms", "rcm ms", "shuf/rcm", "given/rcm", "order ms",
              "perm ms", "rel err");
  int status = 0;
  for (const std::string& g : graphs) {
    CsrMatrix<T, I> a;
    if (g.rfind("grid", 0) == 0) {
      a = grid(std::atol(g.c_str() + 4));
    } else if (g == "W3") {
      a = bench::rmat<T, I>();
    } else {
      a = read_matrix_market_csr<T, I>(g);
    }
    const std::string name = g.substr(g.find_last_of('/') + 1);
    status |= run(name, a, n, threads, reps);
  }
  return status;
}
