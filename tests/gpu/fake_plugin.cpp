// A stand-in for the CUDA plugin, for tests on machines without a device: "device" memory is host
// memory and every product runs on the CPU kernels, so the code around the device (figure
// measurement and cache, the CPU/GPU batch split run at the same time, SDDMM's host side, the
// handling of a failed device call) runs as it does with one. SPBMM_FAKE_FAIL=1 makes every
// product call fail with a DeviceError before it writes anything.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/dense_dense.hpp"
#include "kernels/cuda/plugin.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/config.hpp"
#include "spbmm/error.hpp"

namespace spbmm::gpu::plugin {

struct CudaExecutor {
  Report report;
};

namespace {

void maybe_fail(const char* what) {
  const char* f = std::getenv("SPBMM_FAKE_FAIL");
  if (f != nullptr && std::strcmp(f, "1") == 0) {
    throw DeviceError(std::string(what) + ": fake device failure (SPBMM_FAKE_FAIL=1)");
  }
}

bool detect(std::string* status, DeviceIdentity* identity) noexcept {
  *status = "CUDA device 0 of 1: spbmm fake device (host memory, CPU kernels)";
  *identity = {"spbmm fake device", 1, 0, 1};
  return true;
}

void* alloc(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p == nullptr) throw DeviceError("fake cudaMalloc: out of memory");
  return p;
}
void release(void* p) noexcept { std::free(p); }
void upload(void* d, const void* h, std::size_t n) { std::memcpy(d, h, n); }
void download(void* h, const void* d, std::size_t n) { std::memcpy(h, d, n); }
void zero(void* d, std::size_t n) { std::memset(d, 0, n); }

CudaExecutor* executor_create(int) { return new CudaExecutor; }
void executor_destroy(CudaExecutor* e) noexcept { delete e; }
void synchronize(CudaExecutor&) {}
void* stream(const CudaExecutor&) noexcept { return nullptr; }
const Report& last_report(const CudaExecutor& e) noexcept { return e.report; }
Bandwidth measure_bandwidth(CudaExecutor&, std::size_t) {
  Bandwidth b;
  b.h2d_bytes_per_s = 12e9;
  b.d2h_bytes_per_s = 13e9;
  b.latency_s = 2e-6;
  b.measured = true;
  set_bandwidth(b);
  return b;
}

template <class T>
DenseView<const T> host(const DeviceDenseView<const T>& v) {
  return DenseView<const T>(v.data, v.rows, v.cols, v.layout, v.ld);
}
template <class T>
DenseView<T> host(const DeviceDenseView<T>& v) {
  return DenseView<T>(v.data, v.rows, v.cols, v.layout, v.ld);
}

template <class T, class I>
void spmm_views(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a,
                const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                T alpha, T beta, const Options& o) {
  ex.report = Report{};
  ex.report.choice.path = Path::PerEntry;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::size_t ai = a.size() == 1 ? 0 : i;
    const CsrView<T, I> av{a.rows(ai), a.cols(ai), a.row_ptr(ai), a.col_idx(ai), a.values(ai)};
    kernels::reference::csr_dense<T, I>(o.op_a, o.op_b, alpha, av, b[b.size() == 1 ? 0 : i], beta,
                                        c[i]);
    ++ex.report.calls;
  }
}

template <class T, class I>
void spmm(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, const DeviceDenseBatchView<const T>& b,
          const DeviceDenseBatchView<T>& c, T alpha, T beta, const Options& o) {
  maybe_fail("spmm");
  std::vector<DenseView<const T>> hb;
  std::vector<DenseView<T>> hc;
  for (const auto& v : b.entries()) hb.push_back(host(v));
  for (const auto& v : c.entries()) hc.push_back(host(v));
  spmm_views(ex, a, hb, hc, alpha, beta, o);
}

// Host operands: the product goes to a copy of C, which replaces C only when it is complete.
template <class T, class I>
void bmm_into(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, const DenseBatchView<T>& c,
              const DenseBatchView<const T>& b, T alpha, T beta, const Options& o) {
  maybe_fail("bmm_into");
  std::vector<std::vector<T>> copies(c.size());
  std::vector<DenseView<T>> tmp;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const DenseView<T>& v = c[i];
    copies[i].resize(static_cast<std::size_t>(v.rows * v.cols));
    tmp.emplace_back(copies[i].data(), v.rows, v.cols);
    for (std::int64_t r = 0; r < v.rows; ++r)
      for (std::int64_t j = 0; j < v.cols; ++j) tmp[i](r, j) = v(r, j);
  }
  spmm_views(ex, a, b.entries(), tmp, alpha, beta, o);
  for (std::size_t i = 0; i < c.size(); ++i) {
    for (std::int64_t r = 0; r < c[i].rows; ++r)
      for (std::int64_t j = 0; j < c[i].cols; ++j) c[i](r, j) = tmp[i](r, j);
  }
}

template <class T>
void gemm_views(CudaExecutor& ex, const std::vector<DenseView<const T>>& a,
                const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                T alpha, T beta, const Options& o) {
  ex.report = Report{};
  ex.report.choice.path = Path::PerEntry;
  for (std::size_t i = 0; i < c.size(); ++i) {
    kernels::cpu::dense_dense<T>(o.op_a, o.op_b, alpha, a[a.size() == 1 ? 0 : i],
                                 b[b.size() == 1 ? 0 : i], beta, c[i]);
    ++ex.report.calls;
  }
}

template <class T>
void gemm(CudaExecutor& ex, const DeviceDenseBatchView<const T>& a,
          const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c, T alpha, T beta,
          const Options& o) {
  maybe_fail("gemm");
  std::vector<DenseView<const T>> ha, hb;
  std::vector<DenseView<T>> hc;
  for (const auto& v : a.entries()) ha.push_back(host(v));
  for (const auto& v : b.entries()) hb.push_back(host(v));
  for (const auto& v : c.entries()) hc.push_back(host(v));
  gemm_views(ex, ha, hb, hc, alpha, beta, o);
}

template <class T>
void gemm_into(CudaExecutor& ex, const DenseBatchView<T>& c, const DenseBatchView<const T>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& o) {
  maybe_fail("gemm_into");
  gemm_views(ex, a.entries(), b.entries(), c.entries(), alpha, beta, o);
}

template <class T, class I>
void sddmm_views(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a,
                 const std::vector<DenseView<const T>>& x, const std::vector<DenseView<const T>>& y,
                 T* out, T alpha, T beta) {
  if (x.size() != a.size() || y.size() != a.size()) throw ShapeError("fake sddmm: batch sizes");
  ex.report = Report{};
  ex.report.choice.path = Path::PerEntry;
  std::vector<kernels::SddmmTask<T, I>> tasks(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (x[i].rows != a.rows(i) || y[i].rows != a.cols(i) || x[i].cols != y[i].cols) {
      throw ShapeError("fake sddmm: entry " + std::to_string(i) + " shapes");
    }
    auto& t = tasks[i];
    t.rows = a.rows(i);
    t.nnz = a.nnz(i);
    t.row_ptr = a.row_ptr(i);
    t.col_idx = a.col_idx(i);
    t.a_values = a.values(i);
    t.x = x[i];
    t.y = y[i];
    t.out = out + (a.values(i) - a.all_values());
    ++ex.report.calls;
  }
  kernels::reference::sddmm<T, I>(std::span<const kernels::SddmmTask<T, I>>(tasks), alpha, beta, 1);
}

template <class T, class I>
void sddmm(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, const DeviceDenseBatchView<const T>& x,
           const DeviceDenseBatchView<const T>& y, T* out, T alpha, T beta) {
  maybe_fail("sddmm");
  std::vector<DenseView<const T>> hx, hy;
  for (const auto& v : x.entries()) hx.push_back(host(v));
  for (const auto& v : y.entries()) hy.push_back(host(v));
  sddmm_views(ex, a, hx, hy, out, alpha, beta);
}

template <class T, class I>
void sddmm_into(CudaExecutor& ex, const DeviceCsrBatch<T, I>& a, T* out,
                const DenseBatchView<const T>& x, const DenseBatchView<const T>& y, T alpha,
                T beta) {
  maybe_fail("sddmm_into");
  std::vector<T> tmp(static_cast<std::size_t>(a.total_nnz()));
  sddmm_views(ex, a, x.entries(), y.entries(), tmp.data(), alpha, beta);
  std::memcpy(out, tmp.data(), tmp.size() * sizeof(T));
}

template <class T, class I>
constexpr SparseOps<T, I> kSparse{&spmm<T, I>, &bmm_into<T, I>, &sddmm<T, I>, &sddmm_into<T, I>};
template <class T>
constexpr DenseOps<T> kDense{&gemm<T>, &gemm_into<T>};

const Backend kBackend{
    kPluginAbi,
    SPBMM_VERSION,
    &detect,
    &alloc,
    &release,
    &upload,
    &download,
    &zero,
    &executor_create,
    &executor_destroy,
    &synchronize,
    &stream,
    &last_report,
    &measure_bandwidth,
    kSparse<float, std::int32_t>,
    kSparse<float, std::int64_t>,
    kSparse<double, std::int32_t>,
    kSparse<double, std::int64_t>,
    kDense<float>,
    kDense<double>,
};

}  // namespace
}  // namespace spbmm::gpu::plugin

extern "C" __attribute__((visibility("default"))) const spbmm::gpu::plugin::Backend*
spbmm_cuda_backend(unsigned abi) {
  return abi == spbmm::gpu::plugin::kPluginAbi ? &spbmm::gpu::plugin::kBackend : nullptr;
}
