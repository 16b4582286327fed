// Concatenated (PyTorch Geometric style) batches of graphs viewed as ragged batches: one
// block-diagonal matrix over all nodes, with the first node of every graph.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "spbmm/bmm.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm {

// A block-diagonal CSR over `ptr.back()` nodes, as PyG's `ptr` describes a mini-batch: graph i
// holds nodes [ptr[i], ptr[i+1]), its rows are rows ptr[i] .. ptr[i+1]-1 of the whole matrix
// and its column indices are global (within its own node range). Entry i of the batch is graph
// i alone, ptr[i+1] - ptr[i] square, with local indices.
//
// The values are the caller's: entry i views values + row_ptr[ptr[i]] in place, so a Plan over
// this batch follows values changed there (edge weights in training), and SDDMM can write them.
// The pattern is rebased once, when the batch is made: local row pointers and column indices
// (O(nnz) indices, kept here), as kernels take graph-local indices. The caller's arrays must
// outlive the batch and its pattern must not change. Everything is checked when the batch is
// made: ptr starts at 0, does not decrease and ends at `rows`; row_ptr starts at 0 and does not
// decrease; every column of graph i's rows lies in graph i's node range and rows are sorted
// (FormatError naming the graph, the row and the value).
template <Value T, Index I>
class ConcatCsrBatch {
 public:
  ConcatCsrBatch(std::int64_t rows, const I* row_ptr, const I* col_idx, const T* values,
                 std::vector<std::int64_t> ptr);

  std::size_t size() const noexcept { return ptr_.size() - 1; }
  const std::vector<std::int64_t>& ptr() const noexcept { return ptr_; }
  CsrView<T, I> entry(std::size_t i) const;
  // Every graph, as a batch for bmm, Plan, sddmm and spmm_reduce.
  BatchView<T, I> view() const;

 private:
  std::vector<std::int64_t> ptr_;
  std::vector<std::int64_t> nnz_base_;  // per graph: where its values start in the caller's array
  std::vector<I> row_ptr_;              // per graph: its rows + 1 local row pointers
  std::vector<I> col_idx_;              // local column indices, in the caller's order
  const T* values_ = nullptr;
};

// The same for a COO of all edges (PyG's edge_index with edge weights): graph i's edges are
// positions [edge_ptr[i], edge_ptr[i+1]) of row_idx, col_idx and values, with global node
// indices in [ptr[i], ptr[i+1]). Values are viewed in place; indices are rebased once.
template <Value T, Index I>
class ConcatCooBatch {
 public:
  ConcatCooBatch(const I* row_idx, const I* col_idx, const T* values, std::vector<std::int64_t> ptr,
                 std::vector<std::int64_t> edge_ptr);

  std::size_t size() const noexcept { return ptr_.size() - 1; }
  const std::vector<std::int64_t>& ptr() const noexcept { return ptr_; }
  CooView<T, I> entry(std::size_t i) const;
  BatchView<T, I> view() const;

 private:
  std::vector<std::int64_t> ptr_;
  std::vector<std::int64_t> edge_ptr_;
  std::vector<I> row_idx_;
  std::vector<I> col_idx_;
  const T* values_ = nullptr;
};

// ShapeError unless ptr starts at 0, does not decrease and ends at `rows`.
void check_split(std::int64_t rows, const std::vector<std::int64_t>& ptr);

// Rows [ptr[i], ptr[i+1]) of a matrix over all nodes (node features X, outputs Y) as entry i of
// a batch, without copying. ShapeError when ptr does not cover x's rows exactly.
template <class T>
DenseBatchView<T> split_rows(const DenseView<T>& x, const std::vector<std::int64_t>& ptr) {
  check_split(x.rows, ptr);
  std::vector<DenseView<T>> parts;
  parts.reserve(ptr.size() - 1);
  for (std::size_t i = 0; i + 1 < ptr.size(); ++i) {
    const std::int64_t offset = x.layout == Layout::RowMajor ? ptr[i] * x.ld : ptr[i];
    parts.emplace_back(x.data + offset, ptr[i + 1] - ptr[i], x.cols, x.layout, x.ld);
  }
  return DenseBatchView<T>(std::move(parts));
}

}  // namespace spbmm
