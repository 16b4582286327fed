// The GPU backend of a build without CUDA: the same API, where every device call throws
// NotCompiled.
#include <cstdint>
#include <string>
#include <utility>

#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"

namespace spbmm::gpu {
namespace {
const std::string kWhy = "spbmm was built without CUDA; reconfigure with -Dcuda=enabled";
[[noreturn]] void not_compiled() { throw NotCompiled(kWhy); }
}  // namespace

bool available() noexcept { return false; }
const std::string& status() noexcept { return kWhy; }
void require_device() { not_compiled(); }
const DeviceIdentity& identity() noexcept {
  static const DeviceIdentity none;
  return none;
}

DeviceBuffer::DeviceBuffer(std::size_t /*bytes*/) { not_compiled(); }
DeviceBuffer::~DeviceBuffer() = default;
DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(other.data_), bytes_(other.bytes_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  std::swap(data_, other.data_);
  std::swap(bytes_, other.bytes_);
  return *this;
}
void DeviceBuffer::upload(const void*, std::size_t, std::size_t) { not_compiled(); }
void DeviceBuffer::download(void*, std::size_t, std::size_t) const { not_compiled(); }
void DeviceBuffer::fill_zero() { not_compiled(); }

struct Executor::Impl {};

Executor::Executor(int /*device*/) { not_compiled(); }
Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;
void Executor::synchronize() { not_compiled(); }
void* Executor::stream() const noexcept { return nullptr; }
const Report& Executor::last_report() const noexcept {
  static const Report none;
  return none;
}
Bandwidth Executor::measure_bandwidth(std::size_t) { not_compiled(); }

template <Value T, Index I>
void Executor::spmm(const DeviceCsrBatch<T, I>&, const In<DeviceDenseBatchView<const T>>&,
                    const In<DeviceDenseBatchView<T>>&, In<T>, In<T>, const Options&) {
  not_compiled();
}
template <Value T, Index I>
void Executor::sddmm(const DeviceCsrBatch<T, I>&, const In<DeviceDenseBatchView<const T>>&,
                     const In<DeviceDenseBatchView<const T>>&, T*, In<T>, In<T>) {
  not_compiled();
}
template <Value T, Index I>
void sddmm_into(Executor&, const DeviceCsrBatch<T, I>&, T*, const In<DenseBatchView<const T>>&,
                const In<DenseBatchView<const T>>&, In<T>, In<T>) {
  not_compiled();
}
template <Value T>
void Executor::gemm(const In<DeviceDenseBatchView<const T>>&,
                    const In<DeviceDenseBatchView<const T>>&, const DeviceDenseBatchView<T>&, In<T>,
                    In<T>, const Options&) {
  not_compiled();
}
template <Value T, Index I>
void bmm_into(Executor&, const DeviceCsrBatch<T, I>&, const In<DenseBatchView<T>>&,
              const In<DenseBatchView<const T>>&, In<T>, In<T>, const Options&) {
  not_compiled();
}
template <Value T, Index I>
void bmm_into(Executor&, const CsrBatch<T, I>&, const In<DenseBatchView<T>>&,
              const In<DenseBatchView<const T>>&, In<T>, In<T>, const Options&) {
  not_compiled();
}
template <Value T, Index I>
DenseBatch<T> bmm(Executor&, const DeviceCsrBatch<T, I>&, const DenseBatch<T>&, const Options&,
                  In<T>) {
  not_compiled();
}
template <Value T>
void gemm_into(Executor&, const DenseBatchView<T>&, const In<DenseBatchView<const T>>&,
               const In<DenseBatchView<const T>>&, In<T>, In<T>, const Options&) {
  not_compiled();
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
