// The AVX2+FMA path of the CPU sparse x dense, SDDMM and max/min-reduce loops and its dispatch
// table, compiled for that ISA only here and entered only through kernel_table after a run-time
// check, so the library still runs on any x86-64.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cpu/dense_detail.hpp"
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

// Accumulator sets per row block of NV vectors: two for short blocks, where the FMA latency
// would bind with one.
constexpr int row_sets(int nv) { return nv <= 4 ? 2 : 1; }

#include "kernels/cpu/sparse-inl.hpp"

// The columns of a row in blocks of 8 vectors, then one each of 4, 2 and 1 where they fit, then
// the partial vector by itself (masked).
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
    const Edges<T> e{mask, mask};
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
        row_block<T, I, 8, kMode, false, false, false>(ci, va, p0, p1, b + j, job.ldb, c + j,
                                                       job.alpha, job.beta, e);
      }
      if (j + 4 * L <= jt) {
        row_block<T, I, 4, kMode, false, false, false>(ci, va, p0, p1, b + j, job.ldb, c + j,
                                                       job.alpha, job.beta, e);
        j += 4 * L;
      }
      if (j + 2 * L <= jt) {
        row_block<T, I, 2, kMode, false, false, false>(ci, va, p0, p1, b + j, job.ldb, c + j,
                                                       job.alpha, job.beta, e);
        j += 2 * L;
      }
      if (j + L <= jt) {
        row_block<T, I, 1, kMode, false, false, false>(ci, va, p0, p1, b + j, job.ldb, c + j,
                                                       job.alpha, job.beta, e);
        j += L;
      }
      if (j < jt) {
        row_block<T, I, 1, kMode, false, true, false>(ci, va, p0, p1, b + j, job.ldb, c + j,
                                                      job.alpha, job.beta, e);
      }
    }
  }
}

#include "kernels/cpu/training-inl.hpp"

#include "kernels/cpu/simd_table-inl.hpp"

// ---- The dense kernel ----------------------------------------------------------------------
// Tiles of up to 6 rows by 2 vectors of 8 (fp32) or 4 (fp64) lanes: 12 accumulators of the 16
// vector registers.
constexpr int kTileRows = 6;

#include "kernels/cpu/dense-inl.hpp"

template <class T>
constexpr DenseKernels<T> kDenseKernels{&gemm_simd<T, true>, &gemm_simd<T, false>,
                                        2 * Vec<T>::kLanes, nullptr, nullptr};

}  // namespace

template <>
const DenseKernels<float> IsaDenseKernels<Isa::Avx2Fma, float>::kTable = kDenseKernels<float>;
template <>
const DenseKernels<double> IsaDenseKernels<Isa::Avx2Fma, double>::kTable = kDenseKernels<double>;

#define SPBMM_DEFINE_TABLE(T, I) \
  template <>                    \
  const KernelTable<T, I> IsaKernels<Isa::Avx2Fma, T, I>::kTable = kKernels<T, I>;
SPBMM_DEFINE_TABLE(float, std::int32_t)
SPBMM_DEFINE_TABLE(float, std::int64_t)
SPBMM_DEFINE_TABLE(double, std::int32_t)
SPBMM_DEFINE_TABLE(double, std::int64_t)
#undef SPBMM_DEFINE_TABLE

}  // namespace spbmm::kernels::cpu::detail

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
