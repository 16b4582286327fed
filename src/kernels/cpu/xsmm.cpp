// LIBXSMM's generated small-GEMM kernels (see xsmm.hpp). LIBXSMM works in column-major terms, so
// the row-major C = A B is computed as its transpose C^T = B^T A^T: the kernel for (n, m, k) with
// B in the place of A.
#include "kernels/cpu/xsmm.hpp"

#include <climits>
#include <mutex>
#include <type_traits>

#include "spbmm/config.hpp"

#if SPBMM_HAVE_XSMM
#include <libxsmm.h>
#endif

namespace spbmm::kernels::cpu {

bool small_gemm_built() noexcept { return SPBMM_HAVE_XSMM != 0; }

namespace {

#if SPBMM_HAVE_XSMM
// LIBXSMM's kernel for the column-major C (m x n) = alpha op(A) op(B) + beta C, flags saying
// which operand is transposed; null when it makes none.
template <Value T>
void* dispatch(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda, std::int64_t ldb,
               std::int64_t ldc, T beta, int flags) {
  static std::once_flag init;
  std::call_once(init, [] { libxsmm_init(); });
  const auto mm = static_cast<libxsmm_blasint>(m);
  const auto nn = static_cast<libxsmm_blasint>(n);
  const auto kk = static_cast<libxsmm_blasint>(k);
  const auto la = static_cast<libxsmm_blasint>(lda);
  const auto lb = static_cast<libxsmm_blasint>(ldb);
  const auto lc = static_cast<libxsmm_blasint>(ldc);
  const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
  const T alpha = 1;
  if constexpr (std::is_same_v<T, float>) {
    return reinterpret_cast<void*>(
        libxsmm_smmdispatch(mm, nn, kk, &la, &lb, &lc, &alpha, &beta, &flags, &prefetch));
  } else {
    return reinterpret_cast<void*>(
        libxsmm_dmmdispatch(mm, nn, kk, &la, &lb, &lc, &alpha, &beta, &flags, &prefetch));
  }
}
#endif

// Records the shape a kernel was made for, once it was made.
void record_shape(SmallGemm& g, std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                  std::int64_t ldb, std::int64_t ldc) {
  if (g.fn == nullptr) return;
  g.m = m;
  g.n = n;
  g.k = k;
  g.lda = lda;
  g.ldb = ldb;
  g.ldc = ldc;
}

}  // namespace

template <Value T>
SmallGemm make_small_gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                          std::int64_t ldb, std::int64_t ldc) {
  SmallGemm g;
#if SPBMM_HAVE_XSMM
  if (m < 1 || n < 1 || k < 1 || n > kSmallGemmMaxNK || k > kSmallGemmMaxNK || lda < k || ldb < n ||
      ldc < n || m > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
    return g;
  }
  g.fn = dispatch<T>(n, m, k, ldb, lda, ldc, T(0), LIBXSMM_GEMM_FLAG_NONE);
  if (g.fn != nullptr && m * n * static_cast<std::int64_t>(sizeof(T)) >= kSmallGemmStreamMinBytes &&
      (ldc * static_cast<std::int64_t>(sizeof(T))) % 64 == 0) {
    g.fn_stream = dispatch<T>(n, m, k, ldb, lda, ldc, T(0), LIBXSMM_GEMM_FLAG_ALIGN_C_NTS_HINT);
  }
#endif
  record_shape(g, m, n, k, lda, ldb, ldc);
  return g;
}

template <Value T>
SmallGemm make_at_b_gemm(std::int64_t m, std::int64_t n, std::int64_t k, std::int64_t lda,
                         std::int64_t ldb, std::int64_t ldc) {
  SmallGemm g;
#if SPBMM_HAVE_XSMM
  if (m < 1 || n < 1 || k < 1 || m > kSmallGemmMaxNK || n > kSmallGemmMaxNK || lda < m || ldb < n ||
      ldc < n || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX) {
    return g;
  }
  // Column-major C^T (n x m) += B^T (n x k, B's rows as columns) times A^T's transpose: A's rows
  // are the columns of a k x m operand stored transposed.
  g.fn = dispatch<T>(n, m, k, ldb, lda, ldc, T(1), LIBXSMM_GEMM_FLAG_TRANS_B);
  g.at_b = g.fn != nullptr;
#endif
  record_shape(g, m, n, k, lda, ldb, ldc);
  return g;
}

template <Value T>
void run_small_gemm(const SmallGemm& g, const T* a, const T* b, T* c, bool stream) noexcept {
#if SPBMM_HAVE_XSMM
  void* fn = stream ? g.fn_stream : g.fn;
  if constexpr (std::is_same_v<T, float>) {
    reinterpret_cast<libxsmm_smmfunction>(fn)(b, a, c);
  } else {
    reinterpret_cast<libxsmm_dmmfunction>(fn)(b, a, c);
  }
#else
  (void)g;
  (void)a;
  (void)b;
  (void)c;
  (void)stream;
#endif
}

template SmallGemm make_small_gemm<float>(std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                          std::int64_t, std::int64_t);
template SmallGemm make_small_gemm<double>(std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                           std::int64_t, std::int64_t);
template SmallGemm make_at_b_gemm<float>(std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                         std::int64_t, std::int64_t);
template SmallGemm make_at_b_gemm<double>(std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                          std::int64_t, std::int64_t);
template void run_small_gemm<float>(const SmallGemm&, const float*, const float*, float*,
                                    bool) noexcept;
template void run_small_gemm<double>(const SmallGemm&, const double*, const double*, double*,
                                     bool) noexcept;

}  // namespace spbmm::kernels::cpu
