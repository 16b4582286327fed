// Interop with SuiteSparse: CHOLMOD matrices as spbmm views and back, GraphBLAS matrices to and
// from CsrMatrix.
//
// Opt-in: link the spbmm_suitesparse library (Meson: dependency('spbmm_suitesparse')), which
// defines SPBMM_HAVE_CHOLMOD and SPBMM_HAVE_GRAPHBLAS to 0 or 1 for what it was built with. No
// other spbmm header includes this one or SuiteSparse.
//
// CHOLMOD stores sparse matrices by column (CSC); the CSC arrays of A are the CSR arrays of A^T,
// so csr_of_transpose(cholmod_sparse) returns a view of A^T without copying. The exports allocate
// through CHOLMOD: free their results with cholmod_free_sparse / cholmod_free_dense (int32 indices,
// common started with cholmod_start) or cholmod_l_free_* (int64, common from cholmod_l_start).
// The library lowers common.print to 0 during its CHOLMOD calls, so CHOLMOD prints nothing; the
// failure comes back as a SuiteSparseError instead.
//
// GraphBLAS must be initialised by the caller (GrB_init) before these functions are called.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

#ifndef SPBMM_HAVE_CHOLMOD
#if __has_include(<cholmod.h>) || __has_include(<suitesparse/cholmod.h>)
#define SPBMM_HAVE_CHOLMOD 1
#else
#define SPBMM_HAVE_CHOLMOD 0
#endif
#endif

#ifndef SPBMM_HAVE_GRAPHBLAS
#if __has_include(<GraphBLAS.h>)
#define SPBMM_HAVE_GRAPHBLAS 1
#else
#define SPBMM_HAVE_GRAPHBLAS 0
#endif
#endif

#if SPBMM_HAVE_CHOLMOD
#if __has_include(<cholmod.h>)
#include <cholmod.h>
#else
#include <suitesparse/cholmod.h>
#endif
#endif

#if SPBMM_HAVE_GRAPHBLAS
// GraphBLAS.h declares C functions without a linkage block of its own (its C++ parts are wrapped
// in extern "C++"), so C++ callers supply the C linkage.
extern "C" {
#include <GraphBLAS.h>
}
#endif

namespace spbmm::interop {

// A CHOLMOD or GraphBLAS call failed. code() is the library's status (cholmod_common::status or
// GrB_Info); what() reads "<library> <call> failed: status <code> (<name>)[: detail]".
class SuiteSparseError : public Error {
 public:
  SuiteSparseError(std::string library, int code, const std::string& what)
      : Error(what), library_(std::move(library)), code_(code) {}
  // "CHOLMOD" or "GraphBLAS".
  const std::string& library() const noexcept { return library_; }
  int code() const noexcept { return code_; }

 private:
  std::string library_;
  int code_;
};

#if SPBMM_HAVE_CHOLMOD

// True when this CHOLMOD stores single-precision values (CHOLMOD 5 and later); before that only
// double is possible and the float overloads below reject every matrix with InvalidArgument.
inline constexpr bool kCholmodHasSingle = CHOLMOD_MAIN_VERSION >= 5;

// A CsrView of A^T on the arrays of the CHOLMOD matrix A, without copying: rows = A.ncol,
// cols = A.nrow. A must be packed, sorted, unsymmetric (stype == 0), real, with values of type T
// (dtype) and indices of type I (itype CHOLMOD_INT for int32_t, CHOLMOD_LONG for int64_t);
// otherwise InvalidArgument says which promise fails. Symmetric matrices store one triangle only
// and are rejected: expand them first with cholmod_copy(A, 0, 1, common) (or cholmod_l_copy).
template <Value T, Index I>
CsrView<T, I> csr_of_transpose(const cholmod_sparse& a);

// A column-major DenseView (ld = A.d) on a real CHOLMOD dense matrix whose values are T, without
// copying. InvalidArgument when the xtype or dtype does not fit.
template <Value T>
DenseView<T> dense_view(cholmod_dense& a);
template <Value T>
DenseView<const T> dense_view(const cholmod_dense& a);

// A new CHOLMOD matrix holding A (CSC, packed, sorted, stype 0): a transposing copy of the CSR
// arrays. The common's itype must match I (cholmod_start for int32_t, cholmod_l_start for
// int64_t), else InvalidArgument. FormatError when `a` is not valid CSR; SuiteSparseError when
// CHOLMOD fails. The caller frees the result.
template <Value T, Index I>
cholmod_sparse* to_cholmod_sparse(const CsrView<T, I>& a, cholmod_common& common);

// A new CHOLMOD matrix holding A^T: the CSR arrays copied as they are (no transposition), so
// csr_of_transpose(*result) views A again. Same rules as to_cholmod_sparse.
template <Value T, Index I>
cholmod_sparse* to_cholmod_sparse_of_transpose(const CsrView<T, I>& a, cholmod_common& common);

// A new real CHOLMOD dense matrix (column-major, d = nrow) holding a copy of `a` (either layout).
// Allocated with cholmod_allocate_dense or cholmod_l_allocate_dense after the common's itype.
template <Value T>
cholmod_dense* to_cholmod_dense(DenseView<const T> a, cholmod_common& common);

#endif  // SPBMM_HAVE_CHOLMOD

#if SPBMM_HAVE_GRAPHBLAS

// A canonical CsrMatrix with the entries of the GraphBLAS matrix (any storage format; values of
// any built-in real type are typecast to T by GraphBLAS, bool to 0/1). LimitError when the shape
// or entry count does not fit I; SuiteSparseError when a GraphBLAS call fails (an uninitialised
// library, a user-defined type).
template <Value T, Index I>
CsrMatrix<T, I> from_graphblas(GrB_Matrix a);

// A new GraphBLAS matrix of type GrB_FP32 / GrB_FP64 (after T) with the entries of `a`, built by
// GrB_Matrix_build. FormatError when `a` is not valid CSR; SuiteSparseError when GraphBLAS fails.
// The caller frees the result with GrB_Matrix_free.
template <Value T, Index I>
GrB_Matrix to_graphblas(const CsrView<T, I>& a);

#endif  // SPBMM_HAVE_GRAPHBLAS

}  // namespace spbmm::interop
