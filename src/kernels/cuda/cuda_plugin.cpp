// The CUDA plugin (libspbmm_cuda.so): device detection, device memory, and the executor that
// issues cuSPARSE SpMM (strided-batch, stacked, block-diagonal or per entry) and cuBLAS GEMM calls.
// libspbmm opens it on the first device query and reaches it only through plugin::Backend.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cuda/layout.hpp"
#include "kernels/cuda/plugin.hpp"
#include "spbmm/config.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"

namespace spbmm::gpu::plugin {
namespace {

// ---------------------------------------------------------------------------------------------
// Status checks: every failure becomes a DeviceError naming the call and carrying the status text.

[[noreturn]] void fail(const char* call, const std::string& text) {
  throw DeviceError(std::string(call) + " failed: " + text);
}
void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess) {
    fail(call, std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")");
  }
}
std::string text(cusparseStatus_t s) {
  return std::string(cusparseGetErrorString(s)) + " (" + cusparseGetErrorName(s) + ")";
}
void check(cusparseStatus_t s, const char* call) {
  if (s != CUSPARSE_STATUS_SUCCESS) fail(call, text(s));
}
void check(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    fail(call, std::string(cublasGetStatusString(s)) + " (" + cublasGetStatusName(s) + ")");
  }
}
#define SPBMM_CALL(fn, ...) check(fn(__VA_ARGS__), #fn)

// ---------------------------------------------------------------------------------------------
// Detection

struct Detection {
  bool ok = false;
  std::string status;
  DeviceIdentity identity;
};

Detection detect() {
  Detection d;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    d.status = std::string("no CUDA device: cudaGetDeviceCount failed: ") + cudaGetErrorString(e) +
               " (" + cudaGetErrorName(e) + ")";
    return d;
  }
  if (count <= 0) {
    d.status = "no CUDA device: cudaGetDeviceCount found 0 devices";
    return d;
  }
  cudaDeviceProp p{};
  const cudaError_t pe = cudaGetDeviceProperties(&p, 0);
  if (pe != cudaSuccess) {
    d.status = std::string("no usable CUDA device: cudaGetDeviceProperties failed: ") +
               cudaGetErrorString(pe) + " (" + cudaGetErrorName(pe) + ")";
    return d;
  }
  int runtime = 0;
  int driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  char line[512];
  std::snprintf(line, sizeof line,
                "CUDA device 0 of %d: %s (sm_%d%d, %.1f GiB), driver %d.%d, runtime %d.%d", count,
                p.name, p.major, p.minor,
                static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), driver / 1000,
                (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
  d.ok = true;
  d.status = line;
  d.identity = {p.name, p.major, p.minor, driver};
  return d;
}

bool detect_device(std::string* status, DeviceIdentity* identity) noexcept {
  try {
    Detection d = detect();
    *status = d.status;
    *identity = std::move(d.identity);
    return d.ok;
  } catch (const std::exception& e) {
    *status = std::string("no CUDA device: ") + e.what();
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Type mapping and RAII descriptors

template <class T>
constexpr cudaDataType_t kValueType = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_64F;
template <class T>
constexpr cublasComputeType_t kComputeType =
    std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_64F;
template <class I>
constexpr cusparseIndexType_t kIndexType = sizeof(I) == 4 ? CUSPARSE_INDEX_32I : CUSPARSE_INDEX_64I;

cusparseOrder_t order(Layout l) {
  return l == Layout::RowMajor ? CUSPARSE_ORDER_ROW : CUSPARSE_ORDER_COL;
}
cusparseOperation_t sparse_op(Op o) {
  return o == Op::N ? CUSPARSE_OPERATION_NON_TRANSPOSE : CUSPARSE_OPERATION_TRANSPOSE;
}
cublasOperation_t blas_op(Op o) { return o == Op::N ? CUBLAS_OP_N : CUBLAS_OP_T; }
Op flip(Op o) { return o == Op::N ? Op::T : Op::N; }

cusparseSpMMAlg_t sparse_alg(SpmmAlgorithm a) {
  switch (a) {
    case SpmmAlgorithm::CsrAlg1:
      return CUSPARSE_SPMM_CSR_ALG1;
    case SpmmAlgorithm::CsrAlg2:
      return CUSPARSE_SPMM_CSR_ALG2;
    case SpmmAlgorithm::CsrAlg3:
      return CUSPARSE_SPMM_CSR_ALG3;
    case SpmmAlgorithm::Default:
      break;
  }
  return CUSPARSE_SPMM_ALG_DEFAULT;
}

class SpMat {
 public:
  SpMat() = default;
  template <class T, class I>
  SpMat(std::int64_t rows, std::int64_t cols, std::int64_t nnz, const I* row_ptr, const I* col_idx,
        const T* values) {
    // cuSPARSE only reads A; the non-const descriptor is what cusparseCsrSetStridedBatch takes.
    SPBMM_CALL(cusparseCreateCsr, &d_, rows, cols, nnz, const_cast<I*>(row_ptr),
               const_cast<I*>(col_idx), const_cast<T*>(values), kIndexType<I>, kIndexType<I>,
               CUSPARSE_INDEX_BASE_ZERO, kValueType<T>);
  }
  SpMat(SpMat&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  SpMat& operator=(SpMat&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~SpMat() {
    if (d_ != nullptr) cusparseDestroySpMat(d_);
  }
  cusparseSpMatDescr_t get() const { return d_; }

 private:
  cusparseSpMatDescr_t d_ = nullptr;
};

class DnMat {
 public:
  DnMat() = default;
  DnMat(std::int64_t rows, std::int64_t cols, std::int64_t ld, const void* data,
        cudaDataType_t type, Layout layout) {
    // cuSPARSE only reads B; the same non-const descriptor type serves B and C.
    SPBMM_CALL(cusparseCreateDnMat, &d_, rows, cols, ld, const_cast<void*>(data), type,
               order(layout));
  }
  DnMat(DnMat&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  DnMat& operator=(DnMat&& o) noexcept {
    std::swap(d_, o.d_);
    return *this;
  }
  ~DnMat() {
    if (d_ != nullptr) cusparseDestroyDnMat(d_);
  }
  cusparseDnMatDescr_t get() const { return d_; }

 private:
  cusparseDnMatDescr_t d_ = nullptr;
};

int to_int(std::int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) {
    throw LimitError(std::string(what) + " = " + std::to_string(v) +
                     " exceeds the 32-bit range cuBLAS takes");
  }
  return static_cast<int>(v);
}

std::size_t align_up(std::size_t bytes) { return (bytes + 255) / 256 * 256; }

class Pinned {
 public:
  Pinned() = default;
  Pinned(const Pinned&) = delete;
  Pinned& operator=(const Pinned&) = delete;
  ~Pinned() { release(); }
  void reserve(std::size_t bytes) {
    if (bytes <= bytes_) return;
    release();
    SPBMM_CALL(cudaMallocHost, &data_, bytes);
    bytes_ = bytes;
  }
  char* data() const { return static_cast<char*>(data_); }

 private:
  void release() {
    if (data_ != nullptr) cudaFreeHost(data_);
    data_ = nullptr;
    bytes_ = 0;
  }
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// cuSPARSE's own logger writes to stderr; spbmm reports refusals itself (Report) and falls back,
// so the logger stays off unless the user asked for it through CUSPARSE_LOG_LEVEL.
void quiet_cusparse_logger() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("CUSPARSE_LOG_LEVEL") == nullptr) cusparseLoggerSetLevel(0);
  });
}

constexpr int kSideStreams = 4;
constexpr std::size_t kMaxSpmmBatch = 65535;  // cuSPARSE's documented batch limit for SpMM
constexpr std::size_t kStageChunk = 4 << 20;  // bytes packed before their copy is issued

// ---------------------------------------------------------------------------------------------
// Device memory

void* alloc(std::size_t bytes) {
  void* data = nullptr;
  const cudaError_t e = cudaMalloc(&data, bytes);
  if (e != cudaSuccess) {
    fail("cudaMalloc", std::to_string(bytes) + " bytes: " + cudaGetErrorString(e) + " (" +
                           cudaGetErrorName(e) + ")");
  }
  return data;
}

void release(void* device) noexcept { cudaFree(device); }

void upload(void* device, const void* host, std::size_t bytes) {
  SPBMM_CALL(cudaMemcpy, device, host, bytes, cudaMemcpyHostToDevice);
}

void download(void* host, const void* device, std::size_t bytes) {
  SPBMM_CALL(cudaMemcpy, host, device, bytes, cudaMemcpyDeviceToHost);
}

void zero(void* device, std::size_t bytes) { SPBMM_CALL(cudaMemset, device, 0, bytes); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Executor

struct CudaExecutor {
  int device = 0;
  cudaStream_t stream = nullptr;
  std::array<cudaStream_t, kSideStreams> side{};
  std::array<cudaEvent_t, kSideStreams> side_done{};
  cudaEvent_t fork = nullptr;
  cusparseHandle_t sparse = nullptr;
  cublasHandle_t blas = nullptr;
  DeviceBuffer workspace;
  DeviceBuffer staging;    // device side of host operands
  DeviceBuffer sddmm_out;  // SDDMM's values for host outputs
  Pinned pinned_in;
  Pinned pinned_out;
  Report report;

  ~CudaExecutor() {
    if (blas != nullptr) cublasDestroy(blas);
    if (sparse != nullptr) cusparseDestroy(sparse);
    for (auto& e : side_done) {
      if (e != nullptr) cudaEventDestroy(e);
    }
    if (fork != nullptr) cudaEventDestroy(fork);
    for (auto& s : side) {
      if (s != nullptr) cudaStreamDestroy(s);
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  void activate() const { SPBMM_CALL(cudaSetDevice, device); }

  // Grow-only: after the first calls of a given size, no call allocates.
  void* workspace_for(std::size_t bytes) {
    if (bytes > workspace.size()) workspace = DeviceBuffer(align_up(bytes));
    return workspace.data();
  }
};

namespace {

CudaExecutor* executor_create(int device) {
  auto owner = std::make_unique<CudaExecutor>();
  CudaExecutor& im = *owner;
  im.device = device;
  im.activate();
  quiet_cusparse_logger();
  // Blocking streams: the synchronous copies on the legacy default stream are ordered with them.
  SPBMM_CALL(cudaStreamCreateWithFlags, &im.stream, cudaStreamDefault);
  for (auto& s : im.side) SPBMM_CALL(cudaStreamCreateWithFlags, &s, cudaStreamDefault);
  for (auto& e : im.side_done) SPBMM_CALL(cudaEventCreateWithFlags, &e, cudaEventDisableTiming);
  SPBMM_CALL(cudaEventCreateWithFlags, &im.fork, cudaEventDisableTiming);
  SPBMM_CALL(cusparseCreate, &im.sparse);
  SPBMM_CALL(cusparseSetStream, im.sparse, im.stream);
  SPBMM_CALL(cublasCreate, &im.blas);
  SPBMM_CALL(cublasSetStream, im.blas, im.stream);
  return owner.release();
}

void executor_destroy(CudaExecutor* ex) noexcept { delete ex; }

void synchronize(CudaExecutor& im) {
  im.activate();
  SPBMM_CALL(cudaStreamSynchronize, im.stream);
}

void* stream(const CudaExecutor& im) noexcept { return im.stream; }
const Report& last_report(const CudaExecutor& im) noexcept { return im.report; }

}  // namespace

namespace {

// Puts the handles back on the main stream however the block is left.
struct StreamGuard {
  CudaExecutor& im;
  ~StreamGuard() {
    cusparseSetStream(im.sparse, im.stream);
    cublasSetStream(im.blas, im.stream);
  }
};

// C = beta * C on `stream` (beta == 0 writes zeros without reading C).
template <class T>
void scale(CudaExecutor& im, cudaStream_t stream, const DeviceDenseView<T>& c, T beta) {
  if (c.rows == 0 || c.cols == 0 || beta == T(1)) return;
  const bool row = c.layout == Layout::RowMajor;
  const std::int64_t inner = row ? c.cols : c.rows;
  const std::int64_t outer = row ? c.rows : c.cols;
  if (beta == T(0)) {
    SPBMM_CALL(cudaMemset2DAsync, c.data, static_cast<std::size_t>(c.ld) * sizeof(T), 0,
               static_cast<std::size_t>(inner) * sizeof(T), static_cast<std::size_t>(outer),
               stream);
    return;
  }
  SPBMM_CALL(cublasSetStream, im.blas, stream);
  const T zero = T(0);
  const int m = to_int(inner, "rows of C");
  const int n = to_int(outer, "columns of C");
  const int ld = to_int(c.ld, "leading dimension of C");
  if constexpr (std::is_same_v<T, float>) {
    SPBMM_CALL(cublasSgeam, im.blas, CUBLAS_OP_N, CUBLAS_OP_N, m, n, &beta, c.data, ld, &zero,
               c.data, ld, c.data, ld);
  } else {
    SPBMM_CALL(cublasDgeam, im.blas, CUBLAS_OP_N, CUBLAS_OP_N, m, n, &beta, c.data, ld, &zero,
               c.data, ld, c.data, ld);
  }
  SPBMM_CALL(cublasSetStream, im.blas, im.stream);
}

// A dense operand as cuSPARSE is told about it (optionally a strided batch).
struct DenseDesc {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 1;
  const void* data = nullptr;
  Layout layout = Layout::RowMajor;
  int batch = 0;  // 0: not batched
  std::int64_t stride = 0;
};

template <class T>
DenseDesc desc(const DeviceDenseView<T>& v) {
  return DenseDesc{v.rows, v.cols, v.ld, v.data, v.layout, 0, 0};
}

// The same memory read in the other layout is the transpose.
DenseDesc transposed(DenseDesc d) {
  std::swap(d.rows, d.cols);
  d.layout = d.layout == Layout::RowMajor ? Layout::ColMajor : Layout::RowMajor;
  return d;
}

DnMat make_dense(const DenseDesc& d, cudaDataType_t type) {
  DnMat m(d.rows, d.cols, d.ld, d.data, type, d.layout);
  if (d.batch > 0) SPBMM_CALL(cusparseDnMatSetStridedBatch, m.get(), d.batch, d.stride);
  return m;
}

// The operands of one cusparseSpMM.
struct SpmmCall {
  SpMat a;
  DnMat b;
  DnMat c;
  DenseDesc b_desc;
  cusparseOperation_t op_a = CUSPARSE_OPERATION_NON_TRANSPOSE;
  Op op_b = Op::N;
  SpmmAlgorithm alg = SpmmAlgorithm::Default;
  std::size_t bytes = 0;

  void set_b(const DenseDesc& d, Op op, cudaDataType_t type) {
    b = make_dense(d, type);
    b_desc = d;
    op_b = op;
  }
};

// Sizes the workspace of `call`. cuSPARSE does not document every combination of algorithm,
// op(B) and layouts it accepts, so when it refuses one (NOT_SUPPORTED or INVALID_VALUE) this
// tries CUSPARSE_SPMM_ALG_DEFAULT, then B described as its transpose in the other layout with
// op(B) flipped (the same memory and the same product), and notes what it settled on.
template <class T>
void size_call(CudaExecutor& im, SpmmCall& call, const T* alpha, const T* beta, Report& report) {
  auto try_size = [&] {
    return cusparseSpMM_bufferSize(im.sparse, call.op_a, sparse_op(call.op_b), alpha, call.a.get(),
                                   call.b.get(), beta, call.c.get(), kValueType<T>,
                                   sparse_alg(call.alg), &call.bytes);
  };
  const cusparseStatus_t first = try_size();
  if (first == CUSPARSE_STATUS_SUCCESS) return;
  auto refused = [](cusparseStatus_t st) {
    return st == CUSPARSE_STATUS_NOT_SUPPORTED || st == CUSPARSE_STATUS_INVALID_VALUE;
  };
  if (!refused(first)) check(first, "cusparseSpMM_bufferSize");
  const SpmmAlgorithm wanted = call.alg;
  const DenseDesc b = call.b_desc;
  const Op op_b = call.op_b;
  struct Variant {
    SpmmAlgorithm alg;
    bool flip_b;
  };
  for (const Variant v : {Variant{SpmmAlgorithm::Default, false}, Variant{wanted, true},
                          Variant{SpmmAlgorithm::Default, true}}) {
    call.alg = v.alg;
    if (v.flip_b) call.set_b(transposed(b), flip(op_b), kValueType<T>);
    const cusparseStatus_t st = try_size();
    if (st == CUSPARSE_STATUS_SUCCESS) {
      // Once per call, not once per entry.
      if (report.choice.reason.find("cuSPARSE refused") != std::string::npos) return;
      report.choice.reason += std::string("; cuSPARSE refused ") + to_string(wanted) + " here (" +
                              text(first) + "), using " + to_string(v.alg) +
                              (v.flip_b ? " with B read in the other layout" : "");
      report.choice.algorithm = v.alg;
      if (v.alg != wanted) report.choice.deterministic = false;
      return;
    }
    if (!refused(st)) check(st, "cusparseSpMM_bufferSize");
  }
  check(first, "cusparseSpMM_bufferSize");
}

template <class T>
void issue(CudaExecutor& im, const SpmmCall& call, const T* alpha, const T* beta, void* workspace,
           Report& report) {
  SPBMM_CALL(cusparseSpMM, im.sparse, call.op_a, sparse_op(call.op_b), alpha, call.a.get(),
             call.b.get(), beta, call.c.get(), kValueType<T>, sparse_alg(call.alg), workspace);
  ++report.calls;
}

// One SpMM on the main stream, workspace from the executor.
template <class T>
void run_one(CudaExecutor& im, SpmmCall& call, T alpha, T beta, Report& report) {
  size_call(im, call, &alpha, &beta, report);
  issue(im, call, &alpha, &beta, im.workspace_for(call.bytes), report);
}

// A B entry stored in the other layout than C is described as its transpose in C's layout (the
// same memory), with op(B) flipped, so every SpMM sees B and C in one order.
template <class T, class I>
SpmmCall entry_call(const DeviceCsrBatch<T, I>& a, std::size_t ai,
                    const DeviceDenseView<const T>& b, const DeviceDenseView<T>& c,
                    const Options& o, SpmmAlgorithm alg) {
  SpmmCall call;
  call.a = SpMat(a.rows(ai), a.cols(ai), a.nnz(ai), a.row_ptr(ai), a.col_idx(ai), a.values(ai));
  call.op_a = sparse_op(o.op_a);
  if (b.layout == c.layout) {
    call.set_b(desc(b), o.op_b, kValueType<T>);
  } else {
    call.set_b(transposed(desc(b)), flip(o.op_b), kValueType<T>);
  }
  call.c = make_dense(desc(c), kValueType<T>);
  call.alg = alg;
  return call;
}

template <class T, class I>
bool entry_empty(const DeviceCsrBatch<T, I>& a, std::size_t ai, const DeviceDenseView<T>& c) {
  return c.rows == 0 || c.cols == 0 || a.rows(ai) == 0 || a.cols(ai) == 0 || a.nnz(ai) == 0;
}

// One SpMM per entry, spread round-robin over the side streams, each with its own workspace
// slice; the main stream waits for all of them.
template <class T, class I>
void run_per_entry(CudaExecutor& im, const DeviceCsrBatch<T, I>& a,
                   const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c,
                   T alpha, T beta, const Options& o, Report& report) {
  const std::size_t n = c.size();
  const std::size_t ks = std::min<std::size_t>(kSideStreams, n);
  std::vector<SpmmCall> calls(n);
  std::vector<bool> empty(n);
  std::size_t slot = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t ai = a.size() == 1 ? 0 : i;
    const std::size_t bi = b.size() == 1 ? 0 : i;
    empty[i] = entry_empty(a, ai, c[i]);
    if (empty[i]) continue;
    calls[i] = entry_call(a, ai, b[bi], c[i], o, report.choice.algorithm);
    size_call(im, calls[i], &alpha, &beta, report);
    slot = std::max(slot, align_up(calls[i].bytes));
  }
  char* ws = static_cast<char*>(im.workspace_for(std::max<std::size_t>(slot * ks, 1)));
  if (n == 1) {
    if (empty[0]) {
      scale(im, im.stream, c[0], beta);
      return;
    }
    issue(im, calls[0], &alpha, &beta, ws, report);
    return;
  }
  StreamGuard guard{im};
  SPBMM_CALL(cudaEventRecord, im.fork, im.stream);
  for (std::size_t s = 0; s < ks; ++s) SPBMM_CALL(cudaStreamWaitEvent, im.side[s], im.fork, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = i % ks;
    if (empty[i]) {
      scale(im, im.side[s], c[i], beta);
      continue;
    }
    SPBMM_CALL(cusparseSetStream, im.sparse, im.side[s]);
    issue(im, calls[i], &alpha, &beta, ws + s * slot, report);
  }
  for (std::size_t s = 0; s < ks; ++s) {
    SPBMM_CALL(cudaEventRecord, im.side_done[s], im.side[s]);
    SPBMM_CALL(cudaStreamWaitEvent, im.stream, im.side_done[s], 0);
  }
}

// One strided-batch SpMM per 65,535 entries. cuSPARSE wants the same batch count on A, B and C;
// a shared operand (a batch of one A or one B) gets that count with a batch stride of 0.
// Batched A entries are read at offsetsBatchStride = rows + 1 (each entry's own row pointers,
// starting at 0) and columnsValuesBatchStride = nnz; choose_spmm only sends A batches whose
// entries all have the same row pointers.
template <class T, class I>
void run_strided(CudaExecutor& im, const DeviceCsrBatch<T, I>& a,
                 const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c, T alpha,
                 T beta, const Options& o, Report& report) {
  std::int64_t sb = 0;
  std::int64_t sc = 0;
  if (b.size() > 1) detail::is_strided(b.entries(), &sb);
  detail::is_strided(c.entries(), &sc);
  const std::size_t n = c.size();
  for (std::size_t start = 0; start < n; start += kMaxSpmmBatch) {
    const int count = static_cast<int>(std::min(kMaxSpmmBatch, n - start));
    const std::size_t ai = a.size() == 1 ? 0 : start;
    const std::size_t bi = b.size() == 1 ? 0 : start;
    SpmmCall call = entry_call(a, ai, b[bi], c[start], o, report.choice.algorithm);
    if (a.size() > 1) {
      SPBMM_CALL(cusparseCsrSetStridedBatch, call.a.get(), count, a.rows(0) + 1, a.nnz(0));
    } else {
      SPBMM_CALL(cusparseCsrSetStridedBatch, call.a.get(), count, 0, 0);
    }
    DenseDesc d = call.b_desc;
    d.batch = count;
    d.stride = b.size() > 1 ? sb : 0;
    call.set_b(d, call.op_b, kValueType<T>);
    DenseDesc dc = desc(c[start]);
    dc.batch = count;
    dc.stride = sc;
    call.c = make_dense(dc, kValueType<T>);
    run_one(im, call, alpha, beta, report);
  }
}

}  // namespace

template <class T, class I>
void spmm(CudaExecutor& im, const DeviceCsrBatch<T, I>& a, const DeviceDenseBatchView<const T>& b,
          const DeviceDenseBatchView<T>& c, T alpha, T beta, const Options& o) {
  for (std::size_t i = 0; i < b.size(); ++i) detail::check_view(b[i], "B", i);
  for (std::size_t i = 0; i < c.size(); ++i) detail::check_view(c[i], "C", i);
  const std::size_t n = detail::broadcast_batch(a.size(), b.size(), c.size());
  SpmmShape s;
  s.batch_a = a.size();
  s.batch_b = b.size();
  s.batch_c = n;
  s.a_uniform = a.is_uniform();
  s.a_same_row_pattern = a.same_row_pattern();
  s.a_same_cols = a.same_cols();
  s.a_stacked = a.has_stacked();
  s.a_block_diagonal = a.has_block_diagonal();
  std::int64_t stride = 0;
  s.b_strided = detail::is_strided(b.entries(), &stride);
  s.c_strided = detail::is_strided(c.entries(), &stride);
  s.b_stacked = detail::is_stacked(b.entries());
  s.c_stacked = detail::is_stacked(c.entries());
  s.common_n = true;
  s.all_empty = true;
  s.layout_c = n > 0 ? c[0].layout : Layout::RowMajor;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t ai = a.size() == 1 ? 0 : i;
    const std::size_t bi = b.size() == 1 ? 0 : i;
    const std::int64_t m = detail::op_rows(o.op_a, a.rows(ai), a.cols(ai));
    const std::int64_t k = detail::op_cols(o.op_a, a.rows(ai), a.cols(ai));
    detail::check_entry(i, o.op_b, m, k, b[bi], c[i]);
    const bool e = entry_empty(a, ai, c[i]);
    s.any_empty = s.any_empty || e;
    s.all_empty = s.all_empty && e;
    s.common_n = s.common_n && c[i].cols == c[0].cols;
    s.same_layout = s.same_layout && c[i].layout == s.layout_c && b[bi].layout == s.layout_c;
  }
  im.report = Report{};
  im.report.choice = choose_spmm(s, o);
  if (alpha == T(0) && n > 0) {
    im.report.choice.path = Path::Empty;
    im.report.choice.reason = "alpha = 0: C = beta * C";
  }
  Report& report = im.report;
  im.activate();
  const Path path = report.choice.path;
  switch (path) {
    case Path::Auto:
    case Path::Empty:
      for (std::size_t i = 0; i < n; ++i) scale(im, im.stream, c[i], beta);
      return;
    case Path::Single:
    case Path::PerEntry:
      run_per_entry(im, a, b, c, alpha, beta, o, report);
      return;
    case Path::StridedBatch:
      try {
        run_strided(im, a, b, c, alpha, beta, o, report);
      } catch (const DeviceError& e) {
        // cuSPARSE rejected the batched form for these operands before any product was issued
        // (C is untouched): every entry still runs, one by one.
        if (report.calls > 0) throw;
        report.choice.path = Path::PerEntry;
        report.choice.reason +=
            std::string("; strided batch rejected (") + e.what() + "), ran per entry";
        run_per_entry(im, a, b, c, alpha, beta, o, report);
      }
      return;
    case Path::Stacked: {
      // [A_0; A_1; ...] * B: the stacked row pointers with the entries' own column indices.
      SpmmCall call;
      call.a = SpMat(a.total_rows(), a.cols(0), a.total_nnz(), a.stacked_row_ptr(), a.all_col_idx(),
                     a.all_values());
      call.set_b(desc(b[0]), o.op_b, kValueType<T>);
      call.c = make_dense(
          DenseDesc{a.total_rows(), c[0].cols, c[0].ld, c[0].data, Layout::RowMajor, 0, 0},
          kValueType<T>);
      call.op_a = sparse_op(o.op_a);
      call.alg = report.choice.algorithm;
      run_one(im, call, alpha, beta, report);
      return;
    }
    case Path::BlockDiagonal: {
      // diag(A_0, A_1, ...) with B and C stacked; op(A) = T transposes each block in place.
      const bool tr = o.op_a == Op::T;
      const std::int64_t k_total = tr ? a.total_rows() : a.total_cols();
      const std::int64_t m_total = tr ? a.total_cols() : a.total_rows();
      SpmmCall call;
      call.a = SpMat(a.total_rows(), a.total_cols(), a.total_nnz(), a.stacked_row_ptr(),
                     a.block_col_idx(), a.all_values());
      call.set_b(DenseDesc{k_total, b[0].cols, b[0].ld, b[0].data, Layout::RowMajor, 0, 0}, o.op_b,
                 kValueType<T>);
      call.c = make_dense(DenseDesc{m_total, c[0].cols, c[0].ld, c[0].data, Layout::RowMajor, 0, 0},
                          kValueType<T>);
      call.op_a = sparse_op(o.op_a);
      call.alg = report.choice.algorithm;
      run_one(im, call, alpha, beta, report);
      return;
    }
  }
}

namespace {

// One GEMM entry expressed in cuBLAS's column-major terms.
template <class T>
struct BlasGemm {
  cublasOperation_t ta, tb;
  int m, n, k;
  const T* pa;
  int lda;
  const T* pb;
  int ldb;
};

// A row-major C is computed as C^T = op(B)^T * op(A)^T, which cuBLAS sees as column-major; an
// operand stored in the other layout than C's flips its op instead of being copied.
template <class T>
BlasGemm<T> blas_gemm(const DeviceDenseView<const T>& a, const DeviceDenseView<const T>& b,
                      const DeviceDenseView<T>& c, Op op_a, Op op_b, std::int64_t k) {
  const Layout frame = c.layout;
  const Op fa = a.layout == frame ? op_a : flip(op_a);
  const Op fb = b.layout == frame ? op_b : flip(op_b);
  BlasGemm<T> g{};
  g.k = to_int(k, "inner dimension");
  if (frame == Layout::ColMajor) {
    g.ta = blas_op(fa);
    g.tb = blas_op(fb);
    g.m = to_int(c.rows, "rows of C");
    g.n = to_int(c.cols, "columns of C");
    g.pa = a.data;
    g.lda = to_int(a.ld, "leading dimension of A");
    g.pb = b.data;
    g.ldb = to_int(b.ld, "leading dimension of B");
  } else {
    g.ta = blas_op(fb);
    g.tb = blas_op(fa);
    g.m = to_int(c.cols, "columns of C");
    g.n = to_int(c.rows, "rows of C");
    g.pa = b.data;
    g.lda = to_int(b.ld, "leading dimension of B");
    g.pb = a.data;
    g.ldb = to_int(a.ld, "leading dimension of A");
  }
  return g;
}

}  // namespace

template <class T>
void gemm(CudaExecutor& im, const DeviceDenseBatchView<const T>& a,
          const DeviceDenseBatchView<const T>& b, const DeviceDenseBatchView<T>& c, T alpha, T beta,
          const Options& o) {
  for (std::size_t i = 0; i < a.size(); ++i) detail::check_view(a[i], "A", i);
  for (std::size_t i = 0; i < b.size(); ++i) detail::check_view(b[i], "B", i);
  for (std::size_t i = 0; i < c.size(); ++i) detail::check_view(c[i], "C", i);
  const std::size_t n = detail::broadcast_batch(a.size(), b.size(), c.size());
  std::vector<std::int64_t> ks(n);
  bool any_empty = false;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& ai = a[a.size() == 1 ? 0 : i];
    const std::int64_t m = detail::op_rows(o.op_a, ai.rows, ai.cols);
    ks[i] = detail::op_cols(o.op_a, ai.rows, ai.cols);
    detail::check_entry(i, o.op_b, m, ks[i], b[b.size() == 1 ? 0 : i], c[i]);
    any_empty = any_empty || c[i].rows == 0 || c[i].cols == 0 || ks[i] == 0;
  }
  im.report = Report{};
  im.report.choice.algorithm = SpmmAlgorithm::Default;
  im.report.choice.deterministic = true;
  im.activate();
  std::int64_t sa = 0;
  std::int64_t sb = 0;
  std::int64_t sc = 0;
  const bool strided = n > 1 && !any_empty && alpha != T(0) &&
                       (a.size() == 1 || detail::is_strided(a.entries(), &sa)) &&
                       (b.size() == 1 || detail::is_strided(b.entries(), &sb)) &&
                       detail::is_strided(c.entries(), &sc) &&
                       n <= static_cast<std::size_t>(INT_MAX);
  if (strided) {
    im.report.choice.path = Path::StridedBatch;
    im.report.choice.reason = "uniform, evenly spaced entries: one cublasGemmStridedBatchedEx";
    const BlasGemm<T> g = blas_gemm<T>(a[0], b[0], c[0], o.op_a, o.op_b, ks[0]);
    // In the row-major frame the operands trade places, and so do their strides.
    const bool row = c[0].layout == Layout::RowMajor;
    const std::int64_t s1 = row ? sb : sa;
    const std::int64_t s2 = row ? sa : sb;
    SPBMM_CALL(cublasGemmStridedBatchedEx, im.blas, g.ta, g.tb, g.m, g.n, g.k, &alpha, g.pa,
               kValueType<T>, g.lda, s1, g.pb, kValueType<T>, g.ldb, s2, &beta, c[0].data,
               kValueType<T>, to_int(c[0].ld, "leading dimension of C"), sc, static_cast<int>(n),
               kComputeType<T>, CUBLAS_GEMM_DEFAULT);
    im.report.calls = 1;
    return;
  }
  im.report.choice.path = n == 0 ? Path::Empty : (n == 1 ? Path::Single : Path::PerEntry);
  im.report.choice.reason =
      n > 1 ? "entries differ in shape or spacing: one cublasGemmEx each" : "one cublasGemmEx";
  for (std::size_t i = 0; i < n; ++i) {
    const auto& ci = c[i];
    if (ci.rows == 0 || ci.cols == 0) continue;
    if (ks[i] == 0 || alpha == T(0)) {
      scale(im, im.stream, ci, beta);
      continue;
    }
    const BlasGemm<T> g =
        blas_gemm<T>(a[a.size() == 1 ? 0 : i], b[b.size() == 1 ? 0 : i], ci, o.op_a, o.op_b, ks[i]);
    SPBMM_CALL(cublasGemmEx, im.blas, g.ta, g.tb, g.m, g.n, g.k, &alpha, g.pa, kValueType<T>, g.lda,
               g.pb, kValueType<T>, g.ldb, &beta, ci.data, kValueType<T>,
               to_int(ci.ld, "leading dimension of C"), kComputeType<T>, CUBLAS_GEMM_DEFAULT);
    ++im.report.calls;
  }
}

Bandwidth measure_bandwidth(CudaExecutor& im, std::size_t bytes) {
  im.activate();
  bytes = std::max<std::size_t>(bytes, 1 << 20);
  Pinned host;
  host.reserve(bytes);
  std::memset(host.data(), 0, bytes);
  DeviceBuffer dev(bytes);
  cudaEvent_t t0 = nullptr;
  cudaEvent_t t1 = nullptr;
  SPBMM_CALL(cudaEventCreate, &t0);
  const cudaError_t e1 = cudaEventCreate(&t1);
  if (e1 != cudaSuccess) cudaEventDestroy(t0);
  check(e1, "cudaEventCreate");
  struct Events {
    cudaEvent_t a, b;
    ~Events() {
      cudaEventDestroy(a);
      cudaEventDestroy(b);
    }
  } events{t0, t1};
  auto best = [&](void* dst, const void* src, std::size_t n, cudaMemcpyKind kind) {
    float best_ms = std::numeric_limits<float>::max();
    for (int r = 0; r < 4; ++r) {  // the first run warms up
      SPBMM_CALL(cudaEventRecord, t0, im.stream);
      SPBMM_CALL(cudaMemcpyAsync, dst, src, n, kind, im.stream);
      SPBMM_CALL(cudaEventRecord, t1, im.stream);
      SPBMM_CALL(cudaEventSynchronize, t1);
      float ms = 0;
      SPBMM_CALL(cudaEventElapsedTime, &ms, t0, t1);
      if (r > 0) best_ms = std::min(best_ms, ms);
    }
    return static_cast<double>(best_ms) * 1e-3;
  };
  Bandwidth bw;
  const double latency = best(dev.data(), host.data(), 8, cudaMemcpyHostToDevice);
  bw.h2d_bytes_per_s = static_cast<double>(bytes) /
                       std::max(best(dev.data(), host.data(), bytes, cudaMemcpyHostToDevice), 1e-9);
  bw.d2h_bytes_per_s = static_cast<double>(bytes) /
                       std::max(best(host.data(), dev.data(), bytes, cudaMemcpyDeviceToHost), 1e-9);
  bw.latency_s = latency;
  bw.measured = true;
  set_bandwidth(bw);
  return bw;
}

// ---------------------------------------------------------------------------------------------
// Host operands

namespace {

// Copies a host matrix into tight storage in its own layout.
template <class T>
void pack(const DenseView<const T>& v, T* dst) {
  const bool row = v.layout == Layout::RowMajor;
  const std::int64_t outer = row ? v.rows : v.cols;
  const std::int64_t inner = row ? v.cols : v.rows;
  if (inner == 0 || outer == 0) return;
  if (v.ld == inner) {
    std::memcpy(dst, v.data, static_cast<std::size_t>(inner * outer) * sizeof(T));
    return;
  }
  for (std::int64_t o = 0; o < outer; ++o) {
    std::memcpy(dst + o * inner, v.data + o * v.ld, static_cast<std::size_t>(inner) * sizeof(T));
  }
}

template <class T>
void unpack(const T* src, const DenseView<T>& v) {
  const bool row = v.layout == Layout::RowMajor;
  const std::int64_t outer = row ? v.rows : v.cols;
  const std::int64_t inner = row ? v.cols : v.rows;
  if (inner == 0 || outer == 0) return;
  if (v.ld == inner) {
    std::memcpy(v.data, src, static_cast<std::size_t>(inner * outer) * sizeof(T));
    return;
  }
  for (std::int64_t o = 0; o < outer; ++o) {
    std::memcpy(v.data + o * v.ld, src + o * inner, static_cast<std::size_t>(inner) * sizeof(T));
  }
}

// Host operand groups staged on the device: each group's entries tight and back to back, all
// groups in one device buffer. Entries are packed into pinned memory and their copy is issued
// every kStageChunk bytes, so packing the rest overlaps the transfer already under way.
template <class T>
class Stage {
 public:
  // Reserves device room for the groups (in order) and sends those marked `send`.
  Stage(CudaExecutor& im, const std::vector<const std::vector<DenseView<const T>>*>& groups,
        const std::vector<bool>& send)
      : im_(im) {
    std::size_t total = 0;
    std::size_t sent_total = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) {
      starts_.push_back(total);
      for (const auto& v : *groups[g]) total += static_cast<std::size_t>(v.rows * v.cols);
      if (send[g]) sent_total = total;
    }
    starts_.push_back(total);
    if (total * sizeof(T) > im.staging.size())
      im.staging = DeviceBuffer(align_up(total * sizeof(T)));
    im.pinned_in.reserve(std::max<std::size_t>(sent_total * sizeof(T), 1));
    T* host = reinterpret_cast<T*>(im.pinned_in.data());
    T* dev = im.staging.as<T>();
    std::size_t packed = 0;
    std::size_t sent = 0;
    auto flush = [&] {
      if (packed > sent) {
        SPBMM_CALL(cudaMemcpyAsync, dev + sent, host + sent, (packed - sent) * sizeof(T),
                   cudaMemcpyHostToDevice, im.stream);
        sent = packed;
      }
    };
    views_.resize(groups.size());
    for (std::size_t g = 0; g < groups.size(); ++g) {
      std::size_t off = starts_[g];
      for (const auto& v : *groups[g]) {
        views_[g].emplace_back(dev + off, v.rows, v.cols, v.layout);
        if (send[g]) {
          pack(v, host + off);
          packed = off + static_cast<std::size_t>(v.rows * v.cols);
          if ((packed - sent) * sizeof(T) >= kStageChunk) flush();
        }
        off += static_cast<std::size_t>(v.rows * v.cols);
      }
      if (send[g]) flush();
      packed = sent = starts_[g + 1];
    }
  }

  const std::vector<DeviceDenseView<T>>& views(std::size_t g) const { return views_[g]; }

  // Brings group g back and writes it into the host views (after the stream has finished).
  void receive(std::size_t g, const std::vector<DenseView<T>>& out) {
    const std::size_t n = starts_[g + 1] - starts_[g];
    im_.pinned_out.reserve(std::max<std::size_t>(n * sizeof(T), 1));
    T* host = reinterpret_cast<T*>(im_.pinned_out.data());
    if (n > 0) {
      SPBMM_CALL(cudaMemcpyAsync, host, im_.staging.as<T>() + starts_[g], n * sizeof(T),
                 cudaMemcpyDeviceToHost, im_.stream);
    }
    SPBMM_CALL(cudaStreamSynchronize, im_.stream);
    std::size_t off = 0;
    for (const auto& v : out) {
      unpack(host + off, v);
      off += static_cast<std::size_t>(v.rows * v.cols);
    }
  }

 private:
  CudaExecutor& im_;
  std::vector<std::size_t> starts_;
  std::vector<std::vector<DeviceDenseView<T>>> views_;
};

template <class T>
std::vector<DenseView<const T>> as_const(const DenseBatchView<T>& c) {
  return std::vector<DenseView<const T>>(c.entries().begin(), c.entries().end());
}

}  // namespace

template <class T, class I>
void bmm_into(CudaExecutor& im, const DeviceCsrBatch<T, I>& a, const DenseBatchView<T>& c,
              const DenseBatchView<const T>& b, T alpha, T beta, const Options& options) {
  for (std::size_t i = 0; i < b.size(); ++i) detail::check_view(b[i], "B", i);
  for (std::size_t i = 0; i < c.size(); ++i) detail::check_view(c[i], "C", i);
  const std::size_t n = detail::broadcast_batch(a.size(), b.size(), c.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t ai = a.size() == 1 ? 0 : i;
    detail::check_entry(i, options.op_b, detail::op_rows(options.op_a, a.rows(ai), a.cols(ai)),
                        detail::op_cols(options.op_a, a.rows(ai), a.cols(ai)),
                        b[b.size() == 1 ? 0 : i], c[i]);
  }
  if (n == 0) return;
  im.activate();
  const std::vector<DenseView<const T>> cc = as_const(c);
  Stage<T> stage(im, {&b.entries(), &cc}, {true, beta != T(0)});
  spmm<T, I>(im, a,
             DeviceDenseBatchView<const T>(std::vector<DeviceDenseView<const T>>(
                 stage.views(0).begin(), stage.views(0).end())),
             DeviceDenseBatchView<T>(stage.views(1)), alpha, beta, options);
  stage.receive(1, c.entries());
}

template <class T>
void gemm_into(CudaExecutor& im, const DenseBatchView<T>& c, const DenseBatchView<const T>& a,
               const DenseBatchView<const T>& b, T alpha, T beta, const Options& options) {
  for (std::size_t i = 0; i < a.size(); ++i) detail::check_view(a[i], "A", i);
  for (std::size_t i = 0; i < b.size(); ++i) detail::check_view(b[i], "B", i);
  for (std::size_t i = 0; i < c.size(); ++i) detail::check_view(c[i], "C", i);
  const std::size_t n = detail::broadcast_batch(a.size(), b.size(), c.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto& ai = a[a.size() == 1 ? 0 : i];
    detail::check_entry(i, options.op_b, detail::op_rows(options.op_a, ai.rows, ai.cols),
                        detail::op_cols(options.op_a, ai.rows, ai.cols), b[b.size() == 1 ? 0 : i],
                        c[i]);
  }
  if (n == 0) return;
  im.activate();
  const std::vector<DenseView<const T>> cc = as_const(c);
  Stage<T> stage(im, {&a.entries(), &b.entries(), &cc}, {true, true, beta != T(0)});
  auto cview = [](const std::vector<DeviceDenseView<T>>& v) {
    return DeviceDenseBatchView<const T>(std::vector<DeviceDenseView<const T>>(v.begin(), v.end()));
  };
  gemm<T>(im, cview(stage.views(0)), cview(stage.views(1)), DeviceDenseBatchView<T>(stage.views(2)),
          alpha, beta, options);
  stage.receive(2, c.entries());
}

// ---------------------------------------------------------------------------------------------
// SDDMM

namespace {

// Y_i (cols x k) as op(B) = Y_i^T for cusparseSDDMM, read without a transpose: the same memory
// described as the k x cols matrix in the other layout.
template <class T>
DnMat y_transposed(const DeviceDenseView<const T>& y) {
  const Layout other = y.layout == Layout::RowMajor ? Layout::ColMajor : Layout::RowMajor;
  return DnMat(y.cols, y.rows, y.ld, y.data, kValueType<T>, other);
}

// Entry i's X_i, Y_i start where the stacked matrices [X_0; X_1; ...] and [Y_0; Y_1; ...]
// (row-major, k columns, tight) have them: one SDDMM over the block-diagonal pattern then
// computes every entry.
template <class T, class I>
bool stacked_operands(const DeviceCsrBatch<T, I>& a, const DeviceDenseBatchView<const T>& x,
                      const DeviceDenseBatchView<const T>& y) {
  if (a.size() < 2 || !a.has_block_diagonal()) return false;
  const std::int64_t k = x[0].cols;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto& xi = x[i];
    const auto& yi = y[i];
    if (xi.layout != Layout::RowMajor || yi.layout != Layout::RowMajor || xi.cols != k ||
        yi.cols != k || (xi.rows > 1 && xi.ld != k) || (yi.rows > 1 && yi.ld != k) ||
        xi.data != x[0].data + a.row_offset(i) * k || yi.data != y[0].data + a.col_offset(i) * k) {
      return false;
    }
  }
  return k > 0;
}

template <class T, class I>
void check_sddmm(const DeviceCsrBatch<T, I>& a, const std::vector<std::int64_t>& x_rows,
                 const std::vector<std::int64_t>& x_cols, const std::vector<std::int64_t>& y_rows,
                 const std::vector<std::int64_t>& y_cols) {
  if (x_rows.size() != a.size() || y_rows.size() != a.size()) {
    throw ShapeError("gpu sddmm: A has " + std::to_string(a.size()) + " entries, X " +
                     std::to_string(x_rows.size()) + " and Y " + std::to_string(y_rows.size()));
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (x_rows[i] != a.rows(i) || y_rows[i] != a.cols(i) || x_cols[i] != y_cols[i]) {
      throw ShapeError("gpu sddmm: entry " + std::to_string(i) + ": A is " +
                       std::to_string(a.rows(i)) + "x" + std::to_string(a.cols(i)) + ", X is " +
                       std::to_string(x_rows[i]) + "x" + std::to_string(x_cols[i]) + ", Y is " +
                       std::to_string(y_rows[i]) + "x" + std::to_string(y_cols[i]) +
                       " (X needs A's rows, Y A's columns, both the same k)");
    }
  }
}

template <class T>
void scal(CudaExecutor& im, T* data, std::int64_t n, T factor) {
  const int count = to_int(n, "stored entries of an SDDMM entry");
  if constexpr (std::is_same_v<T, float>) {
    SPBMM_CALL(cublasSscal, im.blas, count, &factor, data, 1);
  } else {
    SPBMM_CALL(cublasDscal, im.blas, count, &factor, data, 1);
  }
}

}  // namespace

template <class T, class I>
void sddmm(CudaExecutor& im, const DeviceCsrBatch<T, I>& a, const DeviceDenseBatchView<const T>& x,
           const DeviceDenseBatchView<const T>& y, T* out, T alpha, T beta) {
  std::vector<std::int64_t> xr, xc, yr, yc;
  for (const auto& v : x.entries()) {
    xr.push_back(v.rows);
    xc.push_back(v.cols);
  }
  for (const auto& v : y.entries()) {
    yr.push_back(v.rows);
    yc.push_back(v.cols);
  }
  check_sddmm(a, xr, xc, yr, yc);
  im.report = Report{};
  im.report.choice.path = Path::PerEntry;
  if (a.total_nnz() == 0) return;
  im.activate();
  const auto bytes = static_cast<std::size_t>(a.total_nnz()) * sizeof(T);
  // out starts as A's values (beta != 0) or zeros, and cusparseSDDMM scales it by beta.
  if (beta != T(0)) {
    SPBMM_CALL(cudaMemcpyAsync, out, a.all_values(), bytes, cudaMemcpyDeviceToDevice, im.stream);
  } else {
    SPBMM_CALL(cudaMemsetAsync, out, 0, bytes, im.stream);
  }
  const auto run = [&](std::int64_t rows, std::int64_t cols, std::int64_t nnz, const I* rp,
                       const I* ci, T* values, const DeviceDenseView<const T>& xi,
                       const DeviceDenseView<const T>& yi) {
    SpMat c(rows, cols, nnz, rp, ci, values);
    const DnMat dx(xi.rows, xi.cols, xi.ld, xi.data, kValueType<T>, xi.layout);
    const DnMat dy = y_transposed(yi);
    const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
    std::size_t need = 0;
    SPBMM_CALL(cusparseSDDMM_bufferSize, im.sparse, op, op, &alpha, dx.get(), dy.get(), &beta,
               c.get(), kValueType<T>, CUSPARSE_SDDMM_ALG_DEFAULT, &need);
    SPBMM_CALL(cusparseSDDMM, im.sparse, op, op, &alpha, dx.get(), dy.get(), &beta, c.get(),
               kValueType<T>, CUSPARSE_SDDMM_ALG_DEFAULT, im.workspace_for(need));
    ++im.report.calls;
  };
  if (stacked_operands(a, x, y)) {
    im.report.choice.path = Path::BlockDiagonal;
    im.report.choice.reason = "one cusparseSDDMM over the block-diagonal pattern of the batch";
    const std::int64_t k = x[0].cols;
    run(a.total_rows(), a.total_cols(), a.total_nnz(), a.stacked_row_ptr(), a.block_col_idx(), out,
        DeviceDenseView<const T>(x[0].data, a.total_rows(), k),
        DeviceDenseView<const T>(y[0].data, a.total_cols(), k));
    return;
  }
  im.report.choice.reason = "one cusparseSDDMM per entry";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a.nnz(i) == 0) continue;
    T* values = out + (a.values(i) - a.all_values());
    if (x[i].cols == 0) {
      scal(im, values, a.nnz(i), beta);  // no products: beta * A
      continue;
    }
    run(a.rows(i), a.cols(i), a.nnz(i), a.row_ptr(i), a.col_idx(i), values, x[i], y[i]);
  }
}

template <class T, class I>
void sddmm_into(CudaExecutor& im, const DeviceCsrBatch<T, I>& a, T* out,
                const DenseBatchView<const T>& x, const DenseBatchView<const T>& y, T alpha,
                T beta) {
  for (std::size_t i = 0; i < x.size(); ++i) detail::check_view(x[i], "X", i);
  for (std::size_t i = 0; i < y.size(); ++i) detail::check_view(y[i], "Y", i);
  std::vector<std::int64_t> xr, xc, yr, yc;
  for (const auto& v : x.entries()) {
    xr.push_back(v.rows);
    xc.push_back(v.cols);
  }
  for (const auto& v : y.entries()) {
    yr.push_back(v.rows);
    yc.push_back(v.cols);
  }
  check_sddmm(a, xr, xc, yr, yc);
  if (a.total_nnz() == 0) return;
  im.activate();
  Stage<T> stage(im, {&x.entries(), &y.entries()}, {true, true});
  const auto bytes = static_cast<std::size_t>(a.total_nnz()) * sizeof(T);
  if (bytes > im.sddmm_out.size()) im.sddmm_out = DeviceBuffer(align_up(bytes));
  auto cview = [](const std::vector<DeviceDenseView<T>>& v) {
    return DeviceDenseBatchView<const T>(std::vector<DeviceDenseView<const T>>(v.begin(), v.end()));
  };
  sddmm<T, I>(im, a, cview(stage.views(0)), cview(stage.views(1)), im.sddmm_out.as<T>(), alpha,
              beta);
  im.pinned_out.reserve(bytes);
  SPBMM_CALL(cudaMemcpyAsync, im.pinned_out.data(), im.sddmm_out.data(), bytes,
             cudaMemcpyDeviceToHost, im.stream);
  SPBMM_CALL(cudaStreamSynchronize, im.stream);
  std::memcpy(out, im.pinned_out.data(), bytes);
}

template <class T, class I>
constexpr SparseOps<T, I> kSparse{&spmm<T, I>, &bmm_into<T, I>, &sddmm<T, I>, &sddmm_into<T, I>};
template <class T>
constexpr DenseOps<T> kDense{&gemm<T>, &gemm_into<T>};

const Backend kBackend{
    kPluginAbi,
    SPBMM_VERSION,
    &detect_device,
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

}  // namespace spbmm::gpu::plugin

// The plugin's only entry point (see plugin.hpp).
extern "C" __attribute__((visibility("default"))) const spbmm::gpu::plugin::Backend*
spbmm_cuda_backend(unsigned abi) {
  return abi == spbmm::gpu::plugin::kPluginAbi ? &spbmm::gpu::plugin::kBackend : nullptr;
}
