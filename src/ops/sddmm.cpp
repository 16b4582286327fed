// Batched ragged SDDMM: every check up front, then one call of the chosen kernel for the batch.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "dispatch/gpu_cache.hpp"
#include "dispatch/parallel.hpp"
#include "kernels/kernels.hpp"
#include "ops/checks.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/training.hpp"

namespace spbmm {
namespace {

constexpr const char* kOp = "sddmm";

template <Value T, Index I>
void check_sddmm(const std::vector<std::span<T>>& out, const BatchView<T, I>& a,
                 const DenseBatchView<const T>& x, const DenseBatchView<const T>& y,
                 const TrainingOptions& options) {
  using detail::cat;
  using ops::shape_str;
  ops::check_options(options, kOp, true);
  const std::size_t n = a.size();
  if (x.size() != n || y.size() != n || out.size() != n) {
    throw ShapeError(cat(kOp, ": A has ", n, " entries, X ", x.size(), ", Y ", y.size(),
                         " and the output ", out.size(), "; all four must have the same count"));
  }
  ops::validate_sparse_a(a, kOp, options.threads);
  for (std::size_t i = 0; i < n; ++i) {
    ops::check_dense(x[i], cat("X entry ", i));
    ops::check_dense(y[i], cat("Y entry ", i));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t rows = ops::rows_of<T, I>(a[i]), cols = ops::cols_of<T, I>(a[i]);
    const std::string sa = shape_str(rows, cols);
    const std::string sx = shape_str(x[i].rows, x[i].cols), sy = shape_str(y[i].rows, y[i].cols);
    if (x[i].rows != rows) {
      throw ShapeError(cat(kOp, ": entry ", i, ": A is ", sa, " but X is ", sx, " (X needs ", rows,
                           " rows, one per row of A)"));
    }
    if (y[i].rows != cols) {
      throw ShapeError(cat(kOp, ": entry ", i, ": A is ", sa, " but Y is ", sy, " (Y needs ", cols,
                           " rows, one per column of A)"));
    }
    if (x[i].cols != y[i].cols) {
      throw ShapeError(cat(kOp, ": entry ", i, ": X is ", sx, " but Y is ", sy, " (their columns ",
                           x[i].cols, " != ", y[i].cols, ")"));
    }
    const std::int64_t nnz = ops::nnz_of<T, I>(a[i]);
    if (static_cast<std::int64_t>(out[i].size()) != nnz) {
      throw ShapeError(cat(kOp, ": entry ", i, ": the output holds ", out[i].size(),
                           " values but A (", sa, ") has ", nnz, " stored entries"));
    }
  }
  ops::Regions regions;
  for (std::size_t i = 0; i < n; ++i) {
    const T* values = std::visit(
        [](const auto& v) -> const T* {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, DenseView<const T>>) {
            return v.data;
          } else {
            return v.values;
          }
        },
        a[i]);
    // An output that is exactly A_i's own values is an in-place update: each value is read
    // before it is written, by the same thread.
    const bool in_place = !out[i].empty() && out[i].data() == values;
    regions.add_a<T, I>(a[i], i, in_place);
    regions.add_dense(x[i], 'X', i);
    regions.add_dense(y[i], 'Y', i);
    regions.add(dispatch::contiguous_extent(out[i].data(), static_cast<std::int64_t>(out[i].size()),
                                            sizeof(T)),
                'C', i);
  }
  regions.check(kOp, "output",
                "an output may be its own entry's values of A (in place) but share no other memory "
                "with A, X, Y or another output");
}

template <Value T, Index I>
std::vector<kernels::SddmmTask<T, I>> make_tasks(const std::vector<std::span<T>>& out,
                                                 const BatchView<T, I>& a,
                                                 const DenseBatchView<const T>& x,
                                                 const DenseBatchView<const T>& y) {
  std::vector<kernels::SddmmTask<T, I>> tasks(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    kernels::SddmmTask<T, I>& t = tasks[i];
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) {
      t.rows = c->rows;
      t.nnz = c->nnz();
      t.row_ptr = c->row_ptr;
      t.col_idx = c->col_idx;
      t.a_values = c->values;
    } else {
      const auto& o = std::get<CooView<T, I>>(a[i]);
      t.rows = o.rows;
      t.nnz = o.nnz;
      t.row_idx = o.row_idx;
      t.col_idx = o.col_idx;
      t.a_values = o.values;
    }
    t.x = x[i];
    t.y = y[i];
    t.out = out[i].data();
  }
  return tasks;
}

template <Value T, Index I, class Batch>
std::vector<std::span<T>> split(std::span<T> out, const Batch& a) {
  if (static_cast<std::int64_t>(out.size()) != a.total_nnz()) {
    throw ShapeError(detail::cat(kOp, ": the output holds ", out.size(),
                                 " values but the batch of A has ", a.total_nnz(),
                                 " stored entries"));
  }
  std::vector<std::span<T>> parts(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    parts[i] =
        out.subspan(static_cast<std::size_t>(a.nnz_offset(i)), static_cast<std::size_t>(a.nnz(i)));
  }
  return parts;
}

// The device's SDDMM. Every entry goes up as a CSR pattern: a CSR entry as it is, a COO entry
// sorted by (row, column) with its duplicate triplets made one stored entry, each triplet keeping
// the position of its pair. The device computes alpha * X Y^T at the pattern; beta * A is added
// here, while each value is put back in its place (A's values are never sent, and with
// beta == 0 never read).
template <Value T, Index I>
void sddmm_gpu(const std::vector<std::span<T>>& out, const BatchView<T, I>& a,
               const DenseBatchView<const T>& x, const DenseBatchView<const T>& y, T alpha,
               T beta) {
  struct Pattern {
    std::vector<I> row_ptr, col_idx;
    std::vector<T> zeros;
    std::vector<std::int64_t> slot;  // per triplet: its stored entry
  };
  const std::size_t n = a.size();
  std::vector<Pattern> patterns(n);
  std::vector<CsrView<T, I>> views(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) {
      views[i] = *c;
      continue;
    }
    const auto& o = std::get<CooView<T, I>>(a[i]);
    Pattern& p = patterns[i];
    std::vector<std::int64_t> order(static_cast<std::size_t>(o.nnz));
    for (std::int64_t k = 0; k < o.nnz; ++k) order[static_cast<std::size_t>(k)] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t u, std::int64_t v) {
      return o.row_idx[u] != o.row_idx[v] ? o.row_idx[u] < o.row_idx[v]
                                          : o.col_idx[u] < o.col_idx[v];
    });
    p.row_ptr.assign(static_cast<std::size_t>(o.rows + 1), 0);
    p.slot.resize(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::int64_t t = order[k];
      const bool repeat = k > 0 && o.row_idx[order[k - 1]] == o.row_idx[t] &&
                          o.col_idx[order[k - 1]] == o.col_idx[t];
      if (!repeat) {
        p.col_idx.push_back(o.col_idx[t]);
        ++p.row_ptr[static_cast<std::size_t>(o.row_idx[t]) + 1];
      }
      p.slot[static_cast<std::size_t>(t)] = static_cast<std::int64_t>(p.col_idx.size()) - 1;
    }
    for (std::size_t r = 0; r < static_cast<std::size_t>(o.rows); ++r) {
      p.row_ptr[r + 1] += p.row_ptr[r];
    }
    p.zeros.assign(p.col_idx.size(), T(0));
    views[i] = CsrView<T, I>{o.rows, o.cols, p.row_ptr.data(), p.col_idx.data(), p.zeros.data()};
  }
  const gpu::DeviceCsrBatch<T, I> da(views);
  std::vector<T> values(static_cast<std::size_t>(da.total_nnz()));
  {
    // One executor (stream and library handles) serves every call, one call at a time.
    static std::mutex mutex;
    static std::unique_ptr<gpu::Executor> executor;
    std::lock_guard<std::mutex> lock(mutex);
    if (!executor) executor = std::make_unique<gpu::Executor>();
    gpu::sddmm_into<T, I>(*executor, da, values.data(), x, y, alpha, T(0));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const T* dev = values.data() + (da.values(i) - da.all_values());
    const std::vector<std::int64_t>& slot = patterns[i].slot;
    std::int64_t count = 0;
    const T* a_values = nullptr;
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) {
      count = c->nnz();
      a_values = c->values;
    } else {
      const auto& o = std::get<CooView<T, I>>(a[i]);
      count = o.nnz;
      a_values = o.values;
    }
    T* o = out[i].data();
    for (std::int64_t p = 0; p < count; ++p) {
      const T d = dev[slot.empty() ? p : slot[static_cast<std::size_t>(p)]];
      o[p] = beta != T(0) ? d + beta * a_values[p] : d;
    }
  }
}

}  // namespace

namespace ops {

SddmmEstimate estimate_sddmm(const SddmmWork& w, const MachineModel& m, int threads) {
  SddmmEstimate e;
  const bool f64 = w.value_bytes >= 8;
  const double flops = 2 * w.products;
  const double cpu_rate = m.sparse_gflops * (f64 ? m.f64_sparse_factor : 1.0) * 1e9;
  e.cpu = cpu_rate > 0 ? flops / (cpu_rate * std::max(threads, 1)) : HUGE_VAL;
  const double gpu_rate = m.gpu_gflops * (f64 ? m.f64_dense_factor : 1.0) * 1e9;
  if (!(gpu_rate > 0) || !(m.gpu_transfer_gbps > 0)) {
    e.gpu = HUGE_VAL;
    return e;
  }
  // What sddmm_gpu moves: A's pattern and (zero) values with the block-diagonal column indices,
  // X and Y staged and sent, the values back.
  const double up_pattern =
      (w.rows + 1) * w.index_bytes + w.nnz * (2 * w.index_bytes + w.value_bytes);
  const double up_staged = w.dense_elements * w.value_bytes;
  const double down = w.nnz * w.value_bytes;
  const double h2d = m.gpu_transfer_gbps * 1e9;
  const double d2h = (m.gpu_d2h_gbps > 0 ? m.gpu_d2h_gbps : m.gpu_transfer_gbps) * 1e9;
  const double stage = (m.gpu_stage_gbps > 0 ? m.gpu_stage_gbps : m.memory_gbps) * 1e9;
  e.gpu = flops / gpu_rate + up_pattern / h2d +
          std::max(up_staged / h2d, stage > 0 ? up_staged / stage : 0.0) + down / d2h +
          (stage > 0 ? down / stage : 0.0) + m.gpu_launch_seconds + m.gpu_sync_seconds +
          (4 + std::ceil(up_staged / (4.0 * 1024 * 1024))) * m.gpu_copy_seconds;
  return e;
}

}  // namespace ops

namespace {

// Whether Auto runs this SDDMM on the device: the default machine model (with the device's
// figures, found as a plan finds them) says it is faster there.
template <Value T, Index I>
bool auto_picks_gpu(const BatchView<T, I>& a, const DenseBatchView<const T>& x,
                    const DenseBatchView<const T>& y, int threads) {
  ops::SddmmWork w;
  w.value_bytes = sizeof(T);
  w.index_bytes = sizeof(I);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double nnz = static_cast<double>(ops::nnz_of<T, I>(a[i]));
    w.nnz += nnz;
    w.rows += static_cast<double>(ops::rows_of<T, I>(a[i]));
    w.products += nnz * static_cast<double>(x[i].cols);
    w.dense_elements += static_cast<double>(x[i].rows) * static_cast<double>(x[i].cols) +
                        static_cast<double>(y[i].rows) * static_cast<double>(y[i].cols);
  }
  MachineModel m = MachineModel::defaults();
  const int t = threads > 0 ? threads : dispatch::default_threads();
  // Below this no device call can pay; above it the device (and its figures) are looked for.
  if (ops::estimate_sddmm(w, m, t).cpu < 100e-6) return false;
  if (m.gpu_gflops <= 0) {
    if (m.gpu_source != MachineModel().gpu_source) return false;  // a file without them
    const dispatch::DeviceFigures& d = dispatch::device_figures();
    if (!d.found) return false;
    dispatch::copy_gpu_figures(d.figures, m);
  }
  if (!gpu::available()) return false;
  const ops::SddmmEstimate e = ops::estimate_sddmm(w, m, t);
  return e.gpu < e.cpu;
}

}  // namespace

template <Value T, Index I>
void sddmm_into(const Given<std::vector<std::span<T>>>& out, const BatchView<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options) {
  check_sddmm<T, I>(out, a, x, y, options);
  if (options.kernel == Kernel::Gpu) {
    try {
      gpu::require_device();
    } catch (const DeviceError& e) {
      throw DeviceError(
          detail::cat(kOp, ": Kernel::Gpu was requested but no GPU is usable: ", e.what()));
    } catch (const NotCompiled& e) {
      throw NotCompiled(detail::cat(kOp, ": Kernel::Gpu was requested but ", e.what()));
    }
  }
  // alpha == 0 reads neither X nor Y: the CPU kernel only scales A.
  if (alpha != T(0) &&
      (options.kernel == Kernel::Gpu ||
       (options.kernel == Kernel::Auto && auto_picks_gpu<T, I>(a, x, y, options.threads)))) {
    sddmm_gpu<T, I>(out, a, x, y, alpha, beta);
    return;
  }
  const std::vector<kernels::SddmmTask<T, I>> tasks = make_tasks<T, I>(out, a, x, y);
  const std::span<const kernels::SddmmTask<T, I>> view(tasks);
  if (options.kernel == Kernel::Reference) {
    kernels::reference::sddmm<T, I>(view, alpha, beta, options.threads);
  } else {
    kernels::cpu::sddmm<T, I>(view, alpha, beta, options.threads);
  }
}

template <Value T, Index I>
void sddmm_into(Given<std::span<T>> out, const CsrBatch<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options) {
  sddmm_into<T, I>(split<T, I>(out, a), BatchView<T, I>(a), x, y, alpha, beta, options);
}

template <Value T, Index I>
void sddmm_into(Given<std::span<T>> out, const CooBatch<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options) {
  sddmm_into<T, I>(split<T, I>(out, a), BatchView<T, I>(a), x, y, alpha, beta, options);
}

template <Value T, Index I>
CsrBatch<T, I> sddmm(const CsrBatch<T, I>& a, const Given<DenseBatchView<const T>>& x,
                     const Given<DenseBatchView<const T>>& y, Given<T> alpha, Given<T> beta,
                     const TrainingOptions& options) {
  CsrBatch<T, I> result = a;
  sddmm_into<T, I>(std::span<T>(result.values()), a, x, y, alpha, beta, options);
  return result;
}

template <Value T, Index I>
CooBatch<T, I> sddmm(const CooBatch<T, I>& a, const Given<DenseBatchView<const T>>& x,
                     const Given<DenseBatchView<const T>>& y, Given<T> alpha, Given<T> beta,
                     const TrainingOptions& options) {
  CooBatch<T, I> result = a;
  sddmm_into<T, I>(std::span<T>(result.values()), a, x, y, alpha, beta, options);
  return result;
}

#define SPBMM_INSTANTIATE(T, I)                                                                   \
  template void sddmm_into<T, I>(const Given<std::vector<std::span<T>>>&, const BatchView<T, I>&, \
                                 const Given<DenseBatchView<const T>>&,                           \
                                 const Given<DenseBatchView<const T>>&, Given<T>, Given<T>,       \
                                 const TrainingOptions&);                                         \
  template void sddmm_into<T, I>(                                                                 \
      Given<std::span<T>>, const CsrBatch<T, I>&, const Given<DenseBatchView<const T>>&,          \
      const Given<DenseBatchView<const T>>&, Given<T>, Given<T>, const TrainingOptions&);         \
  template void sddmm_into<T, I>(                                                                 \
      Given<std::span<T>>, const CooBatch<T, I>&, const Given<DenseBatchView<const T>>&,          \
      const Given<DenseBatchView<const T>>&, Given<T>, Given<T>, const TrainingOptions&);         \
  template CsrBatch<T, I> sddmm<T, I>(                                                            \
      const CsrBatch<T, I>&, const Given<DenseBatchView<const T>>&,                               \
      const Given<DenseBatchView<const T>>&, Given<T>, Given<T>, const TrainingOptions&);         \
  template CooBatch<T, I> sddmm<T, I>(                                                            \
      const CooBatch<T, I>&, const Given<DenseBatchView<const T>>&,                               \
      const Given<DenseBatchView<const T>>&, Given<T>, Given<T>, const TrainingOptions&);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
