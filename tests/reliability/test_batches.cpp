// Hostile batches and values in memory: empty batches and entries, mismatched batch counts, C
// aliasing A or B, malformed arrays, and NaN and Inf through every CPU kernel. A failed call
// leaves every byte of the caller's C as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "hostile.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/plan.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

constexpr Kernel kCpuKernels[] = {Kernel::Reference, Kernel::Sparse, Kernel::Dense, Kernel::Eigen,
                                  Kernel::Auto};

template <class P>
class HostileBatches : public ::testing::Test {};
TYPED_TEST_SUITE(HostileBatches, test::AllPairs);

// A batch of size 0: empty results, for bmm, bmm_into, Plan and the converters; against a batch
// of several entries it does not broadcast.
TYPED_TEST(HostileBatches, BatchOfSizeZero) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const BatchView<T, I> none;
  const DenseBatch<T> no_b;
  const DenseBatch<T> one_b({3}, {2});
  const DenseBatch<T> two_b({3, 3}, {2, 2});
  for (Kernel k : kCpuKernels) {
    Options o;
    o.kernel = k;
    EXPECT_EQ((bmm<T, I>(none, no_b.view(), o).size()), 0u);
    EXPECT_EQ((bmm<T, I>(none, one_b.view(), o).size()), 0u);  // one B broadcasts to no product
    bmm_into<T, I>(DenseBatchView<T>(), none, no_b.view(), T(1), T(0), o);
    test::SentinelBatch<T> c({2, 2}, {2, 2});
    SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c.view(), none, two_b.view(), T(1), T(0), o)),
                           ShapeError, "batch sizes do not broadcast: A has 0 entries, B has 2");
    EXPECT_TRUE(c.untouched());
  }
  const Plan<T, I> plan(none, 4);
  EXPECT_EQ(plan.size(), 0u);
  EXPECT_EQ(plan.execute(no_b.view()).size(), 0u);
  EXPECT_NE(plan.explain().find("plan: 0 entries"), std::string::npos) << plan.explain();
  EXPECT_TRUE((result_shapes<T, I>(none, no_b.view()).empty()));
  // Converters and files.
  const CsrBatch<T, I> csr;
  EXPECT_EQ(to_dense(csr).size(), 0u);
  EXPECT_EQ(to_coo(csr).size(), 0u);
  EXPECT_EQ(transpose(csr).size(), 0u);
  EXPECT_EQ(to_csr(CooBatch<T, I>()).size(), 0u);
  EXPECT_EQ(to_csr<I>(DenseBatch<T>()).size(), 0u);
  const test::ScratchDir dir;
  EXPECT_TRUE(write_matrix_market_dir(dir.path("none"), csr).empty());
  EXPECT_EQ((read_matrix_market_csr_dir<T, I>(dir.path("none")).size()), 0u);
  EXPECT_EQ((read_matrix_market_csr_batch<T, I>({}).size()), 0u);
}

// Entries with 0 rows, 0 columns, an inner dimension of 0, or N = 0, in every format and on
// every CPU kernel: C has the right shape, and K = 0 leaves beta * C (C unread when beta = 0).
TYPED_TEST(HostileBatches, EntriesWithZeroRowsOrColumns) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // op(A) shapes: 0x3, 2x0 (K = 0), 2x3 with N = 0, and 2x3 with N = 2.
  const std::vector<std::int64_t> m = {0, 2, 2, 2}, k = {3, 0, 3, 3}, n = {2, 2, 0, 2};
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<DenseMatrix<T>> dense;
  std::vector<DenseMatrix<T>> bs;
  for (std::size_t i = 0; i < m.size(); ++i) {
    csr.push_back(i == 3 ? CsrMatrix<T, I>(2, 3, {0, 1, 2}, {2, 0}, {T(2), T(3)})
                         : CsrMatrix<T, I>(m[i], k[i]));
    coo.push_back(to_coo(csr.back().view()));
    dense.push_back(to_dense(csr.back().view()));
    DenseMatrix<T> b(k[i], n[i]);
    for (auto& v : b.values()) v = T(1);
    bs.push_back(b);
  }
  const auto b = DenseBatch<T>::from_list(bs);
  for (int format = 0; format < 3; ++format) {
    BatchView<T, I> a;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (format == 0) a.push_back(csr[i].view());
      if (format == 1) a.push_back(coo[i].view());
      if (format == 2) a.push_back(DenseView<const T>(dense[i].view()));
    }
    for (Kernel kernel : kCpuKernels) {
      Options o;
      o.kernel = kernel;
      const auto shapes = result_shapes<T, I>(a, b.view(), o);
      ASSERT_EQ(shapes.size(), 4u);
      for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(shapes[i].rows, m[i]);
        EXPECT_EQ(shapes[i].cols, n[i]);
      }
      DenseBatch<T> c({0, 2, 2, 2}, {2, 2, 0, 2});
      for (auto& v : c.values()) v = std::numeric_limits<T>::quiet_NaN();
      bmm_into<T, I>(c.view(), a, b.view(), T(1), T(0), o);  // NaN in C is not read
      for (T v : c.values()) EXPECT_FALSE(std::isnan(v)) << to_string(kernel);
      for (auto& v : c.values()) v = T(4);
      bmm_into<T, I>(c.view(), a, b.view(), T(1), T(0.5), o);
      const DenseView<const T> k0 = c.entry(1);
      for (std::int64_t i = 0; i < 2; ++i) {
        EXPECT_EQ(k0(i, 0), T(2)) << to_string(kernel);
        EXPECT_EQ(k0(i, 1), T(2)) << to_string(kernel);
      }
      const DenseView<const T> full = c.entry(3);
      EXPECT_EQ(full(0, 0), T(4)) << to_string(kernel);  // 2 * 1 + 0.5 * 4
      EXPECT_EQ(full(1, 1), T(5)) << to_string(kernel);  // 3 * 1 + 0.5 * 4
    }
  }
  // The converters keep empty shapes.
  const CsrMatrix<T, I> e(0, 5);
  EXPECT_EQ(transpose(e.view()).rows(), 5);
  EXPECT_EQ(to_dense(e.view()).cols(), 5);
  EXPECT_EQ(to_csr<I>(DenseMatrix<T>(4, 0).view()).rows(), 4);
}

// Batch counts of A, B and C that do not fit together: ShapeError naming the counts.
TYPED_TEST(HostileBatches, MismatchedBatchCounts) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(3);
  const auto e = test::random_csr<T, I>(2, 3, 0.5, rng);
  const auto a3 = CsrBatch<T, I>::from_list({e, e, e});
  const DenseBatch<T> b2 = DenseBatch<T>::uniform(2, 3, 2);
  const DenseBatch<T> b3 = DenseBatch<T>::uniform(3, 3, 2);
  const DenseBatch<T> b1 = DenseBatch<T>::uniform(1, 3, 2);
  test::SentinelBatch<T> c2({2, 2}, {2, 2});
  test::SentinelBatch<T> c3({2, 2, 2}, {2, 2, 2});
  const BatchView<T, I> a(a3);
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c3.view(), a, b2.view(), T(1), T(0))), ShapeError,
                         "batch sizes do not broadcast: A has 3 entries, B has 2 entries");
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c2.view(), a, b3.view(), T(1), T(0))), ShapeError,
                         "C has 2 entries but op(A) * op(B) has 3");
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c2.view(), a, b1.view(), T(1), T(0))), ShapeError,
                         "C has 2 entries but op(A) * op(B) has 3");
  const auto a1 = CsrBatch<T, I>::from_list({e});
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c2.view(), BatchView<T, I>(a1), b3.view(), T(1), T(0))),
                         ShapeError, "C has 2 entries but op(A) * op(B) has 3");
  SPBMM_EXPECT_THROW_MSG((bmm<T, I>(a, b2.view())), ShapeError,
                         "batch sizes do not broadcast: A has 3 entries, B has 2 entries");
  SPBMM_EXPECT_THROW_MSG((result_shapes<T, I>(a, b2.view())), ShapeError,
                         "batch sizes do not broadcast");
  const Plan<T, I> plan(a, 2);
  SPBMM_EXPECT_THROW_MSG(plan.execute(c3.view(), b2.view()), ShapeError,
                         "batch sizes do not broadcast: A has 3 entries, B has 2 entries");
  SPBMM_EXPECT_THROW_MSG(plan.execute(c2.view(), b3.view()), ShapeError,
                         "C has 2 entries but op(A) * op(B) has 3");
  SPBMM_EXPECT_THROW_MSG((void)plan.execute(b2.view()), ShapeError, "batch sizes do not broadcast");
  EXPECT_TRUE(c2.untouched());
  EXPECT_TRUE(c3.untouched());
  // A plan's own per-entry lists must match its batch too.
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(a, std::vector<std::int64_t>{2, 2})), InvalidArgument,
                         "plan: 2 values of n for a batch of 3 entries");
  // Batches built from arrays whose counts disagree.
  SPBMM_EXPECT_THROW_MSG((DenseBatch<T>({2, 2}, {2})), ShapeError,
                         "dense batch: 2 row counts but 1 column counts");
  SPBMM_EXPECT_THROW_MSG((CsrBatch<T, I>({2}, {3, 3}, {0, 0, 0}, {}, {})), ShapeError,
                         "CSR batch: 1 row counts but 2 column counts");
}

// C sharing memory with A, B or another C entry is refused before anything is written; outputs
// that only sit next to inputs (or interleave with them without sharing a byte) are fine.
TYPED_TEST(HostileBatches, CAliasingAOrB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(4);
  CsrMatrix<T, I> sq(4, 4, {0, 2, 3, 5, 6}, {0, 3, 1, 0, 2, 3},
                     {T(1), T(2), T(3), T(4), T(5), T(6)});
  BatchView<T, I> a_view;
  a_view.push_back(sq.view());
  for (Kernel kernel : kCpuKernels) {
    Options o;
    o.kernel = kernel;
    // In place: C is B.
    test::Sentinel<T> buf(4, 4);
    const auto c = DenseBatchView<T>::single(buf.view());
    SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c, a_view, DenseBatchView<const T>(c), T(1), T(0), o)),
                           InvalidArgument,
                           "C entry 0 overlaps B entry 0 in memory; C must not alias A, B or "
                           "another entry of C");
    EXPECT_TRUE(buf.untouched());
    // Partly: C starts on B's last element.
    std::vector<T> two(4 * 4 * 2, T(1));
    const DenseView<T> b_part(two.data(), 4, 4);
    const DenseView<T> c_part(two.data() + 15, 4, 4);
    const std::vector<T> two_before = two;
    SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(DenseBatchView<T>::single(c_part), a_view,
                                           DenseBatchView<const T>::single(b_part), T(1), T(0), o)),
                           InvalidArgument, "C entry 0 overlaps B entry 0 in memory");
    EXPECT_EQ(two, two_before);
    // C over the values of the CSR entry.
    const std::vector<T> vals = sq.values();
    const DenseMatrix<T> b = test::random_dense<T>(4, 1, rng);
    const auto over_a = DenseBatchView<T>::single(DenseView<T>(sq.values().data(), 4, 1));
    SPBMM_EXPECT_THROW_MSG(
        (bmm_into<T, I>(over_a, a_view, DenseBatchView<const T>::single(b.view()), T(1), T(0), o)),
        InvalidArgument, "C entry 0 overlaps A entry 0 in memory");
    EXPECT_EQ(sq.values(), vals);
    // Adjacent, not overlapping: accepted, and the product is right.
    const DenseView<T> c_next(two.data() + 16, 4, 4);
    bmm_into<T, I>(DenseBatchView<T>::single(c_next), a_view,
                   DenseBatchView<const T>::single(b_part), T(1), T(0), o);
    const DenseMatrix<T> want = to_dense(sq.view());
    for (std::int64_t i = 0; i < 4; ++i) {
      T row = 0;
      for (std::int64_t j = 0; j < 4; ++j) row += want(i, j);
      EXPECT_NEAR(static_cast<double>(c_next(i, 0)), static_cast<double>(row), 1e-5);
    }
  }
  // A dense A entry aliased by C, and two C entries sharing memory.
  std::vector<T> buf = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<T> before = buf;
  BatchView<T, I> ad;
  ad.push_back(DenseView<const T>(buf.data(), 3, 3));
  const DenseMatrix<T> b3 = test::random_dense<T>(3, 1, rng);
  SPBMM_EXPECT_THROW_MSG(
      (bmm_into<T, I>(DenseBatchView<T>::single(DenseView<T>(buf.data() + 6, 3, 1)), ad,
                      DenseBatchView<const T>::single(b3.view()), T(1), T(0))),
      InvalidArgument, "C entry 0 overlaps A entry 0 in memory");
  EXPECT_EQ(buf, before);
  std::vector<T> out(5, T(-1));
  BatchView<T, I> a2;
  a2.push_back(DenseView<const T>(before.data(), 3, 3));
  a2.push_back(DenseView<const T>(before.data(), 3, 3));
  SPBMM_EXPECT_THROW_MSG(
      (bmm_into<T, I>(
          DenseBatchView<T>({DenseView<T>(out.data(), 3, 1), DenseView<T>(out.data() + 2, 3, 1)}),
          a2, DenseBatchView<const T>::single(b3.view()), T(1), T(0))),
      InvalidArgument, "C entry 0 overlaps C entry 1 in memory");
  EXPECT_EQ(out, std::vector<T>(5, T(-1)));
}

// Malformed arrays and negative numbers in memory: FormatError (or InvalidArgument for options)
// naming the operand, the entry and the position; no byte of C is written.
TYPED_TEST(HostileBatches, MalformedArraysAndNegativeNumbers) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(5);
  const auto good = test::random_csr<T, I>(3, 4, 0.5, rng);
  const DenseMatrix<T> b = test::random_dense<T>(4, 2, rng);
  const auto bv = DenseBatchView<const T>::single(b.view());
  test::SentinelBatch<T> c({3, 3}, {2, 2});
  const std::vector<I> rp = {0, 1, 2, 2};
  const std::vector<T> vals = {T(1), T(2)};
  const auto expect_format = [&](const MatrixView<T, I>& bad, const std::string& part) {
    BatchView<T, I> a;
    a.push_back(good.view());
    a.push_back(bad);
    for (Kernel kernel : kCpuKernels) {
      Options o;
      o.kernel = kernel;
      SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c.view(), a, bv, T(1), T(0), o)), FormatError, part);
      EXPECT_TRUE(c.untouched()) << part;
    }
    SPBMM_EXPECT_THROW_MSG((Plan<T, I>(a, 2)), FormatError, part);
  };
  const std::vector<I> col_at_size = {1, 4};
  expect_format(CsrView<T, I>{3, 4, rp.data(), col_at_size.data(), vals.data()},
                "CSR entry 1: row 1: column index 4 >= cols 4");
  const std::vector<I> col_neg = {-1, 2};
  expect_format(CsrView<T, I>{3, 4, rp.data(), col_neg.data(), vals.data()},
                "CSR entry 1: row 0: negative column index -1");
  const std::vector<I> rp_down = {0, 2, 1, 2};
  expect_format(CsrView<T, I>{3, 4, rp_down.data(), col_neg.data(), vals.data()},
                "CSR entry 1: row 1: row_ptr decreases (row_ptr[2] = 1 < row_ptr[1] = 2)");
  const std::vector<I> rp_start = {1, 1, 2, 2};
  expect_format(CsrView<T, I>{3, 4, rp_start.data(), col_at_size.data(), vals.data()},
                "CSR entry 1: row_ptr[0] is 1, not 0");
  expect_format(CsrView<T, I>{-3, 4, rp.data(), col_at_size.data(), vals.data()},
                "CSR entry 1: negative shape -3x4");
  const std::vector<I> ri = {0, 3}, ci = {0, 1}, ci_neg = {0, -7};
  expect_format(CooView<T, I>{3, 4, 2, ri.data(), ci.data(), vals.data()},
                "COO entry 1: position 1: row index 3 out of range [0, 3)");
  expect_format(CooView<T, I>{3, 4, 2, ci.data(), ci_neg.data(), vals.data()},
                "COO entry 1: position 1: column index -7 out of range [0, 4)");
  expect_format(CooView<T, I>{3, 4, -1, ri.data(), ci.data(), vals.data()},
                "COO entry 1: negative nnz -1");
  expect_format(CooView<T, I>{3, 4, 2, nullptr, ci.data(), vals.data()},
                "COO entry 1: null index or value array for 2 stored entries");
  const std::vector<T> d(12, T(1));
  expect_format(DenseView<const T>(d.data(), 3, 4, Layout::RowMajor, 3),
                "A entry 1: leading dimension 3 < 4");
  expect_format(DenseView<const T>(d.data(), -3, 4), "A entry 1: negative shape -3x4");
  // B and C.
  BatchView<T, I> a;
  a.push_back(good.view());
  const auto c1 = [&] { return DenseBatchView<T>::single(c.view()[0]); };
  SPBMM_EXPECT_THROW_MSG(
      (bmm_into<T, I>(c1(), a,
                      DenseBatchView<const T>::single(DenseView<const T>(b.view().data, 4, -2)),
                      T(1), T(0))),
      FormatError, "B entry 0: negative shape 4x-2");
  DenseView<T> c_bad_ld = c.view()[0];
  c_bad_ld.ld = -5;
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(DenseBatchView<T>::single(c_bad_ld), a, bv, T(1), T(0))),
                         FormatError, "C entry 0: leading dimension -5 < 2");
  Options o;
  o.threads = -3;
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c1(), a, bv, T(1), T(0), o)), InvalidArgument,
                         "options.threads is -3");
  EXPECT_TRUE(c.untouched());
  SPBMM_EXPECT_THROW_MSG((DenseMatrix<T>(-1, 2)), ShapeError, "dense matrix: negative shape -1x2");
  SPBMM_EXPECT_THROW_MSG((CsrMatrix<T, I>(2, 2, {0, 1, 1}, {-1}, {T(1)})), FormatError,
                         "CSR matrix: row 0: negative column index -1");
}

// ---- NaN and Inf through every CPU kernel ----

// C = alpha * op(A) * op(B) + beta * C in double, with the semantics of A's stored format: a
// dense A multiplies every element (0 * Inf = NaN, as in BLAS), a sparse A its stored entries
// only. `stored` marks the positions of op(A) a sparse A stores.
template <class T>
std::vector<double> expected(const std::vector<double>& a, const std::vector<bool>& stored,
                             bool dense, const std::vector<double>& b, const std::vector<double>& c,
                             std::int64_t m, std::int64_t k, std::int64_t n, double alpha,
                             double beta) {
  std::vector<double> out(static_cast<std::size_t>(m * n));
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (std::int64_t l = 0; l < k; ++l) {
        const auto p = static_cast<std::size_t>(i * k + l);
        if (dense || stored[p]) s += a[p] * b[static_cast<std::size_t>(l * n + j)];
      }
      const double prior = beta == 0 ? 0.0 : beta * c[static_cast<std::size_t>(i * n + j)];
      out[static_cast<std::size_t>(i * n + j)] = alpha * s + prior;
    }
  }
  return out;
}

template <class T>
::testing::AssertionResult same_class(const DenseView<const T>& got,
                                      const std::vector<double>& want, double tol) {
  for (std::int64_t i = 0; i < got.rows; ++i) {
    for (std::int64_t j = 0; j < got.cols; ++j) {
      const double g = static_cast<double>(got(i, j));
      const double w = want[static_cast<std::size_t>(i * got.cols + j)];
      const bool ok = std::isnan(w)   ? std::isnan(g)
                      : std::isinf(w) ? g == w
                                      : std::fabs(g - w) <= tol * std::max(1.0, std::fabs(w));
      if (!ok) {
        return ::testing::AssertionFailure()
               << "at (" << i << ", " << j << "): got " << g << ", want " << w;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// op(A) is 5x6 with NaN, +Inf and -Inf among its stored entries, an explicit stored zero, and
// structural zeros; B is 6x4 with NaN and Inf where A's columns are partly structural zeros.
// Every kernel, both formats of A, op N and T on both sides, alpha and beta, beta = 0 with NaN in
// C, and alpha = 0: each result matches the stored format's semantics exactly in its NaN and Inf
// positions (finite values within rounding).
TYPED_TEST(HostileBatches, NanAndInfPropagateThroughEveryCpuKernel) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::int64_t m = 5, k = 6, n = 4;
  // op(A), row-major; x marks a stored entry of the sparse forms.
  std::vector<double> av(static_cast<std::size_t>(m * k), 0.0);
  std::vector<bool> stored(av.size(), false);
  const auto put = [&](std::int64_t i, std::int64_t j, double v) {
    av[static_cast<std::size_t>(i * k + j)] = v;
    stored[static_cast<std::size_t>(i * k + j)] = true;
  };
  put(0, 0, 1.5);
  put(0, 1, nan);
  put(1, 2, inf);
  put(1, 4, 2.0);
  put(2, 3, -inf);
  put(2, 0, 0.25);
  put(3, 5, 0.0);  // an explicit zero meets B's Inf: NaN in both semantics
  put(4, 4, -1.0);
  std::vector<double> bv(static_cast<std::size_t>(k * n));
  for (std::size_t p = 0; p < bv.size(); ++p) bv[p] = 0.125 * static_cast<double>(p % 7) - 0.25;
  bv[static_cast<std::size_t>(5 * n + 1)] = inf;   // row 5: only (3, 5) is stored in that column
  bv[static_cast<std::size_t>(4 * n + 2)] = nan;   // row 4: stored in rows 1 and 4
  bv[static_cast<std::size_t>(2 * n + 3)] = -inf;  // row 2: stored in row 1 (+Inf there)
  std::vector<double> cv(static_cast<std::size_t>(m * n));
  for (std::size_t p = 0; p < cv.size(); ++p) cv[p] = 1.0 + static_cast<double>(p);
  cv[7] = nan;

  // The stored forms of op(A) for op_a = N and of A = op(A)^T for op_a = T.
  std::vector<I> ri, ci, ri_t, ci_t;
  std::vector<T> vals, vals_t;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      if (!stored[static_cast<std::size_t>(i * k + j)]) continue;
      ri.push_back(static_cast<I>(i));
      ci.push_back(static_cast<I>(j));
      vals.push_back(static_cast<T>(av[static_cast<std::size_t>(i * k + j)]));
    }
  }
  for (std::int64_t j = 0; j < k; ++j) {
    for (std::int64_t i = 0; i < m; ++i) {
      if (!stored[static_cast<std::size_t>(i * k + j)]) continue;
      ri_t.push_back(static_cast<I>(j));
      ci_t.push_back(static_cast<I>(i));
      vals_t.push_back(static_cast<T>(av[static_cast<std::size_t>(i * k + j)]));
    }
  }
  const CooMatrix<T, I> coo_n(m, k, ri, ci, vals), coo_t(k, m, ri_t, ci_t, vals_t);
  const CsrMatrix<T, I> csr_n = to_csr(coo_n.view()), csr_t = to_csr(coo_t.view());
  DenseMatrix<T> dense_n(m, k), dense_t(k, m);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < k; ++j) {
      dense_n(i, j) = static_cast<T>(av[static_cast<std::size_t>(i * k + j)]);
      dense_t(j, i) = dense_n(i, j);
    }
  }
  DenseMatrix<T> b_n(k, n), b_t(n, k);
  for (std::int64_t i = 0; i < k; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      b_n(i, j) = static_cast<T>(bv[static_cast<std::size_t>(i * n + j)]);
      b_t(j, i) = b_n(i, j);
    }
  }
  const double tol = test::tolerance<T>(k);
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      const DenseView<const T> bview = op_b == Op::N ? b_n.view() : b_t.view();
      for (int format = 0; format < 3; ++format) {
        BatchView<T, I> a;
        if (format == 0) a.push_back(op_a == Op::N ? csr_n.view() : csr_t.view());
        if (format == 1) a.push_back(op_a == Op::N ? coo_n.view() : coo_t.view());
        if (format == 2) {
          a.push_back(DenseView<const T>(op_a == Op::N ? dense_n.view() : dense_t.view()));
        }
        const bool dense = format == 2;
        for (Kernel kernel : kCpuKernels) {
          for (const auto& [alpha, beta] : {std::pair{1.5, 0.0}, {1.5, 0.5}, {0.0, 2.0}}) {
            DenseMatrix<T> c(m, n);
            for (std::int64_t i = 0; i < m; ++i) {
              for (std::int64_t j = 0; j < n; ++j) {
                c(i, j) = static_cast<T>(cv[static_cast<std::size_t>(i * n + j)]);
              }
            }
            Options o;
            o.kernel = kernel;
            o.op_a = op_a;
            o.op_b = op_b;
            bmm_into<T, I>(DenseBatchView<T>::single(c.view()), a,
                           DenseBatchView<const T>::single(bview), static_cast<T>(alpha),
                           static_cast<T>(beta), o);
            std::vector<double> w = expected<T>(av, stored, dense, bv, cv, m, k, n, alpha, beta);
            if (alpha == 0.0) {
              // alpha = 0 reads neither A nor B (as in BLAS): C = beta * C exactly.
              for (std::size_t p = 0; p < w.size(); ++p) w[p] = beta * cv[p];
            }
            EXPECT_TRUE(same_class<T>(c.view(), w, tol))
                << "kernel " << to_string(kernel) << ", format " << format << ", op_a "
                << to_string(op_a) << ", op_b " << to_string(op_b) << ", alpha " << alpha
                << ", beta " << beta;
          }
        }
      }
    }
  }
}

// A plan keeps its conversions and still follows the stored format per call: finite B, then B
// with Inf and NaN, then finite again, for a sparse entry on the Dense kernel and a dense entry
// (with zeros) on the Sparse kernel, alone and in a batch that runs as one dense batch call.
TYPED_TEST(HostileBatches, NanAndInfThroughAPlanAcrossCalls) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(6);
  const std::int64_t m = 40, k = 30, n = 8;
  std::vector<CsrMatrix<T, I>> sparse;
  std::vector<DenseMatrix<T>> dense;
  for (int i = 0; i < 3; ++i) {
    sparse.push_back(test::random_csr<T, I>(m, k, 0.2, rng));
    dense.push_back(to_dense(sparse.back().view()));
  }
  DenseMatrix<T> b_finite = test::random_dense<T>(k, n, rng);
  DenseMatrix<T> b_bad = b_finite;
  b_bad(3, 1) = std::numeric_limits<T>::infinity();
  b_bad(7, 5) = std::numeric_limits<T>::quiet_NaN();
  for (const bool sparse_stored : {true, false}) {
    BatchView<T, I> a;
    for (int i = 0; i < 3; ++i) {
      if (sparse_stored) {
        a.push_back(sparse[static_cast<std::size_t>(i)].view());
      } else {
        a.push_back(DenseView<const T>(dense[static_cast<std::size_t>(i)].view()));
      }
    }
    PlanOptions po;
    po.policy.force = sparse_stored ? Kernel::Dense : Kernel::Sparse;
    const Plan<T, I> plan(a, n, po);
    for (const DenseMatrix<T>* b : {&b_finite, &b_bad, &b_finite, &b_bad}) {
      const auto bv = DenseBatchView<const T>::single(b->view());
      const DenseBatch<T> got = plan.execute(bv);
      for (std::size_t i = 0; i < 3; ++i) {
        // The reference kernel on the stored format is the oracle.
        DenseMatrix<T> want(m, n);
        Options ref;
        ref.kernel = Kernel::Reference;
        BatchView<T, I> ai;
        ai.push_back(a[i]);
        bmm_into<T, I>(DenseBatchView<T>::single(want.view()), ai, bv, T(1), T(0), ref);
        std::vector<double> w;
        for (std::int64_t r = 0; r < m; ++r) {
          for (std::int64_t j = 0; j < n; ++j) w.push_back(static_cast<double>(want(r, j)));
        }
        EXPECT_TRUE(same_class<T>(got.entry(i), w, test::tolerance<T>(k)))
            << (sparse_stored ? "sparse A on Dense" : "dense A on Sparse") << ", entry " << i
            << (b == &b_bad ? ", B with Inf and NaN" : ", finite B");
      }
    }
  }
}

}  // namespace
}  // namespace spbmm
