// The CUDA backend is a plugin opened on the first device query: CPU work maps no CUDA library,
// and a missing driver or plugin is a clear DeviceError. Each case runs in its own process
// (detection happens once per process), selected with --gtest_filter in tests/gpu/meson.build.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "spbmm/config.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "test_util.hpp"

namespace {

namespace gpu = spbmm::gpu;

std::string maps() {
  std::ifstream f("/proc/self/maps");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

bool mapped(const std::string& name) { return maps().find(name) != std::string::npos; }

constexpr const char* kCudaLibraries[] = {"libcudart", "libcusparse", "libcublas", "libspbmm_cuda"};

TEST(GpuPlugin, CpuWorkMapsNoCuda) {
  std::mt19937_64 rng(3);
  const auto a = spbmm::test::random_csr<float, std::int32_t>(40, 30, 0.2, rng);
  const auto b = spbmm::test::random_dense<float>(30, 8, rng);
  spbmm::PlanOptions po;
  const spbmm::Plan<float, std::int32_t> plan(spbmm::BatchView<float, std::int32_t>({a.view()}), 8,
                                              po);
  const auto c = plan.execute(spbmm::DenseBatchView<const float>::single(b.view()));
  ASSERT_EQ(c.size(), 1u);
  for (const char* lib : kCudaLibraries) {
    EXPECT_FALSE(mapped(lib)) << lib << " is mapped by a process that never asked for a GPU";
  }
}

TEST(GpuPlugin, FirstQueryOpensThePlugin) {
  if (!SPBMM_HAVE_CUDA) GTEST_SKIP() << "built without CUDA";
  if (std::getenv("SPBMM_CUDA_DRIVER") == nullptr) GTEST_SKIP() << "needs SPBMM_CUDA_DRIVER";
  EXPECT_FALSE(mapped("libspbmm_cuda"));
  const bool ok = gpu::available();
  EXPECT_TRUE(mapped("libspbmm_cuda")) << gpu::status();
  EXPECT_TRUE(mapped("libcudart")) << gpu::status();
  if (!ok) {
    // The plugin loaded and asked the CUDA runtime, which found no device.
    EXPECT_NE(gpu::status().find("cudaGetDeviceCount"), std::string::npos) << gpu::status();
    SPBMM_EXPECT_THROW_MSG(gpu::Executor executor, spbmm::DeviceError, "cudaGetDeviceCount");
  }
}

TEST(GpuPlugin, MissingPluginIsADeviceError) {
  if (!SPBMM_HAVE_CUDA) GTEST_SKIP() << "built without CUDA";
  const char* path = std::getenv("SPBMM_CUDA_PLUGIN");
  if (path == nullptr) GTEST_SKIP() << "needs SPBMM_CUDA_PLUGIN";
  EXPECT_FALSE(gpu::available());
  const std::string& s = gpu::status();
  EXPECT_NE(s.find(path), std::string::npos) << s;
  EXPECT_NE(s.find("could not be loaded"), std::string::npos) << s;
  SPBMM_EXPECT_THROW_MSG(gpu::require_device(), spbmm::DeviceError, path);
  SPBMM_EXPECT_THROW_MSG(gpu::Executor executor, spbmm::DeviceError, path);
  SPBMM_EXPECT_THROW_MSG(gpu::DeviceBuffer buffer(16), spbmm::DeviceError, path);
  // A plan that forces the GPU says why it cannot have one.
  std::mt19937_64 rng(4);
  const auto a = spbmm::test::random_csr<double, std::int64_t>(6, 5, 0.5, rng);
  spbmm::PlanOptions po;
  po.policy.force = spbmm::Kernel::Gpu;
  SPBMM_EXPECT_THROW_MSG((spbmm::Plan<double, std::int64_t>(
                             spbmm::BatchView<double, std::int64_t>({a.view()}), 3, po)),
                         spbmm::DeviceError, path);
}

TEST(GpuPlugin, MissingDriverSaysSo) {
  if (!SPBMM_HAVE_CUDA) GTEST_SKIP() << "built without CUDA";
  const char* driver = std::getenv("SPBMM_CUDA_DRIVER");
  if (driver == nullptr) GTEST_SKIP() << "needs SPBMM_CUDA_DRIVER";
  EXPECT_FALSE(gpu::available());
  EXPECT_NE(gpu::status().find(std::string("the CUDA driver (") + driver + ") is not installed"),
            std::string::npos)
      << gpu::status();
  SPBMM_EXPECT_THROW_MSG(gpu::require_device(), spbmm::DeviceError, driver);
  // Nothing of CUDA was opened to find that out.
  for (const char* lib : kCudaLibraries) EXPECT_FALSE(mapped(lib)) << lib;
}

}  // namespace
