// Every kernel declared once; each backend namespace implements the same set.
#pragma once

#include <cstdint>
#include <span>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/training.hpp"
#include "spbmm/types.hpp"

// C = alpha * op(A) * op(B) + beta * C for one entry. Shapes are checked by the caller; kernels
// trust them. With beta == 0, C is overwritten without being read.
#define SPBMM_DECLARE_KERNELS()                                                                 \
  template <::spbmm::Value T, ::spbmm::Index I>                                                 \
  void csr_dense(::spbmm::Op op_a, ::spbmm::Op op_b, T alpha, const ::spbmm::CsrView<T, I>& a,  \
                 const ::spbmm::DenseView<const T>& b, T beta, const ::spbmm::DenseView<T>& c); \
  template <::spbmm::Value T, ::spbmm::Index I>                                                 \
  void coo_dense(::spbmm::Op op_a, ::spbmm::Op op_b, T alpha, const ::spbmm::CooView<T, I>& a,  \
                 const ::spbmm::DenseView<const T>& b, T beta, const ::spbmm::DenseView<T>& c); \
  template <::spbmm::Value T>                                                                   \
  void dense_dense(::spbmm::Op op_a, ::spbmm::Op op_b, T alpha,                                 \
                   const ::spbmm::DenseView<const T>& a, const ::spbmm::DenseView<const T>& b,  \
                   T beta, const ::spbmm::DenseView<T>& c);

namespace spbmm::kernels {
// The oracle: naive loops written for obviousness, not speed.
namespace reference {
SPBMM_DECLARE_KERNELS()
}  // namespace reference

// Optimized CPU kernels: nnz-balanced OpenMP threads, SIMD over the dense columns with run-time
// ISA selection. Called from inside a parallel region they run on the calling thread alone.
namespace cpu {
SPBMM_DECLARE_KERNELS()
}  // namespace cpu

// Eigen kernels (and an optimized BLAS for large dense products when built with one).
namespace eigen {
SPBMM_DECLARE_KERNELS()
}  // namespace eigen
}  // namespace spbmm::kernels

// ---- Training products: batched SDDMM and SpMM with reduce ----------------------------------
// They take the whole batch at once, so that the optimized backend can balance its threads by
// work over every entry (a skewed batch keeps every core busy). Shapes and aliasing are checked
// by the caller (src/ops); kernels trust them.

namespace spbmm::kernels {

// One SDDMM entry: for every stored entry p of A (CSR when row_ptr is set, else COO),
// out[p] = alpha * dot(X(row_p, :), Y(col_p, :)) + beta * a_values[p]. out may equal a_values
// (in place: each position is read before it is written, by the same thread).
template <Value T, Index I>
struct SddmmTask {
  std::int64_t rows = 0;
  std::int64_t nnz = 0;
  const I* row_ptr = nullptr;  // CSR: rows + 1 pointers
  const I* row_idx = nullptr;  // COO: nnz row indices
  const I* col_idx = nullptr;
  const T* a_values = nullptr;  // read only when beta != 0
  DenseView<const T> x;         // rows x k
  DenseView<const T> y;         // cols x k
  T* out = nullptr;             // nnz values
};

// One SpMM-with-reduce entry over canonical CSR: C(r, :) = reduce over the stored (r, j) of
// a_rj * B(j, :), 0 for an empty row. arg.data == nullptr: no arg indices wanted (Max and Min
// only); otherwise arg(r, c) receives the winning column, -1 for an empty row.
template <Value T, Index I>
struct ReduceTask {
  CsrView<T, I> a;
  DenseView<const T> b;
  DenseView<T> c;
  DenseView<I> arg;
};

#define SPBMM_DECLARE_TRAINING_KERNELS()                                                \
  template <::spbmm::Value T, ::spbmm::Index I>                                         \
  void sddmm(std::span<const ::spbmm::kernels::SddmmTask<T, I>> tasks, T alpha, T beta, \
             int threads);                                                              \
  template <::spbmm::Value T, ::spbmm::Index I>                                         \
  void spmm_reduce(std::span<const ::spbmm::kernels::ReduceTask<T, I>> tasks,           \
                   ::spbmm::Reduce reduce, int threads);

// threads: the team size to use (>= 1); the reference kernels run on the calling thread.
namespace reference {
SPBMM_DECLARE_TRAINING_KERNELS()
}  // namespace reference

namespace cpu {
SPBMM_DECLARE_TRAINING_KERNELS()
}  // namespace cpu

}  // namespace spbmm::kernels
