// Every kernel declared once; each backend namespace implements the same set.
#pragma once

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
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
