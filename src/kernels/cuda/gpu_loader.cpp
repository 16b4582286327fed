// The GPU API of a build with CUDA: opens the CUDA plugin (libspbmm_cuda.so) on the first device
// query and forwards every device call to it, so that libspbmm itself links no CUDA library.
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/layout.hpp"
#include "kernels/cuda/plugin.hpp"
#include "kernels/plugin_path.hpp"
#include "spbmm/config.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"

namespace spbmm::gpu {
namespace {

struct Loaded {
  const plugin::Backend* backend = nullptr;  // null: no usable device (status says why)
  bool ok = false;
  std::string status;
  DeviceIdentity identity;
};

using kernels::dl_error;

Loaded load() {
  Loaded l;
  // The driver first: without it no device can be used, and looking for it costs almost nothing,
  // where opening the plugin maps the CUDA runtime, cuSPARSE and cuBLAS (hundreds of MB).
  // Kept open: the CUDA runtime opens it again when the plugin loads. SPBMM_CUDA_DRIVER names
  // another library to look for (a driver installed under another name, or a test).
  const char* driver_env = std::getenv("SPBMM_CUDA_DRIVER");
  const std::string driver =
      driver_env != nullptr && *driver_env != '\0' ? driver_env : "libcuda.so.1";
  if (dlopen(driver.c_str(), RTLD_LAZY | RTLD_LOCAL) == nullptr) {
    l.status = "no CUDA device: the CUDA driver (" + driver + ") is not installed: " + dl_error();
    return l;
  }
  const std::string path = kernels::plugin_path(plugin::kPluginName, "SPBMM_CUDA_PLUGIN",
                                                reinterpret_cast<const void*>(&available));
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    l.status = "no CUDA device: spbmm's CUDA backend " + path +
               " could not be loaded (is the CUDA runtime, cuSPARSE and cuBLAS on the library "
               "path?): " +
               dl_error();
    return l;
  }
  using Entry = const plugin::Backend* (*)(unsigned);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, plugin::kEntryPoint));
  if (entry == nullptr) {
    l.status = "no CUDA device: " + path + " is not spbmm's CUDA backend: " + dl_error();
    return l;
  }
  const plugin::Backend* b = entry(plugin::kPluginAbi);
  if (b == nullptr || b->abi != plugin::kPluginAbi || std::strcmp(b->version, SPBMM_VERSION) != 0) {
    l.status = "no CUDA device: " + path + " belongs to another spbmm build (version " +
               (b != nullptr ? std::string(b->version) : std::string("?")) + ", expected " +
               SPBMM_VERSION + ")";
    return l;
  }
  // The plugin stays open for the life of the process: device memory and handles refer to it.
  l.ok = b->detect(&l.status, &l.identity);
  if (!l.ok) l.identity = {};
  if (l.ok) l.backend = b;
  return l;
}

const Loaded& loaded() noexcept {
  static const Loaded l = load();  // thread-safe once
  return l;
}

const plugin::Backend& backend() {
  require_device();
  return *loaded().backend;
}

void check_range(std::size_t offset, std::size_t bytes, std::size_t size, const char* what) {
  if (offset > size || bytes > size - offset) {
    throw InvalidArgument(std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                          std::to_string(offset + bytes) + ") outside a buffer of " +
                          std::to_string(size) + " bytes");
  }
}

plugin::CudaExecutor& cuda(const Executor& e) {
  if (e.impl() == nullptr) throw InvalidArgument("gpu::Executor: used after being moved from");
  return *e.impl()->cuda;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Detection

bool available() noexcept { return loaded().ok; }
const std::string& status() noexcept { return loaded().status; }
void require_device() {
  if (!available()) throw DeviceError(status());
}
const DeviceIdentity& identity() noexcept { return loaded().identity; }

// ---------------------------------------------------------------------------------------------
// DeviceBuffer

DeviceBuffer::DeviceBuffer(std::size_t bytes) {
  const plugin::Backend& b = backend();
  if (bytes > 0) data_ = b.alloc(bytes);
  bytes_ = bytes;
}

DeviceBuffer::~DeviceBuffer() {
  // Memory exists only where the backend allocated it.
  if (data_ != nullptr) loaded().backend->release(data_);
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(bytes_, other.bytes_);
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes, std::size_t offset) {
  check_range(offset, bytes, bytes_, "DeviceBuffer::upload");
  if (bytes == 0) return;
  backend().upload(static_cast<char*>(data_) + offset, host, bytes);
}

void DeviceBuffer::download(void* host, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes, bytes_, "DeviceBuffer::download");
  if (bytes == 0) return;
  backend().download(host, static_cast<const char*>(data_) + offset, bytes);
}

void DeviceBuffer::fill_zero() {
  if (bytes_ > 0) backend().zero(data_, bytes_);
}

// ---------------------------------------------------------------------------------------------
// Executor

Executor::Impl::~Impl() {
  if (cuda != nullptr) backend->executor_destroy(cuda);
}

Executor::Executor(int device) : impl_(std::make_unique<Impl>()) {
  impl_->backend = &backend();
  impl_->cuda = impl_->backend->executor_create(device);
}

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

void Executor::synchronize() { backend().synchronize(cuda(*this)); }
void* Executor::stream() const noexcept {
  return impl_ != nullptr ? impl_->backend->stream(*impl_->cuda) : nullptr;
}
const Report& Executor::last_report() const noexcept {
  static const Report none;
  return impl_ != nullptr ? impl_->backend->last_report(*impl_->cuda) : none;
}
Bandwidth Executor::measure_bandwidth(std::size_t bytes) {
  return backend().measure_bandwidth(cuda(*this), bytes);
}

template <Value T, Index I>
void Executor::spmm(const DeviceCsrBatch<T, I>& a, const In<DeviceDenseBatchView<const T>>& b,
                    const In<DeviceDenseBatchView<T>>& c, In<T> alpha, In<T> beta,
                    const Options& options) {
  plugin::sparse_ops<T, I>(backend()).spmm(cuda(*this), a, b, c, alpha, beta, options);
}

template <Value T, Index I>
void Executor::sddmm(const DeviceCsrBatch<T, I>& a, const In<DeviceDenseBatchView<const T>>& x,
                     const In<DeviceDenseBatchView<const T>>& y, T* out, In<T> alpha, In<T> beta) {
  plugin::sparse_ops<T, I>(backend()).sddmm(cuda(*this), a, x, y, out, alpha, beta);
}

template <Value T, Index I>
void sddmm_into(Executor& executor, const DeviceCsrBatch<T, I>& a, T* out,
                const In<DenseBatchView<const T>>& x, const In<DenseBatchView<const T>>& y,
                In<T> alpha, In<T> beta) {
  plugin::sparse_ops<T, I>(backend()).sddmm_into(cuda(executor), a, out, x, y, alpha, beta);
}

template <Value T>
void Executor::gemm(const In<DeviceDenseBatchView<const T>>& a,
                    const In<DeviceDenseBatchView<const T>>& b, const DeviceDenseBatchView<T>& c,
                    In<T> alpha, In<T> beta, const Options& options) {
  plugin::dense_ops<T>(backend()).gemm(cuda(*this), a, b, c, alpha, beta, options);
}

// ---------------------------------------------------------------------------------------------
// Host operands

template <Value T, Index I>
void bmm_into(Executor& executor, const DeviceCsrBatch<T, I>& a, const In<DenseBatchView<T>>& c,
              const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
              const Options& options) {
  plugin::sparse_ops<T, I>(backend()).bmm_into(cuda(executor), a, c, b, alpha, beta, options);
}

template <Value T, Index I>
void bmm_into(Executor& executor, const CsrBatch<T, I>& a, const In<DenseBatchView<T>>& c,
              const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
              const Options& options) {
  const DeviceCsrBatch<T, I> da(a);
  bmm_into(executor, da, c, b, alpha, beta, options);
}

template <Value T, Index I>
DenseBatch<T> bmm(Executor& executor, const DeviceCsrBatch<T, I>& a, const DenseBatch<T>& b,
                  const Options& options, In<T> alpha) {
  const std::size_t n = a.size() == 0 || b.size() == 0 ? 0 : std::max(a.size(), b.size());
  detail::broadcast_batch(a.size(), b.size(), n);
  std::vector<std::int64_t> rows(n);
  std::vector<std::int64_t> cols(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t ai = a.size() == 1 ? 0 : i;
    const std::size_t bi = b.size() == 1 ? 0 : i;
    rows[i] = detail::op_rows(options.op_a, a.rows(ai), a.cols(ai));
    cols[i] = detail::op_cols(options.op_b, b.rows(bi), b.cols(bi));
  }
  DenseBatch<T> c(rows, cols, Layout::RowMajor);
  bmm_into(executor, a, c.view(), b.view(), alpha, T(0), options);
  return c;
}

template <Value T>
void gemm_into(Executor& executor, const DenseBatchView<T>& c, const In<DenseBatchView<const T>>& a,
               const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
               const Options& options) {
  plugin::dense_ops<T>(backend()).gemm_into(cuda(executor), c, a, b, alpha, beta, options);
}

#define SPBMM_GPU_INSTANTIATE(T, I)                                                              \
  template void Executor::spmm<T, I>(const DeviceCsrBatch<T, I>&,                                \
                                     const DeviceDenseBatchView<const T>&,                       \
                                     const DeviceDenseBatchView<T>&, T, T, const Options&);      \
  template void bmm_into<T, I>(Executor&, const DeviceCsrBatch<T, I>&, const DenseBatchView<T>&, \
                               const DenseBatchView<const T>&, T, T, const Options&);            \
  template void bmm_into<T, I>(Executor&, const CsrBatch<T, I>&, const DenseBatchView<T>&,       \
                               const DenseBatchView<const T>&, T, T, const Options&);            \
  template DenseBatch<T> bmm<T, I>(Executor&, const DeviceCsrBatch<T, I>&, const DenseBatch<T>&, \
                                   const Options&, T);                                           \
  template void Executor::sddmm<T, I>(const DeviceCsrBatch<T, I>&,                               \
                                      const DeviceDenseBatchView<const T>&,                      \
                                      const DeviceDenseBatchView<const T>&, T*, T, T);           \
  template void sddmm_into<T, I>(Executor&, const DeviceCsrBatch<T, I>&, T*,                     \
                                 const DenseBatchView<const T>&, const DenseBatchView<const T>&, \
                                 T, T);
SPBMM_GPU_INSTANTIATE(float, std::int32_t)
SPBMM_GPU_INSTANTIATE(float, std::int64_t)
SPBMM_GPU_INSTANTIATE(double, std::int32_t)
SPBMM_GPU_INSTANTIATE(double, std::int64_t)
#undef SPBMM_GPU_INSTANTIATE

template void Executor::gemm<float>(const DeviceDenseBatchView<const float>&,
                                    const DeviceDenseBatchView<const float>&,
                                    const DeviceDenseBatchView<float>&, float, float,
                                    const Options&);
template void Executor::gemm<double>(const DeviceDenseBatchView<const double>&,
                                     const DeviceDenseBatchView<const double>&,
                                     const DeviceDenseBatchView<double>&, double, double,
                                     const Options&);
template void gemm_into<float>(Executor&, const DenseBatchView<float>&,
                               const DenseBatchView<const float>&,
                               const DenseBatchView<const float>&, float, float, const Options&);
template void gemm_into<double>(Executor&, const DenseBatchView<double>&,
                                const DenseBatchView<const double>&,
                                const DenseBatchView<const double>&, double, double,
                                const Options&);

}  // namespace spbmm::gpu
