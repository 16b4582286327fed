// The portable path's table of the CPU sparse and training loops (the SIMD paths' tables come
// from simd_avx2.cpp and simd_avx512.cpp).
#include "kernels/cpu/simd_table.hpp"

#include <cstdint>

#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/cpu/training_detail.hpp"

namespace spbmm::kernels::cpu::detail {
namespace {

template <class T, class I>
void scatter_unit(const Triplets<T, I>& t, const T* b, std::int64_t ldb, T* c, std::int64_t ldc,
                  std::int64_t j0, std::int64_t j1, T alpha) {
  scatter_generic(t, Strided<const T>{b, ldb, 1}, Strided<T>{c, ldc, 1}, j0, j1, alpha);
}

template <class T, class I>
void reduce_rows_any(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1, bool is_max) {
  if (is_max) {
    reduce_rows_generic<true>(t, r0, r1);
  } else {
    reduce_rows_generic<false>(t, r0, r1);
  }
}

}  // namespace

#define SPBMM_DEFINE_TABLE(T, I)                                                \
  template <>                                                                   \
  const KernelTable<T, I> IsaKernels<Isa::Generic, T, I>::kTable{               \
      &csr_rows_generic<T, I>, &scatter_unit<T, I>, &sddmm_range_generic<T, I>, \
      &reduce_rows_any<T, I>};
SPBMM_DEFINE_TABLE(float, std::int32_t)
SPBMM_DEFINE_TABLE(float, std::int64_t)
SPBMM_DEFINE_TABLE(double, std::int32_t)
SPBMM_DEFINE_TABLE(double, std::int64_t)
#undef SPBMM_DEFINE_TABLE

}  // namespace spbmm::kernels::cpu::detail
