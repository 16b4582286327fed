// Tests of the node orders (reverse Cuthill-McKee) and the permutations that apply them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/reorder.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;

template <class P>
class ReorderTest : public ::testing::Test {};
TYPED_TEST_SUITE(ReorderTest, AllPairs);

// A k x k grid graph (4 neighbours) with its nodes numbered by a random permutation.
template <class T, class I>
CsrMatrix<T, I> shuffled_grid(std::int64_t k, std::mt19937_64& rng) {
  const std::int64_t n = k * k;
  std::vector<std::int64_t> label(static_cast<std::size_t>(n));
  std::iota(label.begin(), label.end(), 0);
  std::shuffle(label.begin(), label.end(), rng);
  std::vector<I> ri, ci;
  std::vector<T> v;
  auto edge = [&](std::int64_t a, std::int64_t b) {
    ri.push_back(static_cast<I>(label[static_cast<std::size_t>(a)]));
    ci.push_back(static_cast<I>(label[static_cast<std::size_t>(b)]));
    v.push_back(test::random_value<T>(rng));
  };
  for (std::int64_t x = 0; x < k; ++x) {
    for (std::int64_t y = 0; y < k; ++y) {
      const std::int64_t a = x * k + y;
      if (x + 1 < k) edge(a, a + k), edge(a + k, a);
      if (y + 1 < k) edge(a, a + 1), edge(a + 1, a);
    }
  }
  return to_csr(CooMatrix<T, I>(n, n, std::move(ri), std::move(ci), std::move(v)).view());
}

// The largest |row - col| over the stored entries.
template <class T, class I>
std::int64_t bandwidth(const CsrView<T, I>& a) {
  std::int64_t w = 0;
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (auto p = static_cast<std::int64_t>(a.row_ptr[r]);
         p < static_cast<std::int64_t>(a.row_ptr[r + 1]); ++p) {
      w = std::max(w, std::abs(r - static_cast<std::int64_t>(a.col_idx[p])));
    }
  }
  return w;
}

template <class I>
bool is_permutation(const std::vector<I>& order, std::int64_t n) {
  if (static_cast<std::int64_t>(order.size()) != n) return false;
  std::vector<I> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t k = 0; k < n; ++k) {
    if (sorted[static_cast<std::size_t>(k)] != static_cast<I>(k)) return false;
  }
  return true;
}

TYPED_TEST(ReorderTest, ShuffledGridGetsANarrowBand) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  constexpr std::int64_t k = 24;
  const CsrMatrix<T, I> a = shuffled_grid<T, I>(k, rng);
  ASSERT_GT(bandwidth(a.view()), 10 * k);  // the shuffle scattered the neighbours
  const std::vector<I> order = rcm_order(a.view());
  ASSERT_TRUE(is_permutation(order, k * k));
  const CsrMatrix<T, I> b = permute(a.view(), std::span<const I>(order));
  // Breadth-first levels of a grid are its anti-diagonals, at most k nodes each.
  EXPECT_LE(bandwidth(b.view()), 2 * k);
  EXPECT_EQ(b.nnz(), a.nnz());
}

TYPED_TEST(ReorderTest, PermuteIsPAPtAndProductsFollow) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(12);
  const std::int64_t n = 57, width = 5;
  // Unsymmetric, with a diagonal and some empty rows.
  const CsrMatrix<T, I> a = test::random_csr<T, I>(n, n, 0.06, rng);
  const std::vector<I> order = rcm_order(a.view());
  ASSERT_TRUE(is_permutation(order, n));
  const std::span<const I> o(order);
  const DenseMatrix<T> ad = to_dense(a.view());
  const DenseMatrix<T> pd = to_dense(permute(a.view(), o).view());
  for (std::int64_t k = 0; k < n; ++k) {
    for (std::int64_t l = 0; l < n; ++l) {
      EXPECT_EQ(pd(k, l), ad(static_cast<std::int64_t>(order[static_cast<std::size_t>(k)]),
                             static_cast<std::int64_t>(order[static_cast<std::size_t>(l)])))
          << k << ", " << l;
    }
  }
  // (P A P^T)(P B) = P (A B), for a row-major and a column-major B.
  for (const Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    const DenseMatrix<T> b = test::random_dense<T>(n, width, rng, layout);
    const DenseMatrix<T> pb = permute_rows(b.view(), o);
    EXPECT_EQ(pb.view().layout, layout);
    DenseMatrix<T> ab(n, width), pab(n, width);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < width; ++j) {
        double s = 0, ps = 0;
        for (std::int64_t q = 0; q < n; ++q) {
          s += static_cast<double>(ad(i, q)) * static_cast<double>(b(q, j));
          ps += static_cast<double>(pd(i, q)) * static_cast<double>(pb(q, j));
        }
        ab(i, j) = static_cast<T>(s);
        pab(i, j) = static_cast<T>(ps);
      }
    }
    const DenseMatrix<T> want = permute_rows(ab.view(), o);
    EXPECT_TRUE(test::dense_near(pab.view(), want.view(), test::tolerance<T>(n)));
  }
  // The inverse undoes the order.
  const std::vector<I> inverse = inverse_permutation(o);
  for (std::int64_t k = 0; k < n; ++k) {
    EXPECT_EQ(inverse[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])],
              static_cast<I>(k));
  }
}

TYPED_TEST(ReorderTest, ComponentsIsolatedNodesAndEmpty) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Two paths (0-2-4 and 1-3), node 5 alone, a self loop on 3, an edge stored one way only.
  std::vector<I> ri = {0, 2, 2, 4, 1, 3, 3};
  std::vector<I> ci = {2, 0, 4, 2, 3, 1, 3};
  std::vector<T> v(ri.size(), T(1));
  const CsrMatrix<T, I> a = to_csr(CooMatrix<T, I>(6, 6, ri, ci, v).view());
  const std::vector<I> order = rcm_order(a.view());
  ASSERT_TRUE(is_permutation(order, 6));
  // Each component's nodes are numbered consecutively.
  std::vector<int> comp = {0, 1, 0, 1, 0, 2};
  std::vector<int> seen;
  for (const I x : order) {
    const int c = comp[static_cast<std::size_t>(x)];
    if (seen.empty() || seen.back() != c) seen.push_back(c);
  }
  EXPECT_EQ(seen.size(), 3u) << "components interleaved";

  const CsrMatrix<T, I> empty(0, 0);
  EXPECT_TRUE(rcm_order(empty.view()).empty());
  EXPECT_EQ(permute(empty.view(), std::span<const I>()).rows(), 0);
  const CsrMatrix<T, I> no_edges(4, 4);
  EXPECT_TRUE(is_permutation(rcm_order(no_edges.view()), 4));
}

TYPED_TEST(ReorderTest, BadInputIsNamed) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(13);
  const CsrMatrix<T, I> wide = test::random_csr<T, I>(3, 4, 0.5, rng);
  EXPECT_THROW(rcm_order(wide.view()), ShapeError);
  const std::vector<I> three = {0, 1, 2};
  EXPECT_THROW(permute(wide.view(), std::span<const I>(three)), ShapeError);
  const CsrMatrix<T, I> sq = test::random_csr<T, I>(3, 3, 0.5, rng);
  auto message = [&](std::vector<I> order) {
    try {
      (void)permute(sq.view(), std::span<const I>(order));
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({0, 1}).find("has 2 elements; expected 3"), std::string::npos);
  EXPECT_NE(message({0, 3, 1}).find("order[1] = 3 is outside [0, 3)"), std::string::npos);
  EXPECT_NE(message({0, -1, 1}).find("order[1] = -1 is outside"), std::string::npos);
  EXPECT_NE(message({2, 0, 2}).find("order[2] = 2 appears twice"), std::string::npos);
  const DenseMatrix<T> b = test::random_dense<T>(4, 2, rng);
  EXPECT_THROW(permute_rows(b.view(), std::span<const I>(three)), InvalidArgument);
  const std::vector<I> dup = {1, 1};
  EXPECT_THROW(inverse_permutation(std::span<const I>(dup)), InvalidArgument);
}

// Real graphs with their nodes shuffled: the order brings neighbours back together (the sum of
// each row's span of columns, its profile, shrinks: threefold for a road network and a mesh, by
// half for a small-world collaboration graph, whose hubs reach everywhere; scipy's
// reverse_cuthill_mckee shrinks them 7.5x, 49x and 1.7x).
TYPED_TEST(ReorderTest, RealGraphsShuffledAndReordered) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::string dir = test::data_dir();
  if (dir.empty()) GTEST_SKIP() << "data_dir not set (configure with -Ddata_dir=...)";
  std::mt19937_64 rng(14);
  int tried = 0;
  const std::pair<const char*, double> graphs[] = {
      {"ca-CondMat.mtx", 1.5}, {"luxembourg_osm.mtx", 3.0}, {"lap2D_5pt_n100.mtx", 3.0}};
  for (const auto& [name, factor] : graphs) {
    const std::string path = dir + "/real/" + name;
    if (!std::filesystem::exists(path)) continue;
    ++tried;
    const CsrMatrix<T, I> a = read_matrix_market_csr<T, I>(path);
    std::vector<I> shuffle(static_cast<std::size_t>(a.rows()));
    std::iota(shuffle.begin(), shuffle.end(), I(0));
    std::shuffle(shuffle.begin(), shuffle.end(), rng);
    const CsrMatrix<T, I> s = permute(a.view(), std::span<const I>(shuffle));
    const std::vector<I> order = rcm_order(s.view());
    ASSERT_TRUE(is_permutation(order, a.rows())) << name;
    const CsrMatrix<T, I> r = permute(s.view(), std::span<const I>(order));
    auto profile = [](const CsrView<T, I>& m) {
      double sum = 0;
      for (std::int64_t row = 0; row < m.rows; ++row) {
        const auto p0 = static_cast<std::int64_t>(m.row_ptr[row]);
        const auto p1 = static_cast<std::int64_t>(m.row_ptr[row + 1]);
        if (p1 > p0) sum += static_cast<double>(m.col_idx[p1 - 1] - m.col_idx[p0]);
      }
      return sum;
    };
    EXPECT_LT(factor * profile(r.view()), profile(s.view())) << name;
  }
  if (tried == 0) GTEST_SKIP() << "none of the graphs is in " << dir << "/real";
}

}  // namespace
}  // namespace spbmm
