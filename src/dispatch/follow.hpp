// Derived forms of A (transposes, format conversions) built together with the map back to A's
// values, so that a Plan follows values the caller changes between executes.
#pragma once

#include <cstdint>
#include <vector>

#include "spbmm/bmm.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::dispatch {

// Where each stored value of a sparse entry lands in a derived form: slots[k] is the position in
// the derived values of A's value k when it is the first to land there, ~position when it adds
// to an earlier one (COO duplicates, summed in input order as to_csr sums them).
using SlotMap = std::vector<std::int64_t>;

// CSR of op(A) for a sparse (CSR or COO) entry, with its slot map. Its values equal those of
// to_csr / transpose of the same entry, bit for bit.
template <Value T, Index I>
CsrMatrix<T, I> csr_following(const MatrixView<T, I>& m, Op op, SlotMap& slots);

// op(A) of a sparse entry as a row-major dense matrix, with its slot map (into the row-major
// elements). The caller has checked the dense size against its limit.
template <Value T, Index I>
DenseMatrix<T> dense_following(const MatrixView<T, I>& m, Op op, SlotMap& slots);

// Writes the derived values from A's values through the slot map: O(nnz), no allocation.
template <Value T>
void scatter_values(const T* source, const SlotMap& slots, T* derived);

// How a dense entry's current elements compare with the CSR made of them at plan time (what
// to_csr keeps: every element that is not exactly zero).
enum class DenseMatch : std::uint8_t { Same, NewValues, NewPattern };

// Compares op(A) (a dense view) with `csr` without writing anything.
template <Value T, Index I>
DenseMatch compare_dense(const DenseView<const T>& op_a, const CsrView<T, I>& csr);

// Copies op(A)'s nonzero elements into `csr`'s values when the pattern is still csr's and
// returns true; returns false, leaving the values as they were, when the pattern changed.
template <Value T, Index I>
bool refill_from_dense(const DenseView<const T>& op_a, CsrMatrix<T, I>& csr);

// A sparse entry's stored values (nullptr and 0 for a dense entry).
template <Value T, Index I>
const T* sparse_values(const MatrixView<T, I>& m, std::int64_t& count);

}  // namespace spbmm::dispatch
