// Zero-copy interop with Eigen: Eigen dense and sparse objects as spbmm views, and back.
//
// Opt-in and header-only: include this header (and have Eigen on the include path) to use it; no
// other spbmm header includes Eigen. Nothing here copies matrix data: every result aliases the
// argument's storage, so the argument must outlive the result and keep its storage in place.
//
//   Eigen -> spbmm                          spbmm -> Eigen
//   dense_view(dense)       DenseView<T>    to_eigen<Eigen::RowMajor | Eigen::ColMajor>(DenseView)
//   csr_view(row-major sparse)   CsrView    to_eigen(CsrView)  Eigen::Map<const
//   SparseMatrix<RowMajor>> csr_of_transpose(col-major)  CsrView    to_eigen_transpose(CsrView) the
//   same arrays as A^T, CSC
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm::interop {

namespace eigen_detail {

// Eigen dense expressions whose coefficients sit in memory at data() with runtime strides
// (Matrix, Array, Map, Ref, and blocks of those).
template <class D>
concept DirectDense = std::is_base_of_v<Eigen::DenseBase<D>, D> &&
                      ((static_cast<unsigned>(D::Flags) & Eigen::DirectAccessBit) != 0u) &&
                      Value<std::remove_const_t<typename D::Scalar>>;

// Owning dense objects: viewing a temporary one would dangle.
template <class D>
concept OwningDense = std::is_base_of_v<Eigen::PlainObjectBase<D>, D>;

template <class D>
concept CompressedSparse = std::is_base_of_v<Eigen::SparseCompressedBase<D>, D> &&
    Value<typename D::Scalar> && Index<typename D::StorageIndex>;

// What dense_view accepts: direct-access objects, but no temporary owning matrix.
template <class M>
concept ViewableDense = DirectDense<std::remove_cvref_t<M>> &&
    (std::is_lvalue_reference_v<M> || !OwningDense<std::remove_cvref_t<M>>);

template <class S>
concept RowMajorSparse = CompressedSparse<S> && S::IsRowMajor != 0;
template <class S>
concept ColMajorSparse = CompressedSparse<S> && S::IsRowMajor == 0;

// A DenseView element type: float or double, possibly const.
template <class T>
concept Element = Value<std::remove_const_t<T>>;

inline std::string shape_text(std::int64_t rows, std::int64_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

// A 0-row CSR view may carry a null row_ptr; Eigen always reads outerIndexPtr()[0].
template <class I>
inline constexpr I kZeroIndex[1] = {0};

}  // namespace eigen_detail

// A DenseView on the coefficients of an Eigen dense object with direct access (Matrix, Array, Map,
// Ref, Block). The layout follows the Eigen storage order and ld is its outer stride, so a block
// of a larger matrix or a Map with OuterStride<> is wrapped as it is. A strided vector (a row of a
// column-major matrix, a column of a row-major one) takes the other layout with its stride as ld.
// The view's element type is const when the object is const or maps const data. Throws
// InvalidArgument when a matrix has inner stride != 1 (e.g. Map with InnerStride<2>), since a
// DenseView has unit inner stride.
template <eigen_detail::ViewableDense M>
auto dense_view(M&& m) {
  using D = std::remove_cvref_t<M>;
  using P = decltype(std::forward<M>(m).data());
  using T = std::remove_pointer_t<P>;
  const std::int64_t rows = m.rows();
  const std::int64_t cols = m.cols();
  const Layout layout = D::IsRowMajor ? Layout::RowMajor : Layout::ColMajor;
  const std::int64_t inner = m.innerStride();
  const std::int64_t outer = m.outerStride();
  const std::int64_t inner_size = D::IsRowMajor ? cols : rows;
  const std::int64_t outer_size = D::IsRowMajor ? rows : cols;
  if (inner != 1 && inner_size > 1) {
    if (outer_size == 1 && inner >= 1) {
      // A strided vector (e.g. a row of a column-major matrix): in the other layout its stride
      // is the leading dimension.
      return DenseView<T>(std::forward<M>(m).data(), rows, cols,
                          D::IsRowMajor ? Layout::ColMajor : Layout::RowMajor, inner);
    }
    throw InvalidArgument("spbmm::interop::dense_view: the Eigen " +
                          eigen_detail::shape_text(rows, cols) + " object has inner stride " +
                          std::to_string(inner) +
                          "; a DenseView needs inner stride 1 (copy it into a plain matrix)");
  }
  // Eigen reports an arbitrary outer stride for single-row/column objects; only the tight value
  // is certain to satisfy DenseView's ld rule there.
  const std::int64_t natural = DenseView<T>::natural_ld(rows, cols, layout);
  std::int64_t ld = outer;
  if (outer_size <= 1 || ld < natural) {
    if (outer_size > 1 && inner_size > 0) {
      throw InvalidArgument("spbmm::interop::dense_view: the Eigen " +
                            eigen_detail::shape_text(rows, cols) + " object has outer stride " +
                            std::to_string(outer) + " < " + std::to_string(natural) +
                            "; spbmm needs a leading dimension of at least the inner size");
    }
    ld = natural;
  }
  return DenseView<T>(std::forward<M>(m).data(), rows, cols, layout, ld);
}

// The Eigen matrix type for a DenseView<T> mapped with the given storage order.
template <class T, int Order>
using EigenDenseMap = Eigen::Map<
    std::conditional_t<
        std::is_const_v<T>,
        const Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Order>,
        Eigen::Matrix<std::remove_const_t<T>, Eigen::Dynamic, Eigen::Dynamic, Order>>,
    Eigen::Unaligned, Eigen::OuterStride<>>;

// An Eigen::Map (with OuterStride) on a DenseView's memory. Order (Eigen::RowMajor or
// Eigen::ColMajor) is the Eigen storage order and must match v.layout, else InvalidArgument: a
// row-major view read as column-major is the transpose, which to_eigen(...).transpose() on the
// right Order expresses without copying.
template <int Order, eigen_detail::Element T>
EigenDenseMap<T, Order> to_eigen(const DenseView<T>& v) {
  static_assert(Order == Eigen::RowMajor || Order == Eigen::ColMajor,
                "Order is Eigen::RowMajor or Eigen::ColMajor");
  const Layout want = Order == Eigen::RowMajor ? Layout::RowMajor : Layout::ColMajor;
  if (v.layout != want) {
    throw InvalidArgument(std::string("spbmm::interop::to_eigen: the DenseView is ") +
                          to_string(v.layout) + " but an Eigen " +
                          (Order == Eigen::RowMajor ? "RowMajor" : "ColMajor") +
                          " map was asked for; use the other storage order");
  }
  validate(v, "spbmm::interop::to_eigen argument");
  return EigenDenseMap<T, Order>(v.data, v.rows, v.cols, Eigen::OuterStride<>(v.ld));
}

// An Eigen::Map on a DenseMatrix in the matrix's own layout (Order must match it).
template <int Order, Value T>
EigenDenseMap<T, Order> to_eigen(DenseMatrix<T>& m) {
  return to_eigen<Order>(m.view());
}
template <int Order, Value T>
EigenDenseMap<const T, Order> to_eigen(const DenseMatrix<T>& m) {
  return to_eigen<Order>(m.view());
}

// A CsrView on a compressed row-major Eigen sparse matrix (SparseMatrix<T, RowMajor, I> or a
// Map of one). Eigen's StorageIndex is spbmm's index type. Throws InvalidArgument when the matrix
// is not compressed (call makeCompressed() first). Eigen keeps inner indices sorted and unique
// unless its raw arrays were written directly; spbmm::validate checks that in O(nnz).
template <eigen_detail::RowMajorSparse S>
CsrView<typename S::Scalar, typename S::StorageIndex> csr_view(const S& m) {
  if (!m.isCompressed()) {
    throw InvalidArgument("spbmm::interop::csr_view: the Eigen sparse " +
                          eigen_detail::shape_text(m.rows(), m.cols()) +
                          " matrix is not compressed; call makeCompressed() first");
  }
  return {m.rows(), m.cols(), m.outerIndexPtr(), m.innerIndexPtr(), m.valuePtr()};
}

// A column-major (CSC) Eigen sparse matrix A is the CSR of A^T: returns a CsrView of A^T
// (rows = A.cols(), cols = A.rows()) on A's arrays. Throws InvalidArgument when not compressed.
template <eigen_detail::ColMajorSparse S>
CsrView<typename S::Scalar, typename S::StorageIndex> csr_of_transpose(const S& m) {
  if (!m.isCompressed()) {
    throw InvalidArgument("spbmm::interop::csr_of_transpose: the Eigen sparse " +
                          eigen_detail::shape_text(m.rows(), m.cols()) +
                          " matrix is not compressed; call makeCompressed() first");
  }
  return {m.cols(), m.rows(), m.outerIndexPtr(), m.innerIndexPtr(), m.valuePtr()};
}

// A row-major Eigen sparse map on a CsrView's arrays (A itself).
template <Value T, Index I>
Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>> to_eigen(const CsrView<T, I>& v) {
  const I* rp = v.row_ptr != nullptr ? v.row_ptr : eigen_detail::kZeroIndex<I>;
  if (v.rows < 0 || v.cols < 0 || (v.rows > 0 && v.row_ptr == nullptr)) {
    throw InvalidArgument("spbmm::interop::to_eigen: malformed CsrView " +
                          eigen_detail::shape_text(v.rows, v.cols) +
                          " (negative shape or null row_ptr)");
  }
  return Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>>(v.rows, v.cols, v.nnz(), rp,
                                                                      v.col_idx, v.values);
}

// A column-major Eigen sparse map on a CsrView's arrays: the CSC of A^T, i.e. the matrix A^T
// (rows = v.cols, cols = v.rows). The inverse of csr_of_transpose.
template <Value T, Index I>
Eigen::Map<const Eigen::SparseMatrix<T, Eigen::ColMajor, I>> to_eigen_transpose(
    const CsrView<T, I>& v) {
  const I* rp = v.row_ptr != nullptr ? v.row_ptr : eigen_detail::kZeroIndex<I>;
  if (v.rows < 0 || v.cols < 0 || (v.rows > 0 && v.row_ptr == nullptr)) {
    throw InvalidArgument("spbmm::interop::to_eigen_transpose: malformed CsrView " +
                          eigen_detail::shape_text(v.rows, v.cols) +
                          " (negative shape or null row_ptr)");
  }
  return Eigen::Map<const Eigen::SparseMatrix<T, Eigen::ColMajor, I>>(v.cols, v.rows, v.nnz(), rp,
                                                                      v.col_idx, v.values);
}

// The same maps on an owning CsrMatrix (which must outlive the map).
template <Value T, Index I>
Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>> to_eigen(const CsrMatrix<T, I>& m) {
  return to_eigen(m.view());
}
template <Value T, Index I>
Eigen::Map<const Eigen::SparseMatrix<T, Eigen::ColMajor, I>> to_eigen_transpose(
    const CsrMatrix<T, I>& m) {
  return to_eigen_transpose(m.view());
}

}  // namespace spbmm::interop
