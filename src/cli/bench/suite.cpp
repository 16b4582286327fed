// The workload runners behind `spbmm bench`: generation, timing, baselines and result checks.
#include "suite.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "baselines_dense.hpp"
#include "baselines_sparse.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "spbmm/training.hpp"
#include "workloads.hpp"

namespace spbmm::bench {

namespace {

namespace fs = std::filesystem;
using I = std::int32_t;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

template <class F>
double time_once(F&& f) {
  const auto t0 = Clock::now();
  f();
  return seconds_since(t0);
}

// One warm-up call, then the best of `reps` timed calls.
template <class F>
double best_of(int reps, F&& f) {
  f();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < std::max(reps, 1); ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// Largest |got - want| / max(1, |want|); NaN anywhere makes it infinite.
template <Value T>
double max_rel_error(const DenseBatch<T>& got, const DenseBatch<T>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t e = 0; e < got.size(); ++e) {
    const DenseView<const T> g = got.entry(e), w = want.entry(e);
    if (g.rows != w.rows || g.cols != w.cols) return std::numeric_limits<double>::infinity();
    for (std::int64_t i = 0; i < g.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        const double wv = w(i, j);
        const double d =
            std::fabs(static_cast<double>(g(i, j)) - wv) / std::max(1.0, std::fabs(wv));
        if (!(d <= worst)) worst = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
      }
    }
  }
  return worst;
}

template <Value T>
double tolerance_for() {
  // Sums run up to a few thousand terms (the R-MAT hubs); this bounds their rounding in either
  // summation order with room to spare, and still catches a wrong index or a missed entry.
  return std::is_same_v<T, float> ? 2e-3 : 1e-10;
}

template <Value T>
const char* precision_name() {
  return std::is_same_v<T, float> ? "fp32" : "fp64";
}

// A result batch shaped like A * B.
template <Value T>
DenseBatch<T> like(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) {
  return DenseBatch<T>(rows, cols);
}

// One product the suite times: fills `c` with A * B. `views` are c's entries, made once so that
// building them is not timed.
template <Value T>
struct Contender {
  std::string name;
  std::function<void(DenseBatch<T>& c, const std::vector<DenseView<T>>& views)> run;
};

// A workload's result before anything is timed: what, in which precision, how.
template <Value T>
WorkloadResult result_for(const std::string& id, const SuiteOptions& o, double flops) {
  WorkloadResult r;
  r.workload = id;
  r.precision = precision_name<T>();
  r.threads = o.threads;
  r.reps = o.reps;
  r.flops = flops;
  r.tolerance = tolerance_for<T>();
  return r;
}

// The common part of every product workload: the plan is built once (its build timed), then
// executed repeatedly; each baseline runs into its own output, which is checked against spbmm's.
// Everything runs once as a warm-up, then `reps` rounds; each contender's best round counts.
template <Value T>
WorkloadResult time_products(const std::string& id, const SuiteOptions& o, double flops,
                             const std::function<Plan<T, I>()>& make_plan,
                             const DenseBatchView<const T>& b,
                             const std::vector<std::int64_t>& c_rows,
                             const std::vector<std::int64_t>& c_cols,
                             const std::vector<Contender<T>>& baselines) {
  WorkloadResult r = result_for<T>(id, o, flops);

  std::optional<Plan<T, I>> plan;
  r.plan_seconds = std::numeric_limits<double>::infinity();
  for (int k = 0; k < std::min(o.reps, 3) || !plan; ++k) {
    const auto t0 = Clock::now();
    Plan<T, I> p = make_plan();
    r.plan_seconds = std::min(r.plan_seconds, seconds_since(t0));
    plan.emplace(std::move(p));
  }
  DenseBatch<T> c = like<T>(c_rows, c_cols);
  const DenseBatchView<T> cv = c.view();
  std::vector<DenseBatch<T>> outs;
  std::vector<std::vector<DenseView<T>>> views;
  for (std::size_t k = 0; k < baselines.size(); ++k) {
    outs.push_back(like<T>(c_rows, c_cols));
    views.push_back(outs.back().view().entries());
  }
  // Rounds interleave spbmm with every baseline, so that a burst of load on a shared machine
  // hits all of them alike rather than the one that happened to run then.
  const auto run_spbmm = [&] { plan->execute(cv, b, T(1), T(0)); };
  const auto run_base = [&](std::size_t k) { baselines[k].run(outs[k], views[k]); };
  run_spbmm();
  for (std::size_t k = 0; k < baselines.size(); ++k) run_base(k);
  const auto inf = std::numeric_limits<double>::infinity();
  std::vector<double> best(baselines.size(), inf);
  r.spbmm_seconds = inf;
  for (int rep = 0; rep < o.reps; ++rep) {
    r.spbmm_seconds = std::min(r.spbmm_seconds, time_once(run_spbmm));
    for (std::size_t k = 0; k < baselines.size(); ++k) {
      best[k] = std::min(best[k], time_once([&] { run_base(k); }));
    }
  }
  r.gflops = flops / r.spbmm_seconds * 1e-9;
  for (std::size_t k = 0; k < baselines.size(); ++k) {
    BaselineTiming t;
    t.name = baselines[k].name;
    t.seconds = best[k];
    t.max_rel_error = max_rel_error(c, outs[k]);
    r.max_rel_error = std::max(r.max_rel_error, t.max_rel_error);
    r.baselines.push_back(std::move(t));
  }
  r.ok = r.max_rel_error <= r.tolerance;
  return r;
}

PlanOptions plan_options(const SuiteOptions& o, Kernel force = Kernel::Auto) {
  PlanOptions p;
  p.threads = o.threads;
  p.policy.force = force;
  // The bench compares CPU libraries; a GPU would change what is measured.
  p.policy.allow_gpu = false;
  return p;
}

// With the MKL backend: plans of the workload forced to Kernel::Mkl and to `cpu` (the CPU kernel
// of its format) join the baselines, so that auto (spbmm's own plan) is compared with both in the
// same run; `keep` holds them. Returns a note naming the kernels auto chose (empty without MKL).
template <Value T>
std::string add_forced_mkl(std::vector<Contender<T>>& baselines,
                           std::vector<std::unique_ptr<Plan<T, I>>>& keep, const BatchView<T, I>& a,
                           const std::vector<std::int64_t>& n, const DenseBatchView<const T>& b,
                           const SuiteOptions& o, Kernel cpu) {
  if (!kernels::mkl::available()) return {};
  for (const Kernel k : {Kernel::Mkl, cpu}) {
    keep.push_back(std::make_unique<Plan<T, I>>(a, n, plan_options(o, k)));
    const Plan<T, I>* p = keep.back().get();
    baselines.push_back({std::string("forced-") + to_string(k),
                         [p, b](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                           p->execute(DenseBatchView<T>(cv), b);
                         }});
  }
  const Plan<T, I> chosen(a, n, plan_options(o));
  std::map<std::string, int> count;
  for (const Choice& c : chosen.choices()) ++count[to_string(c.kernel)];
  std::string note = "auto chose:";
  for (const auto& [name, k] : count) note += " " + name + " " + std::to_string(k);
  return note + " (MKL figures " +
         (MachineModel::defaults().mkl_sparse_gflops > 0
              ? "from SPBMM_MACHINE_FILE)"
              : "absent: spbmm calibrate measures them)");
}

template <Value T>
std::vector<std::int64_t> rows_of(const DenseBatch<T>& a) {
  std::vector<std::int64_t> v(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = a.rows(i);
  return v;
}
template <Value T>
std::vector<std::int64_t> cols_of(const DenseBatch<T>& a) {
  std::vector<std::int64_t> v(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = a.cols(i);
  return v;
}
template <Value T>
std::vector<std::int64_t> rows_of(const CsrBatch<T, I>& a) {
  std::vector<std::int64_t> v(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) v[i] = a.rows(i);
  return v;
}

// ---- dense workloads: W1, W2, W5 -----------------------------------------------------------

template <Value T>
std::vector<DenseView<const T>> views_of(const DenseBatch<T>& x) {
  std::vector<DenseView<const T>> v;
  for (std::size_t i = 0; i < x.size(); ++i) v.push_back(x.entry(i));
  return v;
}

template <Value T>
WorkloadResult dense_workload(const std::string& id, const SuiteOptions& o, const DenseShapes& s,
                              bool with_blas, bool dynamic) {
  DenseBatch<T> a, b;
  dense_operands<T>(s, a, b);
  double flops = 0;
  for (std::size_t i = 0; i < s.m.size(); ++i) {
    flops += 2.0 * static_cast<double>(s.m[i]) * static_cast<double>(s.k[i]) *
             static_cast<double>(s.n[i]);
  }
  const DenseBatch<T>& ac = a;
  const DenseBatch<T>& bc = b;
  const std::vector<DenseView<const T>> a_views = views_of(ac), b_views = views_of(bc);
  std::vector<Contender<T>> baselines;
  baselines.push_back({dynamic ? "eigen-dynamic" : "eigen",
                       [&](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                         eigen_per_entry<T>(a_views, b_views, cv, o.threads);
                       }});
  if (with_blas && have_blas_baseline()) {
    baselines.push_back({"openblas", [&](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                           blas_per_entry<T>(a_views, b_views, cv, o.threads);
                         }});
  }
  const BatchView<T, I> av(ac);
  std::vector<std::unique_ptr<Plan<T, I>>> keep;
  const std::string note = add_forced_mkl<T>(baselines, keep, av, s.n, bc.view(), o, Kernel::Dense);
  WorkloadResult r = time_products<T>(
      id, o, flops, [&] { return Plan<T, I>(av, s.n, plan_options(o)); }, bc.view(), s.m, s.n,
      baselines);
  if (!note.empty()) r.notes.push_back(note);
  return r;
}

// ---- sparse workloads: W3, W4, W7, W8 -------------------------------------------------------

template <Value T>
double sparse_flops(const CsrBatch<T, I>& a, std::int64_t n) {
  return 2.0 * static_cast<double>(a.total_nnz()) * static_cast<double>(n);
}

template <Value T>
WorkloadResult w3(const SuiteOptions& o) {
  constexpr std::int64_t kN = 64;
  const CsrMatrix<T, I> a = rmat<T, I>();
  std::vector<CsrMatrix<T, I>> list;
  list.push_back(a);
  const CsrBatch<T, I> ab = CsrBatch<T, I>::from_list(list);
  const DenseBatch<T> b = rhs_for<T, I>(ab, kN);
  std::vector<Contender<T>> baselines;
  baselines.push_back({"eigen", [&](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                         eigen_csr_dense<T, I>(a.view(), b.entry(0), cv[0], T(1), T(0), o.threads);
                       }});
  const BatchView<T, I> av({MatrixView<T, I>(a.view())});
  std::vector<std::unique_ptr<Plan<T, I>>> keep;
  const std::string note =
      add_forced_mkl<T>(baselines, keep, av, {kN}, b.view(), o, Kernel::Sparse);
  WorkloadResult r = time_products<T>(
      "W3", o, sparse_flops(ab, kN), [&] { return Plan<T, I>(av, kN, plan_options(o)); }, b.view(),
      {a.rows()}, {kN}, baselines);
  if (!note.empty()) r.notes.push_back(note);
  return r;
}

template <Value T>
WorkloadResult sparse_batch(const std::string& id, const SuiteOptions& o, const CsrBatch<T, I>& a,
                            const DenseBatch<T>& b, std::int64_t n,
                            std::vector<Contender<T>> extra) {
  std::vector<Contender<T>> baselines;
  const DenseBatchView<const T> bv = b.view();
  baselines.push_back({"eigen-loop", [&](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                         eigen_csr_dense_batch<T, I>(a, bv, DenseBatchView<T>(cv), o.threads);
                       }});
  for (auto& e : extra) baselines.push_back(std::move(e));
  const BatchView<T, I> av(a);
  const std::vector<std::int64_t> cols(a.size(), n);
  std::vector<std::unique_ptr<Plan<T, I>>> keep;
  const std::string note = add_forced_mkl<T>(baselines, keep, av, cols, bv, o, Kernel::Sparse);
  WorkloadResult r = time_products<T>(
      id, o, sparse_flops(a, n), [&] { return Plan<T, I>(av, n, plan_options(o)); }, b.view(),
      rows_of(a), cols, baselines);
  if (!note.empty()) r.notes.push_back(note);
  return r;
}

// The batch as one block-diagonal matrix (built once, outside the timing, as a user would).
template <Value T>
CsrMatrix<T, I> block_diagonal(const CsrBatch<T, I>& a) {
  std::int64_t rows = 0, cols = 0;
  std::vector<I> rp = {0}, ci;
  std::vector<T> v;
  ci.reserve(static_cast<std::size_t>(a.total_nnz()));
  v.reserve(static_cast<std::size_t>(a.total_nnz()));
  for (std::size_t e = 0; e < a.size(); ++e) {
    const CsrView<T, I> m = a.entry(e);
    for (std::int64_t r = 0; r < m.rows; ++r) {
      for (I k = m.row_ptr[r]; k < m.row_ptr[r + 1]; ++k) {
        ci.push_back(static_cast<I>(m.col_idx[k] + cols));
        v.push_back(m.values[k]);
      }
      rp.push_back(static_cast<I>(ci.size()));
    }
    rows += m.rows;
    cols += m.cols;
  }
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(v));
}

template <Value T>
WorkloadResult w8(const SuiteOptions& o) {
  constexpr std::int64_t kN = 128;
  const CsrBatch<T, I> a = w8_batch<T, I>();
  const CsrMatrix<T, I> block = block_diagonal(a);
  // rhs_for and the result batch store their entries back to back with leading dimension N, so
  // the stacked feature matrix and the stacked result are plain views of them.
  const DenseBatch<T> b = rhs_for<T, I>(a, kN);
  const DenseView<const T> b_stacked(b.values().data(), block.cols(), kN);
  std::vector<Contender<T>> extra;
  extra.push_back({"eigen-blockdiag", [&](DenseBatch<T>& c, const std::vector<DenseView<T>>&) {
                     const DenseView<T> c_stacked(c.values().data(), block.rows(), kN);
                     eigen_csr_dense<T, I>(block.view(), b_stacked, c_stacked, T(1), T(0),
                                           o.threads);
                   }});
  return sparse_batch<T>("W8", o, a, b, kN, std::move(extra));
}

// W7: auto against every forced CPU kernel, and against the best kernel chosen per entry with
// hindsight (each entry timed alone with each kernel).
template <Value T>
WorkloadResult w7(const SuiteOptions& o) {
  constexpr std::int64_t kN = 64;
  const CsrBatch<T, I> a = w7_batch<T, I>();
  const DenseBatch<T> b = rhs_for<T, I>(a, kN);
  const BatchView<T, I> av(a);
  const std::vector<std::int64_t> rows = rows_of(a), cols(a.size(), kN);
  const Kernel forced[] = {Kernel::Sparse, Kernel::Dense, Kernel::Eigen};

  // Per entry, the fastest kernel when the entry runs alone.
  std::vector<std::pair<std::size_t, Kernel>> best_kernel;
  double sum_of_best = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const BatchView<T, I> one({MatrixView<T, I>(a.entry(i))});
    const DenseBatchView<const T> bi = DenseBatchView<const T>::single(b.entry(i));
    DenseBatch<T> ci({a.rows(i)}, {kN});
    double best = std::numeric_limits<double>::infinity();
    Kernel best_k = Kernel::Sparse;
    for (Kernel k : forced) {
      const Plan<T, I> p(one, kN, plan_options(o, k));
      const double t = best_of(o.reps, [&] { p.execute(ci.view(), bi, T(1), T(0)); });
      if (t < best) {
        best = t;
        best_k = k;
      }
    }
    best_kernel.emplace_back(i, best_k);
    sum_of_best += best;
  }

  std::vector<Contender<T>> baselines;
  std::vector<Plan<T, I>> forced_plans;
  forced_plans.reserve(std::size(forced) + 1);
  for (Kernel k : forced) {
    forced_plans.emplace_back(av, kN, plan_options(o, k));
    const Plan<T, I>* p = &forced_plans.back();
    baselines.push_back({std::string("forced-") + to_string(k),
                         [p, bv = b.view()](DenseBatch<T>& c, const std::vector<DenseView<T>>&) {
                           p->execute(c.view(), bv, T(1), T(0));
                         }});
  }
  PlanOptions oracle = plan_options(o);
  oracle.policy.per_entry = best_kernel;
  forced_plans.emplace_back(av, kN, oracle);
  const Plan<T, I>* po = &forced_plans.back();
  baselines.push_back(
      {"per-entry-best", [po, bv = b.view()](DenseBatch<T>& c, const std::vector<DenseView<T>>&) {
         po->execute(c.view(), bv, T(1), T(0));
       }});
  const DenseBatchView<const T> bv = b.view();
  baselines.push_back({"eigen-loop", [&](DenseBatch<T>&, const std::vector<DenseView<T>>& cv) {
                         eigen_csr_dense_batch<T, I>(a, bv, DenseBatchView<T>(cv), o.threads);
                       }});

  WorkloadResult r = time_products<T>(
      "W7", o, sparse_flops(a, kN), [&] { return Plan<T, I>(av, kN, plan_options(o)); }, b.view(),
      rows, cols, baselines);

  // What auto chose and what the hindsight choice was, per density.
  const Plan<T, I> plan(av, kN, plan_options(o));
  std::map<std::string, int> chose, best;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ++chose[to_string(plan.choices()[i].kernel)];
    ++best[to_string(best_kernel[i].second)];
  }
  std::string line = "auto chose:";
  for (const auto& [k, n] : chose) line += " " + k + " " + std::to_string(n);
  line += "; fastest alone:";
  for (const auto& [k, n] : best) line += " " + k + " " + std::to_string(n);
  std::size_t agree = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    agree += plan.choices()[i].kernel == best_kernel[i].second ? 1 : 0;
  }
  line += "; agree on " + std::to_string(agree) + "/" + std::to_string(a.size());
  r.notes.push_back(line);
  char buf[128];
  std::snprintf(buf, sizeof buf, "sum of per-entry best times (each entry alone): %.3f ms",
                sum_of_best * 1e3);
  r.notes.emplace_back(buf);
  return r;
}

// ---- Matrix Market I/O: W6 (read) and W9 (write) of the W3 matrix ---------------------------

// A scratch directory removed on every exit path.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("spbmm_bench_" + std::to_string(Clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

template <Value T>
WorkloadResult io_workload(const std::string& id, const SuiteOptions& o) {
  WorkloadResult r;
  r.workload = id;
  r.precision = precision_name<T>();
  r.threads = o.threads;
  r.reps = o.reps;
  // The file is written from double values with 17 significant digits (as WORKLOADS.md says),
  // so reading it in either precision parses the same text.
  const CsrMatrix<double, I> a = rmat<double, I>();
  const TempDir dir;
  const std::string path = (dir.path / "w3.mtx").string();
  MmWriteOptions wo;
  wo.precision = 17;
  wo.threads = o.threads;
  MmReadOptions ro;
  ro.threads = o.threads;
  if (id == "W9") {
    const CsrMatrix<T, I> at = [&] {
      std::vector<T> v(a.values().begin(), a.values().end());
      return CsrMatrix<T, I>(a.rows(), a.cols(), a.row_ptr(), a.col_idx(), std::move(v));
    }();
    r.spbmm_seconds = best_of(o.reps, [&] { write_matrix_market<T, I>(path, at.view(), wo); });
  } else {
    write_matrix_market<double, I>(path, a.view(), wo);
    CsrMatrix<T, I> back;
    r.spbmm_seconds = best_of(o.reps, [&] { back = read_matrix_market_csr<T, I>(path, ro); });
    // The file holds exact doubles, so the values read back are exactly a's, rounded to T.
    bool same = back.rows() == a.rows() && back.cols() == a.cols() && back.nnz() == a.nnz() &&
                back.col_idx() == a.col_idx() && back.row_ptr() == a.row_ptr();
    for (std::size_t k = 0; same && k < a.values().size(); ++k) {
      same = back.values()[k] == static_cast<T>(a.values()[k]);
    }
    r.max_rel_error = same ? 0 : std::numeric_limits<double>::infinity();
  }
  r.bytes = static_cast<double>(fs::file_size(path));
  r.mb_per_s = r.bytes / r.spbmm_seconds * 1e-6;
  r.ok = r.max_rel_error == 0;
  return r;
}

// ---- training products: W10 (SDDMM) and W12 (SpMM with max-reduce) --------------------------

// With SPBMM_BENCH_DUMP set to a directory, W10 and W12 write their operands and spbmm's result
// there as raw little-endian arrays (<name>.bin) with a line per array in manifest.txt
// ("<workload> <name> <dtype> <count>"), so that bench/anchors_training.py times torch on the
// very same matrices and checks torch's result against spbmm's.
class Dump {
 public:
  explicit Dump(std::string workload) : workload_(std::move(workload)) {
    if (const char* d = std::getenv("SPBMM_BENCH_DUMP"); d != nullptr && *d != '\0') dir_ = d;
  }
  bool enabled() const { return !dir_.empty(); }
  template <class U>
  void write(const std::string& name, const U* data, std::size_t count) {
    if (!enabled()) return;
    const std::string file = workload_ + "_" + name;
    std::ofstream out(fs::path(dir_) / (file + ".bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(U)));
    std::ofstream manifest(fs::path(dir_) / "manifest.txt", std::ios::app);
    const char* dtype = std::is_same_v<U, float>          ? "float32"
                        : std::is_same_v<U, double>       ? "float64"
                        : std::is_same_v<U, std::int32_t> ? "int32"
                                                          : "int64";
    manifest << workload_ << " " << name << " " << dtype << " " << count << "\n";
    if (!out || !manifest) throw IoError("SPBMM_BENCH_DUMP: cannot write " + file + " in " + dir_);
  }
  template <class C>
  void write(const std::string& name, const C& container) {
    write(name, container.data(), container.size());
  }

 private:
  std::string workload_;
  std::string dir_;
};

// Largest |got - want| / max(1, |want|) over two arrays.
template <Value T>
double max_rel_error(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double w = want[k];
    const double d = std::fabs(static_cast<double>(got[k]) - w) / std::max(1.0, std::fabs(w));
    if (!(d <= worst)) worst = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
  }
  return worst;
}

// The loop a user writes for a batched SDDMM: entries spread over threads, a dot product of
// two rows per stored entry.
template <Value T>
void sddmm_loop(const CsrBatch<T, I>& a, const DenseBatch<T>& x, const DenseBatch<T>& y,
                std::int64_t k, std::vector<T>& out, int threads) {
  const auto entries = static_cast<std::int64_t>(a.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t e = 0; e < entries; ++e) {
    const auto i = static_cast<std::size_t>(e);
    const CsrView<T, I> m = a.entry(i);
    const T* xe = x.values().data() + x.offset(i);
    const T* ye = y.values().data() + y.offset(i);
    T* oe = out.data() + a.nnz_offset(i);
    for (std::int64_t r = 0; r < m.rows; ++r) {
      const T* xr = xe + r * k;
      for (I p = m.row_ptr[r]; p < m.row_ptr[r + 1]; ++p) {
        const T* yr = ye + static_cast<std::int64_t>(m.col_idx[p]) * k;
        T dot = 0;
        for (std::int64_t j = 0; j < k; ++j) dot += xr[j] * yr[j];
        oe[p] = dot;
      }
    }
  }
}

// A training workload timed against the plain loop a user would write: one warm-up of each, then
// `reps` rounds alternating the two; the best of each. The caller sets the loop's error.
template <Value T, class Ours, class Loop>
WorkloadResult against_loop(const char* id, const SuiteOptions& o, double flops,
                            const Ours& run_spbmm, const Loop& run_loop, double& best_loop) {
  run_spbmm();
  run_loop();
  WorkloadResult r = result_for<T>(id, o, flops);
  r.spbmm_seconds = std::numeric_limits<double>::infinity();
  best_loop = r.spbmm_seconds;
  for (int rep = 0; rep < o.reps; ++rep) {
    r.spbmm_seconds = std::min(r.spbmm_seconds, time_once(run_spbmm));
    best_loop = std::min(best_loop, time_once(run_loop));
  }
  r.gflops = r.flops / r.spbmm_seconds * 1e-9;
  return r;
}

// W10: values_i = (X_i Y_i^T) at the pattern of A_i on the W8 graphs, k = 128.
template <Value T>
WorkloadResult w10(const SuiteOptions& o) {
  constexpr std::int64_t kK = 128;
  const CsrBatch<T, I> a = w8_batch<T, I>();
  const std::vector<std::int64_t> rows = rows_of(a), ks(a.size(), kK);
  std::vector<std::int64_t> cols(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) cols[i] = a.cols(i);
  DenseBatch<T> x(rows, ks), y(cols, ks);
  std::mt19937_64 rng(kSeed + 10);
  fill_uniform(x.values(), rng);
  fill_uniform(y.values(), rng);
  const auto n = static_cast<std::size_t>(a.total_nnz());
  std::vector<T> out(n), loop(n);
  const TrainingOptions to{.threads = o.threads};
  const auto run_spbmm = [&] {
    sddmm_into(std::span<T>(out), a, x.view(), y.view(), T(1), T(0), to);
  };
  const auto run_loop = [&] { sddmm_loop(a, x, y, kK, loop, o.threads); };
  double best_loop = 0;
  WorkloadResult r =
      against_loop<T>("W10", o, 2.0 * static_cast<double>(n) * static_cast<double>(kK), run_spbmm,
                      run_loop, best_loop);
  BaselineTiming t{"plain-loop", best_loop, max_rel_error(out, loop)};
  r.max_rel_error = t.max_rel_error;
  r.baselines.push_back(t);
  r.ok = r.max_rel_error <= r.tolerance;
  r.notes.emplace_back("no plan: sddmm_into on the CsrBatch, k = 128, " + std::to_string(n) +
                       " stored entries");
  Dump dump("W10");
  if (dump.enabled()) {
    std::vector<std::int64_t> shape;
    for (std::size_t i = 0; i < a.size(); ++i) {
      shape.push_back(a.rows(i));
      shape.push_back(a.cols(i));
      shape.push_back(a.nnz(i));
    }
    dump.write("shape", shape);
    dump.write("row_ptr", a.row_ptr());
    dump.write("col_idx", a.col_idx());
    dump.write("x", x.values());
    dump.write("y", y.values());
    dump.write("out", out);
  }
  return r;
}

// The loop a user writes for a max-reduce: rows spread over threads, a running maximum and its
// column per output element.
template <Value T>
void max_reduce_loop(const CsrMatrix<T, I>& a, const DenseBatch<T>& b, std::int64_t n,
                     std::vector<T>& c, std::vector<I>& arg, int threads) {
  const T* bv = b.values().data();
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
  for (std::int64_t r = 0; r < a.rows(); ++r) {
    T* cr = c.data() + r * n;
    I* ar = arg.data() + r * n;
    const I p0 = a.row_ptr()[static_cast<std::size_t>(r)];
    const I p1 = a.row_ptr()[static_cast<std::size_t>(r) + 1];
    if (p0 == p1) {
      for (std::int64_t j = 0; j < n; ++j) {
        cr[j] = T(0);
        ar[j] = I(-1);
      }
      continue;
    }
    for (std::int64_t j = 0; j < n; ++j) cr[j] = -std::numeric_limits<T>::infinity();
    for (I p = p0; p < p1; ++p) {
      const T v = a.values()[static_cast<std::size_t>(p)];
      const I col = a.col_idx()[static_cast<std::size_t>(p)];
      const T* br = bv + static_cast<std::int64_t>(col) * n;
      for (std::int64_t j = 0; j < n; ++j) {
        const T prod = v * br[j];
        if (prod > cr[j] || p == p0) {
          cr[j] = prod;
          ar[j] = col;
        }
      }
    }
  }
}

// W12: SpMM with max-reduce on the W3 graph, N = 64, with the arg indices a backward pass needs.
template <Value T>
WorkloadResult w12(const SuiteOptions& o) {
  constexpr std::int64_t kN = 64;
  const CsrMatrix<T, I> a = rmat<T, I>();
  const CsrBatch<T, I> ab = CsrBatch<T, I>::from_list({a});
  const DenseBatch<T> b = rhs_for<T, I>(ab, kN);
  const auto size = static_cast<std::size_t>(a.rows() * kN);
  std::vector<T> c(size), c_loop(size);
  std::vector<I> arg(size), arg_loop(size);
  const DenseBatchView<T> cv = DenseBatchView<T>::single(DenseView<T>(c.data(), a.rows(), kN));
  const DenseBatchView<I> av = DenseBatchView<I>::single(DenseView<I>(arg.data(), a.rows(), kN));
  const BatchView<T, I> abv(ab);
  const TrainingOptions to{.threads = o.threads};
  const auto run_spbmm = [&] { spmm_reduce_into<T, I>(cv, av, abv, b.view(), Reduce::Max, to); };
  const auto run_loop = [&] { max_reduce_loop(a, b, kN, c_loop, arg_loop, o.threads); };
  double best_loop = 0;
  WorkloadResult r =
      against_loop<T>("W12", o, static_cast<double>(a.nnz()) * static_cast<double>(kN), run_spbmm,
                      run_loop, best_loop);
  // The maxima are single products, so both sides agree exactly, arg indices included.
  BaselineTiming t{"plain-loop", best_loop, max_rel_error(c, c_loop)};
  if (arg != arg_loop) t.max_rel_error = std::numeric_limits<double>::infinity();
  r.max_rel_error = t.max_rel_error;
  r.baselines.push_back(t);
  r.ok = r.max_rel_error <= r.tolerance;
  r.notes.emplace_back("no plan: spmm_reduce_into with arg indices; GFLOP/s counts nnz*N products");
  Dump dump("W12");
  if (dump.enabled()) {
    const std::vector<std::int64_t> shape = {a.rows(), a.cols(), a.nnz(), kN};
    dump.write("shape", shape);
    dump.write("row_ptr", a.row_ptr());
    dump.write("col_idx", a.col_idx());
    dump.write("values", a.values());
    dump.write("b", b.values());
    dump.write("c", c);
    dump.write("arg", arg);
  }
  return r;
}

template <Value T>
WorkloadResult run_typed(const std::string& id, const SuiteOptions& o) {
  if (id == "W1") return dense_workload<T>("W1", o, w1_shapes(), true, false);
  if (id == "W2") return dense_workload<T>("W2", o, w2_shapes(), true, false);
  if (id == "W3") return w3<T>(o);
  if (id == "W4") {
    const CsrBatch<T, I> a = w4_batch<T, I>();
    return sparse_batch<T>("W4", o, a, rhs_for<T, I>(a, 64), 64, {});
  }
  if (id == "W5") return dense_workload<T>("W5", o, w5_shapes(), false, true);
  if (id == "W6" || id == "W9") return io_workload<T>(id, o);
  if (id == "W7") return w7<T>(o);
  if (id == "W8") return w8<T>(o);
  if (id == "W10") return w10<T>(o);
  if (id == "W12") return w12<T>(o);
  throw InvalidArgument("unknown workload '" + id + "' (expected W1 .. W10 or W12)");
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

const std::vector<std::string>& workload_ids() {
  static const std::vector<std::string> ids = {"W1", "W2", "W3", "W4",  "W5", "W6",
                                               "W7", "W8", "W9", "W10", "W12"};
  return ids;
}

std::string workload_summary(const std::string& id) {
  static const std::map<std::string, std::string> text = {
      {"W1", "dense uniform: 64 x (256x256 @ 256x256)"},
      {"W2", "many small dense: 20000 x (16x16 @ 16x16)"},
      {"W3", "R-MAT scale 17 graph (~1.86M nnz) CSR x dense 131072x64"},
      {"W4", "32 x CSR 4096x4096 density 0.002 x dense 4096x64"},
      {"W5", "ragged dense: 2000 entries, M, K, N uniform in [8, 128]"},
      {"W6", "Matrix Market read of the W3 matrix (17 digits)"},
      {"W7", "dispatcher: 64 CSR entries, M, K in [256, 2048], densities 0.001..0.5, N = 64"},
      {"W8", "GNN mini-batch: 512 graphs of 50..2000 nodes, degree 8, x features N = 128"},
      {"W9", "Matrix Market write of the W3 matrix (17 digits)"},
      {"W10", "batched ragged SDDMM on the W8 graphs, k = 128"},
      {"W12", "SpMM with max-reduce (and arg indices) on the W3 graph, N = 64"},
  };
  const auto it = text.find(id);
  return it == text.end() ? std::string() : it->second;
}

WorkloadResult run_workload(const std::string& id, const SuiteOptions& options) {
  if (options.threads < 1) throw InvalidArgument("SuiteOptions::threads must be at least 1");
  if (options.reps < 1) throw InvalidArgument("SuiteOptions::reps must be at least 1");
#ifdef _OPENMP
  // Baselines that size their own parallel regions take the same count as spbmm.
  omp_set_num_threads(options.threads);
#endif
  return options.use_double ? run_typed<double>(id, options) : run_typed<float>(id, options);
}

std::string to_json(const WorkloadResult& r) {
  std::string s =
      "{\"workload\": " + json_string(r.workload) + ", \"precision\": " + json_string(r.precision) +
      ", \"threads\": " + std::to_string(r.threads) + ", \"reps\": " + std::to_string(r.reps) +
      ", \"spbmm_seconds\": " + json_number(r.spbmm_seconds);
  if (r.bytes > 0) {
    s += ", \"bytes\": " + std::to_string(static_cast<long long>(r.bytes)) +
         ", \"mb_per_s\": " + json_number(r.mb_per_s);
  } else {
    s += ", \"gflops\": " + json_number(r.gflops) +
         ", \"plan_seconds\": " + json_number(r.plan_seconds);
  }
  s += ", \"max_rel_error\": " + json_number(r.max_rel_error) +
       ", \"ok\": " + (r.ok ? "true" : "false") + ", \"baselines\": [";
  for (std::size_t i = 0; i < r.baselines.size(); ++i) {
    const BaselineTiming& b = r.baselines[i];
    s += (i ? ", " : "") + std::string("{\"name\": ") + json_string(b.name) +
         ", \"seconds\": " + json_number(b.seconds) +
         ", \"ratio\": " + json_number(b.seconds / r.spbmm_seconds) +
         ", \"max_rel_error\": " + json_number(b.max_rel_error) + "}";
  }
  s += "], \"notes\": [";
  for (std::size_t i = 0; i < r.notes.size(); ++i) s += (i ? ", " : "") + json_string(r.notes[i]);
  return s + "]}";
}

}  // namespace spbmm::bench
