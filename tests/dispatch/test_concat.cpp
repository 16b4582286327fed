// Tests of concatenated (PyG style) batches: the same products as the per-graph copies, values
// followed in place by plans and SDDMM, and every malformed input.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "plan_util.hpp"
#include "spbmm/concat.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/training.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::batch_near;

// Random graphs (one of them empty), and the block-diagonal arrays PyG would hold for them.
template <class T, class I>
struct Graphs {
  std::vector<CsrMatrix<T, I>> list;
  std::vector<std::int64_t> ptr{0};
  std::vector<I> row_ptr{0};
  std::vector<I> col_idx;
  std::vector<T> values;
  // The same as COO of every edge with edge offsets per graph.
  std::vector<I> row_idx;
  std::vector<std::int64_t> edge_ptr{0};

  explicit Graphs(std::mt19937_64& rng) {
    for (const std::int64_t n : {7, 0, 19, 3, 31}) {
      list.push_back(test::random_csr<T, I>(n, n, 0.3, rng));
      const auto& g = list.back();
      const std::int64_t first = ptr.back();
      for (std::int64_t r = 0; r < n; ++r) {
        for (I k = g.row_ptr()[r]; k < g.row_ptr()[r + 1]; ++k) {
          col_idx.push_back(static_cast<I>(g.col_idx()[k] + first));
          row_idx.push_back(static_cast<I>(r + first));
          values.push_back(g.values()[k]);
        }
        row_ptr.push_back(static_cast<I>(col_idx.size()));
      }
      ptr.push_back(first + n);
      edge_ptr.push_back(static_cast<std::int64_t>(col_idx.size()));
    }
  }
  std::int64_t nodes() const { return ptr.back(); }
  // The per-graph copies with the current values of the concatenated arrays.
  CsrBatch<T, I> copies() const {
    std::vector<CsrMatrix<T, I>> out;
    for (std::size_t g = 0; g < list.size(); ++g) {
      const auto& m = list[g];
      std::vector<T> v(values.begin() + edge_ptr[g], values.begin() + edge_ptr[g + 1]);
      out.emplace_back(m.rows(), m.cols(), m.row_ptr(), m.col_idx(), std::move(v));
    }
    return CsrBatch<T, I>::from_list(out);
  }
};

template <class P>
class ConcatTest : public ::testing::Test {};
TYPED_TEST_SUITE(ConcatTest, AllPairs);

// Y = A X over the concatenated batch, with X and Y the node features of all graphs split by
// ptr, equals the product of the per-graph copies, for CSR and COO, op N and T, every kernel;
// a plan over the view follows values changed in the concatenated array.
TYPED_TEST(ConcatTest, ProductsEqualThePerGraphCopiesAndFollowValues) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(41);
  Graphs<T, I> g(rng);
  const ConcatCsrBatch<T, I> csr(g.nodes(), g.row_ptr.data(), g.col_idx.data(), g.values.data(),
                                 g.ptr);
  const ConcatCooBatch<T, I> coo(g.row_idx.data(), g.col_idx.data(), g.values.data(), g.ptr,
                                 g.edge_ptr);
  ASSERT_EQ(csr.size(), 5u);
  ASSERT_EQ(coo.size(), 5u);
  DenseMatrix<T> x = test::random_dense<T>(g.nodes(), 6, rng);
  DenseMatrix<T> y(g.nodes(), 6);
  const DenseBatchView<const T> xs = split_rows(DenseView<const T>(x.view()), g.ptr);
  const DenseBatchView<T> ys = split_rows(y.view(), g.ptr);
  for (Op op : {Op::N, Op::T}) {
    for (Kernel kernel : {Kernel::Auto, Kernel::Sparse, Kernel::Dense, Kernel::Reference}) {
      SCOPED_TRACE(::testing::Message() << to_string(op) << " " << to_string(kernel));
      PlanOptions po;
      po.op_a = op;
      po.policy.force = kernel;
      const Plan<T, I> plan_csr(csr.view(), 6, po);
      const Plan<T, I> plan_coo(coo.view(), 6, po);
      for (int round = 0; round < 2; ++round) {
        if (round == 1) {
          for (T& v : g.values) v = test::random_value<T>(rng);
        }
        const CsrBatch<T, I> copies = g.copies();
        Options o;
        o.op_a = op;
        const DenseBatch<T> ref = bmm<T, I>(BatchView<T, I>(copies), xs, o);
        plan_csr.execute(ys, xs);
        for (std::size_t i = 0; i < 5; ++i) {
          EXPECT_TRUE(test::dense_near(ys[i], ref.entry(i), test::tolerance<T>(40)))
              << "CSR, graph " << i << ", round " << round;
        }
        EXPECT_TRUE(batch_near(plan_coo.execute(xs), ref, 40)) << "COO, round " << round;
      }
    }
  }
}

// The gradient of the edge weights, written in place into the concatenated values by SDDMM.
TYPED_TEST(ConcatTest, SddmmWritesTheConcatenatedValuesInPlace) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(43);
  Graphs<T, I> g(rng);
  const ConcatCsrBatch<T, I> csr(g.nodes(), g.row_ptr.data(), g.col_idx.data(), g.values.data(),
                                 g.ptr);
  const DenseMatrix<T> x = test::random_dense<T>(g.nodes(), 5, rng);
  const DenseMatrix<T> y = test::random_dense<T>(g.nodes(), 5, rng);
  const CsrBatch<T, I> before = g.copies();
  const CsrBatch<T, I> want = sddmm(before, split_rows(DenseView<const T>(x.view()), g.ptr),
                                    split_rows(DenseView<const T>(y.view()), g.ptr), -0.5, 1.0);
  std::vector<std::span<T>> out;
  for (std::size_t i = 0; i < csr.size(); ++i) {
    out.emplace_back(g.values.data() + g.edge_ptr[i],
                     static_cast<std::size_t>(g.edge_ptr[i + 1] - g.edge_ptr[i]));
  }
  sddmm_into(out, csr.view(), split_rows(DenseView<const T>(x.view()), g.ptr),
             split_rows(DenseView<const T>(y.view()), g.ptr), -0.5, 1.0);
  ASSERT_EQ(want.values().size(), g.values.size());
  for (std::size_t k = 0; k < g.values.size(); ++k) {
    EXPECT_NEAR(g.values[k], want.values()[k], test::tolerance<T>(5)) << k;
  }
}

TEST(Concat, MalformedInputsAreRefusedNamingWhere) {
  std::vector<int> row_ptr{0, 1, 2, 3};
  std::vector<int> col_idx{0, 2, 1};  // row 1 (graph 1 = nodes 1..2) points at node 2: fine
  std::vector<float> values{1, 2, 3};
  EXPECT_NO_THROW(
      (ConcatCsrBatch<float, int>(3, row_ptr.data(), col_idx.data(), values.data(), {0, 1, 3})));
  const auto message = [&](std::vector<std::int64_t> ptr) {
    try {
      ConcatCsrBatch<float, int>(3, row_ptr.data(), col_idx.data(), values.data(), ptr);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({0, 2, 3}).find("graph 0: row 1: column 2 is outside the graph's nodes [0, 2)"),
            std::string::npos)
      << message({0, 2, 3});
  EXPECT_NE(message({1, 3}).find("ptr[0] is 1"), std::string::npos);
  EXPECT_NE(message({0, 2, 1, 3}).find("ptr decreases at 2"), std::string::npos);
  EXPECT_NE(message({0, 2}).find("ptr ends at 2 but there are 3 rows"), std::string::npos);
  std::vector<int> rows_ok{0, 2, 1};
  EXPECT_THROW((ConcatCooBatch<float, int>(rows_ok.data(), col_idx.data(), values.data(), {0, 3},
                                           {0, 1, 3})),
               ShapeError);  // edge offsets for two graphs, node offsets for one
  std::vector<int> rows{0, 1, 2};
  EXPECT_THROW((ConcatCooBatch<float, int>(rows.data(), col_idx.data(), values.data(), {0, 1, 3},
                                           {0, 2, 3})),
               FormatError);  // graph 0 holds edges 0 and 1, but edge 1 is (1, 2), not in [0, 1)
  DenseMatrix<float> x(4, 2);
  EXPECT_THROW(split_rows(x.view(), {0, 3}), ShapeError);
}

}  // namespace
}  // namespace spbmm
