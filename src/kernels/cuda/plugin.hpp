// The table of functions the CUDA plugin (libspbmm_cuda.so) hands to libspbmm when it is opened.
//
// libspbmm links no CUDA library: the public GPU API (spbmm/gpu.hpp) forwards through this table,
// and the plugin, which links cudart, cuSPARSE and cuBLAS, is opened with dlopen on the first
// device query. A process that never asks for a device maps none of them. Both sides are built
// from the same tree; kPluginAbi and the version string guard against a stale plugin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "spbmm/gpu.hpp"

namespace spbmm::gpu::plugin {

// Raised whenever this table changes shape.
inline constexpr unsigned kPluginAbi = 2;

// The file name libspbmm looks for next to itself (and then on the loader's search path).
inline constexpr const char* kPluginName = "libspbmm_cuda.so";
// The entry point the plugin exports: `const Backend* spbmm_cuda_backend(unsigned abi)`; it
// returns null when `abi` is not its own.
inline constexpr const char* kEntryPoint = "spbmm_cuda_backend";

// An executor's CUDA state: a stream, cuSPARSE and cuBLAS handles, workspace and staging. Opaque
// to libspbmm, which only hands it back.
struct CudaExecutor;

template <Value T, Index I>
struct SparseOps {
  void (*spmm)(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a,
               const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c, T alpha,
               T beta, const Options& options);
  void (*bmm_into)(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, const DenseBatchView<T>& c,
                   const DenseBatchView<const T>& b, T alpha, T beta, const Options& options);
  void (*sddmm)(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a,
                const DeviceDenseBatchView<const T>& x, const DeviceDenseBatchView<const T>& y,
                T* out, T alpha, T beta);
  void (*sddmm_into)(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, T* out,
                     const DenseBatchView<const T>& x, const DenseBatchView<const T>& y, T alpha,
                     T beta);
};

template <Value T>
struct DenseOps {
  void (*gemm)(CudaExecutor& ex, const DeviceDenseBatchView<const T>& a,
               const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c, T alpha,
               T beta, const Options& options);
  void (*gemm_into)(CudaExecutor& ex, const DenseBatchView<T>& c, const DenseBatchView<const T>& a,
                    const DenseBatchView<const T>& b, T alpha, T beta, const Options& options);
};

// Every function may throw spbmm::Error subclasses (DeviceError with the CUDA status text),
// except detect, which reports through its return value and `status`.
struct Backend {
  unsigned abi;
  const char* version;  // SPBMM_VERSION of the build that made the plugin

  bool (*detect)(std::string* status, DeviceIdentity* identity) noexcept;

  void* (*alloc)(std::size_t bytes);
  void (*release)(void* device) noexcept;
  void (*upload)(void* device, const void* host, std::size_t bytes);
  void (*download)(void* host, const void* device, std::size_t bytes);
  void (*zero)(void* device, std::size_t bytes);

  CudaExecutor* (*executor_create)(int device);
  void (*executor_destroy)(CudaExecutor* ex) noexcept;
  void (*synchronize)(CudaExecutor& ex);
  void* (*stream)(const CudaExecutor& ex) noexcept;
  const Report& (*last_report)(const CudaExecutor& ex) noexcept;
  Bandwidth (*measure_bandwidth)(CudaExecutor& ex, std::size_t bytes);

  SparseOps<float, std::int32_t> f32_i32;
  SparseOps<float, std::int64_t> f32_i64;
  SparseOps<double, std::int32_t> f64_i32;
  SparseOps<double, std::int64_t> f64_i64;
  DenseOps<float> f32;
  DenseOps<double> f64;
};

template <Value T, Index I>
const SparseOps<T, I>& sparse_ops(const Backend& b) {
  if constexpr (std::is_same_v<T, float> && sizeof(I) == 4)
    return b.f32_i32;
  else if constexpr (std::is_same_v<T, float>)
    return b.f32_i64;
  else if constexpr (sizeof(I) == 4)
    return b.f64_i32;
  else
    return b.f64_i64;
}

template <Value T>
const DenseOps<T>& dense_ops(const Backend& b) {
  if constexpr (std::is_same_v<T, float>)
    return b.f32;
  else
    return b.f64;
}

}  // namespace spbmm::gpu::plugin

// libspbmm's side of an Executor: the plugin's state and who frees it.
struct spbmm::gpu::Executor::Impl {
  const plugin::Backend* backend = nullptr;
  plugin::CudaExecutor* cuda = nullptr;
  ~Impl();
};
