// Tests for the Eigen interop: zero-copy views both ways, strides, layouts and the error cases.
#include "spbmm/interop/eigen.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <algorithm>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "kernels/kernels.hpp"
#include "test_util.hpp"

namespace spbmm::interop {
namespace {

using test::AllPairs;

template <class T>
using MatC = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using MatR = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Every element of the view equals the Eigen object's.
template <class V, class E>
::testing::AssertionResult same_elements(const V& v, const E& e) {
  if (v.rows != e.rows() || v.cols != e.cols()) {
    return ::testing::AssertionFailure()
           << "shape " << v.rows << "x" << v.cols << " vs " << e.rows() << "x" << e.cols();
  }
  for (std::int64_t i = 0; i < v.rows; ++i) {
    for (std::int64_t j = 0; j < v.cols; ++j) {
      if (v(i, j) != e(i, j)) {
        return ::testing::AssertionFailure() << "differ at (" << i << ", " << j << ")";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

template <class T>
class EigenDense : public ::testing::Test {};
using Values = ::testing::Types<float, double>;
TYPED_TEST_SUITE(EigenDense, Values);

TYPED_TEST(EigenDense, ColMajorMatrixIsWrappedInPlace) {
  using T = TypeParam;
  MatC<T> m = MatC<T>::Random(5, 3);
  auto v = dense_view(m);
  static_assert(std::is_same_v<decltype(v), DenseView<T>>);
  EXPECT_EQ(v.data, m.data());
  EXPECT_EQ(v.layout, Layout::ColMajor);
  EXPECT_EQ(v.ld, 5);
  EXPECT_TRUE(same_elements(v, m));
  v(4, 2) = T(7);  // writes land in the Eigen matrix
  EXPECT_EQ(m(4, 2), T(7));
}

TYPED_TEST(EigenDense, RowMajorMatrixIsWrappedInPlace) {
  using T = TypeParam;
  MatR<T> m = MatR<T>::Random(4, 6);
  auto v = dense_view(m);
  EXPECT_EQ(v.data, m.data());
  EXPECT_EQ(v.layout, Layout::RowMajor);
  EXPECT_EQ(v.ld, 6);
  EXPECT_TRUE(same_elements(v, m));
}

TYPED_TEST(EigenDense, ConstObjectsGiveConstViews) {
  using T = TypeParam;
  const MatC<T> m = MatC<T>::Random(3, 3);
  auto v = dense_view(m);
  static_assert(std::is_same_v<decltype(v), DenseView<const T>>);
  EXPECT_EQ(v.data, m.data());
  std::vector<T> buf(12, T(1));
  auto cv = dense_view(Eigen::Map<const MatR<T>>(buf.data(), 3, 4));
  static_assert(std::is_same_v<decltype(cv), DenseView<const T>>);
  EXPECT_EQ(cv.data, buf.data());
  EXPECT_EQ(cv.layout, Layout::RowMajor);
}

TYPED_TEST(EigenDense, BlocksKeepTheParentsOuterStride) {
  using T = TypeParam;
  MatC<T> c = MatC<T>::Random(8, 7);
  auto bc = dense_view(c.block(2, 1, 4, 3));
  EXPECT_EQ(bc.data, &c(2, 1));
  EXPECT_EQ(bc.ld, 8);
  EXPECT_EQ(bc.layout, Layout::ColMajor);
  EXPECT_TRUE(same_elements(bc, c.block(2, 1, 4, 3)));

  MatR<T> r = MatR<T>::Random(8, 7);
  auto br = dense_view(r.block(1, 2, 3, 4));
  EXPECT_EQ(br.data, &r(1, 2));
  EXPECT_EQ(br.ld, 7);
  EXPECT_EQ(br.layout, Layout::RowMajor);
  EXPECT_TRUE(same_elements(br, r.block(1, 2, 3, 4)));
}

TYPED_TEST(EigenDense, MapsWithOuterStride) {
  using T = TypeParam;
  std::vector<T> buf(64);
  for (std::size_t k = 0; k < buf.size(); ++k) buf[k] = static_cast<T>(k);
  Eigen::Map<MatC<T>, Eigen::Unaligned, Eigen::OuterStride<>> mc(buf.data(), 3, 5,
                                                                 Eigen::OuterStride<>(9));
  auto vc = dense_view(mc);
  EXPECT_EQ(vc.data, buf.data());
  EXPECT_EQ(vc.ld, 9);
  EXPECT_EQ(vc(2, 4), buf[2 + 4 * 9]);
  EXPECT_TRUE(same_elements(vc, mc));

  Eigen::Map<MatR<T>, Eigen::Unaligned, Eigen::OuterStride<>> mr(buf.data(), 5, 3,
                                                                 Eigen::OuterStride<>(11));
  auto vr = dense_view(mr);
  EXPECT_EQ(vr.ld, 11);
  EXPECT_EQ(vr.layout, Layout::RowMajor);
  EXPECT_EQ(vr(4, 2), buf[4 * 11 + 2]);
  EXPECT_TRUE(same_elements(vr, mr));
}

TYPED_TEST(EigenDense, VectorsAndEmptyMatrices) {
  using T = TypeParam;
  Eigen::Matrix<T, Eigen::Dynamic, 1> col = Eigen::Matrix<T, Eigen::Dynamic, 1>::Random(6);
  auto vc = dense_view(col);
  EXPECT_EQ(vc.rows, 6);
  EXPECT_EQ(vc.cols, 1);
  EXPECT_TRUE(same_elements(vc, col));
  Eigen::Matrix<T, 1, Eigen::Dynamic> row = Eigen::Matrix<T, 1, Eigen::Dynamic>::Random(6);
  auto vr = dense_view(row);
  EXPECT_EQ(vr.rows, 1);
  EXPECT_EQ(vr.cols, 6);
  EXPECT_TRUE(same_elements(vr, row));
  validate(vc, "column vector");
  validate(vr, "row vector");

  MatC<T> empty(0, 4);
  auto ve = dense_view(empty);
  EXPECT_TRUE(ve.empty());
  validate(ve, "empty");
  MatR<T> empty2(3, 0);
  validate(dense_view(empty2), "empty");
}

TYPED_TEST(EigenDense, StridedVectorsTakeTheOtherLayout) {
  using T = TypeParam;
  MatC<T> c = MatC<T>::Random(6, 5);
  auto row = dense_view(c.row(2));  // stride 6 between its elements
  EXPECT_EQ(row.data, &c(2, 0));
  EXPECT_EQ(row.layout, Layout::ColMajor);
  EXPECT_EQ(row.ld, 6);
  EXPECT_TRUE(same_elements(row, c.row(2)));
  validate(row, "row of a column-major matrix");

  MatR<T> r = MatR<T>::Random(6, 5);
  auto col = dense_view(r.col(3));
  EXPECT_EQ(col.data, &r(0, 3));
  EXPECT_EQ(col.layout, Layout::RowMajor);
  EXPECT_EQ(col.ld, 5);
  EXPECT_TRUE(same_elements(col, r.col(3)));
  validate(col, "column of a row-major matrix");
}

TYPED_TEST(EigenDense, NonUnitInnerStrideIsRejected) {
  using T = TypeParam;
  std::vector<T> buf(64, T(0));
  Eigen::Map<MatC<T>, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>> m(
      buf.data(), 3, 3, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(8, 2));
  SPBMM_EXPECT_THROW_MSG(dense_view(m), InvalidArgument, "inner stride 2");
  Eigen::Map<MatR<T>, Eigen::Unaligned, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>> small(
      buf.data(), 3, 4, Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(2, 1));
  SPBMM_EXPECT_THROW_MSG(dense_view(small), InvalidArgument, "outer stride 2 < 4");
}

TYPED_TEST(EigenDense, ViewsMapBackToEigenWithoutCopying) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  std::vector<T> buf(10 * 4);
  for (auto& x : buf) x = test::random_value<T>(rng);

  DenseView<T> col(buf.data(), 6, 4, Layout::ColMajor, 10);
  auto mc = to_eigen<Eigen::ColMajor>(col);
  EXPECT_EQ(mc.data(), buf.data());
  EXPECT_EQ(mc.outerStride(), 10);
  EXPECT_TRUE(same_elements(col, mc));
  mc(5, 3) = T(42);
  EXPECT_EQ(col(5, 3), T(42));

  DenseView<const T> row(buf.data(), 4, 6, Layout::RowMajor, 9);
  auto mr = to_eigen<Eigen::RowMajor>(row);
  static_assert(std::is_const_v<std::remove_pointer_t<decltype(mr.data())>>);
  EXPECT_EQ(mr.data(), buf.data());
  EXPECT_EQ(mr.outerStride(), 9);
  EXPECT_TRUE(same_elements(row, mr));
  // A row-major view read through a column-major map is its transpose.
  auto tr = to_eigen<Eigen::ColMajor>(DenseView<const T>(buf.data(), 6, 4, Layout::ColMajor, 9));
  EXPECT_TRUE(same_elements(row, tr.transpose()));

  DenseMatrix<T> owned = test::random_dense<T>(3, 5, rng, Layout::RowMajor);
  auto mo = to_eigen<Eigen::RowMajor>(owned);
  EXPECT_EQ(mo.data(), owned.values().data());
  EXPECT_TRUE(same_elements(owned.view(), mo));
  const DenseMatrix<T>& cowned = owned;
  EXPECT_EQ(to_eigen<Eigen::RowMajor>(cowned).data(), owned.values().data());
}

TYPED_TEST(EigenDense, RoundTripPreservesPointerStrideAndValues) {
  using T = TypeParam;
  MatR<T> big = MatR<T>::Random(9, 9);
  auto back = to_eigen<Eigen::RowMajor>(dense_view(big.block(2, 3, 5, 4)));
  EXPECT_EQ(back.data(), &big(2, 3));
  EXPECT_EQ(back.outerStride(), 9);
  EXPECT_EQ(back, big.block(2, 3, 5, 4));

  MatC<T> bigc = MatC<T>::Random(9, 9);
  auto backc = to_eigen<Eigen::ColMajor>(dense_view(bigc.block(1, 1, 4, 6)));
  EXPECT_EQ(backc.data(), &bigc(1, 1));
  EXPECT_EQ(backc, bigc.block(1, 1, 4, 6));
}

TYPED_TEST(EigenDense, LayoutMismatchAndBadViewsAreRejected) {
  using T = TypeParam;
  std::vector<T> buf(12);
  DenseView<T> row(buf.data(), 3, 4, Layout::RowMajor);
  SPBMM_EXPECT_THROW_MSG(to_eigen<Eigen::ColMajor>(row), InvalidArgument,
                         "an Eigen ColMajor map was asked for");
  DenseView<T> bad(buf.data(), 3, 4, Layout::RowMajor, 2);
  EXPECT_THROW(to_eigen<Eigen::RowMajor>(bad), FormatError);
}

TYPED_TEST(EigenDense, ReferenceProductOnWrappedEigenOperands) {
  using T = TypeParam;
  const MatR<T> a = MatR<T>::Random(7, 5);
  const MatC<T> b = MatC<T>::Random(5, 3);
  MatC<T> c = MatC<T>::Zero(7, 3);
  kernels::reference::dense_dense<T>(Op::N, Op::N, T(1), dense_view(a), dense_view(b), T(0),
                                     dense_view(c));
  const MatC<T> want = a * b;
  EXPECT_TRUE(test::dense_near(dense_view(c), dense_view(want), test::tolerance<T>(5)));
}

template <class P>
class EigenSparse : public ::testing::Test {};
TYPED_TEST_SUITE(EigenSparse, AllPairs);

template <class T, class I, int Order>
Eigen::SparseMatrix<T, Order, I> random_eigen_sparse(std::int64_t rows, std::int64_t cols,
                                                     double density, std::mt19937_64& rng) {
  std::bernoulli_distribution keep(density);
  std::vector<Eigen::Triplet<T, I>> trips;
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) {
      if (keep(rng)) {
        trips.emplace_back(static_cast<I>(i), static_cast<I>(j), test::random_value<T>(rng));
      }
    }
  }
  std::shuffle(trips.begin(), trips.end(), rng);
  Eigen::SparseMatrix<T, Order, I> m(rows, cols);
  m.setFromTriplets(trips.begin(), trips.end());
  m.makeCompressed();
  return m;
}

// Entry-by-entry equality of a CSR view and an Eigen sparse expression of the same matrix.
template <class T, class I, class E>
::testing::AssertionResult same_sparse(const CsrView<T, I>& v, const E& e) {
  using Dense = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  if (v.rows != e.rows() || v.cols != e.cols()) {
    return ::testing::AssertionFailure()
           << "shape " << v.rows << "x" << v.cols << " vs " << e.rows() << "x" << e.cols();
  }
  Dense from_view = Dense::Zero(v.rows, v.cols);
  for (std::int64_t r = 0; r < v.rows; ++r) {
    for (I k = v.row_ptr[r]; k < v.row_ptr[r + 1]; ++k) from_view(r, v.col_idx[k]) = v.values[k];
  }
  const Dense want = Dense(e);
  if (from_view != want) return ::testing::AssertionFailure() << "values differ";
  if (v.nnz() != e.nonZeros()) {
    return ::testing::AssertionFailure() << "nnz " << v.nnz() << " vs " << e.nonZeros();
  }
  return ::testing::AssertionSuccess();
}

TYPED_TEST(EigenSparse, RowMajorSparseIsCsrInPlace) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  auto m = random_eigen_sparse<T, I, Eigen::RowMajor>(13, 9, 0.3, rng);
  const CsrView<T, I> v = csr_view(m);
  EXPECT_EQ(v.row_ptr, m.outerIndexPtr());
  EXPECT_EQ(v.col_idx, m.innerIndexPtr());
  EXPECT_EQ(v.values, m.valuePtr());
  validate(v);
  EXPECT_TRUE(same_sparse(v, m));

  // A Map of a sparse matrix works the same way.
  Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>> mm(
      m.rows(), m.cols(), m.nonZeros(), m.outerIndexPtr(), m.innerIndexPtr(), m.valuePtr());
  EXPECT_EQ(csr_view(mm).values, m.valuePtr());
}

TYPED_TEST(EigenSparse, ColMajorSparseIsCsrOfTheTranspose) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(12);
  auto m = random_eigen_sparse<T, I, Eigen::ColMajor>(6, 10, 0.4, rng);
  const CsrView<T, I> t = csr_of_transpose(m);
  EXPECT_EQ(t.rows, 10);
  EXPECT_EQ(t.cols, 6);
  EXPECT_EQ(t.row_ptr, m.outerIndexPtr());
  EXPECT_EQ(t.values, m.valuePtr());
  validate(t);
  EXPECT_TRUE(same_sparse(t, Eigen::SparseMatrix<T, Eigen::ColMajor, I>(m.transpose())));
}

TYPED_TEST(EigenSparse, UncompressedSparseIsRejected) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Eigen::SparseMatrix<T, Eigen::RowMajor, I> r(4, 4);
  r.insert(1, 2) = T(1);
  ASSERT_FALSE(r.isCompressed());
  SPBMM_EXPECT_THROW_MSG(csr_view(r), InvalidArgument, "call makeCompressed() first");
  Eigen::SparseMatrix<T, Eigen::ColMajor, I> c(4, 4);
  c.insert(3, 0) = T(1);
  SPBMM_EXPECT_THROW_MSG(csr_of_transpose(c), InvalidArgument, "not compressed");
  r.makeCompressed();
  EXPECT_EQ(csr_view(r).nnz(), 1);
}

TYPED_TEST(EigenSparse, CsrMapsBackToEigenWithoutCopying) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(13);
  const auto a = test::random_csr<T, I>(8, 11, 0.35, rng);
  auto m = to_eigen(a);
  EXPECT_EQ(m.outerIndexPtr(), a.row_ptr().data());
  EXPECT_EQ(m.innerIndexPtr(), a.col_idx().data());
  EXPECT_EQ(m.valuePtr(), a.values().data());
  EXPECT_TRUE(same_sparse(a.view(), m));

  auto mt = to_eigen_transpose(a);
  EXPECT_EQ(mt.rows(), 11);
  EXPECT_EQ(mt.cols(), 8);
  EXPECT_EQ(mt.valuePtr(), a.values().data());
  EXPECT_TRUE(same_sparse(a.view(), Eigen::SparseMatrix<T, Eigen::ColMajor, I>(mt.transpose())));

  // Eigen arithmetic on the map agrees with the reference kernel.
  const auto b = test::random_dense<T>(11, 3, rng, Layout::ColMajor);
  DenseMatrix<T> c(8, 3, Layout::ColMajor);
  kernels::reference::csr_dense<T, I>(Op::N, Op::N, T(1), a.view(), b.view(), T(0), c.view());
  const MatC<T> want = m * to_eigen<Eigen::ColMajor>(b);
  EXPECT_TRUE(test::dense_near(c.view(), dense_view(want), test::tolerance<T>(11)));
}

TYPED_TEST(EigenSparse, RoundTripsKeepThePointers) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(14);
  auto r = random_eigen_sparse<T, I, Eigen::RowMajor>(7, 7, 0.3, rng);
  auto back = to_eigen(csr_view(r));
  EXPECT_EQ(back.valuePtr(), r.valuePtr());
  EXPECT_EQ(back.outerIndexPtr(), r.outerIndexPtr());
  EXPECT_EQ((Eigen::SparseMatrix<T, Eigen::RowMajor, I>(back) - r).norm(), 0);

  auto c = random_eigen_sparse<T, I, Eigen::ColMajor>(5, 9, 0.3, rng);
  auto backc = to_eigen_transpose(csr_of_transpose(c));
  EXPECT_EQ(backc.rows(), c.rows());
  EXPECT_EQ(backc.innerIndexPtr(), c.innerIndexPtr());
  EXPECT_EQ((Eigen::SparseMatrix<T, Eigen::ColMajor, I>(backc) - c).norm(), 0);
}

TYPED_TEST(EigenSparse, EmptyShapesAndZeroNnz) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrView<T, I> none{0, 5, nullptr, nullptr, nullptr};
  auto m = to_eigen(none);
  EXPECT_EQ(m.rows(), 0);
  EXPECT_EQ(m.cols(), 5);
  EXPECT_EQ(m.nonZeros(), 0);
  EXPECT_EQ(to_eigen_transpose(none).cols(), 0);

  Eigen::SparseMatrix<T, Eigen::RowMajor, I> z(3, 4);
  z.makeCompressed();
  const auto v = csr_view(z);
  EXPECT_EQ(v.rows, 3);
  EXPECT_EQ(v.nnz(), 0);
  validate(v);

  const CsrView<T, I> bad{2, 2, nullptr, nullptr, nullptr};
  SPBMM_EXPECT_THROW_MSG(to_eigen(bad), InvalidArgument, "null row_ptr");
}

}  // namespace
}  // namespace spbmm::interop
