// Dense containers: validation, the owning matrix and the ragged batch.
#include "spbmm/dense.hpp"

#include <algorithm>

#include "core/checks.hpp"
#include "spbmm/error.hpp"

namespace spbmm {

using detail::cat;

template <class T>
void validate(const DenseView<T>& v, const char* what) {
  if (v.rows < 0 || v.cols < 0) {
    throw FormatError(cat(what, ": negative shape ", v.rows, "x", v.cols));
  }
  const std::int64_t need =
      std::max<std::int64_t>(1, v.layout == Layout::RowMajor ? v.cols : v.rows);
  if (v.ld < need) {
    throw FormatError(cat(what, ": leading dimension ", v.ld, " < ", need, " for a ",
                          to_string(v.layout), " ", v.rows, "x", v.cols, " matrix"));
  }
  if (v.data == nullptr && !v.empty()) {
    throw FormatError(cat(what, ": null data pointer for a ", v.rows, "x", v.cols, " matrix"));
  }
  // The last element's offset must be representable.
  if (!v.empty()) {
    const std::int64_t major = v.layout == Layout::RowMajor ? v.rows : v.cols;
    detail::checked_mul(major, v.ld, what);
  }
}

template <Value T>
DenseMatrix<T>::DenseMatrix(std::int64_t rows, std::int64_t cols, Layout layout)
    : rows_(rows), cols_(cols), layout_(layout) {
  if (rows < 0 || cols < 0) {
    throw ShapeError(cat("dense matrix: negative shape ", rows, "x", cols));
  }
  data_.assign(static_cast<std::size_t>(detail::checked_mul(rows, cols, "dense matrix")), T(0));
}

template <Value T>
DenseMatrix<T>::DenseMatrix(std::int64_t rows, std::int64_t cols, std::vector<T> data,
                            Layout layout)
    : rows_(rows), cols_(cols), layout_(layout) {
  if (rows < 0 || cols < 0) {
    throw ShapeError(cat("dense matrix: negative shape ", rows, "x", cols));
  }
  const std::int64_t n = detail::checked_mul(rows, cols, "dense matrix");
  if (static_cast<std::int64_t>(data.size()) != n) {
    throw ShapeError(
        cat("dense matrix: ", rows, "x", cols, " needs ", n, " values, got ", data.size()));
  }
  data_.assign(data.begin(), data.end());
}

template <class T>
DenseBatchView<T> DenseBatchView<T>::uniform(T* data, std::int64_t batch, std::int64_t rows,
                                             std::int64_t cols, Layout layout,
                                             std::int64_t stride) {
  if (batch < 0 || rows < 0 || cols < 0) {
    throw ShapeError(cat("dense batch view: negative size [", batch, ", ", rows, ", ", cols, "]"));
  }
  const std::int64_t tight = detail::checked_mul(rows, cols, "dense batch view");
  if (stride < 0) stride = tight;
  if (stride < tight) {
    throw ShapeError(cat("dense batch view: stride ", stride, " < rows*cols = ", tight));
  }
  std::vector<DenseView<T>> e;
  e.reserve(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) e.emplace_back(data + b * stride, rows, cols, layout);
  return DenseBatchView(std::move(e));
}

template <class T>
DenseBatchView<T> DenseBatchView<T>::ragged(const std::vector<T*>& data,
                                            const std::vector<std::int64_t>& rows,
                                            const std::vector<std::int64_t>& cols, Layout layout) {
  if (data.size() != rows.size() || rows.size() != cols.size()) {
    throw ShapeError(cat("dense batch view: ", data.size(), " pointers, ", rows.size(),
                         " row counts and ", cols.size(), " column counts"));
  }
  std::vector<DenseView<T>> e;
  e.reserve(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (rows[i] < 0 || cols[i] < 0) {
      throw ShapeError(
          cat("dense batch view: entry ", i, " has negative shape ", rows[i], "x", cols[i]));
    }
    e.emplace_back(data[i], rows[i], cols[i], layout);
  }
  return DenseBatchView(std::move(e));
}

template <Value T>
DenseBatch<T>::DenseBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
                          Layout layout)
    : rows_(std::move(rows)), cols_(std::move(cols)), layout_(layout) {
  if (rows_.size() != cols_.size()) {
    throw ShapeError(
        cat("dense batch: ", rows_.size(), " row counts but ", cols_.size(), " column counts"));
  }
  offsets_.assign(rows_.size() + 1, 0);
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (rows_[i] < 0 || cols_[i] < 0) {
      throw ShapeError(
          cat("dense batch: entry ", i, " has negative shape ", rows_[i], "x", cols_[i]));
    }
    const std::int64_t n = detail::checked_mul(rows_[i], cols_[i], "dense batch");
    if (__builtin_add_overflow(offsets_[i], n, &offsets_[i + 1])) {
      throw LimitError("dense batch: total size overflows a 64-bit size");
    }
  }
  data_.assign(static_cast<std::size_t>(offsets_.back()), T(0));
}

template <Value T>
DenseBatch<T> DenseBatch<T>::uniform(std::size_t batch, std::int64_t rows, std::int64_t cols,
                                     Layout layout) {
  return DenseBatch(std::vector<std::int64_t>(batch, rows), std::vector<std::int64_t>(batch, cols),
                    layout);
}

template <Value T>
DenseBatch<T> DenseBatch<T>::from_list(const std::vector<DenseMatrix<T>>& list, Layout layout) {
  std::vector<std::int64_t> r, c;
  for (const auto& m : list) {
    r.push_back(m.rows());
    c.push_back(m.cols());
  }
  DenseBatch out(std::move(r), std::move(c), layout);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto src = list[i].view();
    const auto dst = out.entry(i);
    for (std::int64_t a = 0; a < src.rows; ++a)
      for (std::int64_t b = 0; b < src.cols; ++b) dst(a, b) = src(a, b);
  }
  return out;
}

template <Value T>
std::vector<DenseMatrix<T>> DenseBatch<T>::to_list() const {
  std::vector<DenseMatrix<T>> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) {
    DenseMatrix<T>& m = out.emplace_back(rows_[i], cols_[i], layout_);
    std::copy(data_.begin() + offsets_[i], data_.begin() + offsets_[i + 1], m.values().begin());
  }
  return out;
}

template <Value T>
bool DenseBatch<T>::is_uniform() const noexcept {
  for (std::size_t i = 1; i < size(); ++i) {
    if (rows_[i] != rows_[0] || cols_[i] != cols_[0]) return false;
  }
  return true;
}

template <Value T>
DenseView<T> DenseBatch<T>::entry(std::size_t i) {
  return {data_.data() + offsets_[i], rows_[i], cols_[i], layout_};
}

template <Value T>
DenseView<const T> DenseBatch<T>::entry(std::size_t i) const {
  return {data_.data() + offsets_[i], rows_[i], cols_[i], layout_};
}

template <Value T>
DenseBatchView<T> DenseBatch<T>::view() {
  std::vector<DenseView<T>> e;
  e.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) e.push_back(entry(i));
  return DenseBatchView<T>(std::move(e));
}

template <Value T>
DenseBatchView<const T> DenseBatch<T>::view() const {
  std::vector<DenseView<const T>> e;
  e.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) e.push_back(entry(i));
  return DenseBatchView<const T>(std::move(e));
}

template void validate(const DenseView<float>&, const char*);
template void validate(const DenseView<double>&, const char*);
template void validate(const DenseView<const float>&, const char*);
template void validate(const DenseView<const double>&, const char*);
template class DenseMatrix<float>;
template class DenseMatrix<double>;
template class DenseBatchView<float>;
template class DenseBatchView<double>;
template class DenseBatchView<const float>;
template class DenseBatchView<const double>;
template class DenseBatch<float>;
template class DenseBatch<double>;

}  // namespace spbmm
