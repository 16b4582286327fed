// The AVX-512 (F, VL, BW, DQ with FMA) path of the CPU sparse x dense, SDDMM and max/min-reduce
// loops and its dispatch table, compiled for that ISA only here and entered only through
// kernel_table after a run-time check, so the library still runs on any x86-64. Partial vectors use
// mask registers: a masked load or store never touches the lanes it leaves out, so rows ending just
// before unmapped memory are safe. When the rows of B all start at the same offset within a cache
// line, the vectors of a row are moved down to line boundaries (the first one then partial), so
// that no 64-byte load straddles two lines; on W3 with the 16-byte offset of an ordinary heap
// buffer this measured about 10% faster.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/cpu/training_detail.hpp"

// Clang ignores GCC's target pragma; it takes the same ISA as an attribute on every function.
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

// Accumulator sets per row block of NV vectors: 16 accumulators in all up to 8 vectors. The
// independent sets also keep more gathers of B rows in flight: four sets instead of two made W4
// (4 vectors) 1.05x faster from memory and 1.15x with B in cache, two instead of one W8 (8
// vectors) 1.07-1.10x (2-core Intel Xeon).
constexpr int row_sets(int nv) { return nv <= 4 ? 4 : (nv <= 8 ? 2 : 1); }

#include "kernels/cpu/sparse_simd_tail.hpp"

// One row over `total` vectors in blocks of up to 16 vectors (17 to 24 as 8 and the rest); the
// row's first vector is partial when e.first leaves lanes out, its last when `last_partial`. A row
// is swept once per block and never once more for a partial vector alone.
template <class T, class I, BetaMode kMode, bool kStream>
inline __attribute__((always_inline)) void row_columns(const RowJob<T, I>& job, std::int64_t p0,
                                                       std::int64_t p1, const T* b, T* c,
                                                       std::int64_t total, bool first_partial,
                                                       bool last_partial, const Edges<T>& e) {
  constexpr std::int64_t L = Vec<T>::kLanes;
  std::int64_t v = 0;
  auto run = [&]<int NV, bool kFirst, bool kLast>(const Edges<T>& edges) {
    row_block<T, I, NV, kMode, kFirst, kLast, kStream>(
        job.col_idx, job.values, p0, p1, b + v * L, job.ldb, c + v * L, job.alpha, job.beta, edges);
  };
  auto block = [&]<int NV>() {
    const bool first = first_partial && v == 0, last = last_partial && v + NV == total;
    if (first && last) {
      if constexpr (NV == 1) {
        run.template operator()<1, true, false>(
            Edges<T>{static_cast<typename Vec<T>::M>(e.first & e.last), e.last});
      } else {
        run.template operator()<NV, true, true>(e);
      }
    } else if (first) {
      run.template operator()<NV, true, false>(e);
    } else if (last) {
      run.template operator()<NV, false, true>(e);
    } else {
      run.template operator()<NV, false, false>(e);
    }
    v += NV;
  };
  while (total - v > 24) block.template operator()<16>();
  if (total - v > 16) block.template operator()<8>();
  // The rest (at most 16 vectors) in one block.
  switch (total - v) {
    case 16:
      return block.template operator()<16>();
    case 15:
      return block.template operator()<15>();
    case 14:
      return block.template operator()<14>();
    case 13:
      return block.template operator()<13>();
    case 12:
      return block.template operator()<12>();
    case 11:
      return block.template operator()<11>();
    case 10:
      return block.template operator()<10>();
    case 9:
      return block.template operator()<9>();
    case 8:
      return block.template operator()<8>();
    case 7:
      return block.template operator()<7>();
    case 6:
      return block.template operator()<6>();
    case 5:
      return block.template operator()<5>();
    case 4:
      return block.template operator()<4>();
    case 3:
      return block.template operator()<3>();
    case 2:
      return block.template operator()<2>();
    case 1:
      return block.template operator()<1>();
    default:
      return;
  }
}

template <class T, class I, BetaMode kMode, bool kStream>
void csr_rows_pass(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  using W = Vec<T>;
  using M = typename W::M;
  constexpr std::int64_t L = W::kLanes;
  constexpr auto kSize = static_cast<std::int64_t>(sizeof(T));
  const I* ci = job.col_idx;
  const std::int64_t pf_end = static_cast<std::int64_t>(job.row_ptr[r1]);
  const std::int64_t tile = std::max<std::int64_t>(job.tile, L);
  const M all = static_cast<M>(~0u);
  for (std::int64_t j0 = 0; j0 < job.n; j0 += tile) {
    const std::int64_t jt = std::min(tile, job.n - j0);
    // When every row of B starts at the same offset within a cache line, the vectors are
    // shifted down to line boundaries (the first one partial): a full-width load that straddles
    // two lines costs two, and every load of the row would straddle.
    const auto addr = reinterpret_cast<std::uintptr_t>(job.b + j0);
    const std::int64_t shift = (job.ldb * kSize) % 64 == 0 && addr % sizeof(T) == 0
                                   ? static_cast<std::int64_t>(addr % 64) / kSize
                                   : 0;
    const std::int64_t width = jt + shift;
    const std::int64_t total = (width + L - 1) / L;
    const Edges<T> e{static_cast<M>(all << shift), width % L != 0 ? W::mask(width % L) : all};
    const std::int64_t pf_bytes = total * L * kSize;
    const T* b = job.b + j0 - shift;
    for (std::int64_t r = r0; r < r1; ++r) {
      const auto p0 = static_cast<std::int64_t>(job.row_ptr[r]);
      const auto p1 = static_cast<std::int64_t>(job.row_ptr[r + 1]);
      if (job.prefetch > 0) {
        prefetch_rows(ci, std::min(p0 + job.prefetch, pf_end), std::min(p1 + job.prefetch, pf_end),
                      b, job.ldb, pf_bytes);
      }
      row_columns<T, I, kMode, kStream>(job, p0, p1, b, job.c + r * job.ldc + j0 - shift, total,
                                        shift != 0, width % L != 0, e);
    }
  }
}

// Non-temporal stores need every row of C to start on a line boundary, and apply only when C is
// not read (beta == 0) and the vectors are not shifted for B's alignment.
template <class T, class I, BetaMode kMode>
void csr_rows_mode(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  if constexpr (kMode == BetaMode::Zero) {
    const auto c_addr = reinterpret_cast<std::uintptr_t>(job.c);
    const auto b_addr = reinterpret_cast<std::uintptr_t>(job.b);
    const bool aligned =
        c_addr % 64 == 0 && (job.ldc * static_cast<std::int64_t>(sizeof(T))) % 64 == 0 &&
        (b_addr % 64 == 0 || (job.ldb * static_cast<std::int64_t>(sizeof(T))) % 64 != 0);
    if (job.stream_c && aligned && job.tile >= job.n) {
      csr_rows_pass<T, I, kMode, true>(job, r0, r1);
      _mm_sfence();
      return;
    }
  }
  csr_rows_pass<T, I, kMode, false>(job, r0, r1);
}

#include "kernels/cpu/training_simd_tail.hpp"

#include "kernels/cpu/simd_table_tail.hpp"

}  // namespace

template <class T, class I>
const KernelTable<T, I>& avx512_kernels() noexcept {
  return kKernels<T, I>;
}

#define SPBMM_INSTANTIATE(T, I) template const KernelTable<T, I>& avx512_kernels<T, I>() noexcept;
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
