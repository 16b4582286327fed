// Execute time: following A's values, the schedule of the CPU products, the GPU's share, and
// batch sums.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "dispatch/checks.hpp"
#include "dispatch/engine.hpp"
#include "dispatch/parallel.hpp"
#include "dispatch/schedule.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::dispatch {
namespace {

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

// Whether derived[k] holds source[gather[k]] for every k, bit for bit (a NaN that stays a NaN is
// no change).
template <Value T, Index I>
bool same_gathered(const T* source, const std::vector<I>& gather, const T* derived) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const std::size_t n = gather.size();
  U diff = 0;
  // Blocks of 256 values between early exits keep the inner loop free of branches.
  for (std::size_t k0 = 0; k0 < n && diff == 0; k0 += 256) {
    const std::size_t k1 = std::min(n, k0 + 256);
    for (std::size_t k = k0; k < k1; ++k) {
      diff |= std::bit_cast<U>(derived[k]) ^ std::bit_cast<U>(source[gather[k]]);
    }
  }
  return diff == 0;
}

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
    case Kernel::Mkl:
      if (const auto* d = std::get_if<DenseView<const T>>(&p.form)) {
        kernels::mkl::gemm<T>(op_a, op_b, alpha, *d, b, beta, c, threads);
      } else if (p.mkl && p.mkl->threads() == threads) {
        p.mkl->template multiply<T>(op_b, alpha, b, beta, c);
      } else {
        // A handle must run with the threads it was optimized for: a product the schedule
        // gives another count (a broadcast A, other widths, a call from a parallel region) runs
        // on the CPU sparse kernel over the same CSR form.
        cpu::csr_dense<T, I>(op_a, op_b, alpha, std::get<CsrView<T, I>>(p.form), b, beta, c);
      }
      return;
  }
}

}  // namespace

// Which B entries a crossing entry meets hold Inf or NaN: those products run in their stored
// format, so that the kernel choice never changes how Inf and NaN propagate.
template <Value T, Index I>
std::vector<unsigned char> Engine<T, I>::scan_b(const DenseBatchView<const T>& b,
                                                std::size_t products, int threads) const {
  std::vector<unsigned char> b_nonfinite;
  if (!any_crosses) return b_nonfinite;
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
  return b_nonfinite;
}

template <Value T, Index I>
std::shared_lock<std::shared_mutex> Engine<T, I>::hold_current_values(int threads) const {
  std::shared_lock<std::shared_mutex> lock(values_mutex, std::defer_lock);
  if (!follow_values || (following.empty() && !device_a && mkl_sparse.empty())) return lock;
  lock.lock();
  if (stale(threads)) {
    lock.unlock();
    {
      std::unique_lock<std::shared_mutex> exclusive(values_mutex);
      if (stale(threads)) refresh(threads);
    }
    lock.lock();
  }
  return lock;
}

template <Value T, Index I>
bool Engine<T, I>::stale(int threads) const {
  std::atomic<bool> out{false};
  const int t = following_elements > (1 << 18) ? threads : 1;
  parallel_for(following.size(), t, [&](std::size_t k) {
    if (out.load(std::memory_order_relaxed)) return;
    const std::size_t i = following[k];
    const Prepared<T, I>& p = prepared[i];
    bool in_sync = true;
    if (p.dense_source) {
      const auto& v = std::get<DenseView<const T>>(a[i]);
      const DenseMatch m = compare_dense(op_view(v, options.op_a), p.csr.view());
      in_sync = p.pattern_broken ? m == DenseMatch::NewPattern : m == DenseMatch::Same;
    } else if (!p.gather.empty()) {
      std::int64_t count = 0;
      in_sync = same_gathered(sparse_values(a[i], count), p.gather, p.csr.values().data());
    } else {
      std::int64_t count = 0;
      const T* values = sparse_values(a[i], count);
      in_sync =
          std::memcmp(values, p.shadow.data(), static_cast<std::size_t>(count) * sizeof(T)) == 0;
    }
    if (!in_sync) out.store(true, std::memory_order_relaxed);
  });
  if (out.load()) return true;
  // MKL's handles may hold optimized copies of their forms' values.
  for (const std::size_t i : mkl_sparse) {
    const Prepared<T, I>& p = prepared[i];
    const CsrView<T, I> v = std::get<CsrView<T, I>>(p.form);
    if (std::memcmp(v.values, p.mkl_shadow.data(), p.mkl_shadow.size() * sizeof(T)) != 0) {
      return true;
    }
  }
  // The device holds copies of its entries' forms (the caller's CSR or a derived one).
  std::size_t at = 0;
  for (const std::size_t i : gpu_sparse) {
    const CsrView<T, I> v = std::get<CsrView<T, I>>(prepared[i].form);
    const auto count = static_cast<std::size_t>(v.nnz());
    if (count > 0 && std::memcmp(v.values, device_shadow.data() + at, count * sizeof(T)) != 0)
      return true;
    at += count;
  }
  return false;
}

template <Value T, Index I>
void Engine<T, I>::refresh(int threads) const {
  const int t = following_elements > (1 << 18) ? threads : 1;
  parallel_for(following.size(), t, [&](std::size_t k) {
    const std::size_t i = following[k];
    Prepared<T, I>& p = prepared[i];
    if (p.dense_source) {
      const auto& v = std::get<DenseView<const T>>(a[i]);
      p.pattern_broken = !refill_from_dense(op_view(v, options.op_a), p.csr);
      return;
    }
    std::int64_t count = 0;
    const T* values = sparse_values(a[i], count);
    if (!p.gather.empty()) {
      T* derived = p.csr.values().data();
      const std::size_t n = p.gather.size();
      for (std::size_t k = 0; k < n; ++k) derived[k] = values[p.gather[k]];
      return;
    }
    std::copy(values, values + count, p.shadow.begin());
    T* derived = !p.dense.values().empty() ? p.dense.values().data() : p.csr.values().data();
    scatter_values(values, p.slots, derived);
  });
  for (const std::size_t i : mkl_sparse) {
    Prepared<T, I>& p = prepared[i];
    const CsrView<T, I> v = std::get<CsrView<T, I>>(p.form);
    if (std::memcmp(v.values, p.mkl_shadow.data(), p.mkl_shadow.size() * sizeof(T)) == 0) continue;
    p.mkl->template update<T>(v.values);
    std::copy(v.values, v.values + p.mkl_shadow.size(), p.mkl_shadow.begin());
  }
  if (!device_a) return;
  std::vector<CsrView<T, I>> views;
  std::vector<T> shadow;
  shadow.reserve(device_shadow.size());
  for (const std::size_t i : gpu_sparse) {
    views.push_back(std::get<CsrView<T, I>>(prepared[i].form));
    shadow.insert(shadow.end(), views.back().values, views.back().values + views.back().nnz());
  }
  if (shadow == device_shadow) return;
  // A new upload replaces the old one only when it succeeded.
  auto fresh = std::make_unique<gpu::DeviceCsrBatch<T, I>>(views);
  std::lock_guard<std::mutex> lock(*gpu_mutex);
  device_a = std::move(fresh);
  device_shadow = std::move(shadow);
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

  const auto values_lock = hold_current_values(threads);

  // The GPU's share: it writes C only when its whole product succeeded.
  const auto gpu_share = [&] {
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
  };
  bool any_cpu = !executor;
  for (std::size_t p = 0; p < products && !any_cpu; ++p) {
    any_cpu = choices[pick(a.size(), p)].kernel != Kernel::Gpu;
  }
  if (executor && !any_cpu) {
    gpu_share();
    return;
  }
  if (executor) {
    // A mixed batch: the device share runs on its own thread while this one runs the CPU share,
    // into disjoint entries of C. Should the device fail, the CPU share's entries are put back
    // as they were, so that a failed call leaves all of C untouched.
    std::vector<std::size_t> cpu_products;
    std::size_t saved_size = 0;
    for (std::size_t p = 0; p < products; ++p) {
      if (choices[pick(a.size(), p)].kernel == Kernel::Gpu) continue;
      cpu_products.push_back(p);
      saved_size += static_cast<std::size_t>(c[p].rows * c[p].cols);
    }
    std::vector<T> saved;
    saved.reserve(saved_size);
    for (const std::size_t p : cpu_products) {
      const DenseView<T>& cv = c[p];
      for (std::int64_t r = 0; r < cv.rows; ++r)
        for (std::int64_t j = 0; j < cv.cols; ++j) saved.push_back(cv(r, j));
    }
    std::exception_ptr device_error;
    std::thread device([&] {
      try {
        gpu_share();
      } catch (...) {
        device_error = std::current_exception();
      }
    });
    try {
      run_cpu_share(c, b, alpha, beta, threads);
    } catch (...) {
      device.join();
      throw;
    }
    device.join();
    if (device_error) {
      std::size_t at = 0;
      for (const std::size_t p : cpu_products) {
        const DenseView<T>& cv = c[p];
        for (std::int64_t r = 0; r < cv.rows; ++r)
          for (std::int64_t j = 0; j < cv.cols; ++j) cv(r, j) = saved[at++];
      }
      std::rethrow_exception(device_error);
    }
    return;
  }
  run_cpu_share(c, b, alpha, beta, threads);
}

template <Value T, Index I>
void Engine<T, I>::run_cpu_share(const DenseBatchView<T>& c, const DenseBatchView<const T>& b,
                                 T alpha, T beta, int threads) const {
  const std::size_t products = c.size();
  const Op op_b = options.op_b;
  const std::vector<unsigned char> b_nonfinite = scan_b(b, products, threads);
  const bool any_fallback =
      std::find(b_nonfinite.begin(), b_nonfinite.end(), 2) != b_nonfinite.end();

  if (all_mkl_dense) {
    kernels::mkl::gemm_batch<T>(mkl_dense_op, op_b, alpha, mkl_dense_a, b.entries(), beta,
                                c.entries(), threads);
    return;
  }
  if (all_dense && !any_fallback) {
    kernels::cpu::dense_batch<T>(dense_op, op_b, alpha, dense_a, b.entries(), beta, c.entries(),
                                 threads, dense_small.empty() ? nullptr : &dense_small);
    return;
  }

  // The plan's schedule holds while every product is its own entry and B has the planned widths;
  // otherwise (a broadcast A, other widths) the estimates are rescaled and sorted here.
  bool planned = products == a.size();
  for (std::size_t p = 0; p < products && planned; ++p) planned = c[p].cols == stats[p].n;
  const auto splits = [&](std::size_t e) { return splits_threads(choices[e].kernel); };
  std::vector<Task> tasks;
  tasks.reserve(planned ? cpu_order.size() : products);
  if (planned) {
    for (const std::size_t e : cpu_order) {
      tasks.push_back({e, choices[e].estimated_seconds, splits(e)});
    }
  } else {
    for (std::size_t p = 0; p < products; ++p) {
      const std::size_t e = pick(a.size(), p);
      if (choices[e].kernel == Kernel::Gpu) continue;
      const double planned_n = static_cast<double>(std::max<std::int64_t>(stats[e].n, 1));
      tasks.push_back({p, choices[e].estimated_seconds * static_cast<double>(c[p].cols) / planned_n,
                       splits(e)});
    }
  }
  const Schedule plan = schedule(std::move(tasks), threads);

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
    if ((any_fallback && prepared[e].crosses && b_nonfinite[bi] == 2) ||
        prepared[e].pattern_broken) {
      run_stored<T, I>(a[e], options.op_a, op_b, alpha, b[bi], beta, cv, inner_threads);
      return;
    }
    run_kernel<T, I>(prepared[e], op_b, alpha, b[bi], beta, cv, inner_threads);
  };

  for (const std::size_t p : plan.alone) {
    OmpThreadsScope scope(threads);
    product(p, threads);  // the dense kernel sets BLAS threads itself when it uses BLAS
  }
  const std::vector<std::size_t>& loop = plan.loop;
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
void Engine<T, I>::run_sum(const DenseView<T>& c, const DenseBatchView<const T>& b, T alpha,
                           T beta) const {
  if (c.rows == 0 || c.cols == 0) return;
  const std::size_t products = broadcast_size(a.size(), b.size());
  const int threads =
      in_parallel() ? 1 : (options.threads > 0 ? options.threads : default_threads());
  scale(beta, c);
  if (alpha == T(0) || products == 0) return;
  const Op op_b = options.op_b;
  const auto values_lock = hold_current_values(threads);
  const std::vector<unsigned char> b_nonfinite = scan_b(b, products, threads);
  // Column blocks of C of a fixed width, each summed over the entries in entry order by one
  // thread with single-threaded kernels: no result depends on the thread count.
  constexpr std::int64_t kBlock = 32;
  const auto blocks = static_cast<std::size_t>((c.cols + kBlock - 1) / kBlock);
  // The sum of A_i^T B_i over dense entries that are row blocks of one A, with B's entries the row
  // blocks of one B (a concatenated feature matrix split per graph, as in a layer's weight
  // gradient), is A^T B over the stacked rows: one long product instead of one short product per
  // entry and column block.
  std::optional<DenseView<const T>> a_rows, b_rows;
  if (options.op_a == Op::T && op_b == Op::N && a.size() == products && b.size() == products &&
      products > 1) {
    std::vector<DenseView<const T>> av, bv;
    av.reserve(products);
    bv.reserve(products);
    for (std::size_t e = 0; e < products; ++e) {
      const auto* d = std::get_if<DenseView<const T>>(&prepared[e].form);
      if (d == nullptr || choices[e].kernel != Kernel::Dense || prepared[e].op_a != Op::T) break;
      av.push_back(*d);
      bv.push_back(b[e]);
    }
    if (av.size() == products) {
      a_rows = kernels::cpu::stacked_rows(av);
      if (a_rows) b_rows = kernels::cpu::stacked_rows(bv);
      if (!b_rows || b_rows->rows != a_rows->rows) a_rows.reset();
    }
  }
  if (a_rows) {
    // Summed in an order that does not depend on the thread count (W11's dW: 150 ms entry by
    // entry, 113-137 ms as one product on the blocked kernel, 72-77 ms on generated kernels).
    OmpThreadsScope scope(threads);
    kernels::cpu::stacked_at_b<T>(alpha, *a_rows, *b_rows, c, threads);
    return;
  }
  const auto block = [&](std::size_t k) {
    const std::int64_t j0 = static_cast<std::int64_t>(k) * kBlock;
    const std::int64_t w = std::min(kBlock, c.cols - j0);
    const DenseView<T> cb = sub_block(c, 0, c.rows, j0, w);
    for (std::size_t p = 0; p < products; ++p) {
      const std::size_t e = pick(a.size(), p);
      // No stored entries or an empty inner dimension: the product adds nothing.
      if (stats[e].cols == 0 || (stats[e].nnz == 0 && stats[e].format != Format::Dense)) continue;
      const std::size_t bi = pick(b.size(), p);
      const DenseView<const T>& bv = b[bi];
      const DenseView<const T> bb =
          op_b == Op::N ? sub_block(bv, 0, bv.rows, j0, w) : sub_block(bv, j0, w, 0, bv.cols);
      if ((!b_nonfinite.empty() && prepared[e].crosses && b_nonfinite[bi] == 2) ||
          prepared[e].pattern_broken) {
        run_stored<T, I>(a[e], options.op_a, op_b, alpha, bb, T(1), cb, 1);
      } else {
        run_kernel<T, I>(prepared[e], op_b, alpha, bb, T(1), cb, 1);
      }
    }
  };
  if (threads == 1 || blocks == 1) {
    OmpThreadsScope scope(1);
    for (std::size_t k = 0; k < blocks; ++k) block(k);
    return;
  }
  std::optional<kernels::cpu::BlasThreadsScope> blas;
  blas.emplace(1);
  parallel_for(blocks, threads, block);
}

template <Value T, Index I>
void run_batch(const DenseBatchView<T>& c, const BatchView<T, I>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options,
               const DenseView<T>* sum) {
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
  // Used once: conversions are paid by this call alone, and nothing needs to follow A's values.
  po.policy.expected_calls = 1;
  po.policy.gpu_c_read = beta != T(0);
  po.constant_values = true;
  Engine<T, I> engine;
  engine.count_dense_always = false;
  engine.build(a, n, po);
  if (sum != nullptr) {
    engine.run_sum(*sum, b, alpha, beta);
  } else {
    engine.run(c, b, alpha, beta);
  }
}

#define SPBMM_INSTANTIATE(T, I)                                                                   \
  template void Engine<T, I>::run(const DenseBatchView<T>&, const DenseBatchView<const T>&, T, T) \
      const;                                                                                      \
  template void Engine<T, I>::run_sum(const DenseView<T>&, const DenseBatchView<const T>&, T, T)  \
      const;                                                                                      \
  template void Engine<T, I>::run_cpu_share(const DenseBatchView<T>&,                             \
                                            const DenseBatchView<const T>&, T, T, int) const;     \
  template void run_batch<T, I>(const DenseBatchView<T>&, const BatchView<T, I>&,                 \
                                const DenseBatchView<const T>&, T, T, const Options&,             \
                                const DenseView<T>*);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::dispatch
