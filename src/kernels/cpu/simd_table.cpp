// The dispatch table of the CPU sparse and training loops: the portable path's entries and the
// lookup by Isa (the SIMD paths' tables come from simd_avx2.cpp and simd_avx512.cpp).
#include "kernels/cpu/simd_table.hpp"

#include <array>
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

template <class T, class I>
constexpr KernelTable<T, I> kGeneric{&csr_rows_generic<T, I>, &scatter_unit<T, I>,
                                     &sddmm_range_generic<T, I>, &reduce_rows_any<T, I>};

}  // namespace

template <class T, class I>
const KernelTable<T, I>& generic_kernels() noexcept {
  return kGeneric<T, I>;
}

// Indexed by Isa; registered once, at the first call for <T, I>.
template <class T, class I>
const KernelTable<T, I>& kernel_table(Isa isa) noexcept {
  static const std::array<const KernelTable<T, I>*, kIsaCount> kTables = {
      &generic_kernels<T, I>(), &avx2_kernels<T, I>(), &avx512_kernels<T, I>()};
  return *kTables[static_cast<std::size_t>(isa)];
}

#define SPBMM_INSTANTIATE(T, I)                                       \
  template const KernelTable<T, I>& generic_kernels<T, I>() noexcept; \
  template const KernelTable<T, I>& kernel_table<T, I>(Isa) noexcept;
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu::detail
