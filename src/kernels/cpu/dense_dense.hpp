// The fast dense x dense path: batch scheduling, BLAS routing and the thresholds the dispatcher
// uses.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/cpu/xsmm.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/types.hpp"

namespace spbmm::kernels::cpu {

// An entry of m*k*n at or above this goes to the optimized BLAS (when built with one). Below it the
// register-blocked kernel, which needs no packing and no call overhead, was measured as fast as or
// faster than single-threaded OpenBLAS (1.7x at 12^3, 1.1x at 64^3, 1.0x at 192^3, in cache);
// on W1 (256^3, operands from memory) OpenBLAS was 4% (fp32) and 9% (fp64) faster.
inline constexpr std::int64_t kDenseBlasMinVolume = std::int64_t{192} * 192 * 192;

// The same cut-off while the AVX-512 kernel is active. On a 2-core AMD EPYC with full-width
// AVX-512 that kernel ran (one thread) 1.8x (fp32) and 1.7x (fp64) as fast as OpenBLAS per entry
// at 256^3, 1.7x / 1.45x at 1024^3 and 1.45x / 1.35x at 2048^3, so only larger products go to
// BLAS.
inline constexpr std::int64_t kDenseBlasMinVolumeAvx512 = std::int64_t{2048} * 2048 * 2048;

// A product runs with several threads inside it only from this m*k*n on: splitting a 128^3 product
// over 2 threads was measured 1.9x faster, a 64^3 one 1.6x, but only while the pool's threads
// spin; with sleeping (passive) threads the fork/join cost is a loss below about 192^3.
// In a batch, an entry is split only when it alone is more than a thread's fair share of the work.
inline constexpr std::int64_t kDenseSplitMinVolume = std::int64_t{128} * 128 * 128;

// True when cpu::dense_dense sends an m x k by k x n product to BLAS (false without BLAS); the
// cut-off depends on the kernel path in use (see cpu::force_isa).
bool dense_uses_blas(std::int64_t m, std::int64_t n, std::int64_t k) noexcept;

// The views as the row blocks of one matrix: when all are row-major with one width and one row
// stride, and each starts where the one before it ends (empty views are passed over), the view of
// their stacked rows; otherwise none. A batch sum of A_i^T B_i laid out this way (a concatenated
// feature matrix split per graph, as in a layer's weight gradient) is A^T B over the stacked rows.
template <class View>
std::optional<View> stacked_rows(const std::vector<View>& views) {
  std::optional<View> out;
  std::uintptr_t next = 0;
  for (const View& v : views) {
    if (v.rows == 0) continue;
    if (v.layout != Layout::RowMajor || v.cols == 0 || v.ld < v.cols) return std::nullopt;
    const auto at = reinterpret_cast<std::uintptr_t>(v.data);
    if (!out) {
      out = v;
    } else {
      if (v.cols != out->cols || v.ld != out->ld || at != next) return std::nullopt;
      out->rows += v.rows;
    }
    next = at + static_cast<std::uintptr_t>(v.rows) * static_cast<std::uintptr_t>(v.ld) *
                    sizeof(*v.data);
  }
  return out;
}

// C += alpha A^T B for row blocks stacked into one A (k x m) and one B (k x n), as stacked_rows
// gives them: generated kernels over fixed chunks of rows, summed in an order fixed by k alone, so
// every bit is the same at any thread count (as on the blocked kernel, which runs it where no
// kernel can be generated). C is m x n.
template <Value T>
void stacked_at_b(T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
                  const DenseView<T>& c, int threads);

// Sets the BLAS library's thread count for the lifetime of the object and restores the old one.
// The count is process-wide, so construct it only outside parallel regions, around work that
// calls BLAS: 1 around a loop that runs one product per thread (several threads per call would
// oversubscribe the cores), the loop's thread count around a single product.
// Without BLAS it does nothing.
class BlasThreadsScope {
 public:
  explicit BlasThreadsScope(int threads) noexcept;
  ~BlasThreadsScope();
  BlasThreadsScope(const BlasThreadsScope&) = delete;
  BlasThreadsScope& operator=(const BlasThreadsScope&) = delete;

 private:
  int saved_ = 0;
};

// C_i = alpha * op(A_i) * op(B_i) + beta * C_i for every entry of c, with `threads` threads
// (0: the OpenMP default; inside a parallel region it runs on the calling thread). a and b hold
// either c.size() views or one view used with every entry. Shapes are checked by the caller.
// Entries that are each worth splitting and dominate the batch run one at a time with all threads;
// the rest run one entry per thread under a guided schedule.
// `small`, when given, holds a generated kernel per entry of a (see xsmm.hpp), used for each
// product it fits.
template <Value T>
void dense_batch(Op op_a, Op op_b, T alpha, const std::vector<DenseView<const T>>& a,
                 const std::vector<DenseView<const T>>& b, T beta,
                 const std::vector<DenseView<T>>& c, int threads = 0,
                 const std::vector<SmallGemm>* small = nullptr);

// One product with up to `threads` threads (1: the calling thread only; inside a parallel region
// always the calling thread only). cpu::dense_dense is this with the OpenMP default.
template <Value T>
void dense_dense_threads(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads);

// True when a product with n columns of op(B) and inner dimension k runs on the path that keeps
// all of op(B) in registers (AVX-512, n up to one vector, k <= 16): it writes whole rows of C with
// non-temporal stores in a batch, and a generated kernel was measured slower there (W2, 16^3:
// 4.1 against 3.1 ms).
template <Value T>
bool dense_register_product(std::int64_t n, std::int64_t k) noexcept;

// One product on the register-blocked kernel only, never BLAS, with up to `threads` threads that
// each own whole column panels of C: every element of C is summed in the same order at any thread
// count. For long products that must not depend on the thread count (batch sums); a product with
// a long K and few columns also runs faster here than through OpenBLAS (a 128 x 503232 by
// 503232 x 128 product of transposed A: 113 against 324 ms, 2 threads, Intel Xeon).
template <Value T>
void dense_dense_blocked(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads);

namespace detail {
// Benchmarks only: when off, no product goes to BLAS (dense_uses_blas is false), so that the
// register-blocked kernel can be timed at any size. Process-wide, like cpu::force_isa.
void set_dense_blas_enabled(bool on) noexcept;
}  // namespace detail

}  // namespace spbmm::kernels::cpu
