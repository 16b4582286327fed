// The fast dense x dense path: batch scheduling, BLAS routing and the thresholds the dispatcher
// uses.
#pragma once

#include <cstdint>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/types.hpp"

namespace spbmm::kernels::cpu {

// An entry of m*k*n at or above this goes to the optimized BLAS (when built with one). Below it the
// register-blocked kernel, which needs no packing and no call overhead, was measured as fast as or
// faster than single-threaded OpenBLAS (1.7x at 12^3, 1.1x at 64^3, 1.0x at 192^3, in cache);
// on W1 (256^3, operands from memory) OpenBLAS was 4% (fp32) and 9% (fp64) faster.
inline constexpr std::int64_t kDenseBlasMinVolume = std::int64_t{192} * 192 * 192;

// A product runs with several threads inside it only from this m*k*n on: splitting a 128^3 product
// over 2 threads was measured 1.9x faster, a 64^3 one 1.6x, but only while the pool's threads
// spin; with sleeping (passive) threads the fork/join cost is a loss below about 192^3.
// In a batch, an entry is split only when it alone is more than a thread's fair share of the work.
inline constexpr std::int64_t kDenseSplitMinVolume = std::int64_t{128} * 128 * 128;

// True when cpu::dense_dense sends an m x k by k x n product to BLAS (false without BLAS).
bool dense_uses_blas(std::int64_t m, std::int64_t n, std::int64_t k) noexcept;

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
template <Value T>
void dense_batch(Op op_a, Op op_b, T alpha, const std::vector<DenseView<const T>>& a,
                 const std::vector<DenseView<const T>>& b, T beta,
                 const std::vector<DenseView<T>>& c, int threads = 0);

// One product with up to `threads` threads (1: the calling thread only; inside a parallel region
// always the calling thread only). cpu::dense_dense is this with the OpenMP default.
template <Value T>
void dense_dense_threads(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads);

namespace detail {
// Makes the register-blocked kernel take its baseline-ISA path even where AVX2/FMA is available,
// so that tests cover what other machines run. Process-wide: set it only while no product runs.
void force_generic_dense_kernel(bool on) noexcept;
}  // namespace detail

}  // namespace spbmm::kernels::cpu
