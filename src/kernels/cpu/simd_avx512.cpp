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

#include "kernels/cpu/sparse-inl.hpp"

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

#include "kernels/cpu/training-inl.hpp"

#include "kernels/cpu/simd_table-inl.hpp"

// ---- The dense kernel ----------------------------------------------------------------------
// Tiles of up to 8 rows by 2 vectors of 16 (fp32) or 8 (fp64) lanes (8 x 32 fp32, 8 x 16 fp64:
// 16 accumulators of the 32 vector registers), mask registers for the edge columns. On a 2-core
// AMD EPYC with full-width AVX-512, against the AVX2
// tiles in the same runs (2 threads): W5 1.2x (fp32) and 1.25-1.45x (fp64), W1 without BLAS
// 1.8x / 1.7x, W2 fp64 1.1x; W2 fp32 (memory-bound) level to 5% slower. 12-row tiles (24
// accumulators) were 6% slower on W5 and 27% on W2 fp32.
constexpr int kTileRows = 8;

#include "kernels/cpu/dense-inl.hpp"

// Small products with the whole of op(B) in registers: op(B) has at most one vector of columns
// (16 fp32, 8 fp64) and at most kSmallMaxK rows, and A has unit stride along k. The rows of C are
// computed eight at a time, one accumulator each, so that eight FMA chains are in flight; A's
// elements are broadcast straight from memory. No packing and no call per tile. On W2 (16^3) it
// ran level with the 8-row tiles by itself; what it adds is the non-temporal store of whole rows
// of C (see kStreamMinBytes), which the tiles' masked edge stores do not allow.
constexpr int kSmallMaxK = 16;
constexpr int kSmallRows = 8;

// Whether op(B) (k x n) fits the registers of that path.
template <class T>
constexpr bool register_shape(std::int64_t n, std::int64_t k) {
  return n <= Vec<T>::kLanes && k >= 1 && k <= kSmallMaxK;
}

template <class T>
using SmallFn = void (*)(std::int64_t, const T*, std::int64_t, const T*, std::int64_t, T*,
                         std::int64_t, T, T, int, bool);

// Writes alpha * acc (+ beta * C) to a row of C. beta == 0 never reads C; with `stream` (beta ==
// 0, a full row on a line boundary) the row bypasses the cache.
template <class T>
inline __attribute__((always_inline)) void small_put(T* cr, typename Vec<T>::V acc,
                                                     typename Vec<T>::V va, typename Vec<T>::V vb,
                                                     T beta, typename Vec<T>::M mask, bool stream) {
  using X = Vec<T>;
  typename X::V res = X::mul(acc, va);
  if (beta != T(0)) res = X::fma(X::maskload(cr, mask), vb, res);
  if (stream) {
    X::stream(cr, res);
  } else {
    X::maskstore(cr, mask, res);
  }
}

// Transposes a 16 x 16 block of floats held as 16 row vectors, in place: interleaves of 32-bit
// then 64-bit elements make 4 x 4 blocks within 128-bit lanes, and two rounds of two-source
// permutes put the lanes in order. (The interleaves are written as their all-lanes masked forms:
// GCC 12's headers for the plain ones trip -Wuninitialized.)
inline __attribute__((always_inline)) void transpose16(__m512* r) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_mask_unpacklo_ps(r[2 * i], 0xFFFF, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_mask_unpackhi_ps(r[2 * i], 0xFFFF, r[2 * i], r[2 * i + 1]);
  }
  __m512 u[16];
  for (int i = 0; i < 4; ++i) {
    const __m512d d0 = _mm512_castps_pd(t[4 * i]), d1 = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d d2 = _mm512_castps_pd(t[4 * i + 2]), d3 = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i + 0] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(d0, 0xFF, d0, d2));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(d0, 0xFF, d0, d2));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_mask_unpacklo_pd(d1, 0xFF, d1, d3));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_mask_unpackhi_pd(d1, 0xFF, d1, d3));
  }
  // u[4i + q], 128-bit lane l, holds column 4l + q of rows 4i .. 4i + 3.
  const __m512i lo_pairs =
      _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi_pairs =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const __m512i lo_halves =
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  const __m512i hi_halves =
      _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
  for (int q = 0; q < 4; ++q) {
    const __m512 v_lo = _mm512_permutex2var_ps(u[q], lo_pairs, u[4 + q]);
    const __m512 v_hi = _mm512_permutex2var_ps(u[q], hi_pairs, u[4 + q]);
    const __m512 w_lo = _mm512_permutex2var_ps(u[8 + q], lo_pairs, u[12 + q]);
    const __m512 w_hi = _mm512_permutex2var_ps(u[8 + q], hi_pairs, u[12 + q]);
    r[q] = _mm512_permutex2var_ps(v_lo, lo_halves, w_lo);
    r[4 + q] = _mm512_permutex2var_ps(v_lo, hi_halves, w_lo);
    r[8 + q] = _mm512_permutex2var_ps(v_hi, lo_halves, w_hi);
    r[12 + q] = _mm512_permutex2var_ps(v_hi, hi_halves, w_hi);
  }
}

// With kTransB (fp32 only), b holds op(B) transposed: n rows of k contiguous elements, ldb apart;
// they are loaded as rows and transposed in registers, so op(B) = T costs no packing either.
template <class T, int K, bool kTransB>
void small_avx512(std::int64_t m, const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T* c,
                  std::int64_t ldc, T alpha, T beta, int n, bool stream) {
  using X = Vec<T>;
  using V = typename X::V;
  const typename X::M mask = n == X::kLanes ? static_cast<typename X::M>(~0U) : X::mask(n);
  V bv[K];
  if constexpr (kTransB) {
    const auto k_mask = static_cast<__mmask16>(K == 16 ? 0xFFFFU : (1U << K) - 1U);
    __m512 r[16];
    for (int j = 0; j < 16; ++j) {
      r[j] = j < n ? _mm512_maskz_loadu_ps(k_mask, b + j * ldb) : _mm512_setzero_ps();
    }
    transpose16(r);
#pragma GCC unroll 16
    for (int p = 0; p < K; ++p) bv[p] = r[p];
  } else {
#pragma GCC unroll 16
    for (int p = 0; p < K; ++p) bv[p] = X::maskload(b + p * ldb, mask);
  }
  const V va = X::set1(alpha);
  const V vb = X::set1(beta);
  std::int64_t i = 0;
  for (; i + kSmallRows <= m; i += kSmallRows) {
    V acc[kSmallRows];
#pragma GCC unroll 8
    for (int r = 0; r < kSmallRows; ++r) acc[r] = X::mul(X::bcast(a + r * lda), bv[0]);
#pragma GCC unroll 16
    for (int p = 1; p < K; ++p) {
#pragma GCC unroll 8
      for (int r = 0; r < kSmallRows; ++r)
        acc[r] = X::fma(X::bcast(a + r * lda + p), bv[p], acc[r]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < kSmallRows; ++r) small_put(c + r * ldc, acc[r], va, vb, beta, mask, stream);
    a += kSmallRows * lda;
    c += kSmallRows * ldc;
  }
  for (; i < m; ++i) {
    V acc0 = X::mul(X::bcast(a), bv[0]);
    V acc1 = X::zero();
#pragma GCC unroll 16
    for (int p = 1; p < K; ++p) {
      if (p % 2 == 0) {
        acc0 = X::fma(X::bcast(a + p), bv[p], acc0);
      } else {
        acc1 = X::fma(X::bcast(a + p), bv[p], acc1);
      }
    }
    small_put(c, X::add(acc0, acc1), va, vb, beta, mask, stream);
    a += lda;
    c += ldc;
  }
}

template <class T, bool kTransB, std::size_t... K>
constexpr std::array<SmallFn<T>, kSmallMaxK> small_table(std::index_sequence<K...> /*k*/) {
  return {&small_avx512<T, static_cast<int>(K) + 1, kTransB>...};
}

template <class T, bool kTransB>
inline constexpr std::array<SmallFn<T>, kSmallMaxK> kSmall512 =
    small_table<T, kTransB>(std::make_index_sequence<kSmallMaxK>{});

// The small-product path for p when it applies: op(B) at most one vector wide and at most
// kSmallMaxK rows, unit stride along k in A and along j in B. Returns false (and does nothing)
// otherwise. `stream` asks for non-temporal stores where beta == 0 and the rows of C are full,
// line-aligned vectors.
template <class T>
bool small_product(const Problem<T>& p, bool stream) {
  // op(B) = T with B's rows contiguous: fp32 only (the in-register transpose is 16 x 16).
  const bool trans_b = std::is_same_v<T, float> && p.b_rs == 1 && p.b_cs != 1;
  if (!register_shape<T>(p.n, p.k) || p.a_cs != 1 || (p.b_cs != 1 && !trans_b)) {
    return false;
  }
  stream = stream && p.beta == T(0) && p.n == Vec<T>::kLanes &&
           reinterpret_cast<std::uintptr_t>(p.c) % 64 == 0 &&
           (p.c_rs * static_cast<std::int64_t>(sizeof(T))) % 64 == 0;
  const auto fn = static_cast<std::size_t>(p.k - 1);
  if constexpr (std::is_same_v<T, float>) {
    if (trans_b) {
      kSmall512<T, true>[fn](p.m, p.a, p.a_rs, p.b, p.b_cs, p.c, p.c_rs, p.alpha, p.beta,
                             static_cast<int>(p.n), stream);
      return true;
    }
  }
  kSmall512<T, false>[fn](p.m, p.a, p.a_rs, p.b, p.b_rs, p.c, p.c_rs, p.alpha, p.beta,
                          static_cast<int>(p.n), stream);
  return true;
}

// op(B) = B^T with B's rows contiguous (op(B)(p, j) = b[p + j * b_cs]) and A's rows contiguous:
// every element of C is the dot product of a row of A and a row of B, so both are read as stored,
// with no packing (packing a transposed panel element by element cost more than the product
// itself when A has few rows). A 4 x 4 block of C keeps 16 vector accumulators along k; one
// shuffle tree then reduces them to a single vector holding the block, row after row.
constexpr int kDotRows = 4;

// Adds within pairs of lanes: per 128-bit lane, the sums of a's two pairs then b's two pairs.
inline __attribute__((always_inline)) __m512 sum_pairs(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}

// Adds the 128-bit lanes of a and of b in pairs: (a0 + a1, a2 + a3, b0 + b1, b2 + b3).
// (A two-source permute rather than _mm512_shuffle_f32x4, whose GCC 12 header trips
// -Wmaybe-uninitialized.)
inline __attribute__((always_inline)) __m512 sum_lanes(__m512 a, __m512 b) {
  const __m512i even = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i odd = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  return _mm512_add_ps(_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b));
}

// Sums each of 16 vectors; lane 4r + j of the result is the sum of v[4r + j].
inline __attribute__((always_inline)) __m512 reduce16(const __m512* v) {
  __m512 g[4];
  for (int q = 0; q < 4; ++q) {
    g[q] = sum_pairs(sum_pairs(v[4 * q], v[4 * q + 1]), sum_pairs(v[4 * q + 2], v[4 * q + 3]));
  }
  return sum_lanes(sum_lanes(g[0], g[1]), sum_lanes(g[2], g[3]));
}

// Rows [0, m) of C = alpha * A * B^T + beta * C, fp32, A (m x k) and B (n x k) row-major.
void dot_avx512(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda,
                const float* b, std::int64_t ldb, float* c, std::int64_t ldc, float alpha,
                float beta) {
  const __mmask16 tail = static_cast<__mmask16>((1U << (k % 16)) - 1U);
  const std::int64_t kv = k / 16;
  for (std::int64_t i0 = 0; i0 < m; i0 += kDotRows) {
    const int mr = static_cast<int>(std::min<std::int64_t>(kDotRows, m - i0));
    const float* ar[kDotRows];
    // Rows past the edge repeat row i0: they are computed and never stored.
    for (int r = 0; r < kDotRows; ++r) ar[r] = a + (i0 + (r < mr ? r : 0)) * lda;
    for (std::int64_t j0 = 0; j0 < n; j0 += 4) {
      const int nr = static_cast<int>(std::min<std::int64_t>(4, n - j0));
      const float* br[4];
      for (int j = 0; j < 4; ++j) br[j] = b + (j0 + (j < nr ? j : 0)) * ldb;
      __m512 acc[16];
      for (int x = 0; x < 16; ++x) acc[x] = _mm512_setzero_ps();
      for (std::int64_t v = 0; v < kv; ++v) {
        __m512 bv[4];
        for (int j = 0; j < 4; ++j) bv[j] = _mm512_loadu_ps(br[j] + 16 * v);
        for (int r = 0; r < kDotRows; ++r) {
          const __m512 av = _mm512_loadu_ps(ar[r] + 16 * v);
          for (int j = 0; j < 4; ++j) acc[4 * r + j] = _mm512_fmadd_ps(av, bv[j], acc[4 * r + j]);
        }
      }
      if (tail != 0) {
        __m512 bv[4];
        for (int j = 0; j < 4; ++j) bv[j] = _mm512_maskz_loadu_ps(tail, br[j] + 16 * kv);
        for (int r = 0; r < kDotRows; ++r) {
          const __m512 av = _mm512_maskz_loadu_ps(tail, ar[r] + 16 * kv);
          for (int j = 0; j < 4; ++j) acc[4 * r + j] = _mm512_fmadd_ps(av, bv[j], acc[4 * r + j]);
        }
      }
      __m512 sums = _mm512_mul_ps(reduce16(acc), _mm512_set1_ps(alpha));
      alignas(64) float block[16];
      _mm512_store_ps(block, sums);
      const __mmask8 cols = static_cast<__mmask8>((1U << nr) - 1U);
      for (int r = 0; r < mr; ++r) {
        float* cr = c + (i0 + r) * ldc + j0;
        __m128 res = _mm_load_ps(block + 4 * r);
        // beta == 0 must not read C.
        if (beta != 0.0F) {
          res = _mm_fmadd_ps(_mm_maskz_loadu_ps(cols, cr), _mm_set1_ps(beta), res);
        }
        _mm_mask_storeu_ps(cr, cols, res);
      }
    }
  }
}

// A has at most this many rows for the dot-product path; beyond it the packed panels of
// gemm_simd are reused by enough rows to pay for their packing. On W5's shapes (M, K, N in
// [8, 128]) with op(B) = T the dot path for every entry ran 1.26x faster than packing, and the
// recommender's similarity batch (M <= 16, K = 64) 2x faster.
constexpr std::int64_t kDotMaxRows = 128;

// The AVX-512 path's products that skip the panels: the small product with op(B) in registers,
// and the dot-product form of op(B) = B^T (fp32) for an A of few rows.
template <class T>
bool direct_avx512(const Problem<T>& p, bool stream) {
  if (small_product(p, stream)) return true;
  if constexpr (std::is_same_v<T, float>) {
    if (p.b_rs == 1 && p.b_cs != 1 && p.a_cs == 1 && p.m <= kDotMaxRows) {
      dot_avx512(p.m, p.n, p.k, p.a, p.a_rs, p.b, p.b_cs, p.c, p.c_rs, p.alpha, p.beta);
      return true;
    }
  }
  return false;
}

template <class T>
constexpr DenseKernels<T> kDenseKernels{&gemm_simd<T, true>, &gemm_simd<T, false>,
                                        2 * Vec<T>::kLanes, &direct_avx512<T>, &register_shape<T>};

}  // namespace

template <>
const DenseKernels<float> IsaDenseKernels<Isa::Avx512, float>::kTable = kDenseKernels<float>;
template <>
const DenseKernels<double> IsaDenseKernels<Isa::Avx512, double>::kTable = kDenseKernels<double>;

#define SPBMM_DEFINE_TABLE(T, I) \
  template <>                    \
  const KernelTable<T, I> IsaKernels<Isa::Avx512, T, I>::kTable = kKernels<T, I>;
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
