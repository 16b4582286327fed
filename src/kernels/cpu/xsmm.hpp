// Small and tall dense products through kernels that LIBXSMM generates for one shape: made once (at
// plan time, or per call for the chunks of a long product), then called with no dispatch, packing
// or checks of their own.
#pragma once

#include <cstdint>

#include "spbmm/dense.hpp"
#include "spbmm/types.hpp"

namespace spbmm::kernels::cpu {

// A generated kernel for C = A B (alpha 1, beta 0: C is written, never read), or with at_b for
// C += A^T B, all three row-major, for one shape and one set of leading dimensions. `fn` is null
// when none was made (built without LIBXSMM, a shape out of range, or a CPU it cannot generate
// code for).
struct SmallGemm {
  void* fn = nullptr;
  std::int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  // A kernel of make_at_b_gemm (C += A^T B), never one that fits() a plain product.
  bool at_b = false;
  // The same product writing C with non-temporal stores, for C whose rows start on 64-byte
  // boundaries (see streams()); null when not made.
  void* fn_stream = nullptr;

  // Whether fn_stream may write this C (its rows, ldc apart, all start on cache lines).
  template <Value T>
  bool streams(const T* c) const noexcept {
    return fn_stream != nullptr && reinterpret_cast<std::uintptr_t>(c) % 64 == 0;
  }

  // Whether this kernel computes C = alpha * op_a(A) * op_b(B) + beta * C for these operands.
  template <Value T>
  bool fits(Op op_a, Op op_b, T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
            T beta, const DenseView<T>& c) const noexcept {
    return fn != nullptr && !at_b && op_a == Op::N && op_b == Op::N && alpha == T(1) &&
           beta == T(0) && a.layout == Layout::RowMajor && b.layout == Layout::RowMajor &&
           c.layout == Layout::RowMajor && c.rows == m && c.cols == n && a.cols == k &&
           a.ld == lda && b.ld == ldb && c.ld == ldc;
  }
};

// True when built with LIBXSMM.
bool small_gemm_built() noexcept;

// Outputs of at least this many bytes also get a kernel with non-temporal stores (when their row
// stride is a whole number of cache lines): such a C leaves the caches anyway, and the stores save
// reading it in first (W11's X W, 512 outputs of about 1000 x 128 floats: 66-68 -> 62-65 ms).
inline constexpr std::int64_t kSmallGemmStreamMinBytes = std::int64_t{256} << 10;

// Widest n and k a kernel is made for (m is any): a generated kernel keeps B's panel in cache and
// streams A's rows, which suits tall products too (512 row blocks of about 1000 x 128 by 128 x 128:
// 71-75 ms against the blocked kernel's 97-115, MKL-backed torch 65 ms; 2 threads, Intel Xeon).
inline constexpr std::int64_t kSmallGemmMaxNK = 256;

// The kernel for C (m x n, row stride ldc) = A (m x k, lda) B (k x n, ldb), generated on the first
// request for that shape and looked up afterwards (thread-safe). Empty SmallGemm when none.
template <Value T>
SmallGemm make_small_gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                          std::int64_t ldb, std::int64_t ldc);

// The kernel for C (m x n, ldc) += A^T B with A (k x m, lda) and B (k x n, ldb), all row-major:
// one row chunk of a stacked weight gradient. LIBXSMM makes it with B transposed in its
// column-major terms (C^T += B^T A). Empty SmallGemm when none (m or n above kSmallGemmMaxNK).
template <Value T>
SmallGemm make_at_b_gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                         std::int64_t ldb, std::int64_t ldc);

// Runs a kernel that fits (see SmallGemm::fits), or one of make_at_b_gemm with a = A and b = B,
// on the calling thread; with `stream` (only where g.streams(c)), the one with non-temporal
// stores, which the caller fences before C is read elsewhere.
template <Value T>
void run_small_gemm(const SmallGemm& g, const T* a, const T* b, T* c, bool stream = false) noexcept;

}  // namespace spbmm::kernels::cpu
