// Sharded batches over MPI: longest-first assignment, each rank reading only its own files, the
// gathered results against one process bit for bit, and one bad file failing every rank alike.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mpi_util.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/mpi.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::test {
namespace {

namespace sm = spbmm::mpi;
namespace fs = std::filesystem;

// Rank 0 writes the files; every rank gets the directory once they exist.
class Files {
 public:
  explicit Files(const std::string& tag) : dir_(shared_temp_dir(tag)) {}
  ~Files() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) fs::remove_all(dir_);
  }
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& name) const {
    // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on chained operator+.
    std::string p = dir_;
    p.append("/").append(name);
    return p;
  }
  template <class T, class I>
  void write(const std::string& name, const CsrMatrix<T, I>& a) {
    if (world_rank() == 0) write_matrix_market(path(name), a.view());
  }
  void write_text(const std::string& name, const std::string& text) {
    if (world_rank() == 0) std::ofstream(path(name)) << text;
  }
  void ready() const { MPI_Barrier(MPI_COMM_WORLD); }

 private:
  std::string dir_;
};

// B_i for global entry i, the same on every rank.
template <class T>
DenseMatrix<T> b_for(std::size_t i, std::int64_t rows, std::int64_t n) {
  return seeded_dense<T>(rows, n, 1000 + i);
}

// A ragged batch of seven entries from 1 to 600 rows, skewed and uniform, one nearly dense.
template <class T, class I>
std::vector<CsrMatrix<T, I>> write_batch(Files& files) {
  std::vector<CsrMatrix<T, I>> list;
  list.push_back(skewed_csr<T, I>(600, 600, 1));
  list.push_back(skewed_csr<T, I>(40, 70, 2));
  list.push_back(skewed_csr<T, I>(1, 1, 3));
  std::mt19937_64 rng(4);
  list.push_back(random_csr<T, I>(64, 64, 0.8, rng));
  list.push_back(skewed_csr<T, I>(300, 120, 5));
  list.push_back(CsrMatrix<T, I>(25, 30));
  list.push_back(skewed_csr<T, I>(200, 200, 6));
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string name = "m";
    name.append(std::to_string(i)).append(".mtx");
    files.write(name, list[i]);
  }
  files.ready();
  return list;
}

template <class T, class I>
void check_sharded(std::int64_t n) {
  Files files("shard");
  const auto list = write_batch<T, I>(files);
  // One process, the whole batch in one plan, read back from the same files.
  const auto whole = read_matrix_market_csr_dir<T, I>(files.dir());
  std::vector<DenseMatrix<T>> bs;
  for (std::size_t i = 0; i < whole.size(); ++i) bs.push_back(b_for<T>(i, whole.cols(i), n));
  std::vector<DenseView<const T>> b_views;
  for (const auto& b : bs) b_views.push_back(b.view());
  Plan<T, I> single(BatchView<T, I>(whole), n);
  const DenseBatch<T> want = single.execute(DenseBatchView<const T>(b_views));

  sm::ShardedPlan<T, I> plan = sm::ShardedPlan<T, I>::from_dir(MPI_COMM_WORLD, files.dir(), {n});
  ASSERT_EQ(plan.size(), list.size());
  EXPECT_EQ(plan.owners(), sm::assign_longest_first(plan.costs(), plan.ranks()));
  std::vector<DenseView<const T>> local_b;
  for (const std::size_t i : plan.local_entries()) {
    EXPECT_EQ(plan.owners()[i], plan.rank());
    local_b.push_back(bs[i].view());
  }
  EXPECT_EQ(plan.local_batch().size(), plan.local_entries().size());
  const DenseBatch<T> local_c = plan.execute(DenseBatchView<const T>(local_b));
  // Each local result equals the single-process one for the same entry.
  for (std::size_t k = 0; k < plan.local_entries().size(); ++k) {
    ASSERT_TRUE(same_bits(local_c.entry(k), want.entry(plan.local_entries()[k])))
        << "entry " << plan.local_entries()[k];
  }
  const DenseBatch<T> gathered = plan.gather(local_c, 0);
  if (plan.rank() == 0) {
    ASSERT_EQ(gathered.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(same_bits(gathered.entry(i), want.entry(i))) << "entry " << i;
    }
  } else {
    EXPECT_EQ(gathered.size(), 0u);
  }
}

template <class P>
class ShardTyped : public ::testing::Test {};
TYPED_TEST_SUITE(ShardTyped, AllPairs);

TYPED_TEST(ShardTyped, GatheredEqualsOneProcessBitForBit) {
  check_sharded<typename TypeParam::T, typename TypeParam::I>(16);
}

TEST(Shard, WideRightHandSides) { check_sharded<float, std::int32_t>(64); }

TEST(Shard, RankWithoutEntries) {
  // One entry: every rank but one owns nothing and must still take part in every collective.
  Files files("one");
  const auto a = skewed_csr<double, std::int32_t>(50, 50, 7);
  files.write("only.mtx", a);
  files.ready();
  auto plan = sm::ShardedPlan<double, std::int32_t>::from_dir(MPI_COMM_WORLD, files.dir(), {8});
  ASSERT_EQ(plan.size(), 1u);
  const DenseMatrix<double> b = b_for<double>(0, 50, 8);
  std::vector<DenseView<const double>> local_b;
  if (plan.rank() == plan.owners()[0]) local_b.push_back(b.view());
  EXPECT_EQ(plan.local_entries().size(), local_b.size());
  EXPECT_EQ(plan.local_plan().size(), local_b.size());
  const DenseBatch<double> local_c = plan.execute(DenseBatchView<const double>(local_b));
  const DenseBatch<double> all = plan.gather(local_c, plan.ranks() - 1);
  if (plan.rank() == plan.ranks() - 1) {
    ASSERT_EQ(all.size(), 1u);
    const DenseBatch<double> want =
        bmm(CsrBatch<double, std::int32_t>::from_list({a}), DenseBatch<double>::from_list({b}));
    EXPECT_TRUE(same_bits(all.entry(0), want.entry(0)));
  }
  // A rank without entries given a B is a ShapeError on that rank.
  if (local_b.empty()) {
    EXPECT_THROW(plan.execute(DenseBatchView<const double>::single(b.view())), ShapeError);
  }
}

TEST(Shard, EmptyDirectory) {
  Files files("empty");
  files.ready();
  auto plan = sm::ShardedPlan<float, std::int64_t>::from_dir(MPI_COMM_WORLD, files.dir(), {4});
  EXPECT_EQ(plan.size(), 0u);
  const DenseBatch<float> local_c = plan.execute(DenseBatchView<const float>());
  EXPECT_EQ(plan.gather(local_c).size(), 0u);
}

// Every rank must throw the same class with the same message and then go on working.
template <class E>
void expect_same_error_everywhere(Files& files, const std::string& needle) {
  std::string message;
  try {
    auto plan = sm::ShardedPlan<float, std::int32_t>::from_dir(MPI_COMM_WORLD, files.dir(), {4});
    ADD_FAILURE() << "no error on rank " << world_rank();
  } catch (const E& e) {
    message = e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong error class on rank " << world_rank() << ": " << e.what();
  }
  EXPECT_NE(message.find(needle), std::string::npos) << message;
  EXPECT_TRUE(same_everywhere(message)) << message;
}

TEST(Shard, BadHeaderFailsEveryRankAlike) {
  Files files("badheader");
  write_batch<float, std::int32_t>(files);
  files.write_text("m3.mtx", "%%MatrixMarket matrix coordinate real general\n4 4 x\n");
  files.ready();
  expect_same_error_everywhere<ParseError>(files, "m3.mtx:2:");
}

TEST(Shard, BadBodyFailsEveryRankAlike) {
  // The header is fine, so the file is priced and owned by one rank; only its owner reads the
  // body, and every rank must still hear of the error.
  Files files("badbody");
  write_batch<float, std::int32_t>(files);
  files.write_text("m5.mtx",
                   "%%MatrixMarket matrix coordinate real general\n25 30 2\n1 1 1.0\n26 1 2.0\n");
  files.ready();
  expect_same_error_everywhere<ParseError>(files, "m5.mtx:4:");
}

TEST(Shard, MissingDirectoryFailsEveryRankAlike) {
  std::string message;
  try {
    auto plan = sm::ShardedPlan<float, std::int32_t>::from_dir(MPI_COMM_WORLD,
                                                               "/nonexistent/spbmm_mpi", {4});
  } catch (const IoError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("/nonexistent/spbmm_mpi"), std::string::npos) << message;
  EXPECT_TRUE(same_everywhere(message));
}

TEST(Shard, NCountMismatch) {
  const std::vector<std::string> paths = {"a.mtx", "b.mtx"};
  using Sharded = sm::ShardedPlan<float, std::int32_t>;
  EXPECT_THROW(Sharded(MPI_COMM_WORLD, paths, {1, 2, 3}), InvalidArgument);
}

TEST(Assign, LongestFirst) {
  // By hand: 5 -> r0, 4 -> r1, 3 -> r1 (4 < 5), 3 -> r0 (5 < 7), 2 -> r1 (7 < 8), 1 -> r0 (8 < 9).
  EXPECT_EQ(sm::assign_longest_first({5, 4, 3, 3, 2, 1}, 2), (std::vector<int>{0, 1, 1, 0, 1, 0}));
  EXPECT_EQ(sm::assign_longest_first({1, 1}, 4), (std::vector<int>{0, 1}));
  EXPECT_TRUE(sm::assign_longest_first({}, 3).empty());
  EXPECT_THROW(sm::assign_longest_first({1}, 0), InvalidArgument);
  EXPECT_THROW(sm::assign_longest_first({1, -1}, 2), InvalidArgument);
  // A random batch: no rank's load exceeds the mean plus the largest cost (the LPT bound).
  std::mt19937_64 rng(5);
  std::vector<double> costs(100);
  for (auto& c : costs) c = std::exponential_distribution<double>(1.0)(rng);
  const auto owners = sm::assign_longest_first(costs, 7);
  std::vector<double> load(7, 0);
  double sum = 0, largest = 0;
  for (std::size_t i = 0; i < costs.size(); ++i) {
    load[static_cast<std::size_t>(owners[i])] += costs[i];
    sum += costs[i];
    largest = std::max(largest, costs[i]);
  }
  for (const double l : load) EXPECT_LE(l, sum / 7 + largest);
}

TEST(Assign, EstimatesGrowWithWork) {
  const double small = sm::estimate_seconds(100, 100, 500, 16, 4);
  const double large = sm::estimate_seconds(10000, 10000, 500000, 16, 4);
  EXPECT_GT(small, 0);
  EXPECT_GT(large, 10 * small);
}

}  // namespace
}  // namespace spbmm::test
