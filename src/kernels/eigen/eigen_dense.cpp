// eigen::dense_dense: any layouts, leading dimensions and ops through Eigen maps, no copies.
#include <Eigen/Core>

#include "kernels/eigen/eigen_common.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::eigen {

template <Value T>
void dense_dense(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  using detail::OpMap;
  if (c.rows == 0 || c.cols == 0) return;
  const std::int64_t k = (op_a == Op::N) ? a.cols : a.rows;
  // As in BLAS, alpha == 0 does not form the product (NaN in A or B must not reach C).
  if (k == 0 || alpha == T(0)) {
    detail::scale(c, beta);
    return;
  }
  // A column-major C is computed as C^T = op(B)^T op(A)^T, row-major over C's storage.
  const bool col = c.layout == Layout::ColMajor;
  const auto flip = [](Op o) { return o == Op::N ? Op::T : Op::N; };
  const OpMap<T> ma = col ? detail::op_map(b, flip(op_b)) : detail::op_map(a, op_a);
  const OpMap<T> mb = col ? detail::op_map(a, flip(op_a)) : detail::op_map(b, op_b);
  const Eigen::Index rows = col ? c.cols : c.rows;
  const Eigen::Index cols = col ? c.rows : c.cols;
  detail::RowMap<T> mc(c.data, rows, cols, Eigen::OuterStride<>(c.ld));
  if (!ma.transposed && !mb.transposed) {
    detail::update(mc, alpha, ma.map, mb.map, beta);
  } else if (!ma.transposed) {
    detail::update(mc, alpha, ma.map, mb.map.transpose(), beta);
  } else if (!mb.transposed) {
    detail::update(mc, alpha, ma.map.transpose(), mb.map, beta);
  } else {
    detail::update(mc, alpha, ma.map.transpose(), mb.map.transpose(), beta);
  }
}

template void dense_dense<float>(Op, Op, float, const DenseView<const float>&,
                                 const DenseView<const float>&, float, const DenseView<float>&);
template void dense_dense<double>(Op, Op, double, const DenseView<const double>&,
                                  const DenseView<const double>&, double, const DenseView<double>&);

}  // namespace spbmm::kernels::eigen
