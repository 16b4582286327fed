// The GPU figures of the machine model for the device at hand: the per-device cache file, the
// short measurement that fills it, and the order in which they are looked for.
#pragma once

#include <string>

#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::dispatch {

// The cache file's format; a file of another version is ignored (and rewritten when measured).
inline constexpr int kGpuCacheFormat = 1;
// A cache file is a few hundred bytes; anything much larger is not one of ours.
inline constexpr long kGpuCacheMaxBytes = 64 * 1024;

// "NVIDIA H200, sm_90, driver 13000": what a cache file must name to be used for the device.
std::string device_key(const gpu::DeviceIdentity& id);

// $XDG_CACHE_HOME/spbmm when XDG_CACHE_HOME is an absolute path, else $HOME/.cache/spbmm;
// empty when neither is set.
std::string gpu_cache_dir();
// The file for the device in `dir`: "gpu-" and the key with every character other than a
// letter, a digit, '.' or '-' made '_', then ".txt".
std::string gpu_cache_file(const std::string& dir, const gpu::DeviceIdentity& id);

// The GPU members of the model (gpu_*), copied from one model to another; gpu_source too.
void copy_gpu_figures(const MachineModel& from, MachineModel& to);

// Reads the figures of `path` into the GPU members of `out` when the file is a cache file of
// kGpuCacheFormat for `key` with a positive gpu_gflops. Otherwise returns false and leaves `out`
// as it was; `why` is empty when the file does not exist and says what is wrong with it when it
// does (unreadable, too large, another format or device, a malformed line). Never throws.
bool read_gpu_cache(const std::string& path, const std::string& key, MachineModel& out,
                    std::string& why) noexcept;
// Writes the GPU members of `m` to `path` (whole or not at all), creating its directory.
// IoError when it cannot.
void write_gpu_cache(const std::string& path, const std::string& key, const MachineModel& m);

// The short measurement of a device's figures (calibrate.cpp): SpMM and GEMM rates, both
// bandwidths, the staging copy rate, copy, launch and synchronisation latency, on device 0.
// Throws DeviceError (or NotCompiled) without a device.
void measure_gpu_figures(MachineModel& m);

// The outcome of looking for a device's figures.
struct DeviceFigures {
  bool found = false;
  MachineModel figures;  // its GPU members and gpu_source, when found
  std::string note;      // why not, when not found
};

// How resolve_device_figures reaches the outside world; tests pass their own.
struct FigureSources {
  gpu::DeviceIdentity identity;  // name empty: no device
  std::string no_device_note;    // what to say then
  std::string dir;               // gpu_cache_dir()
  bool autocalibrate = true;     // SPBMM_GPU_AUTOCALIBRATE is not "0"
  void (*measure)(MachineModel&) = nullptr;
};

// The cache file for the device when it holds its figures; otherwise, when autocalibrate, the
// figures measured now and written to the cache (a failed write is a warning, the figures are
// still used); otherwise none. A corrupt or foreign cache file is a warning and is replaced by a
// new measurement. Never throws: a failed measurement is a warning and no figures.
DeviceFigures resolve_device_figures(const FigureSources& sources);

// resolve_device_figures for this process's device, once (thread-safe). Opens the GPU backend.
const DeviceFigures& device_figures();

// After `spbmm calibrate`: writes the GPU members of `m` to the device's cache file and returns
// its path; empty when there is no device or no cache directory. IoError when it cannot write.
std::string refresh_gpu_cache(const MachineModel& m);

// Sends one line to the warning handler (set_warning_handler).
void warn(const std::string& line) noexcept;

}  // namespace spbmm::dispatch
