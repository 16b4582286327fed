// Dense matrices: the non-owning view kernels take, an owning matrix, and ragged batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "spbmm/aligned.hpp"
#include "spbmm/types.hpp"

namespace spbmm {

// A non-owning window on a dense matrix. T may be const-qualified.
// Element (i, j) is data[i * ld + j] (row-major) or data[i + j * ld] (column-major).
template <class T>
struct DenseView {
  T* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t ld = 0;  // leading dimension: >= cols (row-major) or >= rows (column-major)
  Layout layout = Layout::RowMajor;

  DenseView() = default;
  // ld < 0 picks the tight leading dimension for the layout.
  DenseView(T* d, std::int64_t r, std::int64_t c, Layout l = Layout::RowMajor,
            std::int64_t lead = -1)
      : data(d), rows(r), cols(c), ld(lead >= 0 ? lead : natural_ld(r, c, l)), layout(l) {}

  // A view of T converts to a view of const T.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
      DenseView(const DenseView<U>& o)  // NOLINT(google-explicit-constructor)
      : data(o.data), rows(o.rows), cols(o.cols), ld(o.ld), layout(o.layout) {}

  T& operator()(std::int64_t i, std::int64_t j) const {
    return layout == Layout::RowMajor ? data[i * ld + j] : data[i + j * ld];
  }
  bool empty() const noexcept { return rows == 0 || cols == 0; }
  std::int64_t size() const noexcept { return rows * cols; }

  static std::int64_t natural_ld(std::int64_t r, std::int64_t c, Layout l) noexcept {
    const std::int64_t n = (l == Layout::RowMajor) ? c : r;
    return n > 0 ? n : 1;
  }
};

// Throws FormatError when rows/cols are negative, ld is too small for the layout, or data is null
// for a non-empty matrix. `what` names the operand in the message ("B entry 3").
template <class T>
void validate(const DenseView<T>& view, const char* what);

// An owning dense matrix with tight leading dimension; values() starts on a kDenseAlignment-byte
// boundary.
template <Value T>
class DenseMatrix {
 public:
  DenseMatrix() = default;
  // Zero-filled rows x cols matrix.
  DenseMatrix(std::int64_t rows, std::int64_t cols, Layout layout = Layout::RowMajor);
  // Copies `data` (rows*cols values in the given layout) into aligned storage.
  DenseMatrix(std::int64_t rows, std::int64_t cols, std::vector<T> data,
              Layout layout = Layout::RowMajor);

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t cols() const noexcept { return cols_; }
  Layout layout() const noexcept { return layout_; }
  AlignedVector<T>& values() noexcept { return data_; }
  const AlignedVector<T>& values() const noexcept { return data_; }

  DenseView<T> view() noexcept { return {data_.data(), rows_, cols_, layout_}; }
  DenseView<const T> view() const noexcept { return {data_.data(), rows_, cols_, layout_}; }
  T& operator()(std::int64_t i, std::int64_t j) { return view()(i, j); }
  const T& operator()(std::int64_t i, std::int64_t j) const { return view()(i, j); }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  Layout layout_ = Layout::RowMajor;
  AlignedVector<T> data_;
};

// A non-owning batch of dense matrices: one view per entry, each with its own shape, layout and
// leading dimension. Wraps a caller's buffers without copying. T may be const-qualified.
template <class T>
class DenseBatchView {
 public:
  DenseBatchView() = default;
  explicit DenseBatchView(std::vector<DenseView<T>> entries) : entries_(std::move(entries)) {}
  // A batch of one matrix.
  static DenseBatchView single(DenseView<T> m) { return DenseBatchView({m}); }
  // A uniform 3-D array [batch, rows, cols]; entry b starts at data + b * stride
  // (stride < 0 means rows * cols).
  static DenseBatchView uniform(T* data, std::int64_t batch, std::int64_t rows, std::int64_t cols,
                                Layout layout = Layout::RowMajor, std::int64_t stride = -1);
  // Ragged entries at the given pointers, each tight in the given layout.
  static DenseBatchView ragged(const std::vector<T*>& data, const std::vector<std::int64_t>& rows,
                               const std::vector<std::int64_t>& cols,
                               Layout layout = Layout::RowMajor);

  // A view of T converts to a view of const T.
  template <class U>
  requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>)
      DenseBatchView(const DenseBatchView<U>& o)  // NOLINT(google-explicit-constructor)
      : entries_(o.entries().begin(), o.entries().end()) {}

  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const DenseView<T>& operator[](std::size_t i) const { return entries_[i]; }
  const std::vector<DenseView<T>>& entries() const noexcept { return entries_; }

 private:
  std::vector<DenseView<T>> entries_;
};

// An owning ragged batch of dense matrices in one contiguous buffer: entry i has its own
// rows(i) x cols(i) and starts at offset(i); every entry has the batch's layout and a tight
// leading dimension. Entries are packed back to back (offset(i + 1) == offset(i) + rows(i) *
// cols(i)); the buffer, and so entry 0, starts on a kDenseAlignment-byte boundary.
template <Value T>
class DenseBatch {
 public:
  DenseBatch() = default;
  // Zero-filled entries of the given shapes (rows.size() == cols.size(), else ShapeError).
  DenseBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
             Layout layout = Layout::RowMajor);
  // batch entries of rows x cols each.
  static DenseBatch uniform(std::size_t batch, std::int64_t rows, std::int64_t cols,
                            Layout layout = Layout::RowMajor);
  // Copies the matrices into one batch (they must share `layout`; others are converted).
  static DenseBatch from_list(const std::vector<DenseMatrix<T>>& list,
                              Layout layout = Layout::RowMajor);
  std::vector<DenseMatrix<T>> to_list() const;

  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }
  Layout layout() const noexcept { return layout_; }
  std::int64_t rows(std::size_t i) const { return rows_[i]; }
  std::int64_t cols(std::size_t i) const { return cols_[i]; }
  std::int64_t offset(std::size_t i) const { return offsets_[i]; }
  // True when every entry has the same shape (an empty batch is uniform).
  bool is_uniform() const noexcept;

  AlignedVector<T>& values() noexcept { return data_; }
  const AlignedVector<T>& values() const noexcept { return data_; }

  DenseView<T> entry(std::size_t i);
  DenseView<const T> entry(std::size_t i) const;
  DenseBatchView<T> view();
  DenseBatchView<const T> view() const;

 private:
  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> cols_;
  std::vector<std::int64_t> offsets_;  // size() + 1 entries
  Layout layout_ = Layout::RowMajor;
  AlignedVector<T> data_;
};

}  // namespace spbmm
