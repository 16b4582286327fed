// Sparse matrices (CSR and COO): non-owning views kernels take, owning matrices, ragged batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "spbmm/types.hpp"

namespace spbmm {

// A non-owning CSR matrix. row_ptr has rows + 1 entries with row_ptr[0] == 0; the column indices
// of row r are col_idx[row_ptr[r] .. row_ptr[r+1]), strictly increasing (canonical CSR: sorted,
// no duplicates); values parallel col_idx. A 0-row matrix may have a null row_ptr.
template <Value T, Index I>
struct CsrView {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  const I* row_ptr = nullptr;
  const I* col_idx = nullptr;
  const T* values = nullptr;

  std::int64_t nnz() const noexcept {
    return (rows > 0 && row_ptr != nullptr) ? static_cast<std::int64_t>(row_ptr[rows]) : 0;
  }
};

// A non-owning COO matrix: nnz triplets (row_idx[k], col_idx[k], values[k]) in any order;
// duplicates are allowed and mean their sum.
template <Value T, Index I>
struct CooView {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t nnz = 0;
  const I* row_idx = nullptr;
  const I* col_idx = nullptr;
  const T* values = nullptr;
};

// Checks the CSR promises: non-negative shape that fits I, non-null arrays when needed,
// row_ptr[0] == 0, row_ptr non-decreasing, column indices in [0, cols) and strictly increasing
// within each row. Throws FormatError naming `entry` (the batch entry, or -1 for a lone matrix),
// the row or position, and the offending value, e.g.
// "CSR entry 2: row 12: column index 90 >= cols 64".
template <Value T, Index I>
void validate(const CsrView<T, I>& m, std::int64_t entry = -1);

// Checks COO: non-negative shape and nnz that fit I, non-null arrays when nnz > 0, every
// index in range. Throws FormatError naming the entry, the position k and the value.
template <Value T, Index I>
void validate(const CooView<T, I>& m, std::int64_t entry = -1);

// An owning CSR matrix.
template <Value T, Index I>
class CsrMatrix {
 public:
  CsrMatrix() = default;
  // An all-zero rows x cols matrix.
  CsrMatrix(std::int64_t rows, std::int64_t cols);
  // Takes the arrays and validates them (FormatError on failure).
  CsrMatrix(std::int64_t rows, std::int64_t cols, std::vector<I> row_ptr, std::vector<I> col_idx,
            std::vector<T> values);

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t cols() const noexcept { return cols_; }
  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(col_idx_.size()); }
  const std::vector<I>& row_ptr() const noexcept { return row_ptr_; }
  const std::vector<I>& col_idx() const noexcept { return col_idx_; }
  const std::vector<T>& values() const noexcept { return values_; }
  // Values may be changed in place; the pattern may not.
  std::vector<T>& values() noexcept { return values_; }

  CsrView<T, I> view() const noexcept {
    return {rows_, cols_, row_ptr_.data(), col_idx_.data(), values_.data()};
  }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::vector<I> row_ptr_;  // rows + 1 entries
  std::vector<I> col_idx_;
  std::vector<T> values_;
};

// An owning COO matrix (any order, duplicates allowed).
template <Value T, Index I>
class CooMatrix {
 public:
  CooMatrix() = default;
  CooMatrix(std::int64_t rows, std::int64_t cols);
  // Takes the arrays and validates them (FormatError on failure).
  CooMatrix(std::int64_t rows, std::int64_t cols, std::vector<I> row_idx, std::vector<I> col_idx,
            std::vector<T> values);

  std::int64_t rows() const noexcept { return rows_; }
  std::int64_t cols() const noexcept { return cols_; }
  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(values_.size()); }
  const std::vector<I>& row_idx() const noexcept { return row_idx_; }
  const std::vector<I>& col_idx() const noexcept { return col_idx_; }
  const std::vector<T>& values() const noexcept { return values_; }
  std::vector<T>& values() noexcept { return values_; }

  CooView<T, I> view() const noexcept {
    return {rows_, cols_, nnz(), row_idx_.data(), col_idx_.data(), values_.data()};
  }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  std::vector<I> row_idx_;
  std::vector<I> col_idx_;
  std::vector<T> values_;
};

// An owning ragged batch of CSR matrices in concatenated storage. Entry i has its own shape;
// its rows(i) + 1 row pointers (starting at 0) begin at row_ptr_offset(i) in row_ptr(), and its
// column indices and values begin at nnz_offset(i) in col_idx() and values().
// In shared-pattern mode every entry has one shape and one pattern (stored once) and its own
// values: values() holds size() * nnz values, entry after entry.
template <Value T, Index I>
class CsrBatch {
 public:
  CsrBatch() = default;
  // From concatenated user arrays: rows/cols per entry; row_ptr is each entry's rows+1 pointers
  // back to back (each starting at 0); col_idx/values are each entry's arrays back to back.
  // Validates everything (FormatError naming the entry, ShapeError when array sizes disagree).
  CsrBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols, std::vector<I> row_ptr,
           std::vector<I> col_idx, std::vector<T> values);
  // One pattern shared by `batch` entries; values holds batch * nnz values.
  static CsrBatch shared_pattern(std::size_t batch, std::int64_t rows, std::int64_t cols,
                                 std::vector<I> row_ptr, std::vector<I> col_idx,
                                 std::vector<T> values);
  static CsrBatch from_list(const std::vector<CsrMatrix<T, I>>& list);
  std::vector<CsrMatrix<T, I>> to_list() const;

  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }
  std::int64_t rows(std::size_t i) const { return rows_[i]; }
  std::int64_t cols(std::size_t i) const { return cols_[i]; }
  std::int64_t nnz(std::size_t i) const;
  std::int64_t total_nnz() const noexcept { return static_cast<std::int64_t>(values_.size()); }
  std::int64_t row_ptr_offset(std::size_t i) const;
  std::int64_t nnz_offset(std::size_t i) const;
  bool is_shared_pattern() const noexcept { return shared_pattern_; }
  // True when every entry has the same rows and cols (an empty batch is uniform).
  bool is_uniform() const noexcept;

  const std::vector<I>& row_ptr() const noexcept { return row_ptr_; }
  const std::vector<I>& col_idx() const noexcept { return col_idx_; }
  const std::vector<T>& values() const noexcept { return values_; }
  std::vector<T>& values() noexcept { return values_; }

  CsrView<T, I> entry(std::size_t i) const;
  // Re-checks every entry (the constructors already do).
  void validate() const;

 private:
  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> cols_;
  std::vector<std::int64_t> rp_offsets_;   // size() entries (all 0 in shared-pattern mode)
  std::vector<std::int64_t> nnz_offsets_;  // size() + 1 entries, into values_
  std::vector<I> row_ptr_;
  std::vector<I> col_idx_;
  std::vector<T> values_;
  bool shared_pattern_ = false;
};

// An owning ragged batch of COO matrices: entry i's triplets are positions
// [nnz_offset(i), nnz_offset(i+1)) of row_idx(), col_idx() and values().
template <Value T, Index I>
class CooBatch {
 public:
  CooBatch() = default;
  // nnz_offsets has rows.size() + 1 non-decreasing entries starting at 0 and ending at
  // values.size(). Validates everything.
  CooBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
           std::vector<std::int64_t> nnz_offsets, std::vector<I> row_idx, std::vector<I> col_idx,
           std::vector<T> values);
  // From a torch-style 3-D COO tensor of shape [batch, rows, cols]: triplet k belongs to entry
  // batch_idx[k]; any order. Entries keep their triplets in input order (stable).
  static CooBatch from_3d(std::size_t batch, std::int64_t rows, std::int64_t cols,
                          const std::vector<std::int64_t>& batch_idx, const std::vector<I>& row_idx,
                          const std::vector<I>& col_idx, const std::vector<T>& values);
  static CooBatch from_list(const std::vector<CooMatrix<T, I>>& list);
  std::vector<CooMatrix<T, I>> to_list() const;

  std::size_t size() const noexcept { return rows_.size(); }
  bool empty() const noexcept { return rows_.empty(); }
  std::int64_t rows(std::size_t i) const { return rows_[i]; }
  std::int64_t cols(std::size_t i) const { return cols_[i]; }
  std::int64_t nnz(std::size_t i) const { return nnz_offsets_[i + 1] - nnz_offsets_[i]; }
  std::int64_t nnz_offset(std::size_t i) const { return nnz_offsets_[i]; }
  std::int64_t total_nnz() const noexcept { return static_cast<std::int64_t>(values_.size()); }
  bool is_uniform() const noexcept;

  const std::vector<I>& row_idx() const noexcept { return row_idx_; }
  const std::vector<I>& col_idx() const noexcept { return col_idx_; }
  const std::vector<T>& values() const noexcept { return values_; }
  std::vector<T>& values() noexcept { return values_; }

  CooView<T, I> entry(std::size_t i) const;
  void validate() const;

 private:
  std::vector<std::int64_t> rows_;
  std::vector<std::int64_t> cols_;
  std::vector<std::int64_t> nnz_offsets_ = {0};
  std::vector<I> row_idx_;
  std::vector<I> col_idx_;
  std::vector<T> values_;
};

}  // namespace spbmm
