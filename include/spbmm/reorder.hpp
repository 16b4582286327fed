// Relabelling a graph's nodes so that neighbours get nearby numbers (reverse Cuthill-McKee):
// a product with the relabelled A gathers the rows of B it needs from nearby memory.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm {

// A node order for a square A (a graph's adjacency, any pattern: A + A^T is used, the diagonal
// ignored): reverse Cuthill-McKee from a pseudo-peripheral node of each connected component.
// order[k] is the old number of the node numbered k. Where a graph's numbering scatters
// neighbours over memory (shuffled ids, sampled subgraphs), products with the relabelled A run
// faster once B outgrows the caches; on graphs without locality to find (R-MAT, uniform random)
// they do not. Relabel once and keep working in the new numbering:
//   A' = permute(A, order)            (A'(k, l) = A(order[k], order[l]), i.e. P A P^T)
//   B' = permute_rows(B, order)       (row k of B' is row order[k] of B)
//   A' B' = permute_rows(A B, order)  (row k of the result belongs to node order[k])
// O(nnz log(max degree)) time. ShapeError when A is not square; A is validated first.
template <Value T, Index I>
std::vector<I> rcm_order(const CsrView<T, I>& a);

// P A P^T for a square A: entry (k, l) is A(order[k], order[l]), rows with sorted columns.
// InvalidArgument when order is not a permutation of A's rows (naming the first bad position).
template <Value T, Index I>
CsrMatrix<T, I> permute(const CsrView<T, I>& a, std::span<const I> order);

// Rows in the new numbering: row k of the result is row order[k] of x (same layout).
// InvalidArgument when order is not a permutation of x's rows.
template <Value T, Index I>
DenseMatrix<T> permute_rows(const DenseView<const T>& x, std::span<const I> order);

// The same for a mutable view and for orders held in vectors (std::span does not deduce).
template <Value T, Index I>
DenseMatrix<T> permute_rows(const DenseView<T>& x, std::span<const I> order) {
  return permute_rows(DenseView<const T>(x), order);
}
template <Value T, Index I>
DenseMatrix<T> permute_rows(const DenseView<const T>& x, const std::vector<I>& order) {
  return permute_rows(x, std::span<const I>(order));
}
template <Value T, Index I>
DenseMatrix<T> permute_rows(const DenseView<T>& x, const std::vector<I>& order) {
  return permute_rows(DenseView<const T>(x), std::span<const I>(order));
}
template <Value T, Index I>
CsrMatrix<T, I> permute(const CsrView<T, I>& a, const std::vector<I>& order) {
  return permute(a, std::span<const I>(order));
}

// The inverse permutation: inverse[order[k]] = k. InvalidArgument when order is not a
// permutation of [0, order.size()).
template <Index I>
std::vector<I> inverse_permutation(std::span<const I> order);
template <Index I>
std::vector<I> inverse_permutation(const std::vector<I>& order) {
  return inverse_permutation(std::span<const I>(order));
}

}  // namespace spbmm
