// Entry analysis: the EntryStats of one A entry, for op(A) as it will be multiplied.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "dispatch/checks.hpp"
#include "spbmm/plan.hpp"

namespace spbmm::dispatch {

// Fills mean, spread and maximum of the row lengths of op(A) from a count per row.
inline void row_summary(const std::vector<std::int64_t>& lengths, EntryStats& s) {
  if (lengths.empty()) return;
  double sum = 0;
  double sum_sq = 0;
  std::int64_t longest = 0;
  for (const std::int64_t l : lengths) {
    sum += static_cast<double>(l);
    sum_sq += static_cast<double>(l) * static_cast<double>(l);
    longest = std::max(longest, l);
  }
  const double count = static_cast<double>(lengths.size());
  const double mean = sum / count;
  const double var = std::max(0.0, sum_sq / count - mean * mean);
  s.row_cv = mean > 0 ? std::sqrt(var) / mean : 0.0;
  s.max_row = longest;
}

// Nonzeros per row of op(A) for a dense entry, added to `lengths` (sized op(A).rows, zeroed).
// Reads the storage line by line, whichever way op(A)'s rows run through it.
template <Value T>
void count_dense(const DenseView<const T>& v, Op op_a, std::vector<std::int64_t>& lengths) {
  const bool row_major = v.layout == Layout::RowMajor;
  const std::int64_t outer = row_major ? v.rows : v.cols;
  const std::int64_t inner = row_major ? v.cols : v.rows;
  // The rows of op(A) are the storage's lines when (RowMajor, N) or (ColMajor, T).
  const bool rows_are_lines = row_major == (op_a == Op::N);
  if (inner == 0) return;
  for (std::int64_t o = 0; o < outer; ++o) {
    const T* line = v.data + o * v.ld;
    if (rows_are_lines) {
      std::int64_t count = 0;
      for (std::int64_t j = 0; j < inner; ++j) count += line[j] != T(0) ? 1 : 0;
      lengths[static_cast<std::size_t>(o)] += count;
    } else {
      std::int64_t* l = lengths.data();
      for (std::int64_t j = 0; j < inner; ++j) l[j] += line[j] != T(0) ? 1 : 0;
    }
  }
}

// The stats of a dense entry as if every element were nonzero, without reading it: what analyse
// gives a full entry. Only the sparse kernel's estimate depends on the count (it grows with it),
// so where the dense kernel wins at some count, any entry with at least that many nonzeros
// gets the same choice.
template <Value T>
EntryStats dense_shape_stats(const DenseView<const T>& d, Op op_a, std::int64_t n,
                             std::size_t index, int index_bytes) {
  EntryStats s;
  s.index = index;
  s.n = n;
  s.value_bytes = static_cast<int>(sizeof(T));
  s.index_bytes = index_bytes;
  s.format = Format::Dense;
  const Shape op = op_shape(d.rows, d.cols, op_a);
  s.rows = op.rows;
  s.cols = op.cols;
  s.nnz = s.rows * s.cols;
  s.density = s.nnz > 0 ? 1.0 : 0.0;
  s.max_row = s.rows > 0 ? s.cols : 0;
  return s;
}

// Whether the dense entry holds at least `limit` nonzero values; reads only as far as it must
// (to about limit elements when the entry is full).
template <Value T>
bool dense_nonzeros_reach(const DenseView<const T>& v, std::int64_t limit) {
  const bool row_major = v.layout == Layout::RowMajor;
  const std::int64_t outer = row_major ? v.rows : v.cols;
  const std::int64_t inner = row_major ? v.cols : v.rows;
  std::int64_t count = 0;
  for (std::int64_t o = 0; o < outer && count < limit; ++o) {
    const T* line = v.data + o * v.ld;
    for (std::int64_t j = 0; j < inner; ++j) count += line[j] != T(0) ? 1 : 0;
  }
  return count >= limit;
}

// lengths: scratch space, reused across calls to save an allocation per entry.
template <Value T, Index I>
EntryStats analyse(const MatrixView<T, I>& m, Op op_a, std::int64_t n, std::size_t index,
                   std::vector<std::int64_t>& lengths) {
  EntryStats s;
  s.index = index;
  s.n = n;
  s.value_bytes = static_cast<int>(sizeof(T));
  s.index_bytes = static_cast<int>(sizeof(I));
  const Shape stored = stored_shape<T, I>(m);
  const Shape op = op_shape(stored.rows, stored.cols, op_a);
  s.rows = op.rows;
  s.cols = op.cols;
  // A valid sparse entry may have up to 2^63 - 1 rows of op(A) (with n = 0, C is still empty);
  // a count per row that no vector can hold is a LimitError, not a std::length_error.
  if (static_cast<std::uint64_t>(std::max<std::int64_t>(op.rows, 0)) >= lengths.max_size()) {
    throw LimitError(detail::cat("entry ", index, ": op(A) has ", op.rows,
                                 " rows, more than the dispatcher can keep a count for"));
  }
  lengths.assign(static_cast<std::size_t>(std::max<std::int64_t>(op.rows, 0)), 0);
  const auto count = [&](std::int64_t r) { ++lengths[static_cast<std::size_t>(r)]; };
  if (const auto* d = std::get_if<DenseView<const T>>(&m)) {
    s.format = Format::Dense;
    count_dense(*d, op_a, lengths);
    for (const std::int64_t l : lengths) s.nnz += l;
  } else if (const auto* v = std::get_if<CsrView<T, I>>(&m)) {
    s.format = Format::Csr;
    s.nnz = v->nnz();
    if (op_a == Op::N) {
      for (std::int64_t r = 0; r < v->rows; ++r) {
        lengths[static_cast<std::size_t>(r)] =
            static_cast<std::int64_t>(v->row_ptr[r + 1] - v->row_ptr[r]);
      }
    } else {
      for (std::int64_t k = 0; k < s.nnz; ++k) count(v->col_idx[k]);
    }
  } else if (const auto* c = std::get_if<CooView<T, I>>(&m)) {
    s.format = Format::Coo;
    s.nnz = c->nnz;
    const I* idx = op_a == Op::N ? c->row_idx : c->col_idx;
    for (std::int64_t k = 0; k < c->nnz; ++k) count(idx[k]);
  }
  const double area = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  s.density = area > 0 ? static_cast<double>(s.nnz) / area : 0.0;
  row_summary(lengths, s);
  return s;
}

template <Value T, Index I>
EntryStats analyse(const MatrixView<T, I>& m, Op op_a, std::int64_t n, std::size_t index) {
  std::vector<std::int64_t> lengths;
  return analyse<T, I>(m, op_a, n, index, lengths);
}

}  // namespace spbmm::dispatch
