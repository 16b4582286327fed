// The CUDA-free half of the GPU backend: path choice, transfer estimates, device batch containers
// (which touch the device only through DeviceBuffer). Built with and without CUDA.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "kernels/cuda/layout.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"

namespace spbmm::gpu {

const char* to_string(Path path) noexcept {
  switch (path) {
    case Path::Auto:
      return "Auto";
    case Path::Empty:
      return "Empty";
    case Path::Single:
      return "Single";
    case Path::StridedBatch:
      return "StridedBatch";
    case Path::Stacked:
      return "Stacked";
    case Path::BlockDiagonal:
      return "BlockDiagonal";
    case Path::PerEntry:
      return "PerEntry";
  }
  return "?";
}

const char* to_string(SpmmAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case SpmmAlgorithm::Default:
      return "CUSPARSE_SPMM_ALG_DEFAULT";
    case SpmmAlgorithm::CsrAlg1:
      return "CUSPARSE_SPMM_CSR_ALG1";
    case SpmmAlgorithm::CsrAlg2:
      return "CUSPARSE_SPMM_CSR_ALG2";
    case SpmmAlgorithm::CsrAlg3:
      return "CUSPARSE_SPMM_CSR_ALG3";
  }
  return "?";
}

namespace {

// Why `path` cannot run this batch, or "" when it can.
std::string blocker(Path path, const SpmmShape& s, const Options& o, bool want_deterministic) {
  const std::size_t n = s.batch_c;
  switch (path) {
    case Path::Auto:
      return "not a path";
    case Path::Empty:
      return s.all_empty ? "" : "the batch has products to compute";
    case Path::Single:
      return n == 1 ? "" : "more than one entry";
    case Path::StridedBatch:
      if (n < 2) return "fewer than two entries";
      if (!o.allow_strided_batch) return "not enabled (Options::allow_strided_batch)";
      if (want_deterministic) return "cuSPARSE's deterministic CSR algorithm has no batched mode";
      if (s.batch_a != 1 && !s.a_uniform) return "A entries differ in shape or nnz";
      if (s.batch_a != 1 && !s.a_same_row_pattern) return "A entries differ in nonzeros per row";
      if (s.batch_b != 1 && !s.b_strided)
        return "B entries are not evenly spaced copies of one shape";
      if (!s.c_strided) return "C entries are not evenly spaced copies of one shape";
      if (!s.same_layout) return "B and C differ in layout";
      if (s.any_empty) return "some entry is empty";
      return "";
    case Path::Stacked:
      if (n < 2) return "fewer than two entries";
      if (s.batch_b != 1 || s.batch_a != n) return "B is not shared by every A entry";
      if (o.op_a != Op::N) return "op(A) = T";
      if (!s.a_same_cols || !s.a_stacked)
        return "A entries differ in columns or exceed the index type";
      if (!s.c_stacked) return "C entries are not back to back row-major with one N";
      if (!s.same_layout) return "B and C differ in layout";
      return "";
    case Path::BlockDiagonal:
      if (n < 2) return "fewer than two entries";
      if (s.batch_a != n || s.batch_b != n) return "an operand is broadcast";
      if (!s.a_block_diagonal)
        return "no block-diagonal matrix was uploaded (or it exceeds the index type)";
      if (o.op_b != Op::N) return "op(B) = T";
      if (!s.common_n) return "entries differ in N";
      if (!s.b_stacked || !s.c_stacked) return "B or C entries are not back to back row-major";
      return "";
    case Path::PerEntry:
      return n >= 1 ? "" : "empty batch";
  }
  return "unknown path";
}

}  // namespace

SpmmChoice choose_spmm(const SpmmShape& shape, const Options& options) {
  SpmmChoice c;
  const bool can_deterministic = options.op_a == Op::N;
  const bool want_deterministic = options.deterministic && can_deterministic;
  std::string note;
  if (options.deterministic && !can_deterministic) {
    note = "; no deterministic cuSPARSE CSR algorithm supports op(A) = T";
  }
  if (shape.batch_c == 0 || shape.all_empty) {
    c.path = Path::Empty;
    c.deterministic = true;
    c.reason = shape.batch_c == 0 ? "empty batch" : "no entry has a product to form";
    return c;
  }
  if (options.force != Path::Auto) {
    const std::string why = blocker(options.force, shape, options, want_deterministic);
    if (why.empty()) {
      c.path = options.force;
      c.reason = std::string("forced");
    } else {
      note += std::string("; forced ") + to_string(options.force) + " not possible: " + why;
    }
  }
  if (c.reason.empty()) {
    static constexpr Path kOrder[] = {Path::Single, Path::StridedBatch, Path::Stacked,
                                      Path::BlockDiagonal, Path::PerEntry};
    for (Path p : kOrder) {
      if (blocker(p, shape, options, want_deterministic).empty()) {
        c.path = p;
        break;
      }
    }
    switch (c.path) {
      case Path::Single:
        c.reason = "one entry";
        break;
      case Path::StridedBatch:
        c.reason = "uniform shapes and nnz: one strided-batch SpMM";
        break;
      case Path::Stacked:
        c.reason = "shared B: [A_0; A_1; ...] * B as one SpMM";
        break;
      case Path::BlockDiagonal:
        c.reason = "entries with a common N: one block-diagonal SpMM";
        break;
      default: {
        const std::string s = blocker(Path::StridedBatch, shape, options, want_deterministic);
        const std::string b = blocker(Path::BlockDiagonal, shape, options, want_deterministic);
        c.reason = "one SpMM per entry (not strided: " + s + "; not block-diagonal: " + b + ")";
      }
    }
  }
  if (want_deterministic) {
    c.algorithm = SpmmAlgorithm::CsrAlg3;
    c.deterministic = true;
    c.reason += "; CSR_ALG3: cuSPARSE's bitwise-deterministic CSR algorithm";
  } else if (shape.layout_c == Layout::RowMajor) {
    c.algorithm = SpmmAlgorithm::CsrAlg2;
    c.reason += "; CSR_ALG2: cuSPARSE's kernel for row-major dense operands";
  } else {
    c.algorithm = SpmmAlgorithm::CsrAlg1;
    c.reason += "; CSR_ALG1: cuSPARSE's kernel for column-major dense operands";
  }
  c.reason += note;
  return c;
}

std::string Report::str() const {
  return std::string("path ") + to_string(choice.path) + ", " + to_string(choice.algorithm) +
         (choice.deterministic ? " (deterministic)" : "") + ", " + std::to_string(calls) + " call" +
         (calls == 1 ? "" : "s") + ": " + choice.reason;
}

// ---------------------------------------------------------------------------------------------
// Transfer estimates

namespace {
std::mutex& bandwidth_mutex() {
  static std::mutex m;
  return m;
}
Bandwidth& bandwidth_store() {
  static Bandwidth b;
  return b;
}
}  // namespace

Bandwidth bandwidth() noexcept {
  std::lock_guard<std::mutex> lock(bandwidth_mutex());
  return bandwidth_store();
}

void set_bandwidth(const Bandwidth& b) noexcept {
  std::lock_guard<std::mutex> lock(bandwidth_mutex());
  bandwidth_store() = b;
}

double estimate_seconds(std::int64_t h2d_bytes, std::int64_t d2h_bytes) noexcept {
  const Bandwidth b = bandwidth();
  double s = 0.0;
  if (h2d_bytes > 0) s += b.latency_s + static_cast<double>(h2d_bytes) / b.h2d_bytes_per_s;
  if (d2h_bytes > 0) s += b.latency_s + static_cast<double>(d2h_bytes) / b.d2h_bytes_per_s;
  return s;
}

double estimate_seconds(const Traffic& traffic) noexcept {
  return estimate_seconds(traffic.h2d_bytes, traffic.d2h_bytes);
}

// ---------------------------------------------------------------------------------------------
// DeviceDenseBatch

namespace {
template <class T, class A>
DeviceBuffer upload_vector(const std::vector<T, A>& v) {
  DeviceBuffer buf(v.size() * sizeof(T));
  if (!v.empty()) buf.upload(v.data(), v.size() * sizeof(T));
  return buf;
}
}  // namespace

template <Value T>
DeviceDenseBatch<T>::DeviceDenseBatch(std::vector<std::int64_t> rows,
                                      std::vector<std::int64_t> cols, Layout layout)
    : rows_(std::move(rows)), cols_(std::move(cols)), layout_(layout) {
  if (rows_.size() != cols_.size()) {
    throw ShapeError("DeviceDenseBatch: " + std::to_string(rows_.size()) + " row counts but " +
                     std::to_string(cols_.size()) + " column counts");
  }
  offsets_.assign(1, 0);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i] < 0 || cols_[i] < 0) {
      throw FormatError("DeviceDenseBatch entry " + std::to_string(i) + ": negative shape " +
                        detail::shape_str(rows_[i], cols_[i]));
    }
    offsets_.push_back(offsets_.back() + rows_[i] * cols_[i]);
  }
  buffer_ = DeviceBuffer(static_cast<std::size_t>(offsets_.back()) * sizeof(T));
  buffer_.fill_zero();
}

template <Value T>
DeviceDenseBatch<T> DeviceDenseBatch<T>::uniform(std::size_t batch, std::int64_t rows,
                                                 std::int64_t cols, Layout layout) {
  return DeviceDenseBatch(std::vector<std::int64_t>(batch, rows),
                          std::vector<std::int64_t>(batch, cols), layout);
}

template <Value T>
DeviceDenseBatch<T>::DeviceDenseBatch(const DenseBatch<T>& host) {
  layout_ = host.layout();
  offsets_.assign(1, 0);
  for (std::size_t i = 0; i < host.size(); ++i) {
    rows_.push_back(host.rows(i));
    cols_.push_back(host.cols(i));
    offsets_.push_back(offsets_.back() + host.rows(i) * host.cols(i));
  }
  buffer_ = upload_vector(host.values());
}

template <Value T>
void DeviceDenseBatch<T>::upload(const DenseBatch<T>& host) {
  bool same = host.size() == size() && host.layout() == layout_;
  for (std::size_t i = 0; same && i < size(); ++i) {
    same = host.rows(i) == rows_[i] && host.cols(i) == cols_[i];
  }
  if (!same)
    throw ShapeError("DeviceDenseBatch::upload: the host batch differs in shape or layout");
  if (!host.values().empty())
    buffer_.upload(host.values().data(), host.values().size() * sizeof(T));
}

template <Value T>
DenseBatch<T> DeviceDenseBatch<T>::download() const {
  DenseBatch<T> host(rows_, cols_, layout_);
  if (!host.values().empty()) {
    buffer_.download(host.values().data(), host.values().size() * sizeof(T));
  }
  return host;
}

template <Value T>
DeviceDenseView<T> DeviceDenseBatch<T>::entry(std::size_t i) const {
  return DeviceDenseView<T>(data() + offsets_[i], rows_[i], cols_[i], layout_);
}

template <Value T>
DeviceDenseBatchView<T> DeviceDenseBatch<T>::view() const {
  std::vector<DeviceDenseView<T>> v;
  v.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) v.push_back(entry(i));
  return DeviceDenseBatchView<T>(std::move(v));
}

// ---------------------------------------------------------------------------------------------
// DeviceCsrBatch

template <Value T, Index I>
void DeviceCsrBatch<T, I>::upload_views(const std::vector<CsrView<T, I>>& views,
                                        const UploadOptions& options) {
  require_device();
  detail::HostLayout<T, I> h = detail::build_layout(views, options.block_diagonal);
  row_ptr_ = upload_vector(h.row_ptr);
  col_idx_ = upload_vector(h.col_idx);
  values_ = upload_vector(h.values);
  if (h.stacked) stacked_row_ptr_ = upload_vector(h.stacked_row_ptr);
  if (h.block_diagonal) block_col_idx_ = upload_vector(h.block_col_idx);
  rows_ = std::move(h.rows);
  cols_ = std::move(h.cols);
  rp_offsets_ = std::move(h.rp_offsets);
  nnz_offsets_ = std::move(h.nnz_offsets);
  row_offsets_ = std::move(h.row_offsets);
  col_offsets_ = std::move(h.col_offsets);
  uniform_ = h.uniform;
  same_row_pattern_ = h.same_row_pattern;
  same_cols_ = h.same_cols;
  // A single entry is its own stacked and block-diagonal matrix.
  stacked_ = h.stacked || rows_.size() == 1;
  block_diagonal_ = h.block_diagonal || (rows_.size() == 1 && options.block_diagonal);
}

template <Value T, Index I>
DeviceCsrBatch<T, I>::DeviceCsrBatch(const CsrBatch<T, I>& host, const UploadOptions& options) {
  std::vector<CsrView<T, I>> views;
  views.reserve(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) views.push_back(host.entry(i));
  upload_views(views, options);
}

template <Value T, Index I>
DeviceCsrBatch<T, I>::DeviceCsrBatch(const CsrView<T, I>& host, const UploadOptions& options)
    : DeviceCsrBatch(std::vector<CsrView<T, I>>{host}, options) {}

template <Value T, Index I>
DeviceCsrBatch<T, I>::DeviceCsrBatch(const std::vector<CsrView<T, I>>& host,
                                     const UploadOptions& options) {
  for (std::size_t i = 0; i < host.size(); ++i) {
    validate(host[i], static_cast<std::int64_t>(i));
  }
  upload_views(host, options);
}

template <Value T, Index I>
DeviceCsrBatch<T, I>::DeviceCsrBatch(const CooBatch<T, I>& host, const UploadOptions& options) {
  require_device();
  std::vector<CsrMatrix<T, I>> owned;
  owned.reserve(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) owned.push_back(to_csr(host.entry(i)));
  std::vector<CsrView<T, I>> views;
  views.reserve(owned.size());
  for (const auto& m : owned) views.push_back(m.view());
  upload_views(views, options);
}

template <Value T, Index I>
DeviceCsrBatch<T, I>::DeviceCsrBatch(const std::vector<CooView<T, I>>& host,
                                     const UploadOptions& options) {
  require_device();
  std::vector<CsrMatrix<T, I>> owned;
  owned.reserve(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) {
    validate(host[i], static_cast<std::int64_t>(i));
    owned.push_back(to_csr(host[i]));
  }
  std::vector<CsrView<T, I>> views;
  views.reserve(owned.size());
  for (const auto& m : owned) views.push_back(m.view());
  upload_views(views, options);
}

template <Value T, Index I>
const I* DeviceCsrBatch<T, I>::row_ptr(std::size_t i) const {
  return row_ptr_.as<const I>() + rp_offsets_[i];
}
template <Value T, Index I>
const I* DeviceCsrBatch<T, I>::col_idx(std::size_t i) const {
  return col_idx_.as<const I>() + nnz_offsets_[i];
}
template <Value T, Index I>
const T* DeviceCsrBatch<T, I>::values(std::size_t i) const {
  return values_.as<const T>() + nnz_offsets_[i];
}
template <Value T, Index I>
const I* DeviceCsrBatch<T, I>::stacked_row_ptr() const noexcept {
  if (!stacked_) return nullptr;
  return rows_.size() == 1 ? row_ptr_.as<const I>() : stacked_row_ptr_.as<const I>();
}
template <Value T, Index I>
const I* DeviceCsrBatch<T, I>::block_col_idx() const noexcept {
  if (!block_diagonal_) return nullptr;
  return rows_.size() == 1 ? col_idx_.as<const I>() : block_col_idx_.as<const I>();
}

template class DeviceDenseBatch<float>;
template class DeviceDenseBatch<double>;
template class DeviceCsrBatch<float, std::int32_t>;
template class DeviceCsrBatch<float, std::int64_t>;
template class DeviceCsrBatch<double, std::int32_t>;
template class DeviceCsrBatch<double, std::int64_t>;

}  // namespace spbmm::gpu
