// GPU backend checks that need no device: no-device errors, path choice, batch layout, estimates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cuda/layout.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/config.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/gpu.hpp"
#include "test_util.hpp"

namespace {

namespace gpu = spbmm::gpu;
namespace ref = spbmm::kernels::reference;
using spbmm::CsrMatrix;
using spbmm::CsrView;
using spbmm::DenseMatrix;
using spbmm::DenseView;
using spbmm::Layout;
using spbmm::Op;

#if SPBMM_HAVE_CUDA
using NoDeviceError = spbmm::DeviceError;
#else
using NoDeviceError = spbmm::NotCompiled;
#endif

// ---------------------------------------------------------------------------------------------
// Without a device

class GpuNoDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (gpu::available()) GTEST_SKIP() << "a device is present: " << gpu::status();
  }
};

TEST_F(GpuNoDevice, StatusSaysWhy) {
  const std::string& s = gpu::status();
  ASSERT_FALSE(s.empty());
#if SPBMM_HAVE_CUDA
  EXPECT_NE(s.find("no CUDA device"), std::string::npos) << s;
  // Either the driver is missing (found before the CUDA plugin is opened) or the runtime says why.
  EXPECT_TRUE(s.find("libcuda.so.1") != std::string::npos ||
              s.find("cudaGetDeviceCount") != std::string::npos)
      << s;
#else
  EXPECT_EQ(s, "spbmm was built without CUDA; reconfigure with -Dcuda=enabled");
#endif
  // Detected once: the same string object every time.
  EXPECT_EQ(&gpu::status(), &s);
}

TEST_F(GpuNoDevice, DetectionIsThreadSafe) {
  std::vector<std::thread> threads;
  std::vector<int> seen(8, -1);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&seen, t] { seen[static_cast<std::size_t>(t)] = gpu::available(); });
  }
  for (auto& th : threads) th.join();
  for (int v : seen) EXPECT_EQ(v, 0);
}

TEST_F(GpuNoDevice, EveryDeviceCallThrows) {
  SPBMM_EXPECT_THROW_MSG(gpu::require_device(), NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(gpu::Executor executor, NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(gpu::Executor executor(1), NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(gpu::DeviceBuffer buffer(64), NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(gpu::DeviceBuffer buffer(0), NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(gpu::DeviceDenseBatch<float>::uniform(2, 3, 4), NoDeviceError,
                         gpu::status());
  SPBMM_EXPECT_THROW_MSG(
      gpu::DeviceDenseBatch<double> d(spbmm::DenseBatch<double>::uniform(2, 3, 4)), NoDeviceError,
      gpu::status());
  std::mt19937_64 rng(1);
  const auto a = spbmm::test::random_csr<float, std::int32_t>(5, 4, 0.5, rng);
  using DeviceCsr = gpu::DeviceCsrBatch<float, std::int32_t>;
  SPBMM_EXPECT_THROW_MSG(DeviceCsr d(a.view()), NoDeviceError, gpu::status());
  SPBMM_EXPECT_THROW_MSG(DeviceCsr d(spbmm::CsrBatch<float, std::int32_t>::from_list({a})),
                         NoDeviceError, gpu::status());
  const auto coo = spbmm::test::random_coo<double, std::int64_t>(4, 4, 6, 2, rng);
  using DeviceCoo = gpu::DeviceCsrBatch<double, std::int64_t>;
  SPBMM_EXPECT_THROW_MSG(DeviceCoo d(std::vector{coo.view()}), NoDeviceError, gpu::status());
}

TEST(GpuCpu, StubMessageNamesTheOption) {
#if SPBMM_HAVE_CUDA
  GTEST_SKIP() << "built with CUDA";
#else
  SPBMM_EXPECT_THROW_MSG(gpu::Executor executor, spbmm::NotCompiled, "-Dcuda=enabled");
#endif
}

// ---------------------------------------------------------------------------------------------
// Path choice

gpu::SpmmShape ragged(std::size_t n) {
  gpu::SpmmShape s;
  s.batch_a = s.batch_b = s.batch_c = n;
  s.a_stacked = s.a_block_diagonal = true;
  s.b_stacked = s.c_stacked = true;
  s.common_n = true;
  return s;
}

TEST(GpuChoice, EmptyAndSingle) {
  gpu::SpmmShape s;
  EXPECT_EQ(gpu::choose_spmm(s, {}).path, gpu::Path::Empty);
  s = ragged(3);
  s.all_empty = true;
  EXPECT_EQ(gpu::choose_spmm(s, {}).path, gpu::Path::Empty);
  s = ragged(1);
  const auto c = gpu::choose_spmm(s, {});
  EXPECT_EQ(c.path, gpu::Path::Single);
  EXPECT_EQ(c.algorithm, gpu::SpmmAlgorithm::CsrAlg2);
  EXPECT_FALSE(c.deterministic);
  s.layout_c = Layout::ColMajor;
  EXPECT_EQ(gpu::choose_spmm(s, {}).algorithm, gpu::SpmmAlgorithm::CsrAlg1);
}

TEST(GpuChoice, UniformIsBlockDiagonalUnlessStridedIsAllowed) {
  gpu::SpmmShape s = ragged(32);
  s.a_uniform = s.a_same_row_pattern = s.b_strided = s.c_strided = true;
  auto c = gpu::choose_spmm(s, {});
  EXPECT_EQ(c.path, gpu::Path::BlockDiagonal) << c.reason;
  EXPECT_NE(c.reason.find("CSR_ALG2"), std::string::npos) << c.reason;
  gpu::Options allow;
  allow.allow_strided_batch = true;
  c = gpu::choose_spmm(s, allow);
  EXPECT_EQ(c.path, gpu::Path::StridedBatch) << c.reason;
  // Uniform nnz but different nonzeros per row: never strided.
  s.a_same_row_pattern = false;
  EXPECT_EQ(gpu::choose_spmm(s, allow).path, gpu::Path::BlockDiagonal);
  s.b_stacked = false;
  c = gpu::choose_spmm(s, allow);
  EXPECT_EQ(c.path, gpu::Path::PerEntry);
  EXPECT_NE(c.reason.find("nonzeros per row"), std::string::npos) << c.reason;
  // A shared A: per entry by default, strided (A batch stride 0) when allowed.
  s = ragged(8);
  s.batch_a = 1;
  s.b_strided = s.c_strided = true;
  c = gpu::choose_spmm(s, {});
  EXPECT_EQ(c.path, gpu::Path::PerEntry);
  EXPECT_NE(c.reason.find("not enabled"), std::string::npos) << c.reason;
  EXPECT_EQ(gpu::choose_spmm(s, allow).path, gpu::Path::StridedBatch);
  // An empty entry keeps the batch off the strided path.
  s = ragged(8);
  s.a_uniform = s.a_same_row_pattern = s.b_strided = s.c_strided = true;
  s.any_empty = true;
  EXPECT_EQ(gpu::choose_spmm(s, allow).path, gpu::Path::BlockDiagonal);
}

TEST(GpuChoice, SharedBStacks) {
  gpu::SpmmShape s = ragged(5);
  s.batch_b = 1;
  s.a_same_cols = true;
  EXPECT_EQ(gpu::choose_spmm(s, {}).path, gpu::Path::Stacked);
  gpu::Options t;
  t.op_a = Op::T;
  EXPECT_EQ(gpu::choose_spmm(s, t).path, gpu::Path::PerEntry);
}

TEST(GpuChoice, RaggedIsBlockDiagonalUnlessOpBIsT) {
  gpu::SpmmShape s = ragged(512);
  auto c = gpu::choose_spmm(s, {});
  EXPECT_EQ(c.path, gpu::Path::BlockDiagonal) << c.reason;
  gpu::Options o;
  o.op_a = Op::T;
  EXPECT_EQ(gpu::choose_spmm(s, o).path, gpu::Path::BlockDiagonal);
  o.op_b = Op::T;
  c = gpu::choose_spmm(s, o);
  EXPECT_EQ(c.path, gpu::Path::PerEntry);
  EXPECT_NE(c.reason.find("op(B) = T"), std::string::npos) << c.reason;
  s = ragged(4);
  s.common_n = false;
  EXPECT_EQ(gpu::choose_spmm(s, {}).path, gpu::Path::PerEntry);
  s = ragged(4);
  s.b_stacked = false;
  EXPECT_EQ(gpu::choose_spmm(s, {}).path, gpu::Path::PerEntry);
}

TEST(GpuChoice, DeterministicAvoidsBatchedAlgorithms) {
  gpu::SpmmShape s = ragged(32);
  s.a_uniform = s.b_strided = s.c_strided = true;
  gpu::Options o;
  o.deterministic = true;
  auto c = gpu::choose_spmm(s, o);
  EXPECT_EQ(c.path, gpu::Path::BlockDiagonal);
  EXPECT_EQ(c.algorithm, gpu::SpmmAlgorithm::CsrAlg3);
  EXPECT_TRUE(c.deterministic);
  o.op_a = Op::T;
  c = gpu::choose_spmm(s, o);
  EXPECT_FALSE(c.deterministic);
  EXPECT_NE(c.reason.find("op(A) = T"), std::string::npos) << c.reason;
}

TEST(GpuChoice, ForcedPathWhenPossible) {
  gpu::SpmmShape s = ragged(6);
  s.a_uniform = s.b_strided = s.c_strided = true;
  gpu::Options o;
  o.force = gpu::Path::PerEntry;
  auto c = gpu::choose_spmm(s, o);
  EXPECT_EQ(c.path, gpu::Path::PerEntry);
  EXPECT_NE(c.reason.find("forced"), std::string::npos);
  o.force = gpu::Path::Stacked;  // B is not shared
  c = gpu::choose_spmm(s, o);
  EXPECT_EQ(c.path, gpu::Path::BlockDiagonal);
  EXPECT_NE(c.reason.find("forced Stacked not possible"), std::string::npos) << c.reason;
}

TEST(GpuChoice, NamesAndReport) {
  EXPECT_STREQ(gpu::to_string(gpu::Path::BlockDiagonal), "BlockDiagonal");
  EXPECT_STREQ(gpu::to_string(gpu::SpmmAlgorithm::CsrAlg3), "CUSPARSE_SPMM_CSR_ALG3");
  gpu::Report r;
  r.choice = gpu::choose_spmm(ragged(3), {});
  r.calls = 1;
  const std::string s = r.str();
  EXPECT_NE(s.find("path BlockDiagonal, CUSPARSE_SPMM_CSR_ALG2, 1 call:"), std::string::npos) << s;
}

// ---------------------------------------------------------------------------------------------
// Transfer estimates

TEST(GpuEstimate, BytesOverBandwidth) {
  const gpu::Bandwidth saved = gpu::bandwidth();
  gpu::Bandwidth b;
  b.h2d_bytes_per_s = 10e9;
  b.d2h_bytes_per_s = 5e9;
  b.latency_s = 1e-5;
  gpu::set_bandwidth(b);
  EXPECT_DOUBLE_EQ(gpu::estimate_seconds(0, 0), 0.0);
  EXPECT_NEAR(gpu::estimate_seconds(10'000'000'000, 0), 1.0 + 1e-5, 1e-12);
  EXPECT_NEAR(gpu::estimate_seconds(gpu::Traffic{0, 5'000'000'000}), 1.0 + 1e-5, 1e-12);
  gpu::set_bandwidth(saved);
  EXPECT_EQ((gpu::csr_bytes<float, std::int32_t>(3, 10)), 4 * 4 + 10 * 8);
  EXPECT_EQ(gpu::dense_bytes<double>(3, 5), 120);
  EXPECT_GT(gpu::estimate_seconds(gpu::dense_bytes<float>(131072, 64), 0), 0.0);
}

// ---------------------------------------------------------------------------------------------
// Host-side layout: the block-diagonal and stacked matrices the device paths multiply by

template <class P>
class GpuLayout : public ::testing::Test {};
TYPED_TEST_SUITE(GpuLayout, spbmm::test::AllPairs);

template <class T>
DenseMatrix<T> stack_rows(const std::vector<DenseMatrix<T>>& list) {
  std::int64_t rows = 0;
  for (const auto& m : list) rows += m.rows();
  DenseMatrix<T> out(rows, list.empty() ? 0 : list[0].cols());
  std::int64_t r0 = 0;
  for (const auto& m : list) {
    for (std::int64_t i = 0; i < m.rows(); ++i) {
      for (std::int64_t j = 0; j < m.cols(); ++j) out(r0 + i, j) = m(i, j);
    }
    r0 += m.rows();
  }
  return out;
}

TYPED_TEST(GpuLayout, BlockDiagonalEqualsPerEntry) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(7);
  const std::vector<std::int64_t> rows = {5, 0, 9, 3, 7};
  const std::vector<std::int64_t> cols = {4, 6, 0, 8, 2};
  const std::int64_t n = 3;
  std::vector<CsrMatrix<T, I>> a;
  std::vector<CsrView<T, I>> views;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    a.push_back(spbmm::test::random_csr<T, I>(rows[i], cols[i], 0.4, rng));
  }
  for (const auto& m : a) views.push_back(m.view());
  const auto h = gpu::detail::build_layout(views, true);
  ASSERT_TRUE(h.stacked);
  ASSERT_TRUE(h.block_diagonal);
  EXPECT_FALSE(h.uniform);
  EXPECT_EQ(h.row_offsets.back(), 24);
  EXPECT_EQ(h.col_offsets.back(), 20);
  const CsrView<T, I> big{h.row_offsets.back(), h.col_offsets.back(), h.stacked_row_ptr.data(),
                          h.block_col_idx.data(), h.values.data()};
  spbmm::validate(big);
  for (Op op_a : {Op::N, Op::T}) {
    std::vector<DenseMatrix<T>> bs, want;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::int64_t k = op_a == Op::N ? cols[i] : rows[i];
      const std::int64_t m = op_a == Op::N ? rows[i] : cols[i];
      bs.push_back(spbmm::test::random_dense<T>(k, n, rng));
      want.emplace_back(m, n);
      ref::csr_dense<T, I>(op_a, Op::N, T(2), a[i].view(), bs.back().view(), T(0),
                           want.back().view());
    }
    const DenseMatrix<T> b = stack_rows(bs);
    const DenseMatrix<T> expect = stack_rows(want);
    DenseMatrix<T> got(expect.rows(), n);
    ref::csr_dense<T, I>(op_a, Op::N, T(2), big, b.view(), T(0), got.view());
    EXPECT_TRUE(spbmm::test::dense_near(got.view(), expect.view(), spbmm::test::tolerance<T>(10)));
  }
}

TYPED_TEST(GpuLayout, StackedWithSharedB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  std::vector<CsrMatrix<T, I>> a;
  std::vector<CsrView<T, I>> views;
  for (std::int64_t r : {3, 8, 1, 6}) a.push_back(spbmm::test::random_csr<T, I>(r, 5, 0.5, rng));
  for (const auto& m : a) views.push_back(m.view());
  const auto h = gpu::detail::build_layout(views, false);
  EXPECT_TRUE(h.same_cols);
  EXPECT_FALSE(h.block_diagonal);
  const CsrView<T, I> big{h.row_offsets.back(), 5, h.stacked_row_ptr.data(), h.col_idx.data(),
                          h.values.data()};
  const auto b = spbmm::test::random_dense<T>(5, 4, rng);
  std::vector<DenseMatrix<T>> want;
  for (const auto& m : a) {
    want.emplace_back(m.rows(), 4);
    ref::csr_dense<T, I>(Op::N, Op::N, T(1), m.view(), b.view(), T(0), want.back().view());
  }
  DenseMatrix<T> got(h.row_offsets.back(), 4);
  ref::csr_dense<T, I>(Op::N, Op::N, T(1), big, b.view(), T(0), got.view());
  const DenseMatrix<T> expect = stack_rows(want);
  EXPECT_TRUE(spbmm::test::dense_near(got.view(), expect.view(), spbmm::test::tolerance<T>(5)));
}

TYPED_TEST(GpuLayout, UniformBatch) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::vector<I> rp = {0, 1, 2};
  const std::vector<I> ci = {1, 0};
  const std::vector<T> v = {T(1), T(2)};
  const CsrView<T, I> e{2, 2, rp.data(), ci.data(), v.data()};
  const auto h = gpu::detail::build_layout(std::vector<CsrView<T, I>>{e, e, e}, true);
  EXPECT_TRUE(h.uniform);
  EXPECT_EQ(h.row_ptr.size(), 9u);
  EXPECT_EQ(h.rp_offsets, (std::vector<std::int64_t>{0, 3, 6}));
  EXPECT_EQ(h.block_col_idx, (std::vector<I>{1, 0, 3, 2, 5, 4}));
  EXPECT_EQ(h.stacked_row_ptr, (std::vector<I>{0, 1, 2, 3, 4, 5, 6}));
}

// What DeviceCsrBatch(CooBatch) uploads: each entry through spbmm::to_csr (duplicates summed),
// then the block-diagonal matrix of the batch; its product equals the COO reference per entry.
TYPED_TEST(GpuLayout, CooBatchWithDuplicatesBlockDiagonal) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(3);
  std::vector<spbmm::CooMatrix<T, I>> coo;
  for (std::int64_t m : {9, 14, 5}) coo.push_back(spbmm::test::random_coo<T, I>(m, 11, 30, 8, rng));
  const auto batch = spbmm::CooBatch<T, I>::from_list(coo);
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CsrView<T, I>> views;
  for (std::size_t i = 0; i < batch.size(); ++i) csr.push_back(spbmm::to_csr(batch.entry(i)));
  for (const auto& m : csr) views.push_back(m.view());
  const auto h = gpu::detail::build_layout(views, true);
  ASSERT_TRUE(h.block_diagonal);
  EXPECT_FALSE(h.same_row_pattern);
  const CsrView<T, I> big{h.row_offsets.back(), h.col_offsets.back(), h.stacked_row_ptr.data(),
                          h.block_col_idx.data(), h.values.data()};
  std::vector<DenseMatrix<T>> bs, want;
  for (const auto& m : coo) {
    bs.push_back(spbmm::test::random_dense<T>(11, 6, rng));
    want.push_back(spbmm::test::random_dense<T>(m.rows(), 6, rng));
  }
  const DenseMatrix<T> c0 = stack_rows(want);
  for (std::size_t i = 0; i < coo.size(); ++i) {
    ref::coo_dense<T, I>(Op::N, Op::N, T(1.25), coo[i].view(), bs[i].view(), T(0.5),
                         want[i].view());
  }
  DenseMatrix<T> got = c0;
  ref::csr_dense<T, I>(Op::N, Op::N, T(1.25), big, stack_rows(bs).view(), T(0.5), got.view());
  const DenseMatrix<T> expect = stack_rows(want);
  EXPECT_TRUE(spbmm::test::dense_near(got.view(), expect.view(), spbmm::test::tolerance<T>(40)));
}

TYPED_TEST(GpuLayout, SameRowPattern) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const std::vector<I> rp = {0, 1, 2}, rp2 = {0, 2, 2};
  const std::vector<I> ci = {1, 0}, ci2 = {0, 1};
  const std::vector<T> v = {T(1), T(2)};
  const CsrView<T, I> e{2, 2, rp.data(), ci.data(), v.data()};
  const CsrView<T, I> same{2, 2, rp.data(), ci2.data(), v.data()};    // other columns
  const CsrView<T, I> other{2, 2, rp2.data(), ci2.data(), v.data()};  // same nnz, other rows
  EXPECT_TRUE(
      (gpu::detail::build_layout(std::vector<CsrView<T, I>>{e, same}, true)).same_row_pattern);
  const auto h = gpu::detail::build_layout(std::vector<CsrView<T, I>>{e, other}, true);
  EXPECT_TRUE(h.uniform);
  EXPECT_FALSE(h.same_row_pattern);
}

TEST(GpuLayoutViews, StridedAndStacked) {
  std::vector<float> buf(200);
  std::vector<DenseView<float>> v;
  for (int i = 0; i < 4; ++i) v.emplace_back(buf.data() + 20 * i, 3, 5);
  std::int64_t stride = 0;
  EXPECT_TRUE(gpu::detail::is_strided(v, &stride));
  EXPECT_EQ(stride, 20);
  EXPECT_FALSE(gpu::detail::is_stacked(v));  // a gap of 5 after each entry
  v.clear();
  for (int i = 0; i < 4; ++i) v.emplace_back(buf.data() + 15 * i, 3, 5);
  EXPECT_TRUE(gpu::detail::is_stacked(v));
  EXPECT_TRUE(gpu::detail::is_strided(v, &stride));
  v[2].ld = 6;
  EXPECT_FALSE(gpu::detail::is_strided(v, &stride));
  EXPECT_FALSE(gpu::detail::is_stacked(v));
  std::vector<DenseView<float>> ragged = {{buf.data(), 2, 5}, {buf.data() + 10, 4, 5}};
  EXPECT_TRUE(gpu::detail::is_stacked(ragged));
  EXPECT_FALSE(gpu::detail::is_strided(ragged, &stride));
}

TEST(GpuShapes, BroadcastAndInnerDimensions) {
  EXPECT_EQ(gpu::detail::broadcast_batch(1, 5, 5), 5u);
  EXPECT_EQ(gpu::detail::broadcast_batch(5, 1, 5), 5u);
  EXPECT_EQ(gpu::detail::broadcast_batch(0, 0, 0), 0u);
  SPBMM_EXPECT_THROW_MSG(gpu::detail::broadcast_batch(2, 3, 3), spbmm::ShapeError,
                         "A has 2 entries, B has 3");
  SPBMM_EXPECT_THROW_MSG(gpu::detail::broadcast_batch(3, 3, 2), spbmm::ShapeError,
                         "C has 2 entries");
  std::vector<float> buf(100);
  const DenseView<float> b(buf.data(), 6, 2), c(buf.data(), 5, 2);
  SPBMM_EXPECT_THROW_MSG(gpu::detail::check_entry(3, Op::N, 5, 7, b, c), spbmm::ShapeError,
                         "entry 3: op(A) is 5x7 but op(B) is 6x2 (inner dimensions 7 != 6)");
  DenseView<float> bad(buf.data(), 3, 4, Layout::RowMajor, 2);
  SPBMM_EXPECT_THROW_MSG(gpu::detail::check_view(bad, "B", 1), spbmm::FormatError,
                         "B entry 1: leading dimension 2 < 4");
}

}  // namespace
