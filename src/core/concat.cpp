// Concatenated (PyG style) batches: checks, the rebased pattern, the views of each graph.
#include "spbmm/concat.hpp"

#include <string>
#include <utility>

#include "core/checks.hpp"
#include "spbmm/error.hpp"

namespace spbmm {
namespace {

using detail::cat;

// ptr: non-decreasing from 0 to `nodes`, at least one value; `what` names the caller.
void check_ptr(const std::vector<std::int64_t>& ptr, std::int64_t nodes, const char* what) {
  if (ptr.empty()) throw ShapeError(cat(what, ": ptr is empty; it needs graphs + 1 values"));
  if (ptr.front() != 0) throw ShapeError(cat(what, ": ptr[0] is ", ptr.front(), ", not 0"));
  for (std::size_t i = 1; i < ptr.size(); ++i) {
    if (ptr[i] < ptr[i - 1]) {
      throw ShapeError(cat(what, ": ptr decreases at ", i, ": ", ptr[i - 1], " then ", ptr[i]));
    }
  }
  if (ptr.back() != nodes) {
    throw ShapeError(cat(what, ": ptr ends at ", ptr.back(), " but there are ", nodes, " rows"));
  }
}

}  // namespace

void check_split(std::int64_t rows, const std::vector<std::int64_t>& ptr) {
  check_ptr(ptr, rows, "split_rows");
}

template <Value T, Index I>
ConcatCsrBatch<T, I>::ConcatCsrBatch(std::int64_t rows, const I* row_ptr, const I* col_idx,
                                     const T* values, std::vector<std::int64_t> ptr)
    : ptr_(std::move(ptr)), values_(values) {
  if (rows < 0) throw FormatError(cat("concatenated CSR: rows is ", rows));
  check_ptr(ptr_, rows, "concatenated CSR");
  if (rows > 0 && row_ptr == nullptr) throw FormatError("concatenated CSR: row_ptr is null");
  if (rows > 0 && row_ptr[0] != 0) {
    throw FormatError(cat("concatenated CSR: row_ptr[0] is ", row_ptr[0], ", not 0"));
  }
  const std::int64_t nnz = rows > 0 ? static_cast<std::int64_t>(row_ptr[rows]) : 0;
  if (nnz > 0 && (col_idx == nullptr || values == nullptr)) {
    throw FormatError("concatenated CSR: col_idx or values is null");
  }
  const std::size_t graphs = ptr_.size() - 1;
  nnz_base_.resize(graphs);
  row_ptr_.reserve(static_cast<std::size_t>(rows) + graphs);
  col_idx_.resize(static_cast<std::size_t>(nnz));
  for (std::size_t g = 0; g < graphs; ++g) {
    const std::int64_t first = ptr_[g];
    const std::int64_t last = ptr_[g + 1];
    const auto base = static_cast<std::int64_t>(row_ptr[first]);
    nnz_base_[g] = base;
    row_ptr_.push_back(I(0));
    for (std::int64_t r = first; r < last; ++r) {
      const auto begin = static_cast<std::int64_t>(row_ptr[r]);
      const auto end = static_cast<std::int64_t>(row_ptr[r + 1]);
      if (end < begin || end > nnz) {
        throw FormatError(cat("concatenated CSR: graph ", g, ": row ", r, ": row_ptr goes from ",
                              begin, " to ", end, " (nnz ", nnz, ")"));
      }
      for (std::int64_t k = begin; k < end; ++k) {
        const auto c = static_cast<std::int64_t>(col_idx[k]);
        if (c < first || c >= last) {
          throw FormatError(cat("concatenated CSR: graph ", g, ": row ", r, ": column ", c,
                                " is outside the graph's nodes [", first, ", ", last, ")"));
        }
        if (k > begin && c <= static_cast<std::int64_t>(col_idx[k - 1])) {
          throw FormatError(cat("concatenated CSR: graph ", g, ": row ", r,
                                ": columns not strictly increasing at ", c));
        }
        col_idx_[static_cast<std::size_t>(k)] = static_cast<I>(c - first);
      }
      row_ptr_.push_back(static_cast<I>(end - base));
    }
  }
}

template <Value T, Index I>
CsrView<T, I> ConcatCsrBatch<T, I>::entry(std::size_t i) const {
  const std::int64_t n = ptr_[i + 1] - ptr_[i];
  // Graph i's local row pointers follow those of the graphs before it (rows + 1 each).
  const std::size_t at = static_cast<std::size_t>(ptr_[i]) + i;
  const auto base = static_cast<std::size_t>(nnz_base_[i]);
  return {n, n, row_ptr_.data() + at, col_idx_.data() + base,
          values_ == nullptr ? nullptr : values_ + base};
}

template <Value T, Index I>
BatchView<T, I> ConcatCsrBatch<T, I>::view() const {
  BatchView<T, I> out;
  for (std::size_t i = 0; i < size(); ++i) out.push_back(entry(i));
  return out;
}

template <Value T, Index I>
ConcatCooBatch<T, I>::ConcatCooBatch(const I* row_idx, const I* col_idx, const T* values,
                                     std::vector<std::int64_t> ptr,
                                     std::vector<std::int64_t> edge_ptr)
    : ptr_(std::move(ptr)), edge_ptr_(std::move(edge_ptr)), values_(values) {
  if (ptr_.empty()) throw ShapeError("concatenated COO: ptr is empty; it needs graphs + 1 values");
  check_ptr(ptr_, ptr_.back(), "concatenated COO");
  if (edge_ptr_.size() != ptr_.size()) {
    throw ShapeError(cat("concatenated COO: edge_ptr has ", edge_ptr_.size(),
                         " values but ptr has ", ptr_.size()));
  }
  check_ptr(edge_ptr_, edge_ptr_.back(), "concatenated COO (edge_ptr)");
  const std::int64_t nnz = edge_ptr_.back();
  if (nnz > 0 && (row_idx == nullptr || col_idx == nullptr || values == nullptr)) {
    throw FormatError("concatenated COO: row_idx, col_idx or values is null");
  }
  row_idx_.resize(static_cast<std::size_t>(nnz));
  col_idx_.resize(static_cast<std::size_t>(nnz));
  for (std::size_t g = 0; g + 1 < ptr_.size(); ++g) {
    const std::int64_t first = ptr_[g];
    const std::int64_t last = ptr_[g + 1];
    for (std::int64_t k = edge_ptr_[g]; k < edge_ptr_[g + 1]; ++k) {
      const auto r = static_cast<std::int64_t>(row_idx[k]);
      const auto c = static_cast<std::int64_t>(col_idx[k]);
      if (r < first || r >= last || c < first || c >= last) {
        throw FormatError(cat("concatenated COO: graph ", g, ": edge ", k, " (", r, ", ", c,
                              ") is outside the graph's nodes [", first, ", ", last, ")"));
      }
      row_idx_[static_cast<std::size_t>(k)] = static_cast<I>(r - first);
      col_idx_[static_cast<std::size_t>(k)] = static_cast<I>(c - first);
    }
  }
}

template <Value T, Index I>
CooView<T, I> ConcatCooBatch<T, I>::entry(std::size_t i) const {
  const std::int64_t n = ptr_[i + 1] - ptr_[i];
  const auto base = static_cast<std::size_t>(edge_ptr_[i]);
  return {n,
          n,
          edge_ptr_[i + 1] - edge_ptr_[i],
          row_idx_.data() + base,
          col_idx_.data() + base,
          values_ == nullptr ? nullptr : values_ + base};
}

template <Value T, Index I>
BatchView<T, I> ConcatCooBatch<T, I>::view() const {
  BatchView<T, I> out;
  for (std::size_t i = 0; i < size(); ++i) out.push_back(entry(i));
  return out;
}

template class ConcatCsrBatch<float, std::int32_t>;
template class ConcatCsrBatch<float, std::int64_t>;
template class ConcatCsrBatch<double, std::int32_t>;
template class ConcatCsrBatch<double, std::int64_t>;
template class ConcatCooBatch<float, std::int32_t>;
template class ConcatCooBatch<float, std::int64_t>;
template class ConcatCooBatch<double, std::int32_t>;
template class ConcatCooBatch<double, std::int64_t>;

}  // namespace spbmm
