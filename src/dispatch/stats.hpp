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

template <Value T, Index I>
EntryStats analyse(const MatrixView<T, I>& m, Op op_a, std::int64_t n, std::size_t index) {
  EntryStats s;
  s.index = index;
  s.n = n;
  s.value_bytes = static_cast<int>(sizeof(T));
  const Shape stored = stored_shape<T, I>(m);
  const Shape op = op_shape(stored.rows, stored.cols, op_a);
  s.rows = op.rows;
  s.cols = op.cols;
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(std::max<std::int64_t>(op.rows, 0)));
  const auto count = [&](std::int64_t r) { ++lengths[static_cast<std::size_t>(r)]; };
  std::visit(Overloaded{
                 [&](const DenseView<const T>& v) {
                   s.format = Format::Dense;
                   for (std::int64_t i = 0; i < v.rows; ++i) {
                     for (std::int64_t j = 0; j < v.cols; ++j) {
                       if (v(i, j) != T(0)) count(op_a == Op::N ? i : j);
                     }
                   }
                   for (const std::int64_t l : lengths) s.nnz += l;
                 },
                 [&](const CsrView<T, I>& v) {
                   s.format = Format::Csr;
                   s.nnz = v.nnz();
                   if (op_a == Op::N) {
                     for (std::int64_t r = 0; r < v.rows; ++r) {
                       lengths[static_cast<std::size_t>(r)] =
                           static_cast<std::int64_t>(v.row_ptr[r + 1] - v.row_ptr[r]);
                     }
                   } else {
                     for (std::int64_t k = 0; k < s.nnz; ++k) count(v.col_idx[k]);
                   }
                 },
                 [&](const CooView<T, I>& v) {
                   s.format = Format::Coo;
                   s.nnz = v.nnz;
                   const I* idx = op_a == Op::N ? v.row_idx : v.col_idx;
                   for (std::int64_t k = 0; k < v.nnz; ++k) count(idx[k]);
                 },
             },
             m);
  const double area = static_cast<double>(s.rows) * static_cast<double>(s.cols);
  s.density = area > 0 ? static_cast<double>(s.nnz) / area : 0.0;
  row_summary(lengths, s);
  return s;
}

}  // namespace spbmm::dispatch
