// On a device: the GPU figures found without a calibration, the CPU/GPU batch split, SDDMM on
// the device and the transposed products of a plan, against the reference (skip without one).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "dispatch/gpu_cache.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "spbmm/training.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace ref = kernels::reference;

template <class T>
double tolerance() {
  return sizeof(T) == 4 ? 2e-4 : 1e-10;
}

template <class T>
void expect_close(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t k = 0; k < got.size(); ++k) {
    const double scale = std::max(1.0, std::abs(static_cast<double>(want[k])));
    ASSERT_NEAR(got[k], want[k], tolerance<T>() * scale * 16) << what << " at " << k;
  }
}

template <class T>
class GpuAuto : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gpu::available()) GTEST_SKIP() << gpu::status();
  }
  std::mt19937_64 rng_{2027};
};
using Values = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GpuAuto, Values);

// The reference SDDMM of a batch, values laid out as A's.
template <class T, class I>
std::vector<T> sddmm_reference(const BatchView<T, I>& a, const DenseBatch<T>& x,
                               const DenseBatch<T>& y, T alpha, T beta) {
  std::vector<T> want;
  std::vector<std::span<T>> parts;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::int64_t n = 0;
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) n = c->nnz();
    if (const auto* o = std::get_if<CooView<T, I>>(&a[i])) n = o->nnz;
    want.resize(want.size() + static_cast<std::size_t>(n));
  }
  std::size_t at = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    std::int64_t n = 0;
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) n = c->nnz();
    if (const auto* o = std::get_if<CooView<T, I>>(&a[i])) n = o->nnz;
    parts.emplace_back(want.data() + at, static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n);
  }
  sddmm_into<T, I>(parts, a, x.view(), y.view(), alpha, beta, {.kernel = Kernel::Reference});
  return want;
}

TYPED_TEST(GpuAuto, SddmmMatchesTheReferenceCsrAndCoo) {
  using T = TypeParam;
  using I = std::int32_t;
  std::vector<CsrMatrix<T, I>> graphs;
  std::vector<std::int64_t> xr, xc, yr, yc;
  for (std::int64_t n : {50, 300, 1, 0, 120}) {
    graphs.push_back(test::random_csr<T, I>(n, n, 0.05, this->rng_));
    xr.push_back(n);
    yr.push_back(n);
    xc.push_back(16);
    yc.push_back(16);
  }
  const CsrBatch<T, I> a = CsrBatch<T, I>::from_list(graphs);
  DenseBatch<T> x(xr, xc), y(yr, yc, Layout::ColMajor);
  for (auto& v : x.values()) v = test::random_value<T>(this->rng_);
  for (auto& v : y.values()) v = test::random_value<T>(this->rng_);
  for (const T beta : {T(0), T(0.5)}) {
    const std::vector<T> want = sddmm_reference<T, I>(a, x, y, T(1.5), beta);
    const CsrBatch<T, I> got = sddmm(a, x.view(), y.view(), T(1.5), beta, {.kernel = Kernel::Gpu});
    expect_close(got.values(), want, "csr");
    // In place.
    CsrBatch<T, I> in_place = a;
    sddmm_into(std::span<T>(in_place.values()), in_place, x.view(), y.view(), T(1.5), beta,
               {.kernel = Kernel::Gpu});
    expect_close(in_place.values(), want, "in place");
  }
  // COO with duplicate triplets: each keeps its own value.
  std::vector<CooMatrix<T, I>> coos;
  for (std::int64_t n : {40, 7}) coos.push_back(test::random_coo<T, I>(n, n, 3 * n, n, this->rng_));
  std::vector<std::int64_t> r2 = {40, 7}, k2 = {5, 5};
  DenseBatch<T> x2(r2, k2), y2(r2, k2);
  for (auto& v : x2.values()) v = test::random_value<T>(this->rng_);
  for (auto& v : y2.values()) v = test::random_value<T>(this->rng_);
  const BatchView<T, I> cv({coos[0].view(), coos[1].view()});
  const std::vector<T> want = sddmm_reference<T, I>(cv, x2, y2, T(-1), T(2));
  std::vector<T> got(want.size(), T(99));
  std::vector<std::span<T>> parts = {
      std::span<T>(got).first(static_cast<std::size_t>(coos[0].view().nnz)),
      std::span<T>(got).last(static_cast<std::size_t>(coos[1].view().nnz))};
  sddmm_into<T, I>(parts, cv, x2.view(), y2.view(), T(-1), T(2), {.kernel = Kernel::Gpu});
  expect_close(got, want, "coo");
}

TYPED_TEST(GpuAuto, SddmmDeviceResidentStackedIsOneCall) {
  using T = TypeParam;
  using I = std::int64_t;
  std::vector<CsrMatrix<T, I>> graphs;
  std::vector<std::int64_t> rows;
  for (std::int64_t n : {64, 200, 33}) {
    graphs.push_back(test::random_csr<T, I>(n, n, 0.1, this->rng_));
    rows.push_back(n);
  }
  const CsrBatch<T, I> a = CsrBatch<T, I>::from_list(graphs);
  const std::int64_t k = 8;
  DenseBatch<T> x(rows, std::vector<std::int64_t>(3, k)), y(rows, std::vector<std::int64_t>(3, k));
  for (auto& v : x.values()) v = test::random_value<T>(this->rng_);
  for (auto& v : y.values()) v = test::random_value<T>(this->rng_);
  const std::vector<T> want = sddmm_reference<T, I>(a, x, y, T(1), T(0));
  gpu::Executor ex;
  const gpu::DeviceCsrBatch<T, I> da(a);
  const gpu::DeviceDenseBatch<T> dx(x), dy(y);
  gpu::DeviceBuffer out(want.size() * sizeof(T));
  ex.sddmm<T, I>(da, dx.view(), dy.view(), out.as<T>(), 1, 0);
  ex.synchronize();
  EXPECT_EQ(ex.last_report().choice.path, gpu::Path::BlockDiagonal) << ex.last_report().str();
  EXPECT_EQ(ex.last_report().calls, 1);
  std::vector<T> got(want.size());
  out.download(got.data(), got.size() * sizeof(T));
  expect_close(got, want, "stacked");
}

// Figures that make the split of a batch of small and large entries mixed, whatever device.
MachineModel mixed_figures() {
  MachineModel fig = MachineModel::defaults();
  fig.gpu_gflops = 1000;
  fig.gpu_dense_gflops = 10000;
  fig.gpu_transfer_gbps = 20;
  fig.gpu_launch_seconds = 10e-6;
  fig.gpu_sync_seconds = 10e-6;
  fig.gpu_copy_seconds = 5e-6;
  return fig;
}

// Many small entries and two large ones, with B for N = 32.
template <class T, class I>
struct MixedBatch {
  std::vector<CsrMatrix<T, I>> m;
  CsrBatch<T, I> a;
  DenseBatch<T> b;
  explicit MixedBatch(std::mt19937_64& rng) {
    for (int i = 0; i < 40; ++i) m.push_back(test::random_csr<T, I>(40, 40, 0.1, rng));
    for (int i = 0; i < 2; ++i) m.push_back(test::random_csr<T, I>(3000, 3000, 0.01, rng));
    a = CsrBatch<T, I>::from_list(m);
    std::vector<std::int64_t> rows, n32;
    for (const auto& x : m) {
      rows.push_back(x.cols());
      n32.push_back(32);
    }
    b = DenseBatch<T>(rows, n32);
    for (auto& v : b.values()) v = test::random_value<T>(rng);
  }
};

// Both shares run at once and the result is the reference's.
TYPED_TEST(GpuAuto, MixedBatchRunsBothSharesAtOnce) {
  using T = TypeParam;
  using I = std::int32_t;
  const MixedBatch<T, I> mb(this->rng_);
  const MachineModel fig = mixed_figures();
  PlanOptions po;
  po.machine = &fig;
  const Plan<T, I> plan(BatchView<T, I>(mb.a), 32, po);
  int on_gpu = 0;
  for (const Choice& c : plan.choices()) on_gpu += c.kernel == Kernel::Gpu ? 1 : 0;
  EXPECT_GT(on_gpu, 0) << plan.explain();
  EXPECT_LT(on_gpu, 42) << plan.explain();
  EXPECT_NE(plan.explain().find("batch split"), std::string::npos) << plan.explain();
  const DenseBatch<T> got = plan.execute(mb.b.view());
  for (std::size_t i = 0; i < mb.m.size(); ++i) {
    DenseMatrix<T> want(mb.m[i].rows(), 32);
    ref::csr_dense<T, I>(Op::N, Op::N, T(1), mb.m[i].view(), mb.b.entry(i), T(0), want.view());
    const DenseView<const T> g = got.entry(i);
    for (std::int64_t r = 0; r < want.rows(); ++r)
      for (std::int64_t j = 0; j < 32; ++j)
        ASSERT_NEAR(g(r, j), want(r, j), tolerance<T>() * 64) << "entry " << i;
  }
}

// A device call that fails while the CPU share has already written its entries: every entry of
// C is put back as it was (needs the fake device, which fails on request).
TYPED_TEST(GpuAuto, DeviceFailureLeavesAllOfCUntouched) {
  using T = TypeParam;
  using I = std::int32_t;
  if (std::getenv("SPBMM_FAKE_DEVICE") == nullptr) GTEST_SKIP() << "needs the fake device";
  const MixedBatch<T, I> mb(this->rng_);
  const MachineModel fig = mixed_figures();
  PlanOptions po;
  po.machine = &fig;
  const Plan<T, I> plan(BatchView<T, I>(mb.a), 32, po);
  std::vector<std::int64_t> rows, n32;
  for (const auto& x : mb.m) {
    rows.push_back(x.rows());
    n32.push_back(32);
  }
  DenseBatch<T> c(rows, n32);
  for (auto& v : c.values()) v = T(7);
  setenv("SPBMM_FAKE_FAIL", "1", 1);
  for (const T beta : {T(0), T(1)}) {
    SPBMM_EXPECT_THROW_MSG(plan.execute(c.view(), mb.b.view(), T(1), beta), DeviceError,
                           "fake device failure");
    for (const T v : c.values()) ASSERT_EQ(v, T(7));
  }
  unsetenv("SPBMM_FAKE_FAIL");
  plan.execute(c.view(), mb.b.view(), T(1), T(0));
  EXPECT_NE(c.values().front(), T(7));
}

// The transposed products on the device use the plan's CSR of A^T, uploaded once, and follow
// A's values.
TYPED_TEST(GpuAuto, TransposedProductsFollowValues) {
  using T = TypeParam;
  using I = std::int32_t;
  CsrMatrix<T, I> a = test::random_csr<T, I>(300, 200, 0.05, this->rng_);
  PlanOptions po;
  po.policy.force = Kernel::Gpu;
  po.both_ops = true;
  const Plan<T, I> plan(BatchView<T, I>({a.view()}), 16, po);
  const DenseMatrix<T> g = test::random_dense<T>(300, 16, this->rng_);
  for (int round = 0; round < 2; ++round) {
    const DenseBatch<T> got = plan.execute(DenseBatchView<const T>::single(g.view()), Op::T, T(1));
    DenseMatrix<T> want(200, 16);
    ref::csr_dense<T, I>(Op::T, Op::N, T(1), a.view(), g.view(), T(0), want.view());
    for (std::int64_t r = 0; r < 200; ++r)
      for (std::int64_t j = 0; j < 16; ++j)
        ASSERT_NEAR(got.entry(0)(r, j), want(r, j), tolerance<T>() * 64) << "round " << round;
    for (auto& v : a.values()) v = v * T(-2);  // a training step
  }
}

// The first plan that could use the device measures its figures and caches them (the test's
// XDG_CACHE_HOME is a fresh folder of the build tree, see meson.build).
TEST(GpuFigures, MeasuredOnFirstUseThenCached) {
  if (!gpu::available()) GTEST_SKIP() << gpu::status();
  if (std::getenv("SPBMM_MACHINE_FILE") != nullptr) GTEST_SKIP() << "SPBMM_MACHINE_FILE is set";
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  // With the fake device, start from no cache file: the measurement must run and write one.
  const bool fresh = std::getenv("SPBMM_FAKE_DEVICE") != nullptr && xdg != nullptr;
  if (fresh) std::filesystem::remove_all(std::string(xdg) + "/spbmm");
  std::mt19937_64 rng(9);
  const auto a = test::random_csr<float, std::int32_t>(4000, 4000, 0.01, rng);
  const auto start = std::chrono::steady_clock::now();
  const Plan<float, std::int32_t> plan(BatchView<float, std::int32_t>({a.view()}), 64);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string text = plan.explain();
  std::cout << "  [first plan with a device: " << took * 1e3 << " ms]\n" << text;
  const bool measured = text.find("gpu figures: measured now, cached in ") != std::string::npos;
  const bool cached = text.find("gpu figures: cache ") != std::string::npos;
  EXPECT_TRUE(measured || cached) << text;
  EXPECT_EQ(text.find("gpu not considered"), std::string::npos) << text;
  if (fresh) {
    EXPECT_TRUE(measured) << text;
    const std::string path = dispatch::gpu_cache_file(std::string(xdg) + "/spbmm", gpu::identity());
    EXPECT_NE(text.find(path), std::string::npos) << text;
    // The file holds the figures the plan used, under the device's key.
    MachineModel m;
    std::string why;
    EXPECT_TRUE(dispatch::read_gpu_cache(path, dispatch::device_key(gpu::identity()), m, why))
        << why;
    const MachineModel used = MachineModel::for_device();
    EXPECT_EQ(m.gpu_gflops, used.gpu_gflops);
    EXPECT_EQ(m.gpu_sync_seconds, used.gpu_sync_seconds);
    EXPECT_EQ(m.gpu_d2h_gbps, 13);  // the fake's bandwidth figures, through the executor
    EXPECT_EQ(m.gpu_copy_seconds, 2e-6);
    // A later process reads it instead of measuring.
    dispatch::FigureSources src;
    src.identity = gpu::identity();
    src.dir = std::string(xdg) + "/spbmm";
    src.autocalibrate = false;
    const dispatch::DeviceFigures again = dispatch::resolve_device_figures(src);
    EXPECT_TRUE(again.found) << again.note;
    EXPECT_EQ(again.figures.gpu_source, "cache " + path);
  }
}

}  // namespace
}  // namespace spbmm
