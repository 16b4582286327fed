// Format converters for single matrices and batches; every batch entry converts independently.
#pragma once

#include <cstdint>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm {

// COO -> canonical CSR: any input order; duplicates are summed in input order (so the result is
// deterministic); explicit zeros are kept. LimitError when nnz does not fit I.
template <Value T, Index I>
CsrMatrix<T, I> to_csr(const CooView<T, I>& a);

// CSR -> COO in row-major order.
template <Value T, Index I>
CooMatrix<T, I> to_coo(const CsrView<T, I>& a);

// Sparse -> dense (duplicates in COO are summed).
template <Value T, Index I>
DenseMatrix<T> to_dense(const CsrView<T, I>& a, Layout layout = Layout::RowMajor);
template <Value T, Index I>
DenseMatrix<T> to_dense(const CooView<T, I>& a, Layout layout = Layout::RowMajor);

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
template <Value T, Index I>
DenseBatch<T> to_dense(const CsrBatch<T, I>& a, Layout layout = Layout::RowMajor);
template <Value T, Index I>
DenseBatch<T> to_dense(const CooBatch<T, I>& a, Layout layout = Layout::RowMajor);
template <Index I, Value T>
CsrBatch<T, I> to_csr(const DenseBatch<T>& a, T drop_tol = T(0));
template <Value T, Index I>
CsrBatch<T, I> transpose(const CsrBatch<T, I>& a);

}  // namespace spbmm
