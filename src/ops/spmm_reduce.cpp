// SpMM with reduce (sum, mean, max, min) over a batch: every check up front, COO entries
// summed into CSR, then one call of the chosen kernel for the batch.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kernels/kernels.hpp"
#include "ops/checks.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/training.hpp"

namespace spbmm {

const char* to_string(Reduce reduce) noexcept {
  switch (reduce) {
    case Reduce::Sum:
      return "sum";
    case Reduce::Mean:
      return "mean";
    case Reduce::Max:
      return "max";
    case Reduce::Min:
      return "min";
  }
  return "unknown";
}

namespace {

constexpr const char* kOp = "spmm_reduce";

std::size_t broadcast_size(std::size_t na, std::size_t nb) {
  if (na == nb || nb == 1) return na;
  if (na == 1) return nb;
  throw ShapeError(detail::cat(kOp, ": batch sizes do not broadcast: A has ", na,
                               " entries, B has ", nb, " entries"));
}

std::size_t pick(std::size_t n, std::size_t i) { return n == 1 ? 0 : i; }

// Everything checked before C or arg is written; returns the number of products.
template <Value T, Index I>
std::size_t check_reduce(const DenseBatchView<T>& c, const DenseBatchView<I>& arg,
                         const BatchView<T, I>& a, const DenseBatchView<const T>& b, Reduce reduce,
                         const TrainingOptions& options) {
  using detail::cat;
  using ops::shape_str;
  ops::check_options(options, kOp);
  if (reduce != Reduce::Sum && reduce != Reduce::Mean && reduce != Reduce::Max &&
      reduce != Reduce::Min) {
    throw InvalidArgument(cat(kOp, ": reduce has unknown value ", static_cast<int>(reduce)));
  }
  const bool extreme = reduce == Reduce::Max || reduce == Reduce::Min;
  if (!arg.empty() && !extreme) {
    throw InvalidArgument(cat(kOp, ": arg indices are given for reduce ", to_string(reduce),
                              "; only max and min have them (pass an empty arg batch)"));
  }
  const std::size_t products = broadcast_size(a.size(), b.size());
  ops::validate_sparse_a(a, kOp, options.threads);
  for (std::size_t i = 0; i < b.size(); ++i) ops::check_dense(b[i], cat("B entry ", i));
  for (std::size_t i = 0; i < products; ++i) {
    const auto& ai = a[pick(a.size(), i)];
    const auto& bi = b[pick(b.size(), i)];
    const std::int64_t rows = ops::rows_of<T, I>(ai), cols = ops::cols_of<T, I>(ai);
    if (cols != bi.rows) {
      throw ShapeError(cat(kOp, ": entry ", i, ": A is ", shape_str(rows, cols), " but B is ",
                           shape_str(bi.rows, bi.cols), " (inner dimensions ", cols,
                           " != ", bi.rows, ")"));
    }
  }
  if (c.size() != products) {
    throw ShapeError(cat(kOp, ": C has ", c.size(), " entries but A * B has ", products));
  }
  if (!arg.empty() && arg.size() != products) {
    throw ShapeError(cat(kOp, ": arg has ", arg.size(), " entries but A * B has ", products));
  }
  for (std::size_t i = 0; i < products; ++i) {
    const std::int64_t rows = ops::rows_of<T, I>(a[pick(a.size(), i)]);
    const std::int64_t cols = b[pick(b.size(), i)].cols;
    ops::check_dense(c[i], cat("C entry ", i));
    if (c[i].rows != rows || c[i].cols != cols) {
      throw ShapeError(cat(kOp, ": entry ", i, ": C is ", shape_str(c[i].rows, c[i].cols),
                           " but A * B is ", shape_str(rows, cols)));
    }
    if (!arg.empty()) {
      ops::check_dense(arg[i], cat("arg entry ", i));
      if (arg[i].rows != rows || arg[i].cols != cols) {
        throw ShapeError(cat(kOp, ": entry ", i, ": arg is ", shape_str(arg[i].rows, arg[i].cols),
                             " but A * B is ", shape_str(rows, cols)));
      }
    }
  }
  ops::Regions regions;
  for (std::size_t i = 0; i < a.size(); ++i) regions.add_a<T, I>(a[i], i, false);
  for (std::size_t i = 0; i < b.size(); ++i) regions.add_dense(b[i], 'B', i);
  for (std::size_t i = 0; i < products; ++i) {
    regions.add_dense(c[i], 'C', i);
    if (!arg.empty()) regions.add_dense(arg[i], 'C', ops::Regions::kArgBase + i);
  }
  regions.check(kOp, "C", "C and arg must not share memory with A, B or another output");
  return products;
}

}  // namespace

template <Value T, Index I>
void spmm_reduce_into(const DenseBatchView<T>& c, const Given<DenseBatchView<I>>& arg,
                      const BatchView<T, I>& a, const Given<DenseBatchView<const T>>& b,
                      Reduce reduce, const TrainingOptions& options) {
  const std::size_t products = check_reduce<T, I>(c, arg, a, b, reduce, options);
  // COO entries become canonical CSR (duplicates summed): the reduction runs over the matrix
  // the triplets stand for. Conversions happen once per A entry, before anything is written.
  std::vector<CsrMatrix<T, I>> converted(a.size());
  std::vector<CsrView<T, I>> csr(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (const auto* v = std::get_if<CsrView<T, I>>(&a[i])) {
      csr[i] = *v;
    } else {
      converted[i] = to_csr(std::get<CooView<T, I>>(a[i]));
      csr[i] = converted[i].view();
    }
  }
  std::vector<kernels::ReduceTask<T, I>> tasks(products);
  for (std::size_t i = 0; i < products; ++i) {
    tasks[i].a = csr[pick(a.size(), i)];
    tasks[i].b = b[pick(b.size(), i)];
    tasks[i].c = c[i];
    if (!arg.empty()) tasks[i].arg = arg[i];
  }
  const std::span<const kernels::ReduceTask<T, I>> view(tasks);
  if (options.kernel == Kernel::Reference) {
    kernels::reference::spmm_reduce<T, I>(view, reduce, options.threads);
  } else {
    kernels::cpu::spmm_reduce<T, I>(view, reduce, options.threads);
  }
}

template <Value T, Index I>
ReduceResult<T, I> spmm_reduce(const BatchView<T, I>& a, const Given<DenseBatchView<const T>>& b,
                               Reduce reduce, const TrainingOptions& options) {
  const std::size_t products = broadcast_size(a.size(), b.size());
  std::vector<std::int64_t> rows(products), cols(products);
  for (std::size_t i = 0; i < products; ++i) {
    rows[i] = ops::rows_of<T, I>(a[pick(a.size(), i)]);
    cols[i] = b[pick(b.size(), i)].cols;
    // Shapes are checked in full by spmm_reduce_into; a negative one must not reach the
    // allocation first.
    if (rows[i] < 0 || cols[i] < 0) {
      throw FormatError(
          detail::cat(kOp, ": entry ", i, ": negative shape ", ops::shape_str(rows[i], cols[i])));
    }
  }
  ReduceResult<T, I> result;
  result.c = DenseBatch<T>(std::move(rows), std::move(cols));
  DenseBatchView<I> arg;
  if (reduce == Reduce::Max || reduce == Reduce::Min) {
    result.arg.assign(result.c.values().size(), I(-1));
    std::vector<DenseView<I>> views(products);
    for (std::size_t i = 0; i < products; ++i) {
      views[i] =
          DenseView<I>(result.arg.data() + result.c.offset(i), result.c.rows(i), result.c.cols(i));
    }
    arg = DenseBatchView<I>(std::move(views));
  }
  spmm_reduce_into<T, I>(result.c.view(), arg, a, b, reduce, options);
  return result;
}

#define SPBMM_INSTANTIATE(T, I)                                                                \
  template void spmm_reduce_into<T, I>(                                                        \
      const DenseBatchView<T>&, const Given<DenseBatchView<I>>&, const BatchView<T, I>&,       \
      const Given<DenseBatchView<const T>>&, Reduce, const TrainingOptions&);                  \
  template ReduceResult<T, I> spmm_reduce<T, I>(const BatchView<T, I>&,                        \
                                                const Given<DenseBatchView<const T>>&, Reduce, \
                                                const TrainingOptions&);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
