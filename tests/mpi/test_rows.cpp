// Row-partitioned products over MPI: partition, exchange counters against predict(), and the
// distributed result against one process, bit for bit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <random>
#include <string>

#include "mpi_util.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/mpi.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::test {
namespace {

namespace sm = spbmm::mpi;

// The single-process product on the CPU sparse kernel, which the distributed one must equal.
template <class T, class I>
DenseMatrix<T> one_process(const CsrMatrix<T, I>& a, const DenseMatrix<T>& b) {
  PlanOptions po;
  po.policy.force = Kernel::Sparse;
  po.policy.allow_gpu = false;
  Plan<T, I> plan(BatchView<T, I>({MatrixView<T, I>(a.view())}), b.cols(), po);
  DenseMatrix<T> c(a.rows(), b.cols());
  plan.execute(DenseBatchView<T>::single(c.view()), DenseBatchView<const T>::single(b.view()));
  return c;
}

// Runs the distributed product and checks it against one process on every rank's rows, the
// gathered whole on rank 0, and the counters against predict().
template <class T, class I>
void check_distributed(const CsrMatrix<T, I>& a, std::int64_t n, std::uint64_t seed,
                       const std::vector<std::int64_t>& order = {}) {
  const DenseMatrix<T> b = seeded_dense<T>(a.cols(), n, seed);
  const DenseMatrix<T> want = one_process(a, b);
  sm::RowPlanOptions options;
  options.order = order;
  sm::RowPlan<T, I> plan(MPI_COMM_WORLD, a.view(), n, options);
  const DenseMatrix<T> local_b = plan.local_b_of(b.view());
  const DenseMatrix<T> local_c = plan.execute(local_b.view());
  const auto& rows = plan.local_rows();
  ASSERT_EQ(local_c.rows(), static_cast<std::int64_t>(rows.size()));
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const DenseView<const T> got(local_c.values().data() + static_cast<std::int64_t>(k) * n, 1, n);
    const DenseView<const T> ref(want.values().data() + rows[k] * n, 1, n);
    ASSERT_TRUE(same_bits(got, ref)) << "row " << rows[k] << " on rank " << plan.rank();
  }
  const DenseMatrix<T> whole = plan.gather(local_c.view(), 0);
  if (plan.rank() == 0) {
    EXPECT_TRUE(same_bits(whole.view(), want.view()));
  } else {
    EXPECT_EQ(whole.rows(), 0);
  }
  const std::vector<sm::CommCounts> predicted = sm::predict(a.view(), plan.ranks(), n, order);
  EXPECT_EQ(plan.counters(), predicted[static_cast<std::size_t>(plan.rank())]);
  EXPECT_EQ(plan.planned(), plan.counters());
  // beta: the second run accumulates into C.
  DenseMatrix<T> twice = local_c;
  plan.execute(twice.view(), local_b.view(), T(1), T(1));
  for (std::size_t k = 0; k < twice.values().size(); ++k) {
    ASSERT_EQ(twice.values()[k], local_c.values()[k] + local_c.values()[k]);
  }
}

template <class P>
class RowPlanTyped : public ::testing::Test {};
TYPED_TEST_SUITE(RowPlanTyped, AllPairs);

TYPED_TEST(RowPlanTyped, SquareSkewedMatchesOneProcessBitForBit) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = skewed_csr<T, I>(400, 400, 11);
  for (const std::int64_t n : {1, 7, 16, 64}) check_distributed(a, n, 100 + n);
}

TYPED_TEST(RowPlanTyped, RectangularMatchesOneProcess) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  check_distributed(skewed_csr<T, I>(300, 170, 12), 33, 7);
  check_distributed(skewed_csr<T, I>(90, 500, 13), 8, 8);
}

TYPED_TEST(RowPlanTyped, UserOrderMatchesOneProcess) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = skewed_csr<T, I>(250, 250, 14);
  std::vector<std::int64_t> order(250);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(3);
  std::shuffle(order.begin(), order.end(), rng);
  check_distributed(a, 24, 9, order);
}

TEST(RowPlan, MoreRanksThanRows) {
  const auto a = skewed_csr<double, std::int32_t>(3, 3, 15);
  check_distributed(a, 5, 10);
  const CsrMatrix<double, std::int32_t> one(1, 1, {0, 1}, {0}, {2.5});
  check_distributed(one, 3, 11);
}

TEST(RowPlan, EmptyMatrixAndZeroColumns) {
  check_distributed(CsrMatrix<float, std::int32_t>(0, 0), 4, 12);
  check_distributed(CsrMatrix<float, std::int32_t>(20, 20), 4, 13);
  check_distributed(skewed_csr<float, std::int32_t>(50, 50, 16), 0, 14);
}

TEST(RowPlan, RealMatricesMatchOneProcess) {
  const char* dir = std::getenv("SPBMM_DATA_DIR");
  if (dir == nullptr || *dir == '\0') GTEST_SKIP() << "SPBMM_DATA_DIR not set (meson -Ddata_dir)";
  for (const char* name : {"1138_bus.mtx", "ca-GrQc.mtx", "add32.mtx"}) {
    const std::string path = std::string(dir) + "/real/" + name;
    const auto a = read_matrix_market_csr<float, std::int32_t>(path);
    SCOPED_TRACE(path);
    check_distributed(a, 32, 21);
  }
}

TEST(RowPlan, ExecuteShapeErrorOnOneRankReachesEveryRank) {
  const auto a = skewed_csr<double, std::int64_t>(60, 60, 17);
  sm::RowPlan<double, std::int64_t> plan(MPI_COMM_WORLD, a.view(), 4);
  // The last rank passes a B with a wrong column count; every rank must throw the same error.
  const bool bad = plan.rank() == plan.ranks() - 1;
  const DenseMatrix<double> local_b(static_cast<std::int64_t>(plan.local_b_rows().size()),
                                    bad ? 5 : 4);
  std::string message;
  try {
    plan.execute(local_b.view());
    ADD_FAILURE() << "no error";
  } catch (const ShapeError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("local B is"), std::string::npos) << message;
  EXPECT_NE(message.find("rank " + std::to_string(plan.ranks() - 1)), std::string::npos);
  EXPECT_TRUE(same_everywhere(message));
  // The plan is still usable afterwards.
  const DenseMatrix<double> good(static_cast<std::int64_t>(plan.local_b_rows().size()), 4);
  EXPECT_NO_THROW(plan.execute(good.view()));
}

TEST(RowPartition, BalancedByNnzAndChecked) {
  const auto a = skewed_csr<float, std::int32_t>(1000, 1000, 18);
  for (const int ranks : {1, 2, 3, 4, 7, 64}) {
    const sm::RowPartition p = sm::partition_rows(a.view(), ranks);
    ASSERT_EQ(p.row_start.size(), static_cast<std::size_t>(ranks) + 1);
    const std::int64_t total = a.nnz() + a.rows();
    std::int64_t heaviest_row = 0;
    for (std::int64_t r = 0; r < a.rows(); ++r) {
      heaviest_row = std::max<std::int64_t>(heaviest_row, a.row_ptr()[r + 1] - a.row_ptr()[r] + 1);
    }
    std::vector<std::int64_t> seen(static_cast<std::size_t>(a.rows()), 0);
    for (int q = 0; q < ranks; ++q) {
      std::int64_t w = 0;
      for (const std::int64_t r : p.rows_of(q)) {
        w += a.row_ptr()[r + 1] - a.row_ptr()[r] + 1;
        EXPECT_EQ(p.row_owner[static_cast<std::size_t>(r)], q);
        ++seen[static_cast<std::size_t>(r)];
      }
      // Each part is within one row of an equal share.
      EXPECT_LE(w, total / ranks + heaviest_row + 1) << "rank " << q << " of " << ranks;
    }
    for (const std::int64_t s : seen) ASSERT_EQ(s, 1);
  }
  EXPECT_THROW(sm::partition_rows(a.view(), 0), InvalidArgument);
  std::vector<std::int64_t> bad(1000, 0);
  try {
    sm::partition_rows(a.view(), 2, bad);
    ADD_FAILURE() << "no error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("not a permutation"), std::string::npos) << e.what();
  }
}

TEST(Predict, CountsByHand) {
  // Rows 0..3 on two ranks (weights 3, 1, 1, 3: rows 0-1 on rank 0, rows 2-3 on rank 1).
  // Rank 0 needs rows 2 and 3 of B from rank 1; rank 1 needs row 0 from rank 0.
  const CsrMatrix<double, std::int32_t> a(4, 4, {0, 2, 2, 2, 4}, {2, 3, 0, 3},
                                          {1.0, 2.0, 3.0, 4.0});
  const auto c = sm::predict(a.view(), 2, 10);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].rows_received, 2);
  EXPECT_EQ(c[0].words_received, 20);
  EXPECT_EQ(c[0].messages_received, 1);
  EXPECT_EQ(c[0].rows_sent, 1);
  EXPECT_EQ(c[1].rows_received, 1);
  EXPECT_EQ(c[1].words_sent, 20);
  EXPECT_EQ(c[1].messages_sent, 1);
  const auto alone = sm::predict(a.view(), 1, 10);
  EXPECT_EQ(alone[0], sm::CommCounts{});
}

}  // namespace
}  // namespace spbmm::test
