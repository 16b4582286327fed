// Batched ragged SDDMM: every check up front, then one call of the chosen kernel for the batch.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "kernels/kernels.hpp"
#include "ops/checks.hpp"
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
  ops::check_options(options, kOp);
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

}  // namespace

template <Value T, Index I>
void sddmm_into(const Given<std::vector<std::span<T>>>& out, const BatchView<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options) {
  check_sddmm<T, I>(out, a, x, y, options);
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
