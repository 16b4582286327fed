// The AVX-512 loops of the CPU SDDMM and max/min-reduce kernels (F, VL, BW, DQ with FMA),
// compiled for that ISA only here and entered only after a run-time check.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/training_detail.hpp"

#ifdef __clang__
#pragma clang attribute push( \
    __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")
#endif

namespace spbmm::kernels::cpu::detail {
namespace {

#include "kernels/cpu/vec_avx512.hpp"

#include "kernels/cpu/training_simd_tail.hpp"

}  // namespace

template <class T, class I>
void sddmm_range_avx512(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T alpha,
                        T beta) {
  sddmm_range_simd(t, p0, p1, alpha, beta);
}

template <class T, class I>
void reduce_rows_avx512(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1, bool is_max) {
  if (is_max) {
    reduce_rows_simd<true>(t, r0, r1);
  } else {
    reduce_rows_simd<false>(t, r0, r1);
  }
}

#define SPBMM_INSTANTIATE(T, I)                                                                 \
  template void sddmm_range_avx512<T, I>(const SddmmTask<T, I>&, std::int64_t, std::int64_t, T, \
                                         T);                                                    \
  template void reduce_rows_avx512<T, I>(const ReduceTask<T, I>&, std::int64_t, std::int64_t, bool);
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
