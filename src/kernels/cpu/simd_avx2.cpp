// The AVX2+FMA path of the CPU sparse x dense, SDDMM and max/min-reduce loops and its dispatch
// table, compiled for that ISA only here and entered only through kernel_table after a run-time
// check, so the library still runs on any x86-64.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/cpu/training_detail.hpp"

// Clang ignores GCC's target pragma; it takes the same ISA as an attribute on every function.
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace spbmm::kernels::cpu::detail {
namespace {

#include "kernels/cpu/vec_avx2.hpp"

// One row of C over NV vectors of columns: the accumulators live in registers for the whole
// row. With few accumulators the FMA latency would bind, so short blocks keep two sets and
// alternate nonzeros between them. kMasked handles a final partial vector (NV == 1) without
// touching memory past the row.
template <class T, class I, int NV, BetaMode kMode, bool kMasked>
inline __attribute__((always_inline)) void row_block(const I* __restrict ci, const T* __restrict va,
                                                     std::int64_t p0, std::int64_t p1,
                                                     const T* __restrict b, std::int64_t ldb,
                                                     T* __restrict c, T alpha, T beta,
                                                     typename Vec<T>::M mask) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr std::int64_t L = W::kLanes;
  constexpr int kSets = NV <= 4 ? 2 : 1;
  V acc[kSets][NV];
  for (int s = 0; s < kSets; ++s) {
    for (int k = 0; k < NV; ++k) acc[s][k] = W::zero();
  }
  std::int64_t p = p0;
  if constexpr (kSets == 2) {
    for (; p + 1 < p1; p += 2) {
      const V v0 = W::set1(va[p]), v1 = W::set1(va[p + 1]);
      const T* b0 = b + static_cast<std::int64_t>(ci[p]) * ldb;
      const T* b1 = b + static_cast<std::int64_t>(ci[p + 1]) * ldb;
      for (int k = 0; k < NV; ++k) {
        if constexpr (kMasked) {
          acc[0][k] = W::fma(v0, W::maskload(b0 + k * L, mask), acc[0][k]);
          acc[1][k] = W::fma(v1, W::maskload(b1 + k * L, mask), acc[1][k]);
        } else {
          acc[0][k] = W::fma(v0, W::load(b0 + k * L), acc[0][k]);
          acc[1][k] = W::fma(v1, W::load(b1 + k * L), acc[1][k]);
        }
      }
    }
  }
  for (; p < p1; ++p) {
    const V v = W::set1(va[p]);
    const T* br = b + static_cast<std::int64_t>(ci[p]) * ldb;
    for (int k = 0; k < NV; ++k) {
      if constexpr (kMasked) {
        acc[0][k] = W::fma(v, W::maskload(br + k * L, mask), acc[0][k]);
      } else {
        acc[0][k] = W::fma(v, W::load(br + k * L), acc[0][k]);
      }
    }
  }
  const V va_alpha = W::set1(alpha);
  for (int k = 0; k < NV; ++k) {
    V sum = acc[0][k];
    if constexpr (kSets == 2) sum = W::add(sum, acc[1][k]);
    V r = W::mul(sum, va_alpha);
    if constexpr (kMode != BetaMode::Zero) {
      const V old = kMasked ? W::maskload(c + k * L, mask) : W::load(c + k * L);
      r = kMode == BetaMode::One ? W::add(r, old) : W::fma(W::set1(beta), old, r);
    }
    if constexpr (kMasked) {
      W::maskstore(c + k * L, mask, r);
    } else {
      W::store(c + k * L, r);
    }
  }
}

// Touches the lines of B's rows that the nonzeros [q0, q1) will gather, so the misses of a
// large B overlap with the arithmetic of the rows before them.
template <class T, class I>
inline __attribute__((always_inline)) void prefetch_rows(const I* __restrict ci, std::int64_t q0,
                                                         std::int64_t q1, const T* b,
                                                         std::int64_t ldb, std::int64_t bytes) {
  for (std::int64_t q = q0; q < q1; ++q) {
    const char* row = reinterpret_cast<const char*>(b + static_cast<std::int64_t>(ci[q]) * ldb);
    for (std::int64_t off = 0; off < bytes; off += 64) _mm_prefetch(row + off, _MM_HINT_T0);
  }
}

template <class T, class I, BetaMode kMode>
void csr_rows_mode(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  using W = Vec<T>;
  constexpr std::int64_t L = W::kLanes;
  const I* ci = job.col_idx;
  const T* va = job.values;
  const std::int64_t pf_end = static_cast<std::int64_t>(job.row_ptr[r1]);
  const std::int64_t tile = std::max<std::int64_t>(job.tile, L);
  for (std::int64_t j0 = 0; j0 < job.n; j0 += tile) {
    const std::int64_t jt = std::min(tile, job.n - j0);
    const std::int64_t tail = jt % L;
    const typename W::M mask = tail != 0 ? W::mask(tail) : typename W::M{};
    const std::int64_t pf_bytes = static_cast<std::int64_t>(jt * sizeof(T));
    const T* b = job.b + j0;
    for (std::int64_t r = r0; r < r1; ++r) {
      const auto p0 = static_cast<std::int64_t>(job.row_ptr[r]);
      const auto p1 = static_cast<std::int64_t>(job.row_ptr[r + 1]);
      if (job.prefetch > 0) {
        prefetch_rows(ci, std::min(p0 + job.prefetch, pf_end), std::min(p1 + job.prefetch, pf_end),
                      b, job.ldb, pf_bytes);
      }
      T* c = job.c + r * job.ldc + j0;
      std::int64_t j = 0;
      for (; j + 8 * L <= jt; j += 8 * L) {
        row_block<T, I, 8, kMode, false>(ci, va, p0, p1, b + j, job.ldb, c + j, job.alpha, job.beta,
                                         mask);
      }
      if (j + 4 * L <= jt) {
        row_block<T, I, 4, kMode, false>(ci, va, p0, p1, b + j, job.ldb, c + j, job.alpha, job.beta,
                                         mask);
        j += 4 * L;
      }
      if (j + 2 * L <= jt) {
        row_block<T, I, 2, kMode, false>(ci, va, p0, p1, b + j, job.ldb, c + j, job.alpha, job.beta,
                                         mask);
        j += 2 * L;
      }
      if (j + L <= jt) {
        row_block<T, I, 1, kMode, false>(ci, va, p0, p1, b + j, job.ldb, c + j, job.alpha, job.beta,
                                         mask);
        j += L;
      }
      if (j < jt) {
        row_block<T, I, 1, kMode, true>(ci, va, p0, p1, b + j, job.ldb, c + j, job.alpha, job.beta,
                                        mask);
      }
    }
  }
}

#include "kernels/cpu/sparse_simd_tail.hpp"

#include "kernels/cpu/training_simd_tail.hpp"

#include "kernels/cpu/simd_table_tail.hpp"

}  // namespace

template <class T, class I>
const KernelTable<T, I>& avx2_kernels() noexcept {
  return kKernels<T, I>;
}

#define SPBMM_INSTANTIATE(T, I) template const KernelTable<T, I>& avx2_kernels<T, I>() noexcept;
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu::detail

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
