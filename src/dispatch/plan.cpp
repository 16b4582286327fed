// Plans: analysis, per-entry kernel choice, derived forms, scheduling and execution.
#include "spbmm/plan.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <numeric>
#include <optional>
#include <type_traits>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/checks.hpp"
#include "dispatch/checks.hpp"
#include "dispatch/engine.hpp"
#include "dispatch/stats.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"

namespace spbmm {
namespace dispatch {
namespace {

using detail::cat;

// Sets the OpenMP thread count of the calling thread for the lifetime of the object, so that
// a kernel's own parallel region uses exactly the threads the schedule gives it.
class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int threads) noexcept {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    omp_set_num_threads(std::max(threads, 1));
#else
    (void)threads;
#endif
  }
  ~OmpThreadsScope() {
#ifdef _OPENMP
    omp_set_num_threads(saved_);
#endif
  }
  OmpThreadsScope(const OmpThreadsScope&) = delete;
  OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

 private:
  int saved_ = 1;
};

bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Runs body(k) for k in [0, count) on up to `threads` threads, one index at a time in the given
// order (dynamic schedule). The first exception is carried out of the region and rethrown.
template <class F>
void parallel_for(std::size_t count, int threads, F&& body) {
  std::exception_ptr error;
  const auto n = static_cast<std::int64_t>(count);
#ifdef _OPENMP
  const int t =
      static_cast<int>(std::clamp<std::int64_t>(threads, 1, std::max<std::int64_t>(n, 1)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(t) if (t > 1)
#else
  (void)threads;
#endif
  for (std::int64_t k = 0; k < n; ++k) {
    try {
      body(static_cast<std::size_t>(k));
    } catch (...) {
#ifdef _OPENMP
#pragma omp critical(spbmm_dispatch_error)
#endif
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// C = beta * C, or exact zeros when beta == 0 (C not read).
template <Value T>
void scale(T beta, const DenseView<T>& c) {
  for (std::int64_t i = 0; i < c.rows; ++i) {
    for (std::int64_t j = 0; j < c.cols; ++j) c(i, j) = beta == T(0) ? T(0) : beta * c(i, j);
  }
}

// op(X) of a dense view as a view with op N: the transpose is the same memory read in the other
// layout.
template <class T>
DenseView<T> op_view(const DenseView<T>& v, Op op) {
  if (op == Op::N) return v;
  const Layout flipped = v.layout == Layout::RowMajor ? Layout::ColMajor : Layout::RowMajor;
  return DenseView<T>(v.data, v.cols, v.rows, flipped, v.ld);
}

// CSR of op(A) for a sparse entry.
template <Value T, Index I>
CsrMatrix<T, I> csr_of_op(const MatrixView<T, I>& m, Op op) {
  return std::visit(
      Overloaded{
          [&](const DenseView<const T>& v) { return to_csr<I>(op_view(v, op)); },
          [&](const CsrView<T, I>& v) { return op == Op::N ? CsrMatrix<T, I>() : transpose(v); },
          [&](const CooView<T, I>& v) {
            if (op == Op::N) return to_csr(v);
            const CooView<T, I> t{v.cols, v.rows, v.nnz, v.col_idx, v.row_idx, v.values};
            return to_csr(t);
          },
      },
      m);
}

template <Value T, Index I>
CsrView<T, I> sparse_form(const MatrixView<T, I>& m, Op op, CsrMatrix<T, I>& storage) {
  if (const auto* v = std::get_if<CsrView<T, I>>(&m); v != nullptr && op == Op::N) return *v;
  storage = csr_of_op(m, op);
  return storage.view();
}

// op(A) of a sparse entry as row-major dense. For op T the matrix is expanded column-major,
// which is op(A) row-major.
template <Value T, Index I>
DenseView<const T> dense_form(const MatrixView<T, I>& m, Op op, std::uint64_t limit,
                              DenseMatrix<T>& storage) {
  const Layout l = op == Op::N ? Layout::RowMajor : Layout::ColMajor;
  std::visit(Overloaded{
                 [&](const DenseView<const T>&) {},
                 [&](const CsrView<T, I>& v) { storage = to_dense(v, l, limit); },
                 [&](const CooView<T, I>& v) { storage = to_dense(v, l, limit); },
             },
             m);
  const Shape s = op_shape(storage.rows(), storage.cols(), op);
  return DenseView<const T>(storage.values().data(), s.rows, s.cols, Layout::RowMajor);
}

template <Value T, Index I>
void prepare(Prepared<T, I>& p, const MatrixView<T, I>& m, Op op_a, Kernel kernel,
             std::uint64_t dense_limit) {
  p.kernel = kernel;
  const bool stored_dense = std::holds_alternative<DenseView<const T>>(m);
  switch (kernel) {
    case Kernel::Auto:
    case Kernel::Reference:
      p.form = m;
      p.op_a = op_a;
      return;
    case Kernel::Dense:
      if (stored_dense) {
        p.form = m;
        p.op_a = op_a;
      } else {
        p.form = dense_form(m, op_a, dense_limit, p.dense);
        p.op_a = Op::N;
        p.crosses = true;
      }
      return;
    case Kernel::Eigen:
    case Kernel::Gpu:
      // Eigen and cuBLAS take a dense entry with either op as it is.
      if (stored_dense) {
        p.form = m;
        p.op_a = op_a;
        return;
      }
      [[fallthrough]];
    case Kernel::Sparse:
      p.form = sparse_form(m, op_a, p.csr);
      p.op_a = Op::N;
      p.crosses = stored_dense;
      return;
  }
}

// True when no element of v is Inf or NaN. The test on the exponent bits keeps the loop free of
// floating-point compares and branches.
template <Value T>
bool all_finite(const DenseView<const T>& v) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U kExponent = static_cast<U>(sizeof(T) == 4 ? 0x7f800000ull : 0x7ff0000000000000ull);
  const bool row_major = v.layout == Layout::RowMajor;
  const std::int64_t outer = row_major ? v.rows : v.cols;
  const std::int64_t inner = row_major ? v.cols : v.rows;
  // An empty B may have a null data pointer, which must not be offset.
  if (inner == 0) return true;
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* x = v.data + o * v.ld;
    U worst = 0;
    for (std::int64_t k = 0; k < inner; ++k)
      worst = std::max(worst, std::bit_cast<U>(x[k]) & kExponent);
    if (worst == kExponent) return false;
  }
  return true;
}

// Entry e in its stored format, on the CPU kernel for that format: the fallback for a crossing
// entry whose B holds Inf or NaN.
template <Value T, Index I>
void run_stored(const MatrixView<T, I>& m, Op op_a, Op op_b, T alpha, const DenseView<const T>& b,
                T beta, const DenseView<T>& c, int threads) {
  namespace cpu = kernels::cpu;
  std::visit(
      Overloaded{
          [&](const DenseView<const T>& v) {
            cpu::dense_dense_threads<T>(op_a, op_b, alpha, v, b, beta, c, threads);
          },
          [&](const CsrView<T, I>& v) { cpu::csr_dense<T, I>(op_a, op_b, alpha, v, b, beta, c); },
          [&](const CooView<T, I>& v) { cpu::coo_dense<T, I>(op_a, op_b, alpha, v, b, beta, c); },
      },
      m);
}

// Whether prepare() does more than keep the user's view (a conversion or a transpose).
template <Value T, Index I>
bool needs_conversion(const MatrixView<T, I>& m, Op op_a, Kernel kernel) {
  const bool stored_dense = std::holds_alternative<DenseView<const T>>(m);
  switch (kernel) {
    case Kernel::Auto:
    case Kernel::Reference:
      return false;
    case Kernel::Dense:
      return !stored_dense;
    case Kernel::Eigen:
    case Kernel::Gpu:
      if (stored_dense) return false;
      [[fallthrough]];
    case Kernel::Sparse:
      return !(std::holds_alternative<CsrView<T, I>>(m) && op_a == Op::N);
  }
  return true;
}

// One product of the batch for the CPU schedule.
struct Task {
  std::size_t product = 0;
  double seconds = 0;  // estimated, single thread
};

// An entry this many estimated seconds or more may be worth all threads inside its kernel; below
// it the fork/join costs more than a thread's idle tail.
constexpr double kMinSplitSeconds = 200e-6;

template <Value T, Index I>
void run_kernel(const Prepared<T, I>& p, Op op_b, T alpha, const DenseView<const T>& b, T beta,
                const DenseView<T>& c, int threads) {
  namespace ref = kernels::reference;
  namespace cpu = kernels::cpu;
  namespace eig = kernels::eigen;
  const Op op_a = p.op_a;
  switch (p.kernel) {
    case Kernel::Auto:
    case Kernel::Gpu:
    case Kernel::Reference:
      std::visit(Overloaded{
                     [&](const DenseView<const T>& v) {
                       ref::dense_dense<T>(op_a, op_b, alpha, v, b, beta, c);
                     },
                     [&](const CsrView<T, I>& v) {
                       ref::csr_dense<T, I>(op_a, op_b, alpha, v, b, beta, c);
                     },
                     [&](const CooView<T, I>& v) {
                       ref::coo_dense<T, I>(op_a, op_b, alpha, v, b, beta, c);
                     },
                 },
                 p.form);
      return;
    case Kernel::Sparse:
      cpu::csr_dense<T, I>(op_a, op_b, alpha, std::get<CsrView<T, I>>(p.form), b, beta, c);
      return;
    case Kernel::Dense:
      cpu::dense_dense_threads<T>(op_a, op_b, alpha, std::get<DenseView<const T>>(p.form), b, beta,
                                  c, threads);
      return;
    case Kernel::Eigen:
      if (const auto* d = std::get_if<DenseView<const T>>(&p.form)) {
        eig::dense_dense<T>(op_a, op_b, alpha, *d, b, beta, c);
      } else {
        eig::csr_dense<T, I>(op_a, op_b, alpha, std::get<CsrView<T, I>>(p.form), b, beta, c);
      }
      return;
  }
}

}  // namespace

template <Value T, Index I>
void Engine<T, I>::build(const BatchView<T, I>& a_in, const std::vector<std::int64_t>& n,
                         const PlanOptions& po) {
  a = a_in;
  options.op_a = po.op_a;
  options.op_b = po.op_b;
  options.threads = po.threads;
  machine = po.machine != nullptr ? *po.machine : MachineModel::defaults();
  // The device is asked for only when Auto could choose it: the first query opens the CUDA
  // backend, which a CPU-only process should never map. A forced GPU kernel asks below.
  if (machine.gpu_gflops <= 0) {
    gpu_note = "the machine model has no GPU figures (calibrate on this machine)";
  } else if (!po.policy.allow_gpu) {
    gpu_note = "not allowed by the policy";
  } else if (!gpu::available()) {
    // Auto must never pick a device that is not there, whatever figures the model carries.
    machine.gpu_gflops = 0;
    machine.gpu_dense_gflops = 0;
    gpu_note = gpu::status();
  }

  const std::size_t size = a.size();
  const int threads = po.threads > 0 ? po.threads : default_threads();
  policy = po.policy;
  policy.per_entry.clear();
  if (!po.policy.per_entry.empty()) {
    forced.assign(size, po.policy.force);
    forced_per_entry.assign(size, 0);
    for (const auto& [index, k] : po.policy.per_entry) {
      forced[index] = k;
      forced_per_entry[index] = 1;
    }
  }
  stats.resize(size);
  choices.resize(size);
  prepared.resize(size);
  // Entries are analysed in blocks: most take well under a microsecond, and a block keeps the
  // shared loop counter out of the way.
  constexpr std::size_t kBlock = 32;
  parallel_for((size + kBlock - 1) / kBlock, threads, [&](std::size_t block) {
    std::vector<std::int64_t> lengths;
    const std::size_t end = std::min(size, (block + 1) * kBlock);
    for (std::size_t i = block * kBlock; i < end; ++i) {
      stats[i] = analyse<T, I>(a[i], po.op_a, n[i], i, lengths);
      const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
      choices[i] = choose_resolved(stats[i], by_entry ? forced[i] : policy.force, by_entry, policy,
                                   machine, false);
    }
  });

  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel != Kernel::Gpu) continue;
    try {
      gpu::require_device();
    } catch (const DeviceError& e) {
      throw DeviceError(
          cat("entry ", i, ": Kernel::Gpu was requested but no GPU is usable: ", e.what()));
    } catch (const NotCompiled& e) {
      throw NotCompiled(cat("entry ", i, ": Kernel::Gpu was requested but ", e.what()));
    }
    break;
  }

  // A forced Dense kernel on a sparse entry must not allocate a dense copy beyond the limit;
  // every entry is checked before any is converted.
  const std::uint64_t dense_limit = detail::resolve_dense_limit(po.policy.dense_limit);
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel == Kernel::Dense && stats[i].format != Format::Dense) {
      detail::check_dense_limit(stats[i].rows, stats[i].cols, sizeof(T), dense_limit,
                                cat("entry ", i, ": Kernel::Dense converts op(A): "),
                                "Options::dense_limit, Policy::dense_limit or "
                                "spbmm::set_dense_limit");
    }
  }

  // Entries kept as they are cost next to nothing; conversions are independent per entry, and
  // the big ones (a dense copy of a large sparse entry) dominate plan time, hence the dynamic
  // schedule over them alone.
  std::vector<std::size_t> converted;
  for (std::size_t i = 0; i < size; ++i) {
    if (needs_conversion(a[i], po.op_a, choices[i].kernel)) {
      converted.push_back(i);
    } else {
      prepare(prepared[i], a[i], po.op_a, choices[i].kernel, dense_limit);
    }
  }
  parallel_for(converted.size(), threads, [&](std::size_t k) {
    const std::size_t i = converted[k];
    prepare(prepared[i], a[i], po.op_a, choices[i].kernel, dense_limit);
  });

  // The CPU schedule for B entries of the planned widths.
  cpu_order.reserve(size);
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel == Kernel::Gpu) continue;
    cpu_order.push_back(i);
    cpu_total += choices[i].estimated_seconds;
  }
  std::stable_sort(cpu_order.begin(), cpu_order.end(), [&](std::size_t x, std::size_t y) {
    return choices[x].estimated_seconds > choices[y].estimated_seconds;
  });

  // A batch that is all CPU dense products with one op runs as one dense_batch call. A sparse
  // entry without stored entries is left out: its product must scale C without reading B.
  all_dense = size > 0;
  for (std::size_t i = 0; i < size && all_dense; ++i) {
    const bool empty_sparse = stats[i].format != Format::Dense && stats[i].nnz == 0;
    all_dense = choices[i].kernel == Kernel::Dense && !empty_sparse &&
                std::holds_alternative<DenseView<const T>>(prepared[i].form) &&
                prepared[i].op_a == prepared[0].op_a;
  }
  any_crosses = std::any_of(prepared.begin(), prepared.end(),
                            [](const Prepared<T, I>& p) { return p.crosses; });
  if (all_dense) {
    dense_op = prepared[0].op_a;
    dense_a.reserve(size);
    for (const auto& p : prepared) dense_a.push_back(std::get<DenseView<const T>>(p.form));
  }

  std::vector<CsrView<T, I>> device_views;
  for (std::size_t i = 0; i < size; ++i) {
    if (choices[i].kernel != Kernel::Gpu) continue;
    if (const auto* v = std::get_if<CsrView<T, I>>(&prepared[i].form)) {
      gpu_sparse.push_back(i);
      device_views.push_back(*v);
    }
  }
  const bool any_gpu = std::any_of(choices.begin(), choices.end(),
                                   [](const Choice& c) { return c.kernel == Kernel::Gpu; });
  if (any_gpu) {
    // The device backend picks its own call shape (strided batch, block-diagonal, per entry).
    if (!device_views.empty()) {
      device_a = std::make_unique<gpu::DeviceCsrBatch<T, I>>(device_views);
    }
    executor = std::make_unique<gpu::Executor>();
    gpu_mutex = std::make_unique<std::mutex>();
  }
}

template <Value T, Index I>
void Engine<T, I>::run(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha,
                       T beta) const {
  const std::size_t products = c.size();
  if (products == 0) return;
  const int threads =
      in_parallel() ? 1 : (options.threads > 0 ? options.threads : default_threads());
  // As in BLAS, alpha == 0 means A and B are not multiplied, so NaN or Inf in them stays out of
  // C whichever kernel would have run.
  if (alpha == T(0)) {
    parallel_for(products, threads, [&](std::size_t p) { scale(beta, c[p]); });
    return;
  }
  const Op op_b = options.op_b;

  // The GPU's share first: it writes C only when its whole product succeeded, so a device error
  // leaves every C entry as it was.
  if (executor) {
    std::lock_guard<std::mutex> lock(*gpu_mutex);
    if (device_a) {
      std::vector<DenseView<T>> c_sub;
      std::vector<DenseView<const T>> b_sub;
      for (std::size_t p = 0; p < products; ++p) {
        const std::size_t e = pick(a.size(), p);
        if (choices[e].kernel != Kernel::Gpu ||
            !std::holds_alternative<CsrView<T, I>>(prepared[e].form)) {
          continue;
        }
        c_sub.push_back(c[p]);
        if (b.size() > 1 || b_sub.empty()) b_sub.push_back(b[pick(b.size(), p)]);
      }
      if (!c_sub.empty()) {
        gpu::Options go;
        go.op_a = Op::N;
        go.op_b = op_b;
        gpu::bmm_into<T, I>(*executor, *device_a, DenseBatchView<T>(c_sub),
                            DenseBatchView<const T>(b_sub), alpha, beta, go);
      }
    }
    for (std::size_t p = 0; p < products; ++p) {
      const std::size_t e = pick(a.size(), p);
      const auto* d = std::get_if<DenseView<const T>>(&prepared[e].form);
      if (choices[e].kernel != Kernel::Gpu || d == nullptr) continue;
      gpu::Options go;
      go.op_a = prepared[e].op_a;
      go.op_b = op_b;
      gpu::gemm_into<T>(*executor, DenseBatchView<T>::single(c[p]),
                        DenseBatchView<const T>::single(*d),
                        DenseBatchView<const T>::single(b[pick(b.size(), p)]), alpha, beta, go);
    }
  }

  // Which B entries a crossing entry meets hold Inf or NaN: those products run in their stored
  // format, so that the kernel choice never changes how Inf and NaN propagate.
  std::vector<unsigned char> b_nonfinite;
  bool any_fallback = false;
  if (any_crosses) {
    b_nonfinite.assign(b.size(), 0);  // 0: not needed, 1: finite, 2: Inf or NaN
    std::vector<std::size_t> scan;
    double elements = 0;
    for (std::size_t p = 0; p < products; ++p) {
      const std::size_t bi = pick(b.size(), p);
      if (!prepared[pick(a.size(), p)].crosses || b_nonfinite[bi] != 0) continue;
      b_nonfinite[bi] = 1;
      scan.push_back(bi);
      elements += static_cast<double>(b[bi].rows) * static_cast<double>(b[bi].cols);
    }
    // A scan reads memory at about a byte per cycle per element: threads pay off on large B only.
    parallel_for(scan.size(), elements > 1e6 ? threads : 1, [&](std::size_t k) {
      if (!all_finite(b[scan[k]])) b_nonfinite[scan[k]] = 2;
    });
    any_fallback = std::find(b_nonfinite.begin(), b_nonfinite.end(), 2) != b_nonfinite.end();
  }

  if (all_dense && !any_fallback) {
    kernels::cpu::dense_batch<T>(dense_op, op_b, alpha, dense_a, b.entries(), beta, c.entries(),
                                 threads);
    return;
  }

  // The plan's schedule holds while every product is its own entry and B has the planned widths;
  // otherwise (a broadcast A, other widths) the estimates are rescaled and sorted here.
  bool planned = products == a.size();
  for (std::size_t p = 0; p < products && planned; ++p) planned = c[p].cols == stats[p].n;
  std::vector<Task> tasks;
  tasks.reserve(planned ? cpu_order.size() : products);
  double total = 0;
  if (planned) {
    for (const std::size_t e : cpu_order) tasks.push_back({e, choices[e].estimated_seconds});
    total = cpu_total;
  } else {
    for (std::size_t p = 0; p < products; ++p) {
      const std::size_t e = pick(a.size(), p);
      if (choices[e].kernel == Kernel::Gpu) continue;
      const double planned_n = static_cast<double>(std::max<std::int64_t>(stats[e].n, 1));
      tasks.push_back(
          {p, choices[e].estimated_seconds * static_cast<double>(c[p].cols) / planned_n});
    }
    // Largest first, so that the last entries to start are the short ones.
    std::stable_sort(tasks.begin(), tasks.end(),
                     [](const Task& x, const Task& y) { return x.seconds > y.seconds; });
    total = std::accumulate(tasks.begin(), tasks.end(), 0.0,
                            [](double s, const Task& t) { return s + t.seconds; });
  }

  const auto product = [&](std::size_t p, int inner_threads) {
    const std::size_t e = pick(a.size(), p);
    const DenseView<T>& cv = c[p];
    if (cv.rows == 0 || cv.cols == 0) return;
    // An empty inner dimension or no stored entries: the product is 0 and C only scales, on
    // whichever kernel; sparse kernels need not handle the corner.
    if (stats[e].cols == 0 || (stats[e].nnz == 0 && stats[e].format != Format::Dense)) {
      scale(beta, cv);
      return;
    }
    const std::size_t bi = pick(b.size(), p);
    if (any_fallback && prepared[e].crosses && b_nonfinite[bi] == 2) {
      run_stored<T, I>(a[e], options.op_a, op_b, alpha, b[bi], beta, cv, inner_threads);
      return;
    }
    run_kernel<T, I>(prepared[e], op_b, alpha, b[bi], beta, cv, inner_threads);
  };

  // An entry that alone outweighs half a thread's fair share would straggle in the loop: it runs
  // first with every thread inside its kernel (the reference kernel has no threads of its own).
  std::vector<std::size_t> loop;
  loop.reserve(tasks.size());
  for (const Task& t : tasks) {
    const Kernel k = choices[pick(a.size(), t.product)].kernel;
    const bool splits = k == Kernel::Sparse || k == Kernel::Dense || k == Kernel::Eigen;
    if (threads > 1 && splits && t.seconds >= kMinSplitSeconds &&
        t.seconds * threads > 0.5 * total) {
      OmpThreadsScope scope(threads);
      product(t.product, threads);  // the dense kernel sets BLAS threads itself when it uses BLAS
    } else {
      loop.push_back(t.product);
    }
  }
  if (loop.empty()) return;
  if (threads == 1) {
    OmpThreadsScope scope(1);
    for (const std::size_t p : loop) product(p, 1);
    return;
  }
  // One product per thread: BLAS threads inside would oversubscribe the cores. The count is only
  // touched when a product will call BLAS: each change wakes OpenBLAS's own pool, whose spinning
  // threads would otherwise compete with this loop for the cores on every call.
  bool any_blas = false;
  for (std::size_t i = 0; i < loop.size() && !any_blas; ++i) {
    const std::size_t e = pick(a.size(), loop[i]);
    any_blas = choices[e].kernel == Kernel::Dense &&
               kernels::cpu::dense_uses_blas(stats[e].rows, c[loop[i]].cols, stats[e].cols);
  }
  std::optional<kernels::cpu::BlasThreadsScope> blas;
  if (any_blas) blas.emplace(1);
  parallel_for(loop.size(), threads, [&](std::size_t k) { product(loop[k], 1); });
}

template <Value T, Index I>
const std::vector<Choice>& Engine<T, I>::reasons() const {
  std::call_once(reasons_once, [&] {
    for (std::size_t i = 0; i < choices.size(); ++i) {
      const bool by_entry = !forced.empty() && forced_per_entry[i] != 0;
      choices[i].reason = choose_resolved(stats[i], by_entry ? forced[i] : policy.force, by_entry,
                                          policy, machine, true)
                              .reason;
    }
  });
  return choices;
}

template <Value T, Index I>
std::string Engine<T, I>::explain() const {
  reasons();
  std::string out = cat(
      "plan: ", stats.size(), stats.size() == 1 ? " entry" : " entries",
      ", op(A) = ", to_string(options.op_a), ", op(B) = ", to_string(options.op_b),
      ", threads = ", options.threads > 0 ? cat(options.threads) : std::string("default"), "\n");
  if (!gpu_note.empty()) out += cat("gpu not considered: ", gpu_note, "\n");
  char line[256];
  std::snprintf(line, sizeof(line), "%6s  %-13s %6s %11s %9s  %-9s %10s  %s\n", "entry", "op(A)",
                "n", "nnz", "density", "kernel", "estimate", "reason");
  out += line;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    const EntryStats& s = stats[i];
    const std::string shape = cat(s.rows, "x", s.cols, s.format == Format::Dense ? " D" : "");
    char est[32];
    const double t = choices[i].estimated_seconds;
    if (t >= 1e-4) {
      std::snprintf(est, sizeof(est), "%.3g ms", t * 1e3);
    } else {
      std::snprintf(est, sizeof(est), "%.3g us", t * 1e6);
    }
    std::snprintf(line, sizeof(line), "%6zu  %-13s %6lld %11lld %9.4g  %-9s %10s  ", i,
                  shape.c_str(), static_cast<long long>(s.n), static_cast<long long>(s.nnz),
                  s.density, to_string(choices[i].kernel), est);
    out += line;
    out += choices[i].reason;
    out += "\n";
  }
  return out;
}

template <Value T, Index I>
void run_batch(const DenseBatchView<T>& c, const BatchView<T, I>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options) {
  // The choice needs the width of op(B) each A entry meets: its own B, the one shared B, or the
  // mean over the B entries a single shared A meets.
  std::vector<std::int64_t> n(a.size(), 0);
  const auto width = [&](const DenseView<const T>& v) {
    return options.op_b == Op::N ? v.cols : v.rows;
  };
  if (a.size() == 1 && b.size() > 1) {
    double sum = 0;
    for (const auto& v : b.entries()) sum += static_cast<double>(width(v));
    n[0] = static_cast<std::int64_t>(std::llround(sum / static_cast<double>(b.size())));
  } else {
    for (std::size_t i = 0; i < a.size(); ++i) n[i] = b.empty() ? 0 : width(b[pick(b.size(), i)]);
  }
  PlanOptions po;
  po.op_a = options.op_a;
  po.op_b = options.op_b;
  po.threads = options.threads;
  po.policy.force = options.kernel;
  po.policy.dense_limit = options.dense_limit;
  Engine<T, I> engine;
  engine.build(a, n, po);
  engine.run(c, b, alpha, beta);
}

}  // namespace dispatch

template <Value T, Index I>
struct Plan<T, I>::Impl : dispatch::Engine<T, I> {};

namespace {

void check_plan_options(const PlanOptions& o, std::size_t size) {
  dispatch::check_options(Options{o.op_a, o.op_b, Layout::RowMajor, o.threads, o.policy.force});
  for (const auto& [index, k] : o.policy.per_entry) {
    if (!dispatch::known_kernel(k)) {
      throw InvalidArgument(detail::cat("policy.per_entry: entry ", index,
                                        ": kernel has unknown value ", static_cast<int>(k)));
    }
    if (index >= size) {
      throw InvalidArgument(detail::cat("policy.per_entry names entry ", index,
                                        " but the batch has ", size, " entries"));
    }
  }
  if (o.policy.expected_calls < 1) {
    throw InvalidArgument(
        detail::cat("policy.expected_calls is ", o.policy.expected_calls, "; expected 1 or more"));
  }
}

}  // namespace

template <Value T, Index I>
Plan<T, I>::Plan(const BatchView<T, I>& a, std::int64_t n, const PlanOptions& options)
    : Plan(a, std::vector<std::int64_t>(a.size(), n), options) {}

template <Value T, Index I>
Plan<T, I>::Plan(const BatchView<T, I>& a, const std::vector<std::int64_t>& n,
                 const PlanOptions& options) {
  check_plan_options(options, a.size());
  if (n.size() != a.size()) {
    throw InvalidArgument(
        detail::cat("plan: ", n.size(), " values of n for a batch of ", a.size(), " entries"));
  }
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (n[i] < 0) throw InvalidArgument(detail::cat("plan: entry ", i, ": n is ", n[i]));
  }
  dispatch::validate_a(a);
  auto impl = std::make_unique<Impl>();
  impl->build(a, n, options);
  impl->a_regions = dispatch::sorted_a_regions(a);
  impl->a_span = dispatch::span_of(impl->a_regions);
  impl->a_op_shapes.reserve(a.size());
  for (const EntryStats& s : impl->stats) impl->a_op_shapes.push_back({s.rows, s.cols});
  impl_ = std::move(impl);
}

template <Value T, Index I>
Plan<T, I>::~Plan() = default;
template <Value T, Index I>
Plan<T, I>::Plan(Plan&&) noexcept = default;
template <Value T, Index I>
Plan<T, I>& Plan<T, I>::operator=(Plan&&) noexcept = default;

template <Value T, Index I>
void Plan<T, I>::execute(const DenseBatchView<T>& c, const DenseBatchView<const T>& b, T alpha,
                         T beta) const {
  const Options o{impl_->options.op_a, impl_->options.op_b, Layout::RowMajor,
                  impl_->options.threads, Kernel::Auto};
  dispatch::check_b_and_c(
      c, impl_->a, b, o,
      {&impl_->a_op_shapes, &impl_->a_regions, impl_->a_span.lo, impl_->a_span.hi});
  impl_->run(c, b, alpha, beta);
}

template <Value T, Index I>
DenseBatch<T> Plan<T, I>::execute(const DenseBatchView<const T>& b, T alpha, Layout layout) const {
  if (layout != Layout::RowMajor && layout != Layout::ColMajor) {
    throw InvalidArgument(detail::cat("layout has unknown value ", static_cast<int>(layout)));
  }
  const Options o{impl_->options.op_a, impl_->options.op_b, layout, impl_->options.threads,
                  Kernel::Auto};
  const std::vector<Shape> shapes = dispatch::shapes_of(impl_->a, b, o);
  std::vector<std::int64_t> rows(shapes.size());
  std::vector<std::int64_t> cols(shapes.size());
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    rows[i] = shapes[i].rows;
    cols[i] = shapes[i].cols;
  }
  DenseBatch<T> out(std::move(rows), std::move(cols), layout);
  execute(out.view(), b, alpha, T(0));
  return out;
}

template <Value T, Index I>
std::size_t Plan<T, I>::size() const noexcept {
  return impl_ ? impl_->stats.size() : 0;
}
template <Value T, Index I>
const std::vector<EntryStats>& Plan<T, I>::stats() const noexcept {
  return impl_->stats;
}
template <Value T, Index I>
const std::vector<Choice>& Plan<T, I>::choices() const noexcept {
  return impl_->reasons();
}
template <Value T, Index I>
std::string Plan<T, I>::explain() const {
  return impl_->explain();
}

#define SPBMM_INSTANTIATE(T, I)                                                                  \
  template struct dispatch::Engine<T, I>;                                                        \
  template void dispatch::run_batch<T, I>(const DenseBatchView<T>&, const BatchView<T, I>&,      \
                                          const DenseBatchView<const T>&, T, T, const Options&); \
  template class Plan<T, I>;

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
