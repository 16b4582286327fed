// Tests of the format converters: hand-checked cases, random round trips, batches and limits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/coo_to_csr.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;

constexpr std::int64_t kBig = std::int64_t{1} << 40;
constexpr std::int64_t k2to31 = std::int64_t{1} << 31;

template <class P>
class ConvertTest : public ::testing::Test {};
TYPED_TEST_SUITE(ConvertTest, AllPairs);

template <class T, class I>
void expect_csr_eq(const CsrView<T, I>& got, const CsrView<T, I>& want) {
  ASSERT_EQ(got.rows, want.rows);
  ASSERT_EQ(got.cols, want.cols);
  ASSERT_EQ(got.nnz(), want.nnz());
  for (std::int64_t r = 0; r <= got.rows && got.rows > 0; ++r) {
    EXPECT_EQ(got.row_ptr[r], want.row_ptr[r]) << "row_ptr[" << r << "]";
  }
  for (std::int64_t k = 0; k < got.nnz(); ++k) {
    EXPECT_EQ(got.col_idx[k], want.col_idx[k]) << "col_idx[" << k << "]";
    EXPECT_EQ(got.values[k], want.values[k]) << "values[" << k << "]";
  }
}

template <class T, class I>
void expect_coo_eq(const CooView<T, I>& got, const CooView<T, I>& want) {
  ASSERT_EQ(got.rows, want.rows);
  ASSERT_EQ(got.cols, want.cols);
  ASSERT_EQ(got.nnz, want.nnz);
  for (std::int64_t k = 0; k < got.nnz; ++k) {
    EXPECT_EQ(got.row_idx[k], want.row_idx[k]) << "row_idx[" << k << "]";
    EXPECT_EQ(got.col_idx[k], want.col_idx[k]) << "col_idx[" << k << "]";
    EXPECT_EQ(got.values[k], want.values[k]) << "values[" << k << "]";
  }
}

// Sums duplicates in input order, exactly as the converter promises to.
template <class T, class I>
std::map<std::pair<std::int64_t, std::int64_t>, T> reference_sum(const CooMatrix<T, I>& a) {
  std::map<std::pair<std::int64_t, std::int64_t>, T> out;
  for (std::int64_t k = 0; k < a.nnz(); ++k) {
    const std::pair<std::int64_t, std::int64_t> key(a.row_idx()[k], a.col_idx()[k]);
    const auto it = out.find(key);
    if (it == out.end()) {
      out.emplace(key, a.values()[k]);
    } else {
      it->second += a.values()[k];
    }
  }
  return out;
}

template <class T, class I>
void expect_matches_reference(const CsrMatrix<T, I>& got, const CooMatrix<T, I>& coo) {
  const auto want = reference_sum(coo);
  ASSERT_EQ(got.nnz(), static_cast<std::int64_t>(want.size()));
  auto it = want.begin();  // map order is row-major: the canonical CSR order
  for (std::int64_t r = 0; r < got.rows(); ++r) {
    for (I k = got.row_ptr()[r]; k < got.row_ptr()[r + 1]; ++k, ++it) {
      EXPECT_EQ(it->first.first, r);
      EXPECT_EQ(it->first.second, got.col_idx()[k]);
      EXPECT_EQ(it->second, got.values()[k]) << "at (" << r << ", " << got.col_idx()[k] << ")";
    }
  }
}

const std::vector<std::pair<std::int64_t, std::int64_t>> kShapes = {
    {0, 0}, {0, 5}, {5, 0}, {1, 1}, {7, 3}, {3, 7}, {50, 4}, {4, 50}, {40, 60}};

// ---- hand-checked cases ----

TYPED_TEST(ConvertTest, CooToCsrSortsAndSumsDuplicates) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CooMatrix<T, I> a(3, 4, {2, 0, 2, 0, 1, 2, 0, 0, 1}, {1, 3, 0, 3, 2, 1, 0, 3, 0},
                          {T(1), T(2), T(0.5), T(0.25), T(-1), T(4), T(3), T(8), T(0)});
  const auto c = to_csr(a.view());
  EXPECT_EQ(c.rows(), 3);
  EXPECT_EQ(c.cols(), 4);
  EXPECT_EQ(c.row_ptr(), (std::vector<I>{0, 2, 4, 6}));
  EXPECT_EQ(c.col_idx(), (std::vector<I>{0, 3, 0, 2, 0, 1}));
  EXPECT_EQ(c.values(), (std::vector<T>{T(3), T(10.25), T(0), T(-1), T(0.5), T(5)}));

  const auto d = to_dense(a.view());
  EXPECT_EQ(d.values(), (std::vector<T>{T(3), T(0), T(0), T(10.25), T(0), T(0), T(-1), T(0), T(0.5),
                                        T(5), T(0), T(0)}));
}

TYPED_TEST(ConvertTest, DuplicatesAreSummedInInputOrder) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // (big + 1) - big is 0 in either precision; any other order gives 1.
  const T big = T(1e20);
  const CooMatrix<T, I> a(2, 2, {0, 1, 0, 0}, {1, 0, 1, 1}, {big, T(7), T(1), -big});
  const auto c = to_csr(a.view());
  EXPECT_EQ(c.col_idx(), (std::vector<I>{1, 0}));
  T want = big;
  want += T(1);
  want += -big;
  EXPECT_EQ(c.values()[0], want);
  EXPECT_EQ(c.values()[0], T(0));
  EXPECT_EQ(to_dense(a.view())(0, 1), want);
}

TYPED_TEST(ConvertTest, LongUnsortedRowsWithDuplicates) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(3);
  // Rows far longer than the insertion-sort cutoff, with many repeated columns.
  for (int rep = 0; rep < 3; ++rep) {
    const auto a = test::random_coo<T, I>(3, 200, 400, 150, rng);
    const auto c = to_csr(a.view());
    expect_matches_reference(c, a);
    EXPECT_TRUE(test::dense_near(to_dense(c.view()).view(), to_dense(a.view()).view(), 0.0));
  }
}

// The stages the Matrix Market reader shares: the rows sorted by several threads give what one
// thread gives (duplicates summed in input order), on enough entries to run in parallel, and a
// mirrored (symmetric or skew) bucketing holds each off-diagonal entry twice.
TYPED_TEST(ConvertTest, StagesGiveTheSameCsrOnOneThreadOrTwo) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  const auto a = test::random_coo<T, I>(1000, 250, 150000, 0, rng);
  const auto want = to_csr(a.view());
  for (bool mirror : {false, true}) {
    for (bool skew : {false, true}) {
      std::vector<std::vector<I>> ps, cs;
      std::vector<std::vector<T>> xs;
      for (int threads : {1, 2}) {
        const auto n = static_cast<std::size_t>(a.nnz());
        std::vector<I> p(1001, I(0)), c(2 * n);
        std::vector<T> x(2 * n);
        detail::bucket_by_row(a.rows(), a.row_idx().data(), a.col_idx().data(), a.values().data(),
                              n, mirror, skew, p.data(), c.data(), x.data());
        const std::size_t kept =
            detail::sort_rows_and_sum_duplicates(a.rows(), p.data(), c.data(), x.data(), threads);
        c.resize(kept);
        x.resize(kept);
        ps.push_back(p);
        cs.push_back(c);
        xs.push_back(x);
      }
      EXPECT_EQ(ps[0], ps[1]) << "mirror " << mirror << " skew " << skew;
      EXPECT_EQ(cs[0], cs[1]);
      EXPECT_EQ(xs[0], xs[1]);
      if (!mirror) {
        EXPECT_EQ(ps[0], want.row_ptr());
        EXPECT_EQ(cs[0], want.col_idx());
        EXPECT_EQ(xs[0], want.values());
      } else {
        // The mirror of the 1000 x 250 pattern reaches rows below 250 only; every entry (i, j)
        // off the diagonal is also found at (j, i), negated for skew.
        // (Sums may differ in the last bit: they are taken in another order here.)
        const CsrView<T, I> mv{1000, 1000, ps[0].data(), cs[0].data(), xs[0].data()};
        const auto m = to_dense(mv);
        const auto d = to_dense(a.view());
        for (std::int64_t i = 0; i < 250; ++i) {
          for (std::int64_t j = 0; j < i; ++j) {
            const T up = d(j, i), low = d(i, j);
            const double want_ij = static_cast<double>(low) + (skew ? -up : up);
            EXPECT_NEAR(static_cast<double>(m(i, j)), want_ij, 1e-5 * (1 + std::abs(want_ij)))
                << i << "," << j;
          }
        }
      }
    }
  }
}

TYPED_TEST(ConvertTest, CsrToCooAndDense) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrMatrix<T, I> a(3, 4, {0, 2, 2, 3}, {1, 3, 0}, {T(1), T(2), T(3)});
  const auto c = to_coo(a.view());
  EXPECT_EQ(c.rows(), 3);
  EXPECT_EQ(c.cols(), 4);
  EXPECT_EQ(c.row_idx(), (std::vector<I>{0, 0, 2}));
  EXPECT_EQ(c.col_idx(), (std::vector<I>{1, 3, 0}));
  EXPECT_EQ(c.values(), (std::vector<T>{T(1), T(2), T(3)}));

  const auto r = to_dense(a.view());
  EXPECT_EQ(r.layout(), Layout::RowMajor);
  EXPECT_EQ(r.values(), (std::vector<T>{0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0}));
  const auto cm = to_dense(a.view(), Layout::ColMajor);
  EXPECT_EQ(cm.layout(), Layout::ColMajor);
  EXPECT_EQ(cm.values(), (std::vector<T>{0, 0, 3, 1, 0, 0, 0, 0, 0, 2, 0, 0}));
  const auto coo_cm = to_dense(c.view(), Layout::ColMajor);
  EXPECT_EQ(coo_cm.values(), cm.values());
}

TYPED_TEST(ConvertTest, DenseToCsrDropTolerance) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // [ 0    1.5  -0.01 ]
  // [ NaN  -0   -2    ]
  const DenseMatrix<T> r(2, 3, {T(0), T(1.5), T(-0.01), nan, T(-0.0), T(-2)});
  const DenseMatrix<T> c(2, 3, {T(0), nan, T(1.5), T(-0.0), T(-0.01), T(-2)}, Layout::ColMajor);
  for (const auto* m : {&r, &c}) {
    SCOPED_TRACE(to_string(m->layout()));
    const auto all = to_csr<I>(m->view());
    EXPECT_EQ(all.row_ptr(), (std::vector<I>{0, 2, 4}));
    EXPECT_EQ(all.col_idx(), (std::vector<I>{1, 2, 0, 2}));
    EXPECT_EQ(all.values()[0], T(1.5));
    EXPECT_EQ(all.values()[1], T(-0.01));
    EXPECT_TRUE(std::isnan(all.values()[2]));
    EXPECT_EQ(all.values()[3], T(-2));

    const auto some = to_csr<I>(m->view(), T(0.1));
    EXPECT_EQ(some.row_ptr(), (std::vector<I>{0, 1, 3}));
    EXPECT_EQ(some.col_idx(), (std::vector<I>{1, 0, 2}));
    EXPECT_TRUE(std::isnan(some.values()[1]));

    // |v| > tol with a tolerance of 2 drops -2 itself.
    const auto strict = to_csr<I>(m->view(), T(2));
    EXPECT_EQ(strict.row_ptr(), (std::vector<I>{0, 0, 1}));
    // A negative tolerance keeps every position, zeros included.
    EXPECT_EQ(to_csr<I>(m->view(), T(-1)).nnz(), 6);
  }
  // A mutable view converts too.
  DenseMatrix<T> w(1, 2, {T(0), T(3)});
  EXPECT_EQ(to_csr<I>(w.view()).col_idx(), std::vector<I>{1});

  // A padded view: only the first 2 columns of each 4-wide row belong to the matrix.
  const std::vector<T> buf = {T(1), T(0), T(9), T(9), T(0), T(2), T(9), T(9)};
  const auto p = to_csr<I>(DenseView<const T>(buf.data(), 2, 2, Layout::RowMajor, 4));
  EXPECT_EQ(p.row_ptr(), (std::vector<I>{0, 1, 2}));
  EXPECT_EQ(p.col_idx(), (std::vector<I>{0, 1}));
  EXPECT_EQ(p.values(), (std::vector<T>{T(1), T(2)}));

  SPBMM_EXPECT_THROW_MSG(to_csr<I>(r.view(), nan), InvalidArgument,
                         "dense -> CSR: drop tolerance is NaN");
  SPBMM_EXPECT_THROW_MSG(to_csr<I>(DenseView<const T>(buf.data(), 2, 3, Layout::RowMajor, 2)),
                         FormatError, "dense -> CSR: leading dimension 2 < 3");
}

TYPED_TEST(ConvertTest, TransposeHandChecked) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrMatrix<T, I> a(2, 3, {0, 2, 3}, {0, 2, 1}, {T(1), T(2), T(3)});
  const auto t = transpose(a.view());
  EXPECT_EQ(t.rows(), 3);
  EXPECT_EQ(t.cols(), 2);
  EXPECT_EQ(t.row_ptr(), (std::vector<I>{0, 1, 2, 3}));
  EXPECT_EQ(t.col_idx(), (std::vector<I>{0, 1, 0}));
  EXPECT_EQ(t.values(), (std::vector<T>{T(1), T(3), T(2)}));

  const auto e = transpose(CsrMatrix<T, I>(0, 4).view());
  EXPECT_EQ(e.rows(), 4);
  EXPECT_EQ(e.cols(), 0);
  EXPECT_EQ(e.row_ptr(), std::vector<I>(5, I(0)));
}

// ---- randomized round trips ----

TYPED_TEST(ConvertTest, RandomRoundTrips) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    for (const auto& [rows, cols] : kShapes) {
      SCOPED_TRACE(::testing::Message() << "seed " << seed << ", " << rows << "x" << cols);
      const auto a = test::random_csr<T, I>(rows, cols, 0.3, rng);

      // Canonical COO -> CSR -> COO gives the same triplets back.
      const auto coo = to_coo(a.view());
      EXPECT_EQ(coo.nnz(), a.nnz());
      expect_csr_eq(to_csr(coo.view()).view(), a.view());
      expect_coo_eq(to_coo(to_csr(coo.view()).view()).view(), coo.view());

      // CSR -> dense -> CSR, in both layouts.
      for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
        const auto d = to_dense(a.view(), layout);
        EXPECT_EQ(d.layout(), layout);
        expect_csr_eq(to_csr<I>(d.view()).view(), a.view());
        EXPECT_TRUE(test::dense_near(to_dense(coo.view(), layout).view(), d.view(), 0.0));
      }

      // Transpose agrees element-wise through dense, and twice is the identity.
      const auto t = transpose(a.view());
      const auto da = to_dense(a.view());
      const auto dt = to_dense(t.view());
      ASSERT_EQ(dt.rows(), cols);
      ASSERT_EQ(dt.cols(), rows);
      for (std::int64_t i = 0; i < rows; ++i) {
        for (std::int64_t j = 0; j < cols; ++j) ASSERT_EQ(dt(j, i), da(i, j));
      }
      expect_csr_eq(transpose(t.view()).view(), a.view());

      // Unsorted COO with duplicates: the CSR holds the input-order sums.
      const std::int64_t nnz = rows * cols / 3 + 1;
      const auto u = test::random_coo<T, I>(rows, cols, nnz, nnz / 2, rng);
      const auto uc = to_csr(u.view());
      expect_matches_reference(uc, u);
      EXPECT_TRUE(test::dense_near(to_dense(uc.view()).view(), to_dense(u.view()).view(), 0.0));
    }
  }
}

// ---- batches equal the loop of single conversions ----

template <class T, class I>
std::vector<CsrMatrix<T, I>> ragged_csr_list(std::mt19937_64& rng) {
  std::vector<CsrMatrix<T, I>> list;
  for (const auto& [r, c] : kShapes) list.push_back(test::random_csr<T, I>(r, c, 0.25, rng));
  list.push_back(CsrMatrix<T, I>(6, 6));  // no stored entries
  return list;
}

TYPED_TEST(ConvertTest, CsrBatchConvertersMatchSingleConversions) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(21);
  const auto b = CsrBatch<T, I>::from_list(ragged_csr_list<T, I>(rng));

  const auto coo = to_coo(b);
  const auto t = transpose(b);
  const auto dr = to_dense(b);
  const auto dc = to_dense(b, Layout::ColMajor);
  const auto back = to_csr<I>(dr);
  const auto back_cm = to_csr<I>(dc);
  const auto from_coo = to_csr(coo);
  const auto coo_dense = to_dense(coo);
  ASSERT_EQ(coo.size(), b.size());
  ASSERT_EQ(t.size(), b.size());
  ASSERT_EQ(dr.size(), b.size());
  EXPECT_EQ(dc.layout(), Layout::ColMajor);
  for (std::size_t i = 0; i < b.size(); ++i) {
    SCOPED_TRACE(i);
    const auto e = b.entry(i);
    expect_coo_eq(coo.entry(i), to_coo(e).view());
    expect_csr_eq(t.entry(i), transpose(e).view());
    EXPECT_TRUE(test::dense_near(dr.entry(i), to_dense(e).view(), 0.0));
    EXPECT_TRUE(test::dense_near(dc.entry(i), to_dense(e, Layout::ColMajor).view(), 0.0));
    expect_csr_eq(back.entry(i), e);
    expect_csr_eq(back_cm.entry(i), e);
    expect_csr_eq(from_coo.entry(i), e);
    EXPECT_TRUE(test::dense_near(coo_dense.entry(i), dr.entry(i), 0.0));
  }
}

TYPED_TEST(ConvertTest, CooBatchConvertersMatchSingleConversions) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(8);
  std::vector<CooMatrix<T, I>> list;
  for (const auto& [r, c] : kShapes) list.push_back(test::random_coo<T, I>(r, c, r + c, 4, rng));
  list.push_back(CooMatrix<T, I>(3, 3));
  const auto b = CooBatch<T, I>::from_list(list);
  const auto csr = to_csr(b);
  const auto d = to_dense(b, Layout::ColMajor);
  ASSERT_EQ(csr.size(), list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    SCOPED_TRACE(i);
    expect_csr_eq(csr.entry(i), to_csr(list[i].view()).view());
    EXPECT_TRUE(
        test::dense_near(d.entry(i), to_dense(list[i].view(), Layout::ColMajor).view(), 0.0));
  }
}

TYPED_TEST(ConvertTest, DenseBatchToCsrMatchesSingleConversions) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(4);
  std::vector<DenseMatrix<T>> list;
  for (const auto& [r, c] : kShapes) {
    auto m = test::random_dense<T>(r, c, rng);
    for (std::size_t k = 0; k < m.values().size(); k += 3) m.values()[k] = T(0);
    list.push_back(std::move(m));
  }
  for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    const auto b = DenseBatch<T>::from_list(list, layout);
    const auto csr = to_csr<I>(b, T(0.2));
    ASSERT_EQ(csr.size(), list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      SCOPED_TRACE(i);
      expect_csr_eq(csr.entry(i), to_csr<I>(list[i].view(), T(0.2)).view());
    }
  }
}

TYPED_TEST(ConvertTest, SharedPatternBatches) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(17);
  const auto pattern = test::random_csr<T, I>(9, 6, 0.4, rng);
  const std::size_t batch = 4;
  std::vector<T> vals(batch * static_cast<std::size_t>(pattern.nnz()));
  for (auto& v : vals) v = test::random_value<T>(rng);
  const auto b =
      CsrBatch<T, I>::shared_pattern(batch, 9, 6, pattern.row_ptr(), pattern.col_idx(), vals);

  const auto t = transpose(b);
  EXPECT_TRUE(t.is_shared_pattern());
  EXPECT_EQ(t.rows(0), 6);
  EXPECT_EQ(t.cols(0), 9);
  const auto coo = to_coo(b);
  const auto d = to_dense(b);
  ASSERT_EQ(t.size(), batch);
  for (std::size_t i = 0; i < batch; ++i) {
    SCOPED_TRACE(i);
    expect_csr_eq(t.entry(i), transpose(b.entry(i)).view());
    expect_coo_eq(coo.entry(i), to_coo(b.entry(i)).view());
    EXPECT_TRUE(test::dense_near(d.entry(i), to_dense(b.entry(i)).view(), 0.0));
  }
  expect_csr_eq(transpose(t).entry(3), b.entry(3));

  const auto none =
      CsrBatch<T, I>::shared_pattern(0, 9, 6, pattern.row_ptr(), pattern.col_idx(), {});
  EXPECT_TRUE(transpose(none).empty());
}

TYPED_TEST(ConvertTest, EmptyBatches) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrBatch<T, I> csr;
  const CooBatch<T, I> coo;
  const DenseBatch<T> dense;
  EXPECT_TRUE(to_coo(csr).empty());
  EXPECT_TRUE(to_dense(csr).empty());
  EXPECT_TRUE(transpose(csr).empty());
  EXPECT_TRUE(to_csr(coo).empty());
  EXPECT_TRUE(to_dense(coo).empty());
  EXPECT_TRUE(to_csr<I>(dense).empty());
}

// ---- errors and limits ----

TYPED_TEST(ConvertTest, DenseConversionOverflowIsALimitError) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Nothing is read or allocated before the size check, so these views need no arrays.
  SPBMM_EXPECT_THROW_MSG(to_dense(CsrView<T, I>{kBig, kBig, nullptr, nullptr, nullptr}), LimitError,
                         "CSR -> dense: a dense 1099511627776x1099511627776 ");
  SPBMM_EXPECT_THROW_MSG(
      to_dense(CooView<T, I>{kBig, kBig, 0, nullptr, nullptr, nullptr}, Layout::ColMajor),
      LimitError, "copy needs more than 2^64 bytes, more than the dense conversion limit");
}

TYPED_TEST(ConvertTest, IndexOverflowIsALimitError) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (std::is_same_v<I, std::int32_t>) {
    const std::vector<I> idx = {0};
    const std::vector<T> vals = {T(1)};
    // nnz is checked before the (far shorter) arrays are read.
    SPBMM_EXPECT_THROW_MSG(to_csr(CooView<T, I>{2, 2, k2to31, idx.data(), idx.data(), vals.data()}),
                           LimitError, "COO -> CSR: nnz 2147483648 does not fit a 32-bit index");
    SPBMM_EXPECT_THROW_MSG(to_csr<I>(DenseView<const T>(vals.data(), k2to31, 1)), LimitError,
                           "dense -> CSR: shape 2147483648x1 does not fit a 32-bit index");
    const DenseBatch<T> tall({1, k2to31}, {1, 0});  // no storage: the second entry has 0 cols
    SPBMM_EXPECT_THROW_MSG(to_csr<I>(tall), LimitError,
                           "dense -> CSR entry 1: shape 2147483648x0 does not fit a 32-bit index");
  } else {
    GTEST_SKIP() << "every shape and nnz that fits in memory fits a 64-bit index";
  }
}

TYPED_TEST(ConvertTest, MalformedInputsAreRejected) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::vector<I> rp = {0, 2, 1};
  const std::vector<I> ci = {0, 5};
  const std::vector<T> v = {T(1), T(2)};
  const CsrView<T, I> bad_csr{2, 3, rp.data(), ci.data(), v.data()};
  SPBMM_EXPECT_THROW_MSG(to_coo(bad_csr), FormatError, "CSR matrix: row 1: row_ptr decreases");
  SPBMM_EXPECT_THROW_MSG(to_dense(bad_csr), FormatError, "CSR matrix: row 1: row_ptr decreases");
  SPBMM_EXPECT_THROW_MSG(transpose(bad_csr), FormatError, "CSR matrix: row 1: row_ptr decreases");
  const CooView<T, I> bad_coo{2, 3, 2, ci.data(), ci.data(), v.data()};
  SPBMM_EXPECT_THROW_MSG(to_csr(bad_coo), FormatError,
                         "COO matrix: position 1: row index 5 out of range [0, 2)");
  SPBMM_EXPECT_THROW_MSG(to_dense(bad_coo), FormatError,
                         "COO matrix: position 1: row index 5 out of range [0, 2)");
  SPBMM_EXPECT_THROW_MSG(to_dense(CooView<T, I>{-1, 3, 0, nullptr, nullptr, nullptr}), FormatError,
                         "COO matrix: negative shape -1x3");
  SPBMM_EXPECT_THROW_MSG(to_dense(CsrView<T, I>{2, -3, nullptr, nullptr, nullptr}), FormatError,
                         "CSR matrix: negative shape 2x-3");
  SPBMM_EXPECT_THROW_MSG(to_csr<I>(DenseView<const T>(nullptr, 2, 2)), FormatError,
                         "dense -> CSR: null data pointer for a 2x2 matrix");
}

// ---- inputs found by fuzzing (tests/fuzz/regressions/bmm) ----

// An empty dense matrix may have a null data pointer (0 columns, any rows): dense -> CSR must not
// offset it (undefined behaviour, reported by UBSan), and gives rows + 1 zero row pointers.
TYPED_TEST(ConvertTest, FuzzEmptyDenseWithNullDataToCsr) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (const Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    const auto wide = to_csr<I>(DenseView<const T>(nullptr, 3, 0, layout));
    EXPECT_EQ(wide.rows(), 3);
    EXPECT_EQ(wide.cols(), 0);
    EXPECT_EQ(wide.row_ptr(), (std::vector<I>{0, 0, 0, 0}));
    const auto tall = to_csr<I>(DenseView<const T>(nullptr, 0, 4, layout));
    EXPECT_EQ(tall.rows(), 0);
    EXPECT_EQ(tall.cols(), 4);
    EXPECT_EQ(tall.nnz(), 0);
  }
}

}  // namespace
}  // namespace spbmm
