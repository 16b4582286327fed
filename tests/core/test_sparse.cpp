// Tests of the sparse containers: CSR/COO validation, CsrMatrix, CooMatrix, CsrBatch, CooBatch.
#include <gtest/gtest.h>

#include <algorithm>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "spbmm/error.hpp"
#include "spbmm/sparse.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;

constexpr std::int64_t k2to31 = std::int64_t{1} << 31;

template <class P>
class SparseTest : public ::testing::Test {};
TYPED_TEST_SUITE(SparseTest, AllPairs);

template <class T, class I>
void expect_same(const CsrMatrix<T, I>& a, const CsrMatrix<T, I>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  EXPECT_EQ(a.row_ptr(), b.row_ptr());
  EXPECT_EQ(a.col_idx(), b.col_idx());
  EXPECT_EQ(a.values(), b.values());
}

template <class T, class I>
void expect_same(const CooMatrix<T, I>& a, const CooMatrix<T, I>& b) {
  EXPECT_EQ(a.rows(), b.rows());
  EXPECT_EQ(a.cols(), b.cols());
  EXPECT_EQ(a.row_idx(), b.row_idx());
  EXPECT_EQ(a.col_idx(), b.col_idx());
  EXPECT_EQ(a.values(), b.values());
}

// ---- CsrMatrix and CSR validation ----

TYPED_TEST(SparseTest, CsrMatrixConstruction) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrMatrix<T, I> z(3, 4);
  EXPECT_EQ(z.rows(), 3);
  EXPECT_EQ(z.cols(), 4);
  EXPECT_EQ(z.nnz(), 0);
  EXPECT_EQ(z.row_ptr(), std::vector<I>(4, I(0)));
  EXPECT_EQ(z.view().nnz(), 0);

  CsrMatrix<T, I> m(2, 3, {0, 2, 3}, {0, 2, 1}, {T(1), T(2), T(3)});
  EXPECT_EQ(m.nnz(), 3);
  const auto v = m.view();
  EXPECT_EQ(v.rows, 2);
  EXPECT_EQ(v.nnz(), 3);
  EXPECT_EQ(v.row_ptr, m.row_ptr().data());
  EXPECT_EQ(v.col_idx[2], I(1));
  m.values()[1] = T(7);
  EXPECT_EQ(m.view().values[1], T(7));

  const CsrMatrix<T, I> empty_rows(0, 5, {}, {}, {});
  EXPECT_EQ(empty_rows.row_ptr(), std::vector<I>{0});
  const CsrMatrix<T, I> empty_cols(3, 0, {0, 0, 0, 0}, {}, {});
  EXPECT_EQ(empty_cols.nnz(), 0);
  const CsrMatrix<T, I> none;
  EXPECT_EQ(none.view().nnz(), 0);
}

TYPED_TEST(SparseTest, CsrMatrixConstructorErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using M = CsrMatrix<T, I>;
  SPBMM_EXPECT_THROW_MSG(M(-1, 3), FormatError, "CSR matrix: negative shape -1x3");
  SPBMM_EXPECT_THROW_MSG(M(2, -3, {0, 0, 0}, {}, {}), FormatError,
                         "CSR matrix: negative shape 2x-3");
  SPBMM_EXPECT_THROW_MSG(M(2, 3, {0, 1}, {0}, {T(1)}), FormatError,
                         "CSR matrix: row_ptr has 2 entries, expected rows + 1 = 3");
  SPBMM_EXPECT_THROW_MSG(M(1, 3, {0, 2}, {0, 1}, {T(1)}), FormatError,
                         "CSR matrix: 2 column indices but 1 values");
  SPBMM_EXPECT_THROW_MSG(M(1, 3, {0, 3}, {0, 1}, {T(1), T(2)}), FormatError,
                         "CSR matrix: row_ptr[rows] = 3 but 2 entries are stored");
  SPBMM_EXPECT_THROW_MSG(M(1, 3, {1, 1}, {0}, {T(1)}), FormatError,
                         "CSR matrix: row_ptr[0] is 1, not 0");
  // A 0-row matrix has no rows for validate() to walk; its lone row pointer is still checked.
  SPBMM_EXPECT_THROW_MSG(M(0, 3, {2}, {0, 1}, {T(1), T(2)}), FormatError,
                         "CSR matrix: row_ptr[0] is 2, not 0");
  SPBMM_EXPECT_THROW_MSG(M(2, 3, {0, 2, 1}, {0}, {T(1)}), FormatError,
                         "CSR matrix: row 1: row_ptr decreases (row_ptr[2] = 1 < row_ptr[1] = 2)");
  SPBMM_EXPECT_THROW_MSG(M(1, 3, {0, 1}, {-1}, {T(1)}), FormatError,
                         "CSR matrix: row 0: negative column index -1");
  SPBMM_EXPECT_THROW_MSG(M(2, 3, {0, 0, 1}, {3}, {T(1)}), FormatError,
                         "CSR matrix: row 1: column index 3 >= cols 3");
  SPBMM_EXPECT_THROW_MSG(M(2, 4, {0, 0, 2}, {3, 1}, {T(1), T(2)}), FormatError,
                         "CSR matrix: row 1: column indices not strictly increasing (1 after 3)");
  SPBMM_EXPECT_THROW_MSG(M(1, 4, {0, 2}, {2, 2}, {T(1), T(2)}), FormatError,
                         "CSR matrix: row 0: column indices not strictly increasing (2 after 2)");
  if constexpr (std::is_same_v<I, std::int32_t>) {
    SPBMM_EXPECT_THROW_MSG(M(k2to31, 2), FormatError,
                           "CSR matrix: shape 2147483648x2 does not fit a 32-bit index");
    SPBMM_EXPECT_THROW_MSG(M(2, k2to31, {0, 0, 0}, {}, {}), FormatError,
                           "CSR matrix: shape 2x2147483648 does not fit a 32-bit index");
  }
}

// Large matrices are checked by all threads first; a problem anywhere still gets the message that
// names its row, and a valid matrix still passes.
TYPED_TEST(SparseTest, LargeCsrValidationNamesTheFirstProblem) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using M = CsrMatrix<T, I>;
  const std::int64_t rows = 40000, per_row = 8, cols = 1000;
  std::vector<I> rp(static_cast<std::size_t>(rows) + 1), ci;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t k = 0; k < per_row; ++k) ci.push_back(static_cast<I>((r + k * 97) % cols));
    std::sort(ci.end() - per_row, ci.end());
    rp[static_cast<std::size_t>(r) + 1] = static_cast<I>(ci.size());
  }
  const std::vector<T> v(ci.size(), T(1));
  EXPECT_NO_THROW(M(rows, cols, rp, ci, v));
  auto bad = ci;
  std::swap(bad[39000 * per_row + 2], bad[39000 * per_row + 3]);
  SPBMM_EXPECT_THROW_MSG(M(rows, cols, rp, bad, v), FormatError,
                         "CSR matrix: row 39000: column indices not strictly increasing (" +
                             std::to_string(bad[39000 * per_row + 3]) + " after " +
                             std::to_string(bad[39000 * per_row + 2]) + ")");
  bad = ci;
  bad[31000 * per_row] = static_cast<I>(cols);
  bad[35000 * per_row] = static_cast<I>(-1);
  SPBMM_EXPECT_THROW_MSG(M(rows, cols, rp, bad, v), FormatError,
                         "CSR matrix: row 31000: column index 1000 >= cols 1000");
  auto rbad = rp;
  rbad[20001] = rbad[20000] - 1;
  SPBMM_EXPECT_THROW_MSG(
      M(rows, cols, rbad, ci, v), FormatError,
      "CSR matrix: row 20000: row_ptr decreases (row_ptr[20001] = " + std::to_string(rbad[20001]) +
          " < row_ptr[20000] = " + std::to_string(rbad[20000]) + ")");
}

TYPED_TEST(SparseTest, CsrViewValidationErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using V = CsrView<T, I>;
  const std::vector<I> rp = {0, 1, 2};
  const std::vector<I> ci = {0, 1};
  const std::vector<T> vals = {T(1), T(2)};
  EXPECT_NO_THROW(validate(V{2, 2, rp.data(), ci.data(), vals.data()}));
  EXPECT_NO_THROW(validate(V{0, 2, nullptr, nullptr, nullptr}));
  SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, nullptr, nullptr, nullptr}, 4), FormatError,
                         "CSR entry 4: null row_ptr for 2 rows");
  SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, rp.data(), nullptr, vals.data()}), FormatError,
                         "CSR matrix: null col_idx or values for 2 stored entries");
  SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, rp.data(), ci.data(), nullptr}), FormatError,
                         "CSR matrix: null col_idx or values for 2 stored entries");
  SPBMM_EXPECT_THROW_MSG(validate(V{-2, 2, nullptr, nullptr, nullptr}, 1), FormatError,
                         "CSR entry 1: negative shape -2x2");
  if constexpr (std::is_same_v<I, std::int32_t>) {
    SPBMM_EXPECT_THROW_MSG(validate(V{0, k2to31, nullptr, nullptr, nullptr}), FormatError,
                           "does not fit a 32-bit index");
  } else {
    EXPECT_NO_THROW(validate(V{0, k2to31, nullptr, nullptr, nullptr}));
  }
}

// ---- CooMatrix and COO validation ----

TYPED_TEST(SparseTest, CooMatrixConstruction) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CooMatrix<T, I> z(3, 4);
  EXPECT_EQ(z.nnz(), 0);
  EXPECT_EQ(z.view().nnz, 0);
  CooMatrix<T, I> m(3, 4, {2, 0, 2}, {1, 3, 1}, {T(1), T(2), T(3)});  // duplicates are fine
  EXPECT_EQ(m.nnz(), 3);
  const auto v = m.view();
  EXPECT_EQ(v.nnz, 3);
  EXPECT_EQ(v.row_idx, m.row_idx().data());
  EXPECT_EQ(v.col_idx[1], I(3));
  m.values()[0] = T(5);
  EXPECT_EQ(m.view().values[0], T(5));
  EXPECT_NO_THROW((CooMatrix<T, I>(0, 0, {}, {}, {})));
  if constexpr (std::is_same_v<I, std::int64_t>) {
    EXPECT_NO_THROW((CooMatrix<T, I>(k2to31, k2to31)));
  }
}

TYPED_TEST(SparseTest, CooErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using M = CooMatrix<T, I>;
  using V = CooView<T, I>;
  SPBMM_EXPECT_THROW_MSG(M(-1, 2), FormatError, "COO matrix: negative shape -1x2");
  SPBMM_EXPECT_THROW_MSG(M(3, 3, {0, 1}, {0}, {T(1), T(2)}), FormatError,
                         "COO matrix: 2 row indices, 1 column indices and 2 values");
  SPBMM_EXPECT_THROW_MSG(M(3, 4, {0, 5}, {0, 0}, {T(1), T(2)}), FormatError,
                         "COO matrix: position 1: row index 5 out of range [0, 3)");
  SPBMM_EXPECT_THROW_MSG(M(3, 4, {-1}, {0}, {T(1)}), FormatError,
                         "COO matrix: position 0: row index -1 out of range [0, 3)");
  SPBMM_EXPECT_THROW_MSG(M(3, 4, {0}, {-2}, {T(1)}), FormatError,
                         "COO matrix: position 0: column index -2 out of range [0, 4)");
  SPBMM_EXPECT_THROW_MSG(M(3, 4, {0, 1}, {0, 4}, {T(1), T(2)}), FormatError,
                         "COO matrix: position 1: column index 4 out of range [0, 4)");
  SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, -1, nullptr, nullptr, nullptr}, 3), FormatError,
                         "COO entry 3: negative nnz -1");
  const std::vector<I> idx = {0, 1};
  const std::vector<T> vals = {T(1), T(2)};
  SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, 2, idx.data(), nullptr, vals.data()}), FormatError,
                         "COO matrix: null index or value array for 2 stored entries");
  EXPECT_NO_THROW(validate(V{2, 2, 0, nullptr, nullptr, nullptr}));
  if constexpr (std::is_same_v<I, std::int32_t>) {
    SPBMM_EXPECT_THROW_MSG(M(2, k2to31), FormatError,
                           "COO matrix: shape 2x2147483648 does not fit a 32-bit index");
    // Rejected before any array is read: the arrays here are far shorter than nnz.
    SPBMM_EXPECT_THROW_MSG(validate(V{2, 2, k2to31, idx.data(), idx.data(), vals.data()}),
                           FormatError, "COO matrix: nnz 2147483648 does not fit a 32-bit index");
  }
}

// ---- CsrBatch ----

TYPED_TEST(SparseTest, CsrBatchRaggedConstruction) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Entries: 2x3 with 2 entries, 0x4, 3x0, 1x2 with none.
  CsrBatch<T, I> b({2, 0, 3, 1}, {3, 4, 0, 2}, {0, 1, 2, 0, 0, 0, 0, 0, 0, 0}, {2, 0},
                   {T(1), T(2)});
  ASSERT_EQ(b.size(), 4u);
  EXPECT_FALSE(b.empty());
  EXPECT_FALSE(b.is_shared_pattern());
  EXPECT_FALSE(b.is_uniform());
  EXPECT_EQ(b.total_nnz(), 2);
  EXPECT_EQ(b.nnz(0), 2);
  EXPECT_EQ(b.nnz(1), 0);
  EXPECT_EQ(b.nnz(3), 0);
  EXPECT_EQ(b.row_ptr_offset(1), 3);
  EXPECT_EQ(b.row_ptr_offset(2), 4);
  EXPECT_EQ(b.row_ptr_offset(3), 8);
  EXPECT_EQ(b.nnz_offset(3), 2);
  const auto e0 = b.entry(0);
  EXPECT_EQ(e0.rows, 2);
  EXPECT_EQ(e0.cols, 3);
  EXPECT_EQ(e0.nnz(), 2);
  EXPECT_EQ(e0.col_idx, b.col_idx().data());
  EXPECT_EQ(e0.col_idx[0], I(2));
  EXPECT_EQ(b.entry(2).rows, 3);
  EXPECT_EQ(b.entry(2).row_ptr, b.row_ptr().data() + 4);
  b.values()[1] = T(9);
  EXPECT_EQ(b.entry(0).values[1], T(9));
  EXPECT_NO_THROW(b.validate());

  const auto list = b.to_list();
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].row_ptr(), (std::vector<I>{0, 1, 2}));
  EXPECT_EQ(list[0].values(), (std::vector<T>{T(1), T(9)}));
  EXPECT_EQ(list[1].rows(), 0);
  EXPECT_EQ(list[2].row_ptr(), (std::vector<I>{0, 0, 0, 0}));
  EXPECT_EQ(list[3].cols(), 2);
}

TYPED_TEST(SparseTest, CsrBatchConstructorErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using B = CsrBatch<T, I>;
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2}, {0, 0, 0, 0}, {}, {}), ShapeError,
                         "CSR batch: 2 row counts but 1 column counts");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {0, 2}, {0, 1}, {T(1)}), ShapeError,
                         "CSR batch: 2 column indices but 1 values");
  SPBMM_EXPECT_THROW_MSG(B({1, -1}, {2, 2}, {0, 0}, {}, {}), FormatError,
                         "CSR entry 1: negative shape -1x2");
  SPBMM_EXPECT_THROW_MSG(B({1, 2}, {2, 2}, {0, 0, 0}, {}, {}), ShapeError,
                         "CSR batch: row_ptr has 3 entries, too few for entry 1 (2 rows; each "
                         "entry needs rows + 1)");
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2, 2}, {0, 0, 1, 1}, {0}, {T(1)}), FormatError,
                         "CSR entry 1: row_ptr[0] is 1, not 0");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {0, 5}, {0, 1}, {T(1), T(2)}), ShapeError,
                         "CSR batch: entry 0 claims 5 entries but only 2 remain");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {0, -1}, {}, {}), ShapeError,
                         "CSR batch: entry 0 claims -1 entries but only 0 remain");
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2, 2}, {0, 0, 0, 0, 0}, {}, {}), ShapeError,
                         "CSR batch: row_ptr has 5 entries, expected 4");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {0, 1}, {0, 1}, {T(1), T(2)}), ShapeError,
                         "CSR batch: entries hold 1 values but 2 were given");
  SPBMM_EXPECT_THROW_MSG(B({}, {}, {0}, {}, {}), ShapeError,
                         "CSR batch: row_ptr has 1 entries, expected 0");
  SPBMM_EXPECT_THROW_MSG(B({1, 2}, {2, 2}, {0, 0, 0, 2, 1}, {0}, {T(1)}), FormatError,
                         "CSR entry 1: row 1: row_ptr decreases (row_ptr[2] = 1 < row_ptr[1] = 2)");
  SPBMM_EXPECT_THROW_MSG(B({1}, {4}, {0, 2}, {2, 2}, {T(1), T(2)}), FormatError,
                         "CSR entry 0: row 0: column indices not strictly increasing (2 after 2)");
  SPBMM_EXPECT_THROW_MSG(B({1}, {4}, {0, 1}, {-3}, {T(1)}), FormatError,
                         "CSR entry 0: row 0: negative column index -3");

  // Entry 2 is 13x64 with its only entry in row 12, column 90.
  std::vector<I> rp = {0, 1, 0, 0};
  rp.insert(rp.end(), 13, I(0));
  rp.push_back(1);
  SPBMM_EXPECT_THROW_MSG(B({1, 1, 13}, {2, 2, 64}, rp, {0, 90}, {T(1), T(2)}), FormatError,
                         "CSR entry 2: row 12: column index 90 >= cols 64");
  if constexpr (std::is_same_v<I, std::int32_t>) {
    SPBMM_EXPECT_THROW_MSG(B({k2to31}, {2}, {0}, {}, {}), FormatError,
                           "CSR entry 0: shape 2147483648x2 does not fit a 32-bit index");
  }
}

TYPED_TEST(SparseTest, CsrBatchSharedPattern) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::vector<T> vals(9);
  for (std::size_t k = 0; k < vals.size(); ++k) vals[k] = T(static_cast<int>(k) + 1);
  auto b = CsrBatch<T, I>::shared_pattern(3, 2, 3, {0, 2, 3}, {0, 2, 1}, vals);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_TRUE(b.is_shared_pattern());
  EXPECT_TRUE(b.is_uniform());
  EXPECT_EQ(b.total_nnz(), 9);
  EXPECT_EQ(b.row_ptr().size(), 3u);  // the pattern is stored once
  EXPECT_EQ(b.col_idx().size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto e = b.entry(i);
    EXPECT_EQ(e.row_ptr, b.row_ptr().data());
    EXPECT_EQ(e.col_idx, b.col_idx().data());
    EXPECT_EQ(e.values, b.values().data() + 3 * i);
    EXPECT_EQ(e.nnz(), 3);
    EXPECT_EQ(b.nnz(i), 3);
    EXPECT_EQ(b.nnz_offset(i), static_cast<std::int64_t>(3 * i));
    EXPECT_EQ(b.row_ptr_offset(i), 0);
  }
  b.values()[4] = T(40);
  EXPECT_EQ(b.entry(1).values[1], T(40));
  EXPECT_EQ(b.entry(0).values[1], T(2));
  EXPECT_NO_THROW(b.validate());

  const auto list = b.to_list();
  ASSERT_EQ(list.size(), 3u);
  for (const auto& m : list) {
    EXPECT_EQ(m.row_ptr(), (std::vector<I>{0, 2, 3}));
    EXPECT_EQ(m.col_idx(), (std::vector<I>{0, 2, 1}));
  }
  EXPECT_EQ(list[1].values(), (std::vector<T>{T(4), T(40), T(6)}));

  const auto none = CsrBatch<T, I>::shared_pattern(0, 2, 3, {0, 2, 3}, {0, 2, 1}, {});
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.to_list().empty());

  SPBMM_EXPECT_THROW_MSG(
      (CsrBatch<T, I>::shared_pattern(2, 2, 3, {0, 2, 3}, {0, 2, 1}, std::vector<T>(5))),
      ShapeError,
      "CSR batch: shared pattern with 3 entries and batch 2 needs 6 values, "
      "got 5");
  SPBMM_EXPECT_THROW_MSG(
      (CsrBatch<T, I>::shared_pattern(1, 2, 3, {0, 2, 3}, {2, 0, 1}, std::vector<T>(3))),
      FormatError, "CSR matrix: row 0: column indices not strictly increasing (0 after 2)");
}

TYPED_TEST(SparseTest, CsrBatchFromListRoundTrip) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  std::vector<CsrMatrix<T, I>> list;
  list.push_back(test::random_csr<T, I>(5, 7, 0.4, rng));
  list.push_back(test::random_csr<T, I>(0, 3, 0.5, rng));
  list.push_back(test::random_csr<T, I>(4, 0, 0.5, rng));
  list.push_back(test::random_csr<T, I>(3, 3, 0.0, rng));
  list.push_back(test::random_csr<T, I>(1, 1, 1.0, rng));
  list.push_back(test::random_csr<T, I>(9, 2, 0.6, rng));
  const auto b = CsrBatch<T, I>::from_list(list);
  ASSERT_EQ(b.size(), list.size());
  EXPECT_FALSE(b.is_uniform());
  const auto back = b.to_list();
  ASSERT_EQ(back.size(), list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same(back[i], list[i]);
    EXPECT_EQ(b.nnz(i), list[i].nnz());
  }

  const auto u = CsrBatch<T, I>::from_list({list[3], list[3]});
  EXPECT_TRUE(u.is_uniform());
  const auto empty = CsrBatch<T, I>::from_list({});
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(empty.is_uniform());
  const CsrBatch<T, I> def;
  EXPECT_TRUE(def.empty());
  EXPECT_EQ(def.total_nnz(), 0);
  EXPECT_TRUE(def.to_list().empty());
  EXPECT_NO_THROW(def.validate());
}

// ---- CooBatch ----

TYPED_TEST(SparseTest, CooBatchConstruction) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  CooBatch<T, I> b({2, 0, 3}, {2, 5, 4}, {0, 2, 2, 3}, {1, 0, 2}, {1, 0, 3}, {T(1), T(2), T(3)});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_FALSE(b.is_uniform());
  EXPECT_EQ(b.total_nnz(), 3);
  EXPECT_EQ(b.nnz(0), 2);
  EXPECT_EQ(b.nnz(1), 0);
  EXPECT_EQ(b.nnz_offset(2), 2);
  const auto e = b.entry(2);
  EXPECT_EQ(e.rows, 3);
  EXPECT_EQ(e.cols, 4);
  EXPECT_EQ(e.nnz, 1);
  EXPECT_EQ(e.row_idx, b.row_idx().data() + 2);
  EXPECT_EQ(e.values[0], T(3));
  b.values()[2] = T(8);
  EXPECT_EQ(b.entry(2).values[0], T(8));
  EXPECT_NO_THROW(b.validate());

  const CooBatch<T, I> def;
  EXPECT_TRUE(def.empty());
  EXPECT_TRUE(def.is_uniform());
  EXPECT_EQ(def.total_nnz(), 0);
  EXPECT_TRUE(def.to_list().empty());
}

TYPED_TEST(SparseTest, CooBatchConstructorErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using B = CooBatch<T, I>;
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2}, {0, 0, 0}, {}, {}, {}), ShapeError,
                         "COO batch: 2 row counts but 1 column counts");
  SPBMM_EXPECT_THROW_MSG(B({2}, {2}, {0, 2}, {0, 1}, {0}, {T(1), T(2)}), ShapeError,
                         "COO batch: 2 row indices, 1 column indices and 2 values");
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2, 2}, {0, 0}, {}, {}, {}), ShapeError,
                         "COO batch: 2 offsets for 2 entries (expected entries + 1)");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {1, 1}, {0}, {0}, {T(1)}), FormatError,
                         "COO batch: first offset is 1, not 0");
  SPBMM_EXPECT_THROW_MSG(B({1, 1}, {2, 2}, {0, 2, 1}, {0}, {0}, {T(1)}), FormatError,
                         "COO entry 1: offsets decrease (1 < 2)");
  SPBMM_EXPECT_THROW_MSG(B({1}, {2}, {0, 1}, {0, 0}, {0, 1}, {T(1), T(2)}), ShapeError,
                         "COO batch: last offset is 1 but 2 values were given");
  SPBMM_EXPECT_THROW_MSG(B({1, 2}, {2, 4}, {0, 0, 1}, {0}, {7}, {T(1)}), FormatError,
                         "COO entry 1: position 0: column index 7 out of range [0, 4)");
  SPBMM_EXPECT_THROW_MSG(B({1, 2}, {2, 4}, {0, 1, 2}, {0, 2}, {0, 0}, {T(1), T(2)}), FormatError,
                         "COO entry 1: position 0: row index 2 out of range [0, 2)");
  SPBMM_EXPECT_THROW_MSG(B({2}, {-1}, {0, 0}, {}, {}, {}), FormatError,
                         "COO entry 0: negative shape 2x-1");
}

TYPED_TEST(SparseTest, CooBatchFrom3dIsStableWithinEntries) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::vector<std::int64_t> bi = {2, 0, 2, 1, 0, 2};
  const std::vector<I> ri = {0, 1, 1, 0, 1, 0};
  const std::vector<I> ci = {1, 0, 1, 0, 0, 1};
  const std::vector<T> v = {T(1), T(2), T(3), T(4), T(5), T(6)};
  const auto b = CooBatch<T, I>::from_3d(4, 2, 2, bi, ri, ci, v);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_TRUE(b.is_uniform());
  EXPECT_EQ(b.nnz(0), 2);
  EXPECT_EQ(b.nnz(1), 1);
  EXPECT_EQ(b.nnz(2), 3);
  EXPECT_EQ(b.nnz(3), 0);
  EXPECT_EQ(b.rows(3), 2);
  EXPECT_EQ(b.row_idx(), (std::vector<I>{1, 1, 0, 0, 1, 0}));
  EXPECT_EQ(b.col_idx(), (std::vector<I>{0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(b.values(), (std::vector<T>{T(2), T(5), T(4), T(1), T(3), T(6)}));

  const auto none = CooBatch<T, I>::from_3d(0, 3, 3, {}, {}, {}, {});
  EXPECT_TRUE(none.empty());

  SPBMM_EXPECT_THROW_MSG(
      (CooBatch<T, I>::from_3d(3, 2, 2, {0, 1, 3}, {0, 0, 0}, {0, 0, 0}, {T(1), T(1), T(1)})),
      FormatError, "COO 3-D: position 2: batch index 3 out of range [0, 3)");
  SPBMM_EXPECT_THROW_MSG((CooBatch<T, I>::from_3d(3, 2, 2, {-1}, {0}, {0}, {T(1)})), FormatError,
                         "COO 3-D: position 0: batch index -1 out of range [0, 3)");
  SPBMM_EXPECT_THROW_MSG(
      (CooBatch<T, I>::from_3d(3, 2, 2, {0, 1}, {0, 0, 0}, {0, 0, 0}, {T(1), T(1), T(1)})),
      ShapeError, "COO 3-D: 2 batch indices, 3 row indices, 3 column indices and 3 values");
  SPBMM_EXPECT_THROW_MSG((CooBatch<T, I>::from_3d(2, 2, 2, {1}, {5}, {0}, {T(1)})), FormatError,
                         "COO entry 1: position 0: row index 5 out of range [0, 2)");
}

TYPED_TEST(SparseTest, CooBatchFromListRoundTrip) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(5);
  std::vector<CooMatrix<T, I>> list;
  list.push_back(test::random_coo<T, I>(4, 6, 10, 3, rng));
  list.push_back(test::random_coo<T, I>(0, 2, 0, 0, rng));
  list.push_back(test::random_coo<T, I>(3, 0, 0, 0, rng));
  list.push_back(test::random_coo<T, I>(5, 5, 0, 0, rng));
  list.push_back(test::random_coo<T, I>(1, 1, 2, 2, rng));
  const auto b = CooBatch<T, I>::from_list(list);
  ASSERT_EQ(b.size(), list.size());
  EXPECT_FALSE(b.is_uniform());
  const auto back = b.to_list();
  ASSERT_EQ(back.size(), list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    SCOPED_TRACE(i);
    expect_same(back[i], list[i]);
  }
  EXPECT_TRUE((CooBatch<T, I>::from_list({}).empty()));
  EXPECT_TRUE((CooBatch<T, I>::from_list({list[0], list[0]}).is_uniform()));
}

// ---- inputs found by fuzzing (tests/fuzz/regressions/validate) ----

// A batch count that no vector can hold (here a negative count cast to size_t, and 2^62) is a
// LimitError; it was a std::length_error, and for SIZE_MAX a write past a wrapped batch + 1.
TYPED_TEST(SparseTest, FuzzBatchCountBeyondAnyVectorIsLimitError) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::size_t huge = static_cast<std::size_t>(-1);
  SPBMM_EXPECT_THROW_MSG((CooBatch<T, I>::from_3d(huge, 2, 2, {}, {}, {}, {})), LimitError,
                         "COO 3-D: batch of 18446744073709551615 entries exceeds the largest");
  SPBMM_EXPECT_THROW_MSG((CooBatch<T, I>::from_3d(std::size_t{1} << 62, 2, 2, {}, {}, {}, {})),
                         LimitError, "COO 3-D: batch of 4611686018427387904 entries exceeds");
  SPBMM_EXPECT_THROW_MSG((CsrBatch<T, I>::shared_pattern(huge, 0, 3, {}, {}, {})), LimitError,
                         "CSR batch: batch of 18446744073709551615 entries exceeds the largest");
}

// rows = 2^63 - 1 fits a 64-bit index, but rows + 1 overflowed in the row_ptr length check.
TYPED_TEST(SparseTest, FuzzCsrRowsAtInt64MaxIsRejectedCleanly) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (std::is_same_v<I, std::int64_t>) {
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    SPBMM_EXPECT_THROW_MSG((CsrMatrix<T, I>(max, 1, {0}, {}, {})), FormatError,
                           "CSR matrix: row_ptr has 1 entries, expected rows + 1 = "
                           "9223372036854775808");
    SPBMM_EXPECT_THROW_MSG((CsrMatrix<T, I>(max, 1)), LimitError,
                           "CSR matrix: 9223372036854775807 rows need more row pointers than a "
                           "vector can hold");
  } else {
    SPBMM_EXPECT_THROW_MSG((CsrMatrix<T, I>(k2to31, 1, {0}, {}, {})), FormatError,
                           "does not fit a 32-bit index");
  }
}

// An entry whose last row pointer is near 2^63 overflowed the running entry count.
TYPED_TEST(SparseTest, FuzzCsrBatchRowPointerNearInt64MaxIsShapeError) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const I big = std::numeric_limits<I>::max();
  SPBMM_EXPECT_THROW_MSG(
      (CsrBatch<T, I>({1, 1}, {2, 2}, {0, 1, 0, big}, {0}, {T(1)})), ShapeError,
      "CSR batch: entry 1 claims " + std::to_string(big) + " entries but only 0 remain");
}

}  // namespace
}  // namespace spbmm
