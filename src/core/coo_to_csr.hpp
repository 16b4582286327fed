// The stages of core's COO -> CSR conversion, shared with the Matrix Market reader.
#pragma once

#include <cstddef>
#include <cstdint>

#include "spbmm/types.hpp"

namespace spbmm::detail {

// Stage 1, a counting sort by row. p holds rows + 1 zeroed row pointers; ci and x have room for
// n entries, or n plus the off-diagonal ones with `mirror`. Afterwards p holds the row pointers and
// each row of (ci, x) its entries in input order; with `mirror`, an off-diagonal (i, j, v) also
// lands in row j as (j, i, v), or (j, i, -v) with `skew`, right after the entries before it.
// Indices must be in range (validated, or checked by the reader).
template <Value T, Index I>
void bucket_by_row(std::int64_t rows, const I* r, const I* c, const T* v, std::size_t n,
                   bool mirror, bool skew, I* p, I* ci, T* x);

// Stage 2: sorts each row by column, keeping equal columns in input order, sums them in that
// order, and closes the gaps that summing leaves. Returns the entries kept; p is updated. Rows are
// shared out among `threads` OpenMP threads when there are enough entries to pay for it.
// Throws std::bad_alloc when a row's scratch cannot be allocated; the arrays are then unspecified.
template <Value T, Index I>
std::size_t sort_rows_and_sum_duplicates(std::int64_t rows, I* p, I* ci, T* x, int threads);

}  // namespace spbmm::detail
