// The optimized CPU COO x dense kernel: a direct scatter, threads owning column blocks of C.
#include <cstdint>

#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu {

// Unsorted COO cannot be cut into row ranges without a pass that sorts it, so every thread
// streams over all triplets and updates only its own columns of C. Duplicates simply add. The
// dispatcher converts COO to CSR once at plan time when the same A is used repeatedly.
template <Value T, Index I>
void coo_dense(Op op_a, Op op_b, T alpha, const CooView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  if (c.rows == 0 || c.cols == 0) return;
  const detail::Strided<const T> sb = detail::op_strides(b, op_b);
  const detail::Strided<T> sc = detail::strides(c);
  if (alpha == T(0)) {
    detail::scale_columns(sc, c.rows, 0, c.cols, beta);
    return;
  }
  // A stored (r, k) adds row k of op(B) to row r of C; for op(A) = A^T the roles swap.
  const bool n = op_a == Op::N;
  const detail::Triplets<T, I> t{
      nullptr, 0, n ? a.row_idx : a.col_idx, n ? a.col_idx : a.row_idx, a.values, a.nnz};
  detail::scatter_product(t, sb, sc, c.rows, c.cols, a.nnz, alpha, beta);
}

#define SPBMM_INSTANTIATE(T, I)                                                                \
  template void coo_dense<T, I>(Op, Op, T, const CooView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu
