// CUDA-free helpers of the GPU backend: host-side batch layout and operand shape checks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::gpu::detail {

// A batch of CSR entries laid out for the device: see DeviceCsrBatch.
template <Value T, Index I>
struct HostLayout {
  std::vector<std::int64_t> rows, cols;
  std::vector<std::int64_t> rp_offsets;      // size n
  std::vector<std::int64_t> nnz_offsets{0};  // size n + 1
  std::vector<std::int64_t> row_offsets{0};  // size n + 1
  std::vector<std::int64_t> col_offsets{0};  // size n + 1
  std::vector<I> row_ptr;                    // each entry's rows + 1 pointers, from 0
  std::vector<I> col_idx;
  std::vector<T> values;
  std::vector<I> stacked_row_ptr;  // empty unless `stacked`
  std::vector<I> block_col_idx;    // empty unless `block_diagonal`
  bool uniform = true;
  bool same_row_pattern = true;  // same rows and row pointers in every entry
  bool same_cols = true;
  bool stacked = false;
  bool block_diagonal = false;
};

template <Value T, Index I>
HostLayout<T, I> build_layout(const std::vector<CsrView<T, I>>& views, bool want_block_diagonal) {
  HostLayout<T, I> h;
  const std::size_t n = views.size();
  std::int64_t rp_total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& v = views[i];
    h.rows.push_back(v.rows);
    h.cols.push_back(v.cols);
    h.rp_offsets.push_back(rp_total);
    rp_total += v.rows + 1;
    h.nnz_offsets.push_back(h.nnz_offsets.back() + v.nnz());
    h.row_offsets.push_back(h.row_offsets.back() + v.rows);
    h.col_offsets.push_back(h.col_offsets.back() + v.cols);
    if (i > 0) {
      h.uniform = h.uniform && v.rows == views[0].rows && v.cols == views[0].cols &&
                  v.nnz() == views[0].nnz();
      h.same_cols = h.same_cols && v.cols == views[0].cols;
      if (h.same_row_pattern && v.rows == views[0].rows && v.nnz() == views[0].nnz()) {
        for (std::int64_t r = 0; r <= v.rows && h.same_row_pattern; ++r) {
          const I x = v.row_ptr ? v.row_ptr[r] : I{0};
          const I y = views[0].row_ptr ? views[0].row_ptr[r] : I{0};
          h.same_row_pattern = x == y;
        }
      } else {
        h.same_row_pattern = false;
      }
    }
  }
  const std::int64_t nnz = h.nnz_offsets.back();
  h.row_ptr.reserve(static_cast<std::size_t>(rp_total));
  h.col_idx.reserve(static_cast<std::size_t>(nnz));
  h.values.reserve(static_cast<std::size_t>(nnz));
  for (const auto& v : views) {
    for (std::int64_t r = 0; r <= v.rows; ++r) h.row_ptr.push_back(v.row_ptr ? v.row_ptr[r] : I{0});
    h.col_idx.insert(h.col_idx.end(), v.col_idx, v.col_idx + v.nnz());
    h.values.insert(h.values.end(), v.values, v.values + v.nnz());
  }
  constexpr auto kMax = static_cast<std::int64_t>(std::numeric_limits<I>::max());
  // One entry is its own stacked and block-diagonal matrix: the per-entry arrays serve.
  h.stacked = n > 1 && nnz <= kMax && h.row_offsets.back() <= kMax;
  if (h.stacked) {
    h.stacked_row_ptr.reserve(static_cast<std::size_t>(h.row_offsets.back() + 1));
    h.stacked_row_ptr.push_back(0);
    for (std::size_t i = 0; i < n; ++i) {
      const auto base = h.nnz_offsets[i];
      const auto rp = static_cast<std::size_t>(h.rp_offsets[i]);
      for (std::int64_t r = 1; r <= h.rows[i]; ++r) {
        h.stacked_row_ptr.push_back(
            static_cast<I>(base + static_cast<std::int64_t>(h.row_ptr[rp + r])));
      }
    }
  }
  h.block_diagonal = want_block_diagonal && h.stacked && h.col_offsets.back() <= kMax;
  if (h.block_diagonal) {
    h.block_col_idx.resize(h.col_idx.size());
    for (std::size_t i = 0; i < n; ++i) {
      for (auto p = h.nnz_offsets[i]; p < h.nnz_offsets[i + 1]; ++p) {
        const auto q = static_cast<std::size_t>(p);
        h.block_col_idx[q] = static_cast<I>(h.col_idx[q] + h.col_offsets[i]);
      }
    }
  }
  return h;
}

// Rows and columns of op(X) for a matrix stored rows x cols.
inline std::int64_t op_rows(Op op, std::int64_t rows, std::int64_t cols) {
  return op == Op::N ? rows : cols;
}
inline std::int64_t op_cols(Op op, std::int64_t rows, std::int64_t cols) {
  return op == Op::N ? cols : rows;
}

inline std::string shape_str(std::int64_t r, std::int64_t c) {
  return std::to_string(r) + "x" + std::to_string(c);
}

// FormatError unless the view is usable: non-negative shape, ld large enough, data when needed.
template <class V>
void check_view(const V& v, const char* what, std::size_t i) {
  const std::int64_t need = v.layout == Layout::RowMajor ? v.cols : v.rows;
  if (v.rows < 0 || v.cols < 0) {
    throw FormatError(std::string(what) + " entry " + std::to_string(i) + ": negative shape " +
                      shape_str(v.rows, v.cols));
  }
  if (v.ld < need || v.ld < 1) {
    throw FormatError(std::string(what) + " entry " + std::to_string(i) + ": leading dimension " +
                      std::to_string(v.ld) + " < " + std::to_string(need > 1 ? need : 1) +
                      " for a " + shape_str(v.rows, v.cols) + " " + to_string(v.layout) +
                      " matrix");
  }
  if (v.data == nullptr && v.rows > 0 && v.cols > 0) {
    throw FormatError(std::string(what) + " entry " + std::to_string(i) + ": null data for a " +
                      shape_str(v.rows, v.cols) + " matrix");
  }
}

// The batch size after broadcasting; ShapeError when the counts cannot broadcast.
inline std::size_t broadcast_batch(std::size_t batch_a, std::size_t batch_b, std::size_t batch_c) {
  const std::size_t n = std::max(batch_a, batch_b);
  if ((batch_a != n && batch_a != 1) || (batch_b != n && batch_b != 1) ||
      ((batch_a == 0) != (batch_b == 0))) {
    throw ShapeError("batch sizes do not broadcast: A has " + std::to_string(batch_a) +
                     " entries, B has " + std::to_string(batch_b));
  }
  if (batch_c != n) {
    throw ShapeError("C has " + std::to_string(batch_c) + " entries but the batch has " +
                     std::to_string(n));
  }
  return n;
}

// Checks that op(A_i) (m x k, given) fits op(B_i) and C_i; ShapeError names entry and shapes.
template <class VB, class VC>
void check_entry(std::size_t i, Op op_b, std::int64_t m, std::int64_t k, const VB& b, const VC& c) {
  const std::int64_t kb = op_rows(op_b, b.rows, b.cols);
  const std::int64_t n = op_cols(op_b, b.rows, b.cols);
  if (k != kb) {
    throw ShapeError("entry " + std::to_string(i) + ": op(A) is " + shape_str(m, k) +
                     " but op(B) is " + shape_str(kb, n) + " (inner dimensions " +
                     std::to_string(k) + " != " + std::to_string(kb) + ")");
  }
  if (c.rows != m || c.cols != n) {
    throw ShapeError("entry " + std::to_string(i) + ": C is " + shape_str(c.rows, c.cols) +
                     " but op(A) * op(B) is " + shape_str(m, n));
  }
}

// True when every entry has entry 0's shape, ld and layout and sits `stride` elements after the
// previous one (stride 0 for a single entry).
template <class V>
bool is_strided(const std::vector<V>& v, std::int64_t* stride) {
  *stride = 0;
  if (v.size() < 2) return !v.empty();
  const std::int64_t s = v[1].data - v[0].data;
  const std::int64_t span = v[0].ld * (v[0].layout == Layout::RowMajor ? v[0].rows : v[0].cols);
  if (s < span || s <= 0) return false;
  for (std::size_t i = 1; i < v.size(); ++i) {
    if (v[i].rows != v[0].rows || v[i].cols != v[0].cols || v[i].ld != v[0].ld ||
        v[i].layout != v[0].layout || v[i].data - v[i - 1].data != s) {
      return false;
    }
  }
  *stride = s;
  return true;
}

// True when the entries are row-major with one column count and ld, back to back, so together
// they are one tall row-major matrix.
template <class V>
bool is_stacked(const std::vector<V>& v) {
  if (v.empty()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i].layout != Layout::RowMajor || v[i].cols != v[0].cols || v[i].ld != v[0].ld) {
      return false;
    }
    if (i > 0 && v[i].data != v[i - 1].data + v[i - 1].rows * v[i - 1].ld) return false;
  }
  return true;
}

}  // namespace spbmm::gpu::detail
