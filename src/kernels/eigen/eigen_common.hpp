// Eigen maps over spbmm dense views, shared by the Eigen kernels.
#pragma once

#include <Eigen/Core>
#include <cstdint>

#include "spbmm/dense.hpp"
#include "spbmm/types.hpp"

namespace spbmm::kernels::eigen::detail {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using ConstRowMap = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using RowMap = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ColMap = Eigen::Map<ColMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// A stored operand as a row-major map plus whether op(X) is that map's transpose: a column-major
// matrix is the transpose of a row-major one over the same storage, which keeps the number of
// product instantiations at four per value type.
template <class T>
struct OpMap {
  ConstRowMap<T> map;
  bool transposed;
};

template <class T>
OpMap<T> op_map(const DenseView<const T>& x, Op op) {
  const bool row_major = x.layout == Layout::RowMajor;
  const Eigen::Index r = row_major ? x.rows : x.cols;
  const Eigen::Index c = row_major ? x.cols : x.rows;
  return {ConstRowMap<T>(x.data, r, c, Eigen::OuterStride<>(x.ld)), (op == Op::T) != !row_major};
}

// dst = alpha * lhs * rhs + beta * dst; beta == 0 never reads dst.
template <class T, class Dst, class Lhs, class Rhs>
void update(Dst&& dst, T alpha, const Lhs& lhs, const Rhs& rhs, T beta) {
  if (beta == T(0)) {
    dst.noalias() = alpha * lhs * rhs;
  } else {
    if (beta != T(1)) dst *= beta;
    dst.noalias() += alpha * lhs * rhs;
  }
}

// C = beta * C (an empty product or alpha == 0); beta == 0 writes zeros without reading C.
template <class T>
void scale(const DenseView<T>& c, T beta) {
  if (beta == T(1) || c.rows == 0 || c.cols == 0) return;
  const auto apply = [&](auto&& m) {
    if (beta == T(0)) {
      m.setZero();
    } else {
      m *= beta;
    }
  };
  if (c.layout == Layout::RowMajor) {
    apply(RowMap<T>(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.ld)));
  } else {
    apply(ColMap<T>(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.ld)));
  }
}

}  // namespace spbmm::kernels::eigen::detail
