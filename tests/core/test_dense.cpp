// Tests of the dense containers: DenseView validation, DenseMatrix, DenseBatch, DenseBatchView.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

#include "spbmm/aligned.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;

constexpr std::int64_t kBig = std::int64_t{1} << 40;

template <class P>
class DenseTest : public ::testing::Test {};
TYPED_TEST_SUITE(DenseTest, AllPairs);

TYPED_TEST(DenseTest, MatrixZeroFilledWithShapeAndLayout) {
  using T = typename TypeParam::T;
  DenseMatrix<T> m(2, 3);
  EXPECT_EQ(m.rows(), 2);
  EXPECT_EQ(m.cols(), 3);
  EXPECT_EQ(m.layout(), Layout::RowMajor);
  EXPECT_EQ(m.values(), std::vector<T>(6, T(0)));

  const DenseMatrix<T> empty;
  EXPECT_EQ(empty.rows(), 0);
  EXPECT_TRUE(empty.view().empty());

  DenseMatrix<T> c(0, 4, Layout::ColMajor);
  EXPECT_TRUE(c.values().empty());
  EXPECT_EQ(c.view().ld, 1);
  DenseMatrix<T> d(4, 0);
  EXPECT_TRUE(d.values().empty());
  EXPECT_EQ(d.view().size(), 0);
}

TYPED_TEST(DenseTest, MatrixIndexingFollowsLayout) {
  using T = typename TypeParam::T;
  const DenseMatrix<T> r(2, 3, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(r(0, 2), T(3));
  EXPECT_EQ(r(1, 0), T(4));
  EXPECT_EQ(r.view().ld, 3);
  const DenseMatrix<T> c(2, 3, {1, 2, 3, 4, 5, 6}, Layout::ColMajor);
  EXPECT_EQ(c.layout(), Layout::ColMajor);
  EXPECT_EQ(c(0, 2), T(5));
  EXPECT_EQ(c(1, 0), T(2));
  EXPECT_EQ(c.view().ld, 2);

  DenseMatrix<T> w(2, 2);
  w(1, 0) = T(7);
  EXPECT_EQ(w.values()[2], T(7));
}

TYPED_TEST(DenseTest, MatrixConstructorErrors) {
  using T = typename TypeParam::T;
  SPBMM_EXPECT_THROW_MSG(DenseMatrix<T>(-1, 3), ShapeError, "dense matrix: negative shape -1x3");
  SPBMM_EXPECT_THROW_MSG(DenseMatrix<T>(2, -3, std::vector<T>{}), ShapeError,
                         "dense matrix: negative shape 2x-3");
  SPBMM_EXPECT_THROW_MSG(DenseMatrix<T>(2, 3, std::vector<T>(5)), ShapeError,
                         "dense matrix: 2x3 needs 6 values, got 5");
  SPBMM_EXPECT_THROW_MSG(DenseMatrix<T>(kBig, kBig), LimitError,
                         "dense matrix: 1099511627776 * 1099511627776 overflows a 64-bit size");
  SPBMM_EXPECT_THROW_MSG(DenseMatrix<T>(kBig, kBig, std::vector<T>{}), LimitError,
                         "overflows a 64-bit size");
}

TYPED_TEST(DenseTest, ViewDefaultsAndConstConversion) {
  using T = typename TypeParam::T;
  std::vector<T> buf = {1, 2, 3, 4, 5, 6, 7, 8};
  DenseView<T> v(buf.data(), 2, 3, Layout::RowMajor, 4);  // padded rows
  EXPECT_EQ(v.ld, 4);
  EXPECT_EQ(v(1, 2), T(7));
  v(1, 0) = T(50);
  EXPECT_EQ(buf[4], T(50));
  const DenseView<const T> cv = v;
  EXPECT_EQ(cv.data, buf.data());
  EXPECT_EQ(cv.ld, 4);
  EXPECT_EQ(cv(1, 0), T(50));
  EXPECT_NO_THROW(validate(cv, "A"));

  EXPECT_EQ(DenseView<T>(buf.data(), 2, 3).ld, 3);
  EXPECT_EQ(DenseView<T>(buf.data(), 2, 3, Layout::ColMajor).ld, 2);
  EXPECT_EQ(DenseView<T>::natural_ld(0, 0, Layout::RowMajor), 1);
}

TYPED_TEST(DenseTest, ViewValidationErrors) {
  using T = typename TypeParam::T;
  std::vector<T> buf(16);
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<T>(buf.data(), -1, 2), "B entry 3"), FormatError,
                         "B entry 3: negative shape -1x2");
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<T>(buf.data(), 2, 3, Layout::RowMajor, 2), "A"),
                         FormatError, "A: leading dimension 2 < 3 for a row-major 2x3 matrix");
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<T>(buf.data(), 4, 3, Layout::ColMajor, 3), "C"),
                         FormatError, "C: leading dimension 3 < 4 for a column-major 4x3 matrix");
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<T>(buf.data(), 0, 0, Layout::RowMajor, 0), "D"),
                         FormatError, "D: leading dimension 0 < 1");
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<const T>(nullptr, 2, 2), "B"), FormatError,
                         "B: null data pointer for a 2x2 matrix");
  SPBMM_EXPECT_THROW_MSG(validate(DenseView<T>(buf.data(), kBig, kBig), "huge"), LimitError,
                         "huge: 1099511627776 * 1099511627776 overflows a 64-bit size");
  // Empty matrices need no storage.
  EXPECT_NO_THROW(validate(DenseView<T>(nullptr, 0, 5), "E"));
  EXPECT_NO_THROW(validate(DenseView<T>(nullptr, 5, 0, Layout::ColMajor), "E"));
}

TYPED_TEST(DenseTest, BatchShapesOffsetsAndLayouts) {
  using T = typename TypeParam::T;
  DenseBatch<T> b({2, 0, 3}, {3, 4, 1}, Layout::ColMajor);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.layout(), Layout::ColMajor);
  EXPECT_EQ(b.rows(2), 3);
  EXPECT_EQ(b.cols(1), 4);
  EXPECT_EQ(b.offset(0), 0);
  EXPECT_EQ(b.offset(1), 6);
  EXPECT_EQ(b.offset(2), 6);
  EXPECT_EQ(b.values().size(), 9u);
  EXPECT_FALSE(b.is_uniform());
  b.entry(0)(1, 2) = T(5);  // column-major: offset 1 + 2 * 2
  EXPECT_EQ(b.values()[5], T(5));
  const DenseBatch<T>& cb = b;
  EXPECT_EQ(cb.entry(0)(1, 2), T(5));
  EXPECT_EQ(cb.entry(2).data, cb.values().data() + 6);
  EXPECT_EQ(cb.entry(2).ld, 3);

  const auto view = b.view();
  ASSERT_EQ(view.size(), 3u);
  EXPECT_EQ(view[2].data, b.values().data() + 6);
  EXPECT_EQ(view[0].layout, Layout::ColMajor);
  const auto cview = cb.view();
  EXPECT_EQ(cview[0](1, 2), T(5));

  const auto u = DenseBatch<T>::uniform(4, 2, 5);
  EXPECT_EQ(u.size(), 4u);
  EXPECT_TRUE(u.is_uniform());
  EXPECT_EQ(u.offset(3), 30);
  EXPECT_EQ(u.values().size(), 40u);

  const DenseBatch<T> e;
  EXPECT_TRUE(e.empty());
  EXPECT_TRUE(e.is_uniform());
  EXPECT_TRUE(e.view().empty());
  EXPECT_TRUE(e.to_list().empty());
  EXPECT_TRUE(DenseBatch<T>::uniform(0, 3, 3).empty());
}

TYPED_TEST(DenseTest, BatchConstructorErrors) {
  using T = typename TypeParam::T;
  SPBMM_EXPECT_THROW_MSG(DenseBatch<T>({1, 2}, {3}), ShapeError,
                         "dense batch: 2 row counts but 1 column counts");
  SPBMM_EXPECT_THROW_MSG(DenseBatch<T>({1, -1}, {3, 2}), ShapeError,
                         "dense batch: entry 1 has negative shape -1x2");
  SPBMM_EXPECT_THROW_MSG(DenseBatch<T>({kBig}, {kBig}), LimitError,
                         "dense batch: 1099511627776 * 1099511627776 overflows a 64-bit size");
  const std::int64_t half = std::int64_t{1} << 31;  // 2^62 values per entry: the sum overflows
  SPBMM_EXPECT_THROW_MSG(DenseBatch<T>({half, half}, {half, half}), LimitError,
                         "dense batch: total size overflows a 64-bit size");
}

TYPED_TEST(DenseTest, BatchFromListToListRoundTrip) {
  using T = typename TypeParam::T;
  std::mt19937_64 rng(7);
  std::vector<DenseMatrix<T>> list;
  list.push_back(test::random_dense<T>(2, 3, rng));
  list.push_back(test::random_dense<T>(0, 4, rng));
  list.push_back(test::random_dense<T>(3, 2, rng, Layout::ColMajor));
  list.push_back(test::random_dense<T>(1, 1, rng));

  for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    const auto b = DenseBatch<T>::from_list(list, layout);
    ASSERT_EQ(b.size(), list.size());
    EXPECT_FALSE(b.is_uniform());
    const auto back = b.to_list();
    ASSERT_EQ(back.size(), list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      EXPECT_EQ(back[i].layout(), layout);
      EXPECT_TRUE(test::dense_near(back[i].view(), list[i].view(), 0.0)) << "entry " << i;
      EXPECT_TRUE(test::dense_near(b.entry(i), list[i].view(), 0.0)) << "entry " << i;
    }
  }
  const auto row = DenseBatch<T>::from_list(list);
  EXPECT_EQ(row.to_list()[0].values(), list[0].values());
}

bool aligned(const void* p, std::size_t a = kDenseAlignment) {
  return reinterpret_cast<std::uintptr_t>(p) % a == 0;
}

TEST(AlignedStorage, AllocatorHonoursAlignmentAndRebind) {
  AlignedAllocator<float> a;
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{1000}, std::size_t{1} << 22}) {
    float* p = a.allocate(n);
    EXPECT_TRUE(aligned(p)) << n;
    a.deallocate(p, n);
  }
  AlignedAllocator<char, 256> wide;
  char* c = wide.allocate(5);
  EXPECT_TRUE(aligned(c, 256));
  wide.deallocate(c, 5);
  using Rebound = std::allocator_traits<AlignedAllocator<float>>::rebind_alloc<double>;
  static_assert(std::is_same_v<Rebound, AlignedAllocator<double>>);
  EXPECT_TRUE(AlignedAllocator<float>() == AlignedAllocator<double>());
  EXPECT_THROW((void)a.allocate(std::numeric_limits<std::size_t>::max()),
               std::bad_array_new_length);
}

TEST(AlignedStorage, VectorStaysAlignedAndTakesPlainVectors) {
  AlignedVector<double> v(7, 1.5);
  EXPECT_TRUE(aligned(v.data()));
  for (int i = 0; i < 1000; ++i) v.push_back(i);  // reallocates
  EXPECT_TRUE(aligned(v.data()));
  const std::vector<double> plain = {1, 2, 3};
  v = plain;
  EXPECT_EQ(v, plain);
  EXPECT_TRUE(aligned(v.data()));
  const AlignedVector<double> w(plain);
  EXPECT_EQ(w, v);
  EXPECT_EQ(plain, w);
  EXPECT_FALSE(w == std::vector<double>({1, 2}));
  EXPECT_FALSE(w == std::vector<double>({1, 2, 4}));
}

TYPED_TEST(DenseTest, MatrixValuesAreAligned) {
  using T = typename TypeParam::T;
  // Small, odd and large (mmap-backed) sizes, in both layouts.
  for (const auto& [r, c] :
       {std::pair<std::int64_t, std::int64_t>{1, 1}, {3, 5}, {17, 9}, {131072, 64}}) {
    for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
      const DenseMatrix<T> z(r, c, layout);
      EXPECT_TRUE(aligned(z.values().data())) << r << "x" << c;
      EXPECT_TRUE(aligned(z.view().data)) << r << "x" << c;
    }
  }
  // From a std::vector: copied into aligned storage, values kept.
  const std::vector<T> src = {1, 2, 3, 4, 5, 6};
  DenseMatrix<T> m(2, 3, src, Layout::ColMajor);
  EXPECT_TRUE(aligned(m.values().data()));
  EXPECT_NE(static_cast<const void*>(m.values().data()), static_cast<const void*>(src.data()));
  EXPECT_EQ(m.values(), src);
  EXPECT_EQ(m(1, 2), T(6));
  // Copies, moves and reassigned values stay aligned.
  const DenseMatrix<T> copy = m;
  EXPECT_TRUE(aligned(copy.values().data()));
  EXPECT_EQ(copy.values(), m.values());
  DenseMatrix<T> assigned(4, 4);
  assigned = copy;
  EXPECT_TRUE(aligned(assigned.values().data()));
  const DenseMatrix<T> moved = std::move(m);
  EXPECT_TRUE(aligned(moved.values().data()));
  DenseMatrix<T> refilled(2, 2);
  refilled.values() = std::vector<T>{4, 3, 2, 1};
  EXPECT_TRUE(aligned(refilled.values().data()));
  EXPECT_EQ(refilled(0, 1), T(3));
}

TYPED_TEST(DenseTest, BatchBufferIsAlignedAndEntriesPacked) {
  using T = typename TypeParam::T;
  std::mt19937_64 rng(11);
  std::vector<DenseMatrix<T>> list;
  list.push_back(test::random_dense<T>(3, 5, rng));
  list.push_back(test::random_dense<T>(0, 2, rng));
  list.push_back(test::random_dense<T>(7, 3, rng, Layout::ColMajor));
  list.push_back(test::random_dense<T>(1, 1, rng));
  for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    const auto b = DenseBatch<T>::from_list(list, layout);
    EXPECT_TRUE(aligned(b.values().data()));
    EXPECT_EQ(b.entry(0).data, b.values().data());
    const auto view = b.view();
    for (std::size_t i = 0; i < b.size(); ++i) {
      // Entries stay packed back to back: only the buffer start is aligned.
      EXPECT_EQ(b.offset(i + 1), b.offset(i) + b.rows(i) * b.cols(i)) << i;
      EXPECT_EQ(view[i].data, b.values().data() + b.offset(i)) << i;
    }
    const auto back = b.to_list();
    ASSERT_EQ(back.size(), list.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
      if (!back[i].values().empty()) {
        EXPECT_TRUE(aligned(back[i].values().data())) << i;
      }
      EXPECT_TRUE(test::dense_near(back[i].view(), list[i].view(), 0.0)) << "entry " << i;
    }
    const auto again = DenseBatch<T>::from_list(back, layout);
    EXPECT_EQ(again.values(), b.values());
  }
  const auto big = DenseBatch<T>::uniform(2, 131072, 64);
  EXPECT_TRUE(aligned(big.values().data()));
  const DenseBatch<T> copy = big;
  EXPECT_TRUE(aligned(copy.values().data()));
  const DenseBatch<T> shaped({5, 2}, {3, 3});
  EXPECT_TRUE(aligned(shaped.values().data()));
}

TYPED_TEST(DenseTest, BatchViewUniformWrapsWithoutCopy) {
  using T = typename TypeParam::T;
  std::vector<T> buf(3 * 8, T(0));
  auto v = DenseBatchView<T>::uniform(buf.data(), 3, 2, 3, Layout::RowMajor, 8);
  ASSERT_EQ(v.size(), 3u);
  for (std::size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(v[b].data, buf.data() + 8 * b);
    EXPECT_EQ(v[b].rows, 2);
    EXPECT_EQ(v[b].cols, 3);
  }
  v[2](1, 1) = T(9);
  EXPECT_EQ(buf[16 + 4], T(9));

  const auto tight = DenseBatchView<T>::uniform(buf.data(), 4, 3, 2, Layout::ColMajor);
  EXPECT_EQ(tight[3].data, buf.data() + 18);
  EXPECT_EQ(tight[3].ld, 3);
  EXPECT_EQ(tight[3].layout, Layout::ColMajor);

  const DenseBatchView<const T> c = v;
  EXPECT_EQ(c[2].data, buf.data() + 16);
  EXPECT_EQ(c[2](1, 1), T(9));
  EXPECT_TRUE(DenseBatchView<T>::uniform(buf.data(), 0, 2, 2).empty());
}

TYPED_TEST(DenseTest, BatchViewUniformErrors) {
  using T = typename TypeParam::T;
  std::vector<T> buf(12);
  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::uniform(buf.data(), -1, 2, 3), ShapeError,
                         "dense batch view: negative size [-1, 2, 3]");
  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::uniform(buf.data(), 2, 2, -3), ShapeError,
                         "dense batch view: negative size [2, 2, -3]");
  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::uniform(buf.data(), 2, 2, 3, Layout::RowMajor, 5),
                         ShapeError, "dense batch view: stride 5 < rows*cols = 6");
  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::uniform(buf.data(), 1, kBig, kBig), LimitError,
                         "dense batch view: 1099511627776 * 1099511627776 overflows");
}

TYPED_TEST(DenseTest, BatchViewRaggedAndSingle) {
  using T = typename TypeParam::T;
  std::vector<T> a(6, T(0)), b(2, T(0));
  auto v = DenseBatchView<T>::ragged({a.data(), b.data(), nullptr}, {2, 2, 0}, {3, 1, 5},
                                     Layout::ColMajor);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].data, a.data());
  EXPECT_EQ(v[0].ld, 2);
  EXPECT_EQ(v[1].data, b.data());
  EXPECT_EQ(v[2].rows, 0);
  v[0](1, 2) = T(4);
  EXPECT_EQ(a[5], T(4));
  v[1](1, 0) = T(3);
  EXPECT_EQ(b[1], T(3));

  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::ragged({a.data(), b.data()}, {2}, {3, 1}), ShapeError,
                         "dense batch view: 2 pointers, 1 row counts and 2 column counts");
  SPBMM_EXPECT_THROW_MSG(DenseBatchView<T>::ragged({a.data(), b.data()}, {2, 2}, {3, -1}),
                         ShapeError, "dense batch view: entry 1 has negative shape 2x-1");

  auto s = DenseBatchView<T>::single(DenseView<T>(a.data(), 3, 2));
  ASSERT_EQ(s.size(), 1u);
  s[0](2, 1) = T(8);
  EXPECT_EQ(a[5], T(8));
  const DenseBatchView<const T> cs = s;
  EXPECT_EQ(cs[0].data, a.data());
  EXPECT_TRUE(DenseBatchView<T>().empty());
}

}  // namespace
}  // namespace spbmm
