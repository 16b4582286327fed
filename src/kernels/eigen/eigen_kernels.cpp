// eigen::csr_dense (a zero-copy Eigen map of the CSR arrays) and eigen::coo_dense (converted to an
// Eigen sparse matrix first: a comparison kernel, not a fast path).
#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <vector>

#include "kernels/eigen/eigen_common.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::eigen {
namespace {

// C = alpha * op(S) * op(B) + beta * C for an Eigen sparse S (a map or a matrix).
template <class T, class Sparse>
void sparse_times(Op op_a, const Sparse& s, Op op_b, const DenseView<const T>& b, T alpha, T beta,
                  const DenseView<T>& c) {
  const detail::OpMap<T> mb = detail::op_map(b, op_b);
  const auto with_c = [&](auto&& mc) {
    const auto with_lhs = [&](const auto& lhs) {
      if (mb.transposed) {
        detail::update(mc, alpha, lhs, mb.map.transpose(), beta);
      } else {
        detail::update(mc, alpha, lhs, mb.map, beta);
      }
    };
    if (op_a == Op::N) {
      with_lhs(s);
    } else {
      with_lhs(s.transpose());
    }
  };
  if (c.layout == Layout::RowMajor) {
    with_c(detail::RowMap<T>(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.ld)));
  } else {
    with_c(detail::ColMap<T>(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.ld)));
  }
}

}  // namespace

template <Value T, Index I>
void csr_dense(Op op_a, Op op_b, T alpha, const CsrView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  if (c.rows == 0 || c.cols == 0) return;
  // As in BLAS, alpha == 0 does not form the product; an empty A may have no row pointers.
  if (alpha == T(0) || a.nnz() == 0) {
    detail::scale(c, beta);
    return;
  }
  const Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>> s(
      a.rows, a.cols, a.nnz(), a.row_ptr, a.col_idx, a.values);
  sparse_times(op_a, s, op_b, b, alpha, beta, c);
}

template <Value T, Index I>
void coo_dense(Op op_a, Op op_b, T alpha, const CooView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  if (c.rows == 0 || c.cols == 0) return;
  if (alpha == T(0) || a.nnz == 0) {
    detail::scale(c, beta);
    return;
  }
  std::vector<Eigen::Triplet<T, I>> triplets;
  triplets.reserve(static_cast<std::size_t>(a.nnz));
  for (std::int64_t k = 0; k < a.nnz; ++k)
    triplets.emplace_back(a.row_idx[k], a.col_idx[k], a.values[k]);
  // setFromTriplets sums duplicates, which is what a COO duplicate means.
  Eigen::SparseMatrix<T, Eigen::RowMajor, I> s(a.rows, a.cols);
  s.setFromTriplets(triplets.begin(), triplets.end());
  sparse_times(op_a, s, op_b, b, alpha, beta, c);
}

#define SPBMM_INSTANTIATE_SPARSE(T, I)                                                         \
  template void csr_dense<T, I>(Op, Op, T, const CsrView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);                                          \
  template void coo_dense<T, I>(Op, Op, T, const CooView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);

SPBMM_INSTANTIATE_SPARSE(float, std::int32_t)
SPBMM_INSTANTIATE_SPARSE(float, std::int64_t)
SPBMM_INSTANTIATE_SPARSE(double, std::int32_t)
SPBMM_INSTANTIATE_SPARSE(double, std::int64_t)
#undef SPBMM_INSTANTIATE_SPARSE

}  // namespace spbmm::kernels::eigen
