// The products a training step needs besides bmm: batched ragged SDDMM and SpMM with reduce.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "spbmm/bmm.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm {

// Parameters that take their type from the others instead of deducing it, so that a float batch
// accepts 2.0 as alpha, a vector as a span and a DenseBatchView<float> as a view of const float.
template <class X>
using Given = std::type_identity_t<X>;

// Options of sddmm and spmm_reduce.
//   kernel   Sparse: the optimized CPU kernel (SIMD with run-time ISA selection, threads
//            balanced by work over the whole batch); Reference: the naive oracle; Gpu (sddmm
//            only): cusparseSDDMM on the device, host operands sent and the values brought back
//            (DeviceError without a device, NotCompiled without CUDA); Auto: Sparse, or Gpu for
//            sddmm when a device is present and the machine model (with the device's figures,
//            found as a plan finds them) says it is faster. Other kernels raise InvalidArgument.
//   threads  0: the runtime's default; 1 inside a caller's parallel region.
struct TrainingOptions {
  int threads = 0;
  Kernel kernel = Kernel::Auto;
};

// ---- SDDMM ---------------------------------------------------------------------------------
//
// For every entry i and every stored entry p = (r, c) of A_i, in A_i's own storage order (CSR
// position or COO triplet):
//     out_i[p] = alpha * dot(X_i(r, :), Y_i(c, :)) + beta * A_i.values[p]
// X_i is rows(A_i) x k_i and Y_i is cols(A_i) x k_i (k_i may differ between entries and may be 0),
// each row- or column-major with any leading dimension, so Y_i^T stored k_i x cols(A_i)
// row-major is Y_i viewed column-major. A's entries must be CSR or COO; a COO entry's duplicate
// triplets each get their own output value. With beta == 0, A's values are not read; with
// alpha == 0, X and Y are checked but not read.
//
// out_i may be A_i's own values array (same address, nnz_i values): the update is then made in
// place. Any other sharing of memory between an output and A (values or indices of any entry),
// X, Y or another output raises InvalidArgument. Every shape is checked before anything is
// written: A, X, Y and the output must have the same number of entries (ShapeError), X_i and
// Y_i must match A_i and each other, and out_i must hold nnz_i values (ShapeError naming the
// entry, the operands and their shapes).
template <Value T, Index I>
void sddmm_into(const Given<std::vector<std::span<T>>>& out, const BatchView<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options = {});

// The same, with the outputs in one array shaped like the values of `a`: entry i's values begin
// at a.nnz_offset(i) and out.size() == a.total_nnz(). `out` may be a.values() (in place).
template <Value T, Index I>
void sddmm_into(Given<std::span<T>> out, const CsrBatch<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options = {});
template <Value T, Index I>
void sddmm_into(Given<std::span<T>> out, const CooBatch<T, I>& a,
                const Given<DenseBatchView<const T>>& x, const Given<DenseBatchView<const T>>& y,
                Given<T> alpha, Given<T> beta, const TrainingOptions& options = {});

// A new batch with A's pattern and the values alpha * (X_i Y_i^T) sampled at it + beta * A_i.
template <Value T, Index I>
CsrBatch<T, I> sddmm(const CsrBatch<T, I>& a, const Given<DenseBatchView<const T>>& x,
                     const Given<DenseBatchView<const T>>& y, Given<T> alpha = T(1),
                     Given<T> beta = T(0), const TrainingOptions& options = {});
template <Value T, Index I>
CooBatch<T, I> sddmm(const CooBatch<T, I>& a, const Given<DenseBatchView<const T>>& x,
                     const Given<DenseBatchView<const T>>& y, Given<T> alpha = T(1),
                     Given<T> beta = T(0), const TrainingOptions& options = {});

// ---- SpMM with reduce ----------------------------------------------------------------------

// How the products a_rj * B(j, :) of the stored entries of row r are combined.
//   Sum   their sum (A B)
//   Mean  their sum divided by the number of stored entries in the row
//   Max   their elementwise maximum; Min their elementwise minimum
enum class Reduce : std::uint8_t { Sum, Mean, Max, Min };

const char* to_string(Reduce reduce) noexcept;

// C_i(r, :) = reduce over the stored entries (r, j) of A_i of a_rj * B_i(j, :). A row with no
// stored entry gives a row of zeros (as torch.sparse.mm(..., reduce=...) does). A COO entry is
// reduced as the matrix it stands for: duplicate triplets are summed first (as to_csr does).
// Broadcasting as in bmm: a batch of one A (or one B) is used with every entry of the other.
// C is overwritten and never read.
//
// With Max or Min, `arg` (when not empty: one entry per C entry, each of C's shape, any layout)
// receives for each C(r, c) the column j of A_i whose product gave it: the first such column in
// increasing order on ties, and -1 for an empty row. A NaN product wins over every number (the
// first NaN's column is kept), so a NaN in B or A shows in C as it does in a sum.
// Every format, shape and aliasing (C or arg sharing memory with A, B or another output) is
// checked before anything is written: ShapeError, FormatError or InvalidArgument as in bmm_into;
// a non-empty `arg` with Sum or Mean is an InvalidArgument.
template <Value T, Index I>
void spmm_reduce_into(const DenseBatchView<T>& c, const Given<DenseBatchView<I>>& arg,
                      const BatchView<T, I>& a, const Given<DenseBatchView<const T>>& b,
                      Reduce reduce, const TrainingOptions& options = {});

// Without arg indices.
template <Value T, Index I>
void spmm_reduce_into(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                      const Given<DenseBatchView<const T>>& b, Reduce reduce,
                      const TrainingOptions& options = {}) {
  spmm_reduce_into<T, I>(c, DenseBatchView<I>(), a, b, reduce, options);
}

// The result of spmm_reduce: C (row-major, entries back to back) and, for Max and Min, the arg
// indices in the same layout: entry i's arg matrix starts at arg[c.offset(i)].
template <Value T, Index I>
struct ReduceResult {
  DenseBatch<T> c;
  std::vector<I> arg;  // empty for Sum and Mean

  DenseView<const I> arg_entry(std::size_t i) const {
    return {arg.data() + c.offset(i), c.rows(i), c.cols(i)};
  }
};

template <Value T, Index I>
ReduceResult<T, I> spmm_reduce(const BatchView<T, I>& a, const Given<DenseBatchView<const T>>& b,
                               Reduce reduce, const TrainingOptions& options = {});

// Conveniences that deduce T and I from the containers.
template <Value T, Index I>
ReduceResult<T, I> spmm_reduce(const CsrBatch<T, I>& a, const DenseBatch<T>& b, Reduce reduce,
                               const TrainingOptions& options = {}) {
  return spmm_reduce<T, I>(BatchView<T, I>(a), b.view(), reduce, options);
}
template <Value T, Index I>
ReduceResult<T, I> spmm_reduce(const CooBatch<T, I>& a, const DenseBatch<T>& b, Reduce reduce,
                               const TrainingOptions& options = {}) {
  return spmm_reduce<T, I>(BatchView<T, I>(a), b.view(), reduce, options);
}
template <Value T, Index I>
void spmm_reduce_into(const DenseBatchView<T>& c, const Given<DenseBatchView<I>>& arg,
                      const CsrBatch<T, I>& a, const Given<DenseBatchView<const T>>& b,
                      Reduce reduce, const TrainingOptions& options = {}) {
  spmm_reduce_into<T, I>(c, arg, BatchView<T, I>(a), b, reduce, options);
}
template <Value T, Index I>
void spmm_reduce_into(const DenseBatchView<T>& c, const CsrBatch<T, I>& a,
                      const Given<DenseBatchView<const T>>& b, Reduce reduce,
                      const TrainingOptions& options = {}) {
  spmm_reduce_into<T, I>(c, DenseBatchView<I>(), BatchView<T, I>(a), b, reduce, options);
}

}  // namespace spbmm
