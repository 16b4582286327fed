// The GPU backend (cuSPARSE / cuBLAS): device detection, device-resident batches, the executor.
//
// This header includes no CUDA header, so it can be used by code built without the toolkit. When
// spbmm itself is built without CUDA, every call that needs a device throws NotCompiled; when it is
// built with CUDA but finds no usable device at run time, such calls throw DeviceError carrying
// status(). available(), status() and the pure planning and estimate functions never throw.
//
// Device memory is always named by a Device* type (DeviceDenseView, DeviceCsrBatch, ...), never by
// the host DenseView, so a device pointer can never reach a CPU kernel by accident.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm::gpu {

// A parameter type that takes no part in template argument deduction.
template <class X>
using In = std::type_identity_t<X>;

// ---------------------------------------------------------------------------------------------
// Devices

// True when spbmm was built with CUDA and a device is usable. Detection runs once per process.
bool available() noexcept;

// Why the GPU is or is not usable, e.g. "CUDA device 0: NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)"
// or "no CUDA device: cudaGetDeviceCount failed: CUDA driver version is insufficient for CUDA
// runtime version (cudaErrorInsufficientDriver)". Never empty.
const std::string& status() noexcept;

// Throws DeviceError (built with CUDA, no device) or NotCompiled (built without CUDA) unless
// available().
void require_device();

// What tells one device model and software stack from another: the key of the per-device cache
// of the dispatcher's GPU figures. name is empty when no device is usable.
struct DeviceIdentity {
  std::string name;  // "NVIDIA H200"
  int major = 0;     // compute capability
  int minor = 0;
  int driver = 0;  // cudaDriverGetVersion, e.g. 13000
};
const DeviceIdentity& identity() noexcept;

// ---------------------------------------------------------------------------------------------
// Device memory

// An owning block of device memory (cudaMalloc / cudaFree). Move-only.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return bytes_; }
  template <class T>
  T* as() const noexcept {
    return static_cast<T*>(data_);
  }

  // Synchronous copies between host memory and [offset, offset + bytes) of this buffer.
  void upload(const void* host, std::size_t bytes, std::size_t offset = 0);
  void download(void* host, std::size_t bytes, std::size_t offset = 0) const;
  void fill_zero();

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

// A non-owning window on a dense matrix in device memory; the fields mean what DenseView's mean.
template <class T>
struct DeviceDenseView {
  T* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;
  Layout layout = Layout::RowMajor;

  DeviceDenseView() = default;
  DeviceDenseView(T* d, std::int64_t r, std::int64_t c, Layout l = Layout::RowMajor,
                  std::int64_t lead = -1)
      : data(d),
        rows(r),
        cols(c),
        ld(lead >= 0 ? lead : DenseView<T>::natural_ld(r, c, l)),
        layout(l) {}
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
      DeviceDenseView(const DeviceDenseView<U>& o)  // NOLINT(google-explicit-constructor)
      : data(o.data), rows(o.rows), cols(o.cols), ld(o.ld), layout(o.layout) {}

  bool empty() const noexcept { return rows == 0 || cols == 0; }
};

// A non-owning batch of device dense matrices (one view per entry, each with its own shape).
template <class T>
class DeviceDenseBatchView {
 public:
  DeviceDenseBatchView() = default;
  explicit DeviceDenseBatchView(std::vector<DeviceDenseView<T>> entries)
      : entries_(std::move(entries)) {}
  static DeviceDenseBatchView single(DeviceDenseView<T> m) { return DeviceDenseBatchView({m}); }
  // A device 3-D array [batch, rows, cols]; entry b starts at data + b * stride (stride < 0:
  // rows * cols).
  static DeviceDenseBatchView uniform(T* data, std::int64_t batch, std::int64_t rows,
                                      std::int64_t cols, Layout layout = Layout::RowMajor,
                                      std::int64_t stride = -1) {
    std::vector<DeviceDenseView<T>> v;
    const std::int64_t s = stride >= 0 ? stride : rows * cols;
    v.reserve(static_cast<std::size_t>(batch > 0 ? batch : 0));
    for (std::int64_t b = 0; b < batch; ++b) v.emplace_back(data + b * s, rows, cols, layout);
    return DeviceDenseBatchView(std::move(v));
  }
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
      DeviceDenseBatchView(const DeviceDenseBatchView<U>& o)  // NOLINT(google-explicit-constructor)
      : entries_(o.entries().begin(), o.entries().end()) {}

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const DeviceDenseView<T>& operator[](std::size_t i) const { return entries_[i]; }
  const std::vector<DeviceDenseView<T>>& entries() const noexcept { return entries_; }

 private:
  std::vector<DeviceDenseView<T>> entries_;
};

// An owning batch of dense matrices in one device allocation: entries back to back, each tight
// in the batch's layout (the same arrangement as the host DenseBatch).
template <Value T>
class DeviceDenseBatch {
 public:
  DeviceDenseBatch() = default;
  // Zero-filled entries of the given shapes.
  DeviceDenseBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
                   Layout layout = Layout::RowMajor);
  static DeviceDenseBatch uniform(std::size_t batch, std::int64_t rows, std::int64_t cols,
                                  Layout layout = Layout::RowMajor);
  // Uploads a host batch.
  explicit DeviceDenseBatch(const DenseBatch<T>& host);

  std::size_t size() const noexcept { return rows_.size(); }
  Layout layout() const noexcept { return layout_; }
  std::int64_t rows(std::size_t i) const { return rows_[i]; }
  std::int64_t cols(std::size_t i) const { return cols_[i]; }
  T* data() const noexcept { return buffer_.as<T>(); }

  // Copies a host batch of the same shapes and layout in (ShapeError otherwise).
  void upload(const DenseBatch<T>& host);
  DenseBatch<T> download() const;

  DeviceDenseView<T> entry(std::size_t i) const;
  DeviceDenseBatchView<T> view() const;

 private:
  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> cols_;
  std::vector<std::int64_t> offsets_;  // size() + 1, in elements
  Layout layout_ = Layout::RowMajor;
  DeviceBuffer buffer_;
};

// How a sparse batch is laid out on the device beyond the per-entry arrays.
struct UploadOptions {
  // Also build the block-diagonal matrix of the whole batch (a second column-index array of nnz
  // entries), so that a ragged batch with a common N runs as one SpMM.
  bool block_diagonal = true;
};

// A batch of CSR matrices resident on the device, uploaded once and reused by every call.
// Entries keep their own shapes. Per entry: rows + 1 row pointers (starting at 0), column indices
// and values, back to back. Also: the global row pointers of all entries stacked vertically (when
// they fit I), which with the local column indices form the stacked matrix [A_0; A_1; ...] and
// with the shifted column indices the block-diagonal matrix diag(A_0, A_1, ...).
// COO input is converted to canonical CSR on the host first (duplicates summed), so COO and CSR
// share every device path and the deterministic algorithm applies to both.
template <Value T, Index I>
class DeviceCsrBatch {
 public:
  DeviceCsrBatch() = default;
  explicit DeviceCsrBatch(const CsrBatch<T, I>& host, const UploadOptions& options = {});
  explicit DeviceCsrBatch(const CsrView<T, I>& host, const UploadOptions& options = {});
  explicit DeviceCsrBatch(const std::vector<CsrView<T, I>>& host,
                          const UploadOptions& options = {});
  explicit DeviceCsrBatch(const CooBatch<T, I>& host, const UploadOptions& options = {});
  explicit DeviceCsrBatch(const std::vector<CooView<T, I>>& host,
                          const UploadOptions& options = {});

  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }
  std::int64_t rows(std::size_t i) const { return rows_[i]; }
  std::int64_t cols(std::size_t i) const { return cols_[i]; }
  std::int64_t nnz(std::size_t i) const { return nnz_offsets_[i + 1] - nnz_offsets_[i]; }
  std::int64_t total_nnz() const noexcept { return nnz_offsets_.back(); }
  std::int64_t total_rows() const noexcept { return row_offsets_.back(); }
  std::int64_t total_cols() const noexcept { return col_offsets_.back(); }
  // Row (column) where entry i starts in the stacked (block-diagonal) matrix.
  std::int64_t row_offset(std::size_t i) const { return row_offsets_[i]; }
  std::int64_t col_offset(std::size_t i) const { return col_offsets_[i]; }
  // Every entry has the same rows, cols and nnz.
  bool is_uniform() const noexcept { return uniform_; }
  // Every entry has the same rows and the same row pointers (nonzeros per row), as cuSPARSE's
  // strided-batch CSR SpMM requires of a batch of A matrices.
  bool same_row_pattern() const noexcept { return same_row_pattern_; }
  // Every entry has the same number of columns.
  bool same_cols() const noexcept { return same_cols_; }
  // The stacked matrix exists (global row pointers fit I).
  bool has_stacked() const noexcept { return stacked_; }
  // The block-diagonal matrix exists (asked for, and its indices fit I).
  bool has_block_diagonal() const noexcept { return block_diagonal_; }

  // Device pointers to entry i's arrays.
  const I* row_ptr(std::size_t i) const;
  const I* col_idx(std::size_t i) const;
  const T* values(std::size_t i) const;
  // Device pointers to the whole-batch arrays (null when the matrix does not exist).
  const I* stacked_row_ptr() const noexcept;  // total_rows() + 1
  const I* block_col_idx() const noexcept;    // total_nnz(), shifted by col_offset(entry)
  const I* all_col_idx() const noexcept { return col_idx_.as<const I>(); }
  const T* all_values() const noexcept { return values_.as<const T>(); }

 private:
  void upload_views(const std::vector<CsrView<T, I>>& views, const UploadOptions& options);

  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> cols_;
  std::vector<std::int64_t> rp_offsets_;  // size(): where entry i's row pointers begin
  std::vector<std::int64_t> nnz_offsets_ = {0};
  std::vector<std::int64_t> row_offsets_ = {0};
  std::vector<std::int64_t> col_offsets_ = {0};
  bool uniform_ = true;
  bool same_row_pattern_ = true;
  bool same_cols_ = true;
  bool stacked_ = false;
  bool block_diagonal_ = false;
  DeviceBuffer row_ptr_;
  DeviceBuffer col_idx_;
  DeviceBuffer values_;
  DeviceBuffer stacked_row_ptr_;
  DeviceBuffer block_col_idx_;
};

// ---------------------------------------------------------------------------------------------
// Planning: which cuSPARSE call shape runs a batch, and with which algorithm (pure functions)

// How a batch of sparse x dense products is issued.
enum class Path : std::uint8_t {
  Auto,           // let choose_spmm decide (only meaningful in Options::force)
  Empty,          // nothing to multiply: C is only scaled by beta (or left alone)
  Single,         // one entry, one SpMM
  StridedBatch,   // one strided-batch SpMM (opt-in: Options::allow_strided_batch), split at
                  // 65,535 entries
  Stacked,        // A_i * B with one shared B: [A_0; A_1; ...] * B as one SpMM
  BlockDiagonal,  // ragged A_i * B_i with a common N: diag(A_0, A_1, ...) * [B_0; B_1; ...]
  PerEntry,       // one SpMM per entry, spread over a few streams
};
const char* to_string(Path path) noexcept;

// The cuSPARSE SpMM algorithms spbmm uses.
enum class SpmmAlgorithm : std::uint8_t { Default, CsrAlg1, CsrAlg2, CsrAlg3 };
const char* to_string(SpmmAlgorithm algorithm) noexcept;  // "CUSPARSE_SPMM_CSR_ALG2", ...

struct Options {
  Op op_a = Op::N;
  Op op_b = Op::N;
  // Ask for bitwise-reproducible results: cuSPARSE documents CUSPARSE_SPMM_CSR_ALG3 as the only
  // deterministic CSR algorithm, and it supports neither batches nor op(A) = T, so this trades
  // the strided-batch path for one SpMM over the stacked or block-diagonal matrix, or per entry.
  bool deterministic = false;
  // Path::Auto lets choose_spmm decide; any other value is used when the operands allow it.
  Path force = Path::Auto;
  // Let uniform batches use cuSPARSE's strided-batch SpMM (cusparseCsrSetStridedBatch /
  // cusparseDnMatSetStridedBatch). Off by default: until it has been verified against the
  // reference on a device, uniform batches with a common N run as one block-diagonal SpMM (or per
  // entry), whose results are checked. Even when allowed, a batch of A matrices is only sent
  // strided when every entry has the same row pointers, which cuSPARSE requires of batched CSR.
  bool allow_strided_batch = false;
};

// What the path choice looks at; filled from the operands by the executor (or by a planner
// that has not touched the device yet).
struct SpmmShape {
  std::size_t batch_a = 0;          // entries of A (1 means broadcast)
  std::size_t batch_b = 0;          // entries of B (1 means broadcast)
  std::size_t batch_c = 0;          // entries of C (= the batch)
  bool a_uniform = false;           // same rows, cols and nnz in every A entry
  bool a_same_row_pattern = false;  // same rows and row pointers in every A entry
  bool a_same_cols = false;         // same cols in every A entry
  bool a_stacked = false;           // the stacked matrix of A exists on the device
  bool a_block_diagonal = false;    // the block-diagonal matrix of A exists on the device
  bool b_strided = false;           // B entries: one shape, ld and layout, evenly spaced in memory
  bool c_strided = false;
  bool b_stacked = false;  // B entries row-major, one N and ld, back to back (a tall matrix)
  bool c_stacked = false;
  bool common_n = false;    // every C entry has the same number of columns
  bool any_empty = false;   // some entry has no rows, columns, inner dimension or nonzeros
  bool all_empty = false;   // no entry has a product to form
  bool same_layout = true;  // every B and C entry has layout_c
  Layout layout_c = Layout::RowMajor;
};

struct SpmmChoice {
  Path path = Path::Empty;
  SpmmAlgorithm algorithm = SpmmAlgorithm::Default;
  bool deterministic = false;  // cuSPARSE documents this algorithm as bitwise reproducible
  std::string reason;          // one line, for Plan::explain()
};

// The path and algorithm for a batch. Pure: no device needed.
SpmmChoice choose_spmm(const SpmmShape& shape, const Options& options);

// What the executor actually ran last (the choice, plus any fallback cuSPARSE forced).
struct Report {
  SpmmChoice choice;
  int calls = 0;  // cuSPARSE / cuBLAS calls issued
  std::string str() const;
};

// ---------------------------------------------------------------------------------------------
// Transfer estimates (pure: no device needed)

// Host <-> device bandwidth for pinned memory: nominal until measured (Executor::measure
// bandwidth, or set_bandwidth with a calibration's figures).
struct Bandwidth {
  double h2d_bytes_per_s = 20e9;  // a conservative PCIe 4.0 x16 figure
  double d2h_bytes_per_s = 20e9;
  double latency_s = 10e-6;  // per transfer direction
  bool measured = false;
};
Bandwidth bandwidth() noexcept;
void set_bandwidth(const Bandwidth& b) noexcept;

struct Traffic {
  std::int64_t h2d_bytes = 0;
  std::int64_t d2h_bytes = 0;
};
// Bytes of a CSR matrix and of a dense matrix, as uploaded.
template <Value T, Index I>
constexpr std::int64_t csr_bytes(std::int64_t rows, std::int64_t nnz) noexcept {
  return (rows + 1) * static_cast<std::int64_t>(sizeof(I)) +
         nnz * static_cast<std::int64_t>(sizeof(I) + sizeof(T));
}
template <Value T>
constexpr std::int64_t dense_bytes(std::int64_t rows, std::int64_t cols) noexcept {
  return rows * cols * static_cast<std::int64_t>(sizeof(T));
}
// Seconds to move `traffic` between host and device at bandwidth().
double estimate_seconds(const Traffic& traffic) noexcept;
double estimate_seconds(std::int64_t h2d_bytes, std::int64_t d2h_bytes) noexcept;

// ---------------------------------------------------------------------------------------------
// Execution

// A CUDA stream with its cuSPARSE and cuBLAS handles, a workspace that grows to the largest
// cusparseSpMM_bufferSize seen and is then reused, and pinned staging for host operands.
// Calls are asynchronous on the executor's stream unless they take host operands; an Executor is
// used by one thread at a time. The executor's streams are ordinary (blocking) streams, so the
// synchronous copies of DeviceBuffer, DeviceDenseBatch and DeviceCsrBatch (which run on the
// legacy default stream) wait for the work already issued and the work issued later waits for
// them: downloading C right after spmm() sees the finished product.
class Executor {
 public:
  // Throws DeviceError (or NotCompiled) when no device is usable.
  explicit Executor(int device = 0);
  ~Executor();
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // C_i = alpha * op(A_i) * op(B_i) + beta * C_i, all operands on the device. With beta == 0,
  // C is written without being read: cuSPARSE does not read C then (the gpu test
  // BetaZeroNeverReadsC fills C with NaN on every path), so no zeroing pass is spent. A batch of
  // one A (or one B) is broadcast over the other. Shapes are checked (ShapeError) before anything
  // runs. T and I come from `a` alone, so views of T convert to views of const T and alpha may be
  // any arithmetic value.
  template <Value T, Index I>
  void spmm(const DeviceCsrBatch<T, I>& a, const In<DeviceDenseBatchView<const T>>& b,
            const In<DeviceDenseBatchView<T>>& c, In<T> alpha, In<T> beta,
            const Options& options = {});

  // Dense x dense through cuBLAS: one cublasGemmStridedBatchedEx for uniform, evenly spaced
  // batches, else one cublasGemmEx per entry. Any mix of layouts.
  template <Value T>
  void gemm(const In<DeviceDenseBatchView<const T>>& a, const In<DeviceDenseBatchView<const T>>& b,
            const DeviceDenseBatchView<T>& c, In<T> alpha, In<T> beta, const Options& options = {});

  // SDDMM, all operands on the device: for every entry i and stored entry p = (r, c) of A_i,
  //   out[p] = alpha * dot(X_i(r, :), Y_i(c, :)) + beta * A_i.values[p]
  // where `out` holds a.total_nnz() values laid out as A's (entry i's at a.values(i) -
  // a.all_values()). X_i is rows(A_i) x k_i, Y_i is cols(A_i) x k_i, any layout. When the X and
  // Y entries are the row-major stacked matrices [X_0; X_1; ...] and [Y_0; Y_1; ...] (one k,
  // back to back) and A has its block-diagonal matrix, the batch is one cusparseSDDMM; else one
  // per entry. ShapeError before anything runs.
  template <Value T, Index I>
  void sddmm(const DeviceCsrBatch<T, I>& a, const In<DeviceDenseBatchView<const T>>& x,
             const In<DeviceDenseBatchView<const T>>& y, T* out, In<T> alpha, In<T> beta);

  // Waits for everything issued on this executor.
  void synchronize();
  // The executor's cudaStream_t, for callers that order their own work after it.
  void* stream() const noexcept;
  // Path, algorithm and call count of the last spmm or gemm.
  const Report& last_report() const noexcept;
  // Times pinned copies of `bytes` each way (best of 3), stores the result with set_bandwidth
  // and returns it.
  Bandwidth measure_bandwidth(std::size_t bytes = std::size_t{64} << 20);

  // The backend's own state (opaque outside the library).
  struct Impl;
  Impl* impl() const noexcept { return impl_.get(); }

 private:
  std::unique_ptr<Impl> impl_;
};

// Host operands: B (and C when beta != 0) are packed into pinned staging memory and sent in
// chunks while the rest is still being packed; C comes back the same way. Nothing is written
// into C unless the whole product succeeded.
template <Value T, Index I>
void bmm_into(Executor& executor, const DeviceCsrBatch<T, I>& a, const In<DenseBatchView<T>>& c,
              const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
              const Options& options = {});
// As above, uploading A first (A's upload is then part of the call).
template <Value T, Index I>
void bmm_into(Executor& executor, const CsrBatch<T, I>& a, const In<DenseBatchView<T>>& c,
              const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
              const Options& options = {});
// Returns alpha * op(A_i) * op(B_i) in row-major host memory.
template <Value T, Index I>
DenseBatch<T> bmm(Executor& executor, const DeviceCsrBatch<T, I>& a, const DenseBatch<T>& b,
                  const Options& options = {}, In<T> alpha = T(1));
// SDDMM with host X, Y and output (`out`: a.total_nnz() values laid out as A's): X and Y are
// staged and sent as B is, the values come back once the product is done. `out` is written only
// when the whole call succeeded.
template <Value T, Index I>
void sddmm_into(Executor& executor, const DeviceCsrBatch<T, I>& a, T* out,
                const In<DenseBatchView<const T>>& x, const In<DenseBatchView<const T>>& y,
                In<T> alpha, In<T> beta);
// Dense host operands through cuBLAS.
template <Value T>
void gemm_into(Executor& executor, const DenseBatchView<T>& c, const In<DenseBatchView<const T>>& a,
               const In<DenseBatchView<const T>>& b, In<T> alpha, In<T> beta,
               const Options& options = {});

}  // namespace spbmm::gpu
