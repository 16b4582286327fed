// Sizes beyond what an index type or memory can hold: int32 overflow of nnz, of row pointers and
// of rows * cols in a dense conversion, and the configurable memory limit of dense conversions.
// Every failure is a LimitError (or FormatError for a malformed view) raised before allocation,
// and the caller's output is untouched.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
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

constexpr std::int64_t k2to31 = std::int64_t{1} << 31;

// Restores the process-wide dense limit when the test ends.
class DenseLimitScope {
 public:
  explicit DenseLimitScope(std::uint64_t bytes) : previous_(set_dense_limit(bytes)) {}
  ~DenseLimitScope() { set_dense_limit(previous_); }
  DenseLimitScope(const DenseLimitScope&) = delete;
  DenseLimitScope& operator=(const DenseLimitScope&) = delete;

 private:
  std::uint64_t previous_;
};

// A read-only row-major rows x cols float matrix of zeros: an anonymous mapping never written,
// so every page reads as the kernel's shared zero page (a huge one where transparent huge pages
// are allowed). Gigabytes of address space, no memory: lets a test walk a dense matrix of more
// than 2^31 elements on a small machine.
class ZeroPages {
 public:
  ZeroPages(std::int64_t rows, std::int64_t cols)
      : rows_(rows), cols_(cols), bytes_(static_cast<std::size_t>(rows * cols) * sizeof(float)) {
    void* p =
        ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = p;
    ::madvise(base_, bytes_, MADV_HUGEPAGE);  // fewer faults; harmless where not supported
  }
  ~ZeroPages() {
    if (base_ != nullptr) ::munmap(base_, bytes_);
  }
  ZeroPages(const ZeroPages&) = delete;
  ZeroPages& operator=(const ZeroPages&) = delete;

  bool ok() const { return base_ != nullptr; }
  DenseView<const float> view() const {
    return DenseView<const float>(static_cast<const float*>(base_), rows_, cols_);
  }

 private:
  std::int64_t rows_, cols_;
  std::size_t bytes_;
  void* base_ = nullptr;
};

// nnz = 2^31 does not fit int32: the view is refused by its nnz before its (short) arrays are
// read, by validation, conversion and bmm alike.
TEST(Int32Overflow, Nnz) {
  using T = float;
  using I = std::int32_t;
  const std::vector<I> idx = {0};
  const std::vector<T> vals = {T(1)};
  const CooView<T, I> coo{2, 2, k2to31, idx.data(), idx.data(), vals.data()};
  SPBMM_EXPECT_THROW_MSG(validate(coo), FormatError,
                         "COO matrix: nnz 2147483648 does not fit a 32-bit index");
  SPBMM_EXPECT_THROW_MSG(to_csr(coo), LimitError,
                         "COO -> CSR: nnz 2147483648 does not fit a 32-bit index");
  SPBMM_EXPECT_THROW_MSG(to_dense(coo), FormatError,
                         "COO matrix: nnz 2147483648 does not fit a 32-bit index");
  BatchView<T, I> a;
  a.push_back(coo);
  const DenseMatrix<T> b(2, 3);
  test::Sentinel<T> c(2, 3);
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(DenseBatchView<T>::single(c.view()), a,
                                         DenseBatchView<const T>::single(b.view()), T(1), T(0))),
                         FormatError, "COO entry 0: nnz 2147483648 does not fit a 32-bit index");
  EXPECT_TRUE(c.untouched());
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(a, 3)), FormatError,
                         "COO entry 0: nnz 2147483648 does not fit a 32-bit index");
  // A shape that does not fit the index type is refused the same way.
  const CsrView<T, I> tall{k2to31, 1, nullptr, nullptr, nullptr};
  SPBMM_EXPECT_THROW_MSG(validate(tall), FormatError,
                         "CSR matrix: shape 2147483648x1 does not fit a 32-bit index");
}

// Dense -> CSR with int32 row pointers of a 32769 x 65536 matrix whose every element is kept
// (a drop tolerance of -1 keeps zeros too): the running count reaches 2^31 at the end of row
// 32767 and the conversion stops there with a LimitError, before the index and value arrays are
// allocated. The dispatcher's dense -> CSR conversion (the Sparse kernel on a dense entry) is this
// same function.
TEST(Int32Overflow, RowPointers) {
  const ZeroPages zeros(32769, 65536);  // 8 GiB of address space
  if (!zeros.ok()) GTEST_SKIP() << "cannot reserve 8 GiB of address space";
  SPBMM_EXPECT_THROW_MSG(to_csr<std::int32_t>(zeros.view(), -1.0f), LimitError,
                         "dense -> CSR: nnz 2147483648 does not fit a 32-bit index");
  // With int64 row pointers the same count is fine; a smaller corner keeps the test cheap.
  const DenseView<const float> corner(zeros.view().data, 3, 65536, Layout::RowMajor, 65536);
  EXPECT_EQ(to_csr<std::int64_t>(corner, -1.0f).nnz(), 3 * 65536);
  EXPECT_EQ(to_csr<std::int32_t>(corner).nnz(), 0);
}

// rows * cols of an int32 matrix overflows int32 (65536^2 = 2^32): the dense size is computed in
// 64 bits (17179869184 bytes of float, not 0) and checked against the limit before allocating.
// Auto keeps such an entry sparse and multiplies it; a forced Dense kernel fails at plan time.
TEST(Int32Overflow, RowsTimesColsInADenseConversion) {
  using T = float;
  using I = std::int32_t;
  const std::int64_t n = 65536;
  std::vector<I> rp(static_cast<std::size_t>(n) + 1, 0);
  for (std::int64_t r = 1; r <= n; ++r)
    rp[static_cast<std::size_t>(r)] = r >= n ? 2 : r >= 7 ? 1 : 0;
  const CsrMatrix<T, I> a(n, n, rp, {3, 65535}, {2.f, 5.f});  // (6, 3) = 2, (65535, 65535) = 5
  const std::string need = "a dense 65536x65536 float copy needs 17179869184 bytes";
  SPBMM_EXPECT_THROW_MSG(to_dense(a.view()), LimitError, "CSR -> dense: " + need);
  SPBMM_EXPECT_THROW_MSG(to_dense(to_coo(a.view()).view()), LimitError, "COO -> dense: " + need);
  SPBMM_EXPECT_THROW_MSG(to_dense(CsrBatch<T, I>::from_list({a})), LimitError,
                         "CSR -> dense entry 0: " + need);
  std::mt19937_64 rng(5);
  const DenseMatrix<T> b = test::random_dense<T>(n, 2, rng);
  BatchView<T, I> av;
  av.push_back(a.view());
  const auto bv = DenseBatchView<const T>::single(b.view());
  test::Sentinel<T> c(n, 2);
  const auto cv = DenseBatchView<T>::single(c.view());
  Options forced;
  forced.kernel = Kernel::Dense;
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(cv, av, bv, T(1), T(0), forced)), LimitError,
                         "entry 0: Kernel::Dense converts op(A): " + need +
                             ", more than the dense conversion limit of 8589934592 bytes");
  EXPECT_TRUE(c.untouched());
  bmm_into<T, I>(cv, av, bv, T(1), T(0));
  const DenseView<const T> got = c.view();
  EXPECT_EQ(got(6, 0), 2.f * b(3, 0));
  EXPECT_EQ(got(65535, 1), 5.f * b(65535, 1));
  EXPECT_EQ(got(0, 0), 0.f);
}

// The limit is per call (a parameter or an options field) or process-wide; the message names the
// matrix or entry, the shape, the bytes and the limit; a copy of exactly the limit is allowed.
template <class P>
class DenseLimit : public ::testing::Test {};
TYPED_TEST_SUITE(DenseLimit, test::AllPairs);

TYPED_TEST(DenseLimit, ToDense) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(1);
  const auto a = test::random_csr<T, I>(100, 50, 0.1, rng);
  const std::uint64_t bytes = 100 * 50 * sizeof(T);
  const std::string type = sizeof(T) == 4 ? "float" : "double";
  SPBMM_EXPECT_THROW_MSG(to_dense(a.view(), Layout::RowMajor, bytes - 1), LimitError,
                         "CSR -> dense: a dense 100x50 " + type + " copy needs " +
                             std::to_string(bytes) +
                             " bytes, more than the dense conversion limit of " +
                             std::to_string(bytes - 1) + " bytes (raise it with");
  EXPECT_EQ(to_dense(a.view(), Layout::ColMajor, bytes).rows(), 100);
  const auto coo = to_coo(a.view());
  SPBMM_EXPECT_THROW_MSG(to_dense(coo.view(), Layout::RowMajor, 100), LimitError,
                         "COO -> dense: a dense 100x50 ");
  // A batch counts its entries together.
  const auto batch = CsrBatch<T, I>::from_list({a, a, a});
  SPBMM_EXPECT_THROW_MSG(to_dense(batch, Layout::RowMajor, 2 * bytes + 1), LimitError,
                         "CSR -> dense: the dense copies of entries 0 to 2 need " +
                             std::to_string(3 * bytes) + " bytes in all");
  EXPECT_EQ(to_dense(batch, Layout::RowMajor, 3 * bytes).size(), 3u);
  SPBMM_EXPECT_THROW_MSG(to_dense(CooBatch<T, I>::from_list({coo}), Layout::RowMajor, 64),
                         LimitError, "COO -> dense entry 0: a dense 100x50 ");
  {
    // Process-wide: calls without a limit of their own take it.
    const DenseLimitScope scope(bytes - 1);
    EXPECT_EQ(dense_limit(), bytes - 1);
    SPBMM_EXPECT_THROW_MSG(to_dense(a.view()), LimitError,
                           "more than the dense conversion limit of " + std::to_string(bytes - 1));
    EXPECT_EQ(to_dense(a.view(), Layout::RowMajor, bytes).rows(), 100);
  }
  EXPECT_EQ(dense_limit(), kDefaultDenseLimit);
  EXPECT_EQ(set_dense_limit(0), kDefaultDenseLimit);  // 0 restores the default
  EXPECT_EQ(dense_limit(), kDefaultDenseLimit);
}

TYPED_TEST(DenseLimit, DispatcherAndPlans) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(2);
  // A half-full sparse entry: a candidate for a dense copy and the Dense kernel.
  const auto big = test::random_csr<T, I>(300, 300, 0.5, rng);
  const auto small = test::random_csr<T, I>(8, 300, 0.5, rng);
  BatchView<T, I> a;
  a.push_back(small.view());
  a.push_back(big.view());
  const auto b = test::random_dense<T>(300, 64, rng);
  const auto bv = DenseBatchView<const T>::single(b.view());
  test::SentinelBatch<T> c({8, 300}, {64, 64});
  const std::uint64_t big_bytes = 300 * 300 * sizeof(T);

  Options o;
  o.kernel = Kernel::Dense;
  o.dense_limit = big_bytes - 1;
  SPBMM_EXPECT_THROW_MSG((bmm_into<T, I>(c.view(), a, bv, T(1), T(0), o)), LimitError,
                         "entry 1: Kernel::Dense converts op(A): a dense 300x300 ");
  EXPECT_TRUE(c.untouched());
  PlanOptions po;
  po.policy.force = Kernel::Dense;
  po.policy.dense_limit = big_bytes - 1;
  SPBMM_EXPECT_THROW_MSG(
      (Plan<T, I>(a, 64, po)), LimitError,
      "more than the dense conversion limit of " + std::to_string(big_bytes - 1) + " bytes");
  po.policy.per_entry = {{1, Kernel::Sparse}};  // the big entry stays sparse: the small one fits
  const Plan<T, I> mixed(a, 64, po);
  EXPECT_EQ(mixed.choices()[0].kernel, Kernel::Dense);

  // Auto never picks a conversion beyond the limit, and says so.
  PlanOptions autop;
  autop.policy.dense_limit = big_bytes - 1;
  const Plan<T, I> limited(a, 64, autop);
  EXPECT_NE(limited.choices()[1].kernel, Kernel::Dense);
  EXPECT_NE(limited.choices()[1].reason.find("Dense not considered"), std::string::npos)
      << limited.choices()[1].reason;
  o.kernel = Kernel::Auto;
  bmm_into<T, I>(c.view(), a, bv, T(1), T(0), o);
  DenseBatch<T> want({8, 300}, {64, 64});
  for (std::size_t i = 0; i < 2; ++i) {
    const auto& av = std::get<CsrView<T, I>>(a[i]);
    Options ref;
    ref.kernel = Kernel::Reference;
    bmm_into<T, I>(DenseBatchView<T>::single(want.entry(i)), BatchView<T, I>({av}), bv, T(1), T(0),
                   ref);
    EXPECT_TRUE(
        test::dense_near(DenseView<const T>(c.view()[i]), want.entry(i), test::tolerance<T>(300)));
  }
}

TYPED_TEST(DenseLimit, MatrixMarketDenseReadAndArrayWrite) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const test::ScratchDir dir;
  const std::string type = sizeof(T) == 4 ? "float" : "double";
  // A 64-byte coordinate file declaring a 100000 x 100000 matrix: its dense copy is refused by
  // the default limit before the body is read.
  const std::string huge = dir.write(
      "huge.mtx", "%%MatrixMarket matrix coordinate real general\n100000 100000 1\n1 1 1\n");
  DenseMatrix<T> held(2, 2, {1, 2, 3, 4});
  const DenseMatrix<T> before = held;
  const std::string bytes = std::to_string(std::uint64_t{100000} * 100000 * sizeof(T));
  SPBMM_EXPECT_THROW_MSG(held = read_matrix_market_dense<T>(huge), LimitError,
                         huge + ": a dense 100000x100000 " + type + " copy needs " + bytes +
                             " bytes, more than the dense conversion limit of 8589934592 bytes "
                             "(raise it with MmReadOptions::dense_limit");
  EXPECT_TRUE(test::same(held, before));
  // Per call.
  const std::string small =
      dir.write("small.mtx", "%%MatrixMarket matrix coordinate real general\n30 20 1\n1 1 1\n");
  MmReadOptions ro;
  ro.dense_limit = 30 * 20 * sizeof(T) - 1;
  SPBMM_EXPECT_THROW_MSG((void)read_matrix_market_dense<T>(small, Layout::RowMajor, ro), LimitError,
                         small + ": a dense 30x20 ");
  ro.dense_limit = 30 * 20 * sizeof(T);
  EXPECT_EQ(read_matrix_market_dense<T>(small, Layout::RowMajor, ro)(0, 0), T(1));
  // Array output of sparse data makes a dense copy: held to the limit, and no file is written.
  const auto coo = read_matrix_market_coo<T, I>(small);
  MmWriteOptions wo;
  wo.format = MmFormat::Array;
  wo.dense_limit = 100;
  const std::string out = dir.path("out.mtx");
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(out, coo.view(), wo), LimitError,
                         out + ": array output: a dense 30x20 ");
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(out, to_csr(coo.view()).view(), wo), LimitError,
                         out + ": array output: a dense 30x20 ");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace spbmm
