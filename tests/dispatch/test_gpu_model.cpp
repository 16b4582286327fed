// Tests of the GPU side of the decision model without a device: the transfer-aware estimate,
// the CPU/GPU batch split, and the per-device cache of GPU figures with its resolution order.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "dispatch/gpu_cache.hpp"
#include "dispatch/split.hpp"
#include "models.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using dispatch::DeviceFigures;
using dispatch::FigureSources;
using dispatch::Split;
using dispatch::SplitEntry;

// CPU figures of a small machine and GPU figures of a fast device on a PCIe link.
MachineModel model() {
  MachineModel m = test::small_machine();
  m.gpu_gflops = 500;
  m.gpu_dense_gflops = 20000;
  m.gpu_transfer_gbps = 20;
  m.gpu_d2h_gbps = 25;
  m.gpu_stage_gbps = 10;
  m.gpu_launch_seconds = 8e-6;
  m.gpu_copy_seconds = 5e-6;
  m.gpu_sync_seconds = 10e-6;
  return m;
}

EntryStats sparse_entry(std::int64_t rows, std::int64_t cols, std::int64_t n, double density) {
  EntryStats s;
  s.format = Format::Csr;
  s.rows = rows;
  s.cols = cols;
  s.n = n;
  s.nnz = static_cast<std::int64_t>(std::llround(density * static_cast<double>(rows * cols)));
  s.density = density;
  return s;
}

Policy resident() {
  Policy p;
  p.gpu_b_on_host = false;
  p.gpu_c_on_host = false;
  return p;
}

TEST(GpuEstimate, LargeEntryGoesToTheGpuTinyOneStays) {
  const MachineModel m = model();
  const Choice big = choose_kernel(sparse_entry(20000, 20000, 64, 0.002), {}, m);
  EXPECT_EQ(big.kernel, Kernel::Gpu) << big.reason;
  const Choice tiny = choose_kernel(sparse_entry(30, 30, 8, 0.1), {}, m);
  EXPECT_NE(tiny.kernel, Kernel::Gpu) << tiny.reason;
  // Small but not tiny: the launch and the wait alone cost more than the CPU product.
  const Choice small = choose_kernel(sparse_entry(200, 200, 16, 0.01), {}, m);
  EXPECT_NE(small.kernel, Kernel::Gpu) << small.reason;
}

TEST(GpuEstimate, HostOperandsPayWhatTheExecutorMoves) {
  const MachineModel m = model();
  const EntryStats s = sparse_entry(100000, 100000, 64, 0.0002);
  const GpuEstimate host = estimate_gpu(s, {}, m);
  // B up (packed, then copied: the slower of the two), C down then unpacked.
  const double b = 100000.0 * 64 * 4;
  const double c = 100000.0 * 64 * 4;
  const double a = (100001.0 * 4 + 2e6 * 8) / Policy::kManyCalls / 20e9;
  EXPECT_NEAR(host.transfer, b / 10e9 + c / 25e9 + c / 10e9 + a, 1e-9);
  // B in chunks of 4 MiB, C in one copy down.
  EXPECT_EQ(host.copies, static_cast<int>(std::ceil(b / (4.0 * 1024 * 1024))) + 1);
  EXPECT_NEAR(host.fixed, host.copies * 5e-6 + 10e-6, 1e-12);
  EXPECT_NEAR(host.launch, 8e-6, 1e-15);
  EXPECT_NEAR(host.compute, 2 * 2e6 * 64 / 500e9, 1e-12);
  // beta != 0: C goes up as well.
  Policy read_c;
  read_c.gpu_c_read = true;
  EXPECT_GT(estimate_gpu(s, read_c, m).transfer, host.transfer + c / 20e9 * 0.99);
  // A one-off product pays A's whole upload.
  Policy once;
  once.expected_calls = 1;
  EXPECT_NEAR(estimate_gpu(s, once, m).transfer - host.transfer, a * (Policy::kManyCalls - 1),
              1e-9);
}

TEST(GpuEstimate, DeviceResidentOperandsNeverPay) {
  const MachineModel m = model();
  const EntryStats s = sparse_entry(100000, 100000, 64, 0.0002);
  Policy p = resident();
  p.expected_calls = 1 << 30;  // A uploaded once long ago
  const GpuEstimate g = estimate_gpu(s, p, m);
  EXPECT_LT(g.transfer, 1e-9);
  EXPECT_EQ(g.copies, 0);
  EXPECT_EQ(g.fixed, 0.0);
  EXPECT_NEAR(g.total(), g.compute + g.launch, 1e-9);
}

TEST(GpuEstimate, TransferCanKeepAnEntryOnTheCpu) {
  // A very sparse product with a wide B: little arithmetic, many bytes to move.
  MachineModel m = model();
  m.sparse_gflops = 12;
  const EntryStats s = sparse_entry(50000, 50000, 256, 0.00004);
  const Choice host = choose_kernel(s, {}, m);
  EXPECT_NE(host.kernel, Kernel::Gpu) << host.reason;
  const Choice dev = choose_kernel(s, resident(), m);
  EXPECT_EQ(dev.kernel, Kernel::Gpu) << dev.reason;
}

TEST(GpuEstimate, DenseAIsStagedWithEveryCall) {
  const MachineModel m = model();
  EntryStats s = sparse_entry(1024, 1024, 256, 1.0);
  s.format = Format::Dense;
  const GpuEstimate g = estimate_gpu(s, resident(), m);
  EXPECT_NEAR(g.transfer, 1024.0 * 1024 * 4 / 10e9, 1e-9);  // packing is the slower side
  EXPECT_GT(g.copies, 0);
}

TEST(GpuEstimate, NoFiguresNoDevice) {
  MachineModel m = model();
  m.gpu_gflops = 0;
  m.gpu_dense_gflops = 0;
  EXPECT_FALSE(std::isfinite(estimate_gpu(sparse_entry(100, 100, 8, 0.1), {}, m).total()));
  // Older calibration files have no d2h or staging figures: the fallbacks are used.
  m = model();
  m.gpu_d2h_gbps = 0;
  m.gpu_stage_gbps = 0;
  const GpuEstimate g = estimate_gpu(sparse_entry(1000, 1000, 64, 0.01), {}, m);
  const double b = 1000.0 * 64 * 4;
  EXPECT_NEAR(g.transfer - (1001.0 * 4 + 1e4 * 8) / 20e9 / Policy::kManyCalls,
              b / 8e9 + b / 20e9 + b / 8e9, 1e-12);
}

// ---- the batch split ----------------------------------------------------------------------

TEST(BatchSplit, SmallEntriesStayLargeOnesGo) {
  std::vector<SplitEntry> e;
  for (int i = 0; i < 100; ++i) e.push_back({20e-6, 15e-6});  // small: no gain on the device
  e.push_back({40e-3, 1e-3});                                 // large: 40x faster there
  e.push_back({30e-3, 1e-3});
  const Split s = split_batch(e, 50e-6, 2);
  EXPECT_TRUE(s.mixed()) << s.str();
  EXPECT_EQ(s.on_gpu[100], 1);
  EXPECT_EQ(s.on_gpu[101], 1);
  // The small ones stay on the CPU as long as it finishes no later than the device; here the
  // device share (2 ms) leaves room for every small entry (100 * 20 us / 2 threads = 1 ms).
  int small_on_gpu = 0;
  for (int i = 0; i < 100; ++i) small_on_gpu += s.on_gpu[static_cast<std::size_t>(i)];
  EXPECT_EQ(small_on_gpu, 0) << s.str();
  EXPECT_LT(s.seconds, s.cpu_alone);
  EXPECT_LT(s.seconds, s.gpu_alone);
  EXPECT_NEAR(s.seconds, std::max(s.cpu_seconds, s.gpu_seconds), 1e-15);
  EXPECT_NE(s.str().find("2 of 102 entries on the gpu"), std::string::npos) << s.str();
}

TEST(BatchSplit, AllCpuAllGpuAndFixedEntries) {
  // Device slower for everything: nothing moves.
  std::vector<SplitEntry> slow(10, SplitEntry{1e-3, 5e-3});
  const Split none = split_batch(slow, 1e-5, 4);
  EXPECT_FALSE(none.mixed());
  for (const auto x : none.on_gpu) EXPECT_EQ(x, 0);
  // Device far faster for everything: all of it goes.
  std::vector<SplitEntry> fast(10, SplitEntry{1e-3, 1e-6});
  const Split all = split_batch(fast, 1e-5, 4);
  for (const auto x : all.on_gpu) EXPECT_EQ(x, 1);
  EXPECT_NEAR(all.seconds, 1e-5 + 10e-6, 1e-12);
  // A forced entry stays where it is, and an entry the device cannot take stays on the CPU.
  std::vector<SplitEntry> mix(fast);
  mix[0].movable = false;
  mix[0].on_gpu = false;
  mix[1].gpu_seconds = HUGE_VAL;
  const Split m = split_batch(mix, 1e-5, 4);
  EXPECT_EQ(m.on_gpu[0], 0);
  EXPECT_EQ(m.on_gpu[1], 0);
  EXPECT_EQ(m.on_gpu[2], 1);
  EXPECT_TRUE(m.mixed());
  // Empty batch.
  const Split e = dispatch::split_batch({}, 1e-5, 2);
  EXPECT_TRUE(e.on_gpu.empty());
  EXPECT_EQ(e.seconds, 0.0);
}

// ---- the per-device cache -------------------------------------------------------------------

// A path that does not exist yet, in a fresh directory of this process.
std::string temp_dir(const std::string& name) {
  static const std::string base = [] {
    std::string t = "/tmp/spbmm-gpu-cache-XXXXXX";
    return mkdtemp(t.data()) != nullptr ? t : std::string("/tmp");
  }();
  return base + "/" + name;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

gpu::DeviceIdentity fake_device() { return {"Fake GPU 9000 (test)", 9, 0, 12080}; }

std::vector<std::string>& warnings() {
  static std::vector<std::string> w;
  return w;
}
void collect(const char* line) { warnings().emplace_back(line); }

// Captures the library's warnings for the life of the object.
struct CaptureWarnings {
  WarningHandler old;
  CaptureWarnings() : old(set_warning_handler(&collect)) { warnings().clear(); }
  ~CaptureWarnings() { set_warning_handler(old); }
};

int g_measured = 0;
void fake_measure(MachineModel& m) {
  ++g_measured;
  m.gpu_gflops = 777;
  m.gpu_dense_gflops = 9000;
  m.gpu_transfer_gbps = 21.5;
  m.gpu_d2h_gbps = 22.5;
  m.gpu_stage_gbps = 9.5;
  m.gpu_launch_seconds = 7e-6;
  m.gpu_copy_seconds = 4e-6;
  m.gpu_sync_seconds = 3e-6;
}
void failing_measure(MachineModel&) { throw DeviceError("cudaMalloc failed: out of memory"); }

TEST(GpuCache, KeyAndFileName) {
  EXPECT_EQ(dispatch::device_key(fake_device()), "Fake GPU 9000 (test), sm_90, driver 12080");
  EXPECT_EQ(dispatch::gpu_cache_file("/c/spbmm", fake_device()),
            "/c/spbmm/gpu-Fake_GPU_9000__test___sm_90__driver_12080.txt");
}

TEST(GpuCache, DirectoryFollowsXdgThenHome) {
  const std::string xdg = std::getenv("XDG_CACHE_HOME") ? std::getenv("XDG_CACHE_HOME") : "";
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  setenv("XDG_CACHE_HOME", "/x/cache", 1);
  setenv("HOME", "/h/user", 1);
  EXPECT_EQ(dispatch::gpu_cache_dir(), "/x/cache/spbmm");
  setenv("XDG_CACHE_HOME", "relative/ignored", 1);
  EXPECT_EQ(dispatch::gpu_cache_dir(), "/h/user/.cache/spbmm");
  unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(dispatch::gpu_cache_dir(), "/h/user/.cache/spbmm");
  unsetenv("HOME");
  EXPECT_EQ(dispatch::gpu_cache_dir(), "");
  if (!xdg.empty()) setenv("XDG_CACHE_HOME", xdg.c_str(), 1);
  if (!home.empty()) setenv("HOME", home.c_str(), 1);
}

TEST(GpuCache, WrittenThenReadBack) {
  const std::string dir = temp_dir("roundtrip") + "/nested/spbmm";
  const std::string path = dispatch::gpu_cache_file(dir, fake_device());
  const std::string key = dispatch::device_key(fake_device());
  MachineModel m;
  fake_measure(m);
  dispatch::write_gpu_cache(path, key, m);  // creates the directories
  MachineModel r = model();
  r.gpu_gflops = 1;
  std::string why;
  ASSERT_TRUE(dispatch::read_gpu_cache(path, key, r, why)) << why;
  EXPECT_EQ(r.gpu_gflops, 777);
  EXPECT_EQ(r.gpu_dense_gflops, 9000);
  EXPECT_EQ(r.gpu_transfer_gbps, 21.5);
  EXPECT_EQ(r.gpu_d2h_gbps, 22.5);
  EXPECT_EQ(r.gpu_stage_gbps, 9.5);
  EXPECT_EQ(r.gpu_launch_seconds, 7e-6);
  EXPECT_EQ(r.gpu_copy_seconds, 4e-6);
  EXPECT_EQ(r.gpu_sync_seconds, 3e-6);
  EXPECT_EQ(r.sparse_gflops, 3);  // the CPU figures are not the cache's
  EXPECT_EQ(r.gpu_source, "cache " + path);
  // Missing: false, and nothing to warn about.
  EXPECT_FALSE(dispatch::read_gpu_cache(path + ".none", key, r, why));
  EXPECT_TRUE(why.empty()) << why;
}

TEST(GpuCache, CorruptOrForeignFilesAreRefused) {
  const std::string dir = temp_dir("corrupt");
  mkdir(dir.c_str(), 0700);
  const std::string key = dispatch::device_key(fake_device());
  const std::string path = dir + "/f.txt";
  MachineModel good;
  fake_measure(good);
  dispatch::write_gpu_cache(path, key, good);
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto refused = [&](const std::string& content, const std::string& expect) {
    write(path, content);
    MachineModel r = model();
    std::string why;
    EXPECT_FALSE(dispatch::read_gpu_cache(path, key, r, why)) << content;
    EXPECT_NE(why.find(expect), std::string::npos) << why;
    EXPECT_EQ(r.gpu_gflops, model().gpu_gflops);  // untouched
  };
  refused("\x7f\x45LF binary garbage\n", "format");
  refused("", "format");
  refused(std::string(text).replace(text.find("format = 1"), 10, "format = 7"), "format 7");
  refused(std::string(text).replace(text.find("sm_90"), 5, "sm_80"), "sm_80");
  refused(text + "gpu_gflops = -3\n", "finite number >= 0");
  refused(text + "gpu_gflops = 1e999\n", "finite number >= 0");
  refused(text + "warp_factor = 9\n", "unknown key");
  refused(text + "gpu_gflops = 0\n", "must be positive");
  refused(text + std::string(dispatch::kGpuCacheMaxBytes, '#'), "more than a cache file");
  // A directory in its place.
  MachineModel r;
  std::string why;
  EXPECT_FALSE(dispatch::read_gpu_cache(dir, key, r, why));
  EXPECT_FALSE(why.empty());
}

TEST(GpuCache, ResolutionMeasuresOnceThenReadsTheCache) {
  CaptureWarnings capture;
  FigureSources src;
  src.identity = fake_device();
  src.dir = temp_dir("resolve");
  src.measure = &fake_measure;
  g_measured = 0;
  const DeviceFigures first = dispatch::resolve_device_figures(src);
  ASSERT_TRUE(first.found) << first.note;
  EXPECT_EQ(g_measured, 1);
  EXPECT_EQ(first.figures.gpu_gflops, 777);
  const std::string path = dispatch::gpu_cache_file(src.dir, src.identity);
  EXPECT_EQ(first.figures.gpu_source, "measured now, cached in " + path);
  const DeviceFigures second = dispatch::resolve_device_figures(src);
  ASSERT_TRUE(second.found);
  EXPECT_EQ(g_measured, 1);
  EXPECT_EQ(second.figures.gpu_source, "cache " + path);
  EXPECT_EQ(second.figures.gpu_sync_seconds, 3e-6);
  EXPECT_TRUE(warnings().empty());
  // Another device (a new driver) is measured anew into its own file.
  src.identity.driver = 12090;
  EXPECT_TRUE(dispatch::resolve_device_figures(src).found);
  EXPECT_EQ(g_measured, 2);
}

TEST(GpuCache, CorruptCacheIsIgnoredWithAWarningAndReplaced) {
  CaptureWarnings capture;
  FigureSources src;
  src.identity = fake_device();
  src.dir = temp_dir("replace");
  src.measure = &fake_measure;
  mkdir(src.dir.c_str(), 0700);
  const std::string path = dispatch::gpu_cache_file(src.dir, src.identity);
  write(path, "format = 1\ndevice = " + dispatch::device_key(src.identity) + "\ngpu_gflops = x\n");
  g_measured = 0;
  const DeviceFigures d = dispatch::resolve_device_figures(src);
  ASSERT_TRUE(d.found);
  EXPECT_EQ(g_measured, 1);
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_NE(warnings()[0].find("ignoring the GPU figures cache '" + path + "'"), std::string::npos)
      << warnings()[0];
  EXPECT_EQ(warnings()[0].find('\n'), std::string::npos);
  // The measurement replaced it: the next resolution reads it.
  EXPECT_EQ(dispatch::resolve_device_figures(src).figures.gpu_source, "cache " + path);
}

TEST(GpuCache, AutocalibrationOffAndFailures) {
  CaptureWarnings capture;
  FigureSources src;
  src.identity = fake_device();
  src.dir = temp_dir("off");
  src.measure = &fake_measure;
  src.autocalibrate = false;
  g_measured = 0;
  DeviceFigures d = dispatch::resolve_device_figures(src);
  EXPECT_FALSE(d.found);
  EXPECT_EQ(g_measured, 0);
  EXPECT_NE(d.note.find("SPBMM_GPU_AUTOCALIBRATE=0"), std::string::npos) << d.note;
  // A cache file is still read with the measurement off.
  MachineModel m;
  fake_measure(m);
  dispatch::write_gpu_cache(dispatch::gpu_cache_file(src.dir, src.identity),
                            dispatch::device_key(src.identity), m);
  EXPECT_TRUE(dispatch::resolve_device_figures(src).found);
  // No device: the reason given.
  src.identity = {};
  src.no_device_note = "no CUDA device: test";
  d = dispatch::resolve_device_figures(src);
  EXPECT_FALSE(d.found);
  EXPECT_EQ(d.note, "no CUDA device: test");
  // A failed measurement: a warning, no figures, nothing thrown.
  src.identity = fake_device();
  src.identity.name = "Other GPU";
  src.autocalibrate = true;
  src.measure = &failing_measure;
  d = dispatch::resolve_device_figures(src);
  EXPECT_FALSE(d.found);
  ASSERT_FALSE(warnings().empty());
  EXPECT_NE(warnings().back().find("out of memory"), std::string::npos) << warnings().back();
  // A cache that cannot be written: a warning, the measured figures still used.
  warnings().clear();
  src.measure = &fake_measure;
  src.dir = "/proc/spbmm-no-such-dir";
  d = dispatch::resolve_device_figures(src);
  EXPECT_TRUE(d.found);
  EXPECT_NE(d.figures.gpu_source.find("measured now (not cached"), std::string::npos)
      << d.figures.gpu_source;
  ASSERT_EQ(warnings().size(), 1u);
  EXPECT_NE(warnings()[0].find("cannot cache"), std::string::npos) << warnings()[0];
}

TEST(GpuCache, DefaultHandlerCanBeSilenced) {
  const WarningHandler old = set_warning_handler(nullptr);
  dispatch::warn("dropped");  // nothing to see, nothing to crash
  EXPECT_EQ(set_warning_handler(old), nullptr);
}

// ---- plans ------------------------------------------------------------------------------------

TEST(GpuFigures, ExplainNamesTheirSource) {
  std::mt19937_64 rng(5);
  const auto a = test::random_csr<float, std::int32_t>(50, 40, 0.1, rng);
  const BatchView<float, std::int32_t> batch({a.view()});
  const Plan<float, std::int32_t> plan(batch, 8);
  if (std::getenv("SPBMM_MACHINE_FILE") == nullptr) {
    EXPECT_NE(plan.explain().find("gpu figures: built-in (no GPU figures)"), std::string::npos)
        << plan.explain();
  }
  // Figures given by the caller.
  MachineModel m = model();
  PlanOptions po;
  po.machine = &m;
  const Plan<float, std::int32_t> given(batch, 8, po);
  EXPECT_NE(given.explain().find("gpu figures: given by the caller"), std::string::npos)
      << given.explain();
  if (!gpu::available()) {
    EXPECT_NE(given.explain().find("gpu not considered: "), std::string::npos);
  }
}

}  // namespace
}  // namespace spbmm
