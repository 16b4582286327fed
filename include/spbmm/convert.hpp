// Format converters for single matrices and batches; every batch entry converts independently.
#pragma once

#include <cstdint>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm {

// ---- The memory limit of dense conversions ----
// A sparse matrix can describe a dense copy far larger than itself: a file of a few bytes may
// declare 10^6 x 10^6. Every sparse -> dense conversion spbmm makes compares the bytes of the
// dense copy (rows * cols * sizeof(T), computed without overflow) with a limit before allocating
// anything, and raises LimitError naming the matrix or entry, the shape, the bytes needed and the
// limit. The conversions are: to_dense below (a batch counts its entries together), the Dense
// kernel on a sparse entry in bmm() and Plan (Auto never picks it beyond the limit; forced, it
// fails at plan time), read_matrix_market_dense of a coordinate file, and write_matrix_market of
// sparse data as an array. Each takes a per-call limit (a parameter or an options field) where 0,
// the default, means the process-wide limit below.
inline constexpr std::uint64_t kDefaultDenseLimit = std::uint64_t{8} << 30;  // 8 GiB

// The process-wide limit: kDefaultDenseLimit until set_dense_limit changes it.
std::uint64_t dense_limit() noexcept;
// Sets the process-wide limit in bytes (0 restores kDefaultDenseLimit) and returns the previous
// one. Safe from any thread; a conversion reads the limit once, when it starts.
std::uint64_t set_dense_limit(std::uint64_t bytes) noexcept;

// COO -> canonical CSR: any input order; duplicates are summed in input order (so the result is
// deterministic); explicit zeros are kept. LimitError when nnz does not fit I.
template <Value T, Index I>
CsrMatrix<T, I> to_csr(const CooView<T, I>& a);

// CSR -> COO in row-major order.
template <Value T, Index I>
CooMatrix<T, I> to_coo(const CsrView<T, I>& a);

// Sparse -> dense (duplicates in COO are summed). limit: bytes the result may take (0: the
// process-wide dense_limit()); LimitError beyond it.
template <Value T, Index I>
DenseMatrix<T> to_dense(const CsrView<T, I>& a, Layout layout = Layout::RowMajor,
                        std::uint64_t limit = 0);
template <Value T, Index I>
DenseMatrix<T> to_dense(const CooView<T, I>& a, Layout layout = Layout::RowMajor,
                        std::uint64_t limit = 0);

// Dense -> CSR keeping entries with |v| > drop_tol (NaN is always kept). drop_tol = 0 keeps every
// nonzero. LimitError when the shape or nnz does not fit I.
template <Index I, Value T>
CsrMatrix<T, I> to_csr(DenseView<const T> a, T drop_tol = T(0));
// The same for a mutable view (T cannot be deduced through the const conversion).
template <Index I, Value T>
CsrMatrix<T, I> to_csr(DenseView<T> a, T drop_tol = T(0)) {
  return to_csr<I>(DenseView<const T>(a), drop_tol);
}

// CSR of A^T (equivalently: A as CSC).
template <Value T, Index I>
CsrMatrix<T, I> transpose(const CsrView<T, I>& a);

// Batched forms.
template <Value T, Index I>
CsrBatch<T, I> to_csr(const CooBatch<T, I>& a);
template <Value T, Index I>
CooBatch<T, I> to_coo(const CsrBatch<T, I>& a);
// The limit covers the whole batch (one buffer holds every entry).
template <Value T, Index I>
DenseBatch<T> to_dense(const CsrBatch<T, I>& a, Layout layout = Layout::RowMajor,
                       std::uint64_t limit = 0);
template <Value T, Index I>
DenseBatch<T> to_dense(const CooBatch<T, I>& a, Layout layout = Layout::RowMajor,
                       std::uint64_t limit = 0);
template <Index I, Value T>
CsrBatch<T, I> to_csr(const DenseBatch<T>& a, T drop_tol = T(0));
template <Value T, Index I>
CsrBatch<T, I> transpose(const CsrBatch<T, I>& a);

}  // namespace spbmm
