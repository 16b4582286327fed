// cpu::dense_dense and the dense batch path: register-blocked AVX-512, AVX2/FMA and generic
// kernels, BLAS for large products, and the one-entry-per-thread or all-threads-per-entry batch
// schedule.
#include "kernels/cpu/dense_dense.hpp"
#include "kernels/cpu/isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define SPBMM_DENSE_X86 1
#include <immintrin.h>
#else
#define SPBMM_DENSE_X86 0
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "kernels/kernels.hpp"
#include "spbmm/config.hpp"

#if SPBMM_HAVE_BLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace spbmm::kernels::cpu {
namespace {

using std::int64_t;

bool in_parallel() noexcept {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

int default_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The product as strided arrays, normalized so that C is row-major: op(A)(i, p) is
// a[i * a_rs + p * a_cs], op(B)(p, j) is b[p * b_rs + j * b_cs], C(i, j) is c[i * c_rs + j].
// For any layout and op, each operand has a unit stride along one of its two indices.
template <class T>
struct Problem {
  int64_t m, n, k;
  const T* a;
  int64_t a_rs, a_cs;
  const T* b;
  int64_t b_rs, b_cs;
  T* c;
  int64_t c_rs;
  T alpha, beta;
};

// Strides of op(X)(i, j) for a stored X.
template <class T>
void op_strides(const DenseView<const T>& x, Op op, int64_t& rs, int64_t& cs) {
  const bool row_major = x.layout == Layout::RowMajor;
  // Stored (i, j) is at i * ld + j (row-major) or i + j * ld (column-major).
  int64_t srs = row_major ? x.ld : 1;
  int64_t scs = row_major ? 1 : x.ld;
  if (op == Op::T) std::swap(srs, scs);
  rs = srs;
  cs = scs;
}

template <class T>
Problem<T> make_problem(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                        const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  const int64_t k = (op_a == Op::N) ? a.cols : a.rows;
  Problem<T> p{c.rows, c.cols, k, a.data, 0, 0, b.data, 0, 0, c.data, c.ld, alpha, beta};
  op_strides(a, op_a, p.a_rs, p.a_cs);
  op_strides(b, op_b, p.b_rs, p.b_cs);
  if (c.layout == Layout::ColMajor) {
    // C^T = op(B)^T op(A)^T is row-major in C's storage.
    Problem<T> t{c.cols, c.rows, k,      b.data, p.b_cs, p.b_rs, a.data,
                 p.a_cs, p.a_rs, c.data, c.ld,   alpha,  beta};
    return t;
  }
  return p;
}

// C = beta * C over the whole of C (the product is empty or alpha is zero); beta == 0 writes zeros
// without reading C.
template <class T>
void scale_c(const Problem<T>& p) {
  if (p.beta == T(1)) return;
  for (int64_t i = 0; i < p.m; ++i) {
    T* row = p.c + i * p.c_rs;
    if (p.beta == T(0)) {
      std::fill(row, row + p.n, T(0));
    } else {
      for (int64_t j = 0; j < p.n; ++j) row[j] *= p.beta;
    }
  }
}

// K is processed in chunks so that a B panel (kKc x NR) stays in L1 while all row blocks use it.
constexpr int64_t kKc = 256;
constexpr int kMr = 6;

// Copies rows [0, kc) and columns [0, nr) of a B panel into buf (row stride nr_pad), zero-padding
// the columns past nr.
template <class T>
void pack_b(const T* b, int64_t b_rs, int64_t b_cs, int64_t kc, int nr, int nr_pad, T* buf) {
  for (int64_t p = 0; p < kc; ++p) {
    const T* src = b + p * b_rs;
    T* dst = buf + p * nr_pad;
    int j = 0;
    for (; j < nr; ++j) dst[j] = src[j * b_cs];
    for (; j < nr_pad; ++j) dst[j] = T(0);
  }
}

#if SPBMM_DENSE_X86
// ---------------------------------------------------------------------------------------------
// AVX2 + FMA: a 6 x (2 vectors) tile of C in 12 accumulators, B rows loaded as vectors, A
// elements broadcast. Edge columns use masked loads and stores, so no tile is ever padded.

#define SPBMM_AVX2 __attribute__((target("avx2,fma")))

template <class T>
struct Avx;

template <>
struct Avx<float> {
  using V = __m256;
  static constexpr int kLanes = 8;
  SPBMM_AVX2 static V zero() { return _mm256_setzero_ps(); }
  SPBMM_AVX2 static V set1(float x) { return _mm256_set1_ps(x); }
  SPBMM_AVX2 static V load(const float* p) { return _mm256_loadu_ps(p); }
  SPBMM_AVX2 static V load(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  SPBMM_AVX2 static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  SPBMM_AVX2 static void store(float* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
  SPBMM_AVX2 static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  SPBMM_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  SPBMM_AVX2 static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  SPBMM_AVX2 static __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

template <>
struct Avx<double> {
  using V = __m256d;
  static constexpr int kLanes = 4;
  SPBMM_AVX2 static V zero() { return _mm256_setzero_pd(); }
  SPBMM_AVX2 static V set1(double x) { return _mm256_set1_pd(x); }
  SPBMM_AVX2 static V load(const double* p) { return _mm256_loadu_pd(p); }
  SPBMM_AVX2 static V load(const double* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  SPBMM_AVX2 static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  SPBMM_AVX2 static void store(double* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
  SPBMM_AVX2 static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  SPBMM_AVX2 static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  SPBMM_AVX2 static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  SPBMM_AVX2 static __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

// The tile: MR rows, NV vectors of columns, the last one masked when kMask. kRowA: A has unit
// stride along k (a_cs == 1), else along i (a_rs == 1); both are common and both stay in L1.
template <class T, int MR, int NV, bool kMask, bool kRowA>
SPBMM_AVX2 void tile_avx2(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                          int64_t b_rs, T* c, int64_t c_rs, T alpha, T beta, int tail) {
  using X = Avx<T>;
  const __m256i mask = X::mask(tail);
  using V = typename X::V;
  constexpr int L = X::kLanes;
  V acc[MR][NV];
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = X::zero();
  }
  const T* ar[MR];
  for (int r = 0; r < MR; ++r) ar[r] = a + r * a_rs;
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    for (int v = 0; v < NV; ++v) {
      bv[v] = (kMask && v == NV - 1) ? X::load(b + v * L, mask) : X::load(b + v * L);
    }
    for (int r = 0; r < MR; ++r) {
      const V av = kRowA ? X::bcast(ar[r] + p) : X::bcast(a + r);
      for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(av, bv[v], acc[r][v]);
    }
    b += b_rs;
    if (!kRowA) a += a_cs;
  }
  const V va = X::set1(alpha);
  const V vb = X::set1(beta);
  for (int r = 0; r < MR; ++r) {
    T* cr = c + r * c_rs;
    for (int v = 0; v < NV; ++v) {
      const bool masked = kMask && v == NV - 1;
      V res = X::mul(acc[r][v], va);
      // beta == 0 must not read C: NaN there may not leak into the result.
      if (beta != T(0))
        res = X::fmadd(masked ? X::load(cr + v * L, mask) : X::load(cr + v * L), vb, res);
      if (masked) {
        X::store(cr + v * L, mask, res);
      } else {
        X::store(cr + v * L, res);
      }
    }
  }
}

template <class T>
using TileFn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, int64_t, T*, int64_t, T, T,
                        int);

template <class T, bool kRowA, int NV, bool kMask, std::size_t... R>
constexpr std::array<TileFn<T>, kMr> tile_row(std::index_sequence<R...> /*rows*/) {
  return {&tile_avx2<T, static_cast<int>(R) + 1, NV, kMask, kRowA>...};
}

// Tile kernels indexed [nv - 1][masked][mr - 1], for one A access kind.
template <class T, bool kRowA>
inline constexpr std::array<std::array<std::array<TileFn<T>, kMr>, 2>, 2> kTiles = {{
    {{tile_row<T, kRowA, 1, false>(std::make_index_sequence<kMr>{}),
      tile_row<T, kRowA, 1, true>(std::make_index_sequence<kMr>{})}},
    {{tile_row<T, kRowA, 2, false>(std::make_index_sequence<kMr>{}),
      tile_row<T, kRowA, 2, true>(std::make_index_sequence<kMr>{})}},
}};

// The AVX2 tile family: 6 rows by up to 2 vectors of 8 (fp32) or 4 (fp64) columns.
template <class T, bool kRowA>
struct Avx2Tiles {
  static constexpr int kLanes = Avx<T>::kLanes;
  static constexpr int kRows = kMr;
  static TileFn<T> get(int nv, bool masked, int mr) {
    return kTiles<T, kRowA>[static_cast<std::size_t>(nv - 1)][static_cast<std::size_t>(masked)]
                           [static_cast<std::size_t>(mr - 1)];
  }
};

// ---------------------------------------------------------------------------------------------
// AVX-512: the same scheme with 16 (fp32) or 8 (fp64) lanes, 32 vector registers and mask
// registers for the edge columns. The tile is up to kMr512 rows by 2 vectors (8 x 32 fp32,
// 8 x 16 fp64: 16 accumulators). On a 2-core AMD EPYC with full-width AVX-512, against the AVX2
// tiles in the same runs (2 threads): W5 1.2x (fp32) and 1.25-1.45x (fp64), W1 without BLAS
// 1.8x / 1.7x, W2 fp64 1.1x; W2 fp32 (memory-bound) level to 5% slower. 12-row tiles (24
// accumulators) were 6% slower on W5 and 27% on W2 fp32.

#define SPBMM_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

constexpr int kMr512 = 8;

template <class T>
struct Avx512;

template <>
struct Avx512<float> {
  using V = __m512;
  using M = __mmask16;
  static constexpr int kLanes = 16;
  SPBMM_AVX512 static V zero() { return _mm512_setzero_ps(); }
  SPBMM_AVX512 static V set1(float x) { return _mm512_set1_ps(x); }
  SPBMM_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
  SPBMM_AVX512 static V load(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  SPBMM_AVX512 static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  SPBMM_AVX512 static void store(float* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  SPBMM_AVX512 static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  SPBMM_AVX512 static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  SPBMM_AVX512 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  SPBMM_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static M mask(int n) { return static_cast<M>((1U << n) - 1U); }
};

template <>
struct Avx512<double> {
  using V = __m512d;
  using M = __mmask8;
  static constexpr int kLanes = 8;
  SPBMM_AVX512 static V zero() { return _mm512_setzero_pd(); }
  SPBMM_AVX512 static V set1(double x) { return _mm512_set1_pd(x); }
  SPBMM_AVX512 static V load(const double* p) { return _mm512_loadu_pd(p); }
  SPBMM_AVX512 static V load(const double* p, M m) { return _mm512_maskz_loadu_pd(m, p); }
  SPBMM_AVX512 static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  SPBMM_AVX512 static void store(double* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  SPBMM_AVX512 static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  SPBMM_AVX512 static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  SPBMM_AVX512 static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  SPBMM_AVX512 static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static M mask(int n) { return static_cast<M>((1U << n) - 1U); }
};

// As tile_avx2; masked loads do not fault on the columns they leave out.
template <class T, int MR, int NV, bool kMask, bool kRowA>
SPBMM_AVX512 void tile_avx512(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                              int64_t b_rs, T* c, int64_t c_rs, T alpha, T beta, int tail) {
  using X = Avx512<T>;
  using V = typename X::V;
  constexpr int L = X::kLanes;
  const typename X::M mask = X::mask(tail);
  V acc[MR][NV];
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = X::zero();
  }
  const T* ar[MR];
  for (int r = 0; r < MR; ++r) ar[r] = a + r * a_rs;
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    for (int v = 0; v < NV; ++v) {
      bv[v] = (kMask && v == NV - 1) ? X::load(b + v * L, mask) : X::load(b + v * L);
    }
    for (int r = 0; r < MR; ++r) {
      const V av = kRowA ? X::bcast(ar[r] + p) : X::bcast(a + r);
      for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(av, bv[v], acc[r][v]);
    }
    b += b_rs;
    if (!kRowA) a += a_cs;
  }
  const V va = X::set1(alpha);
  const V vb = X::set1(beta);
  for (int r = 0; r < MR; ++r) {
    T* cr = c + r * c_rs;
    for (int v = 0; v < NV; ++v) {
      const bool masked = kMask && v == NV - 1;
      V res = X::mul(acc[r][v], va);
      // beta == 0 must not read C: NaN there may not leak into the result.
      if (beta != T(0))
        res = X::fmadd(masked ? X::load(cr + v * L, mask) : X::load(cr + v * L), vb, res);
      if (masked) {
        X::store(cr + v * L, mask, res);
      } else {
        X::store(cr + v * L, res);
      }
    }
  }
}

template <class T, bool kRowA, int NV, bool kMask, std::size_t... R>
constexpr std::array<TileFn<T>, kMr512> tile_row512(std::index_sequence<R...> /*rows*/) {
  return {&tile_avx512<T, static_cast<int>(R) + 1, NV, kMask, kRowA>...};
}

template <class T, bool kRowA>
inline constexpr std::array<std::array<std::array<TileFn<T>, kMr512>, 2>, 2> kTiles512 = {{
    {{tile_row512<T, kRowA, 1, false>(std::make_index_sequence<kMr512>{}),
      tile_row512<T, kRowA, 1, true>(std::make_index_sequence<kMr512>{})}},
    {{tile_row512<T, kRowA, 2, false>(std::make_index_sequence<kMr512>{}),
      tile_row512<T, kRowA, 2, true>(std::make_index_sequence<kMr512>{})}},
}};

template <class T, bool kRowA>
struct Avx512Tiles {
  static constexpr int kLanes = Avx512<T>::kLanes;
  static constexpr int kRows = kMr512;
  static TileFn<T> get(int nv, bool masked, int mr) {
    return kTiles512<T, kRowA>[static_cast<std::size_t>(nv - 1)][static_cast<std::size_t>(masked)]
                              [static_cast<std::size_t>(mr - 1)];
  }
};

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
constexpr bool register_shape(int64_t n, int64_t k) {
  return n <= Avx512<T>::kLanes && k >= 1 && k <= kSmallMaxK;
}

template <class T>
using SmallFn = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, T, T, int,
                         bool);

// Writes alpha * acc (+ beta * C) to a row of C. beta == 0 never reads C; with `stream` (beta ==
// 0, a full row on a line boundary) the row bypasses the cache.
template <class T>
SPBMM_AVX512 inline __attribute__((always_inline)) void small_put(T* cr, typename Avx512<T>::V acc,
                                                                  typename Avx512<T>::V va,
                                                                  typename Avx512<T>::V vb, T beta,
                                                                  typename Avx512<T>::M mask,
                                                                  bool stream) {
  using X = Avx512<T>;
  typename X::V res = X::mul(acc, va);
  if (beta != T(0)) res = X::fmadd(X::load(cr, mask), vb, res);
  if (stream) {
    if constexpr (std::is_same_v<T, float>) {
      _mm512_stream_ps(cr, res);
    } else {
      _mm512_stream_pd(cr, res);
    }
  } else {
    X::store(cr, mask, res);
  }
}

// Transposes a 16 x 16 block of floats held as 16 row vectors, in place: interleaves of 32-bit
// then 64-bit elements make 4 x 4 blocks within 128-bit lanes, and two rounds of two-source
// permutes put the lanes in order. (The interleaves are written as their all-lanes masked forms:
// GCC 12's headers for the plain ones trip -Wuninitialized.)
SPBMM_AVX512 inline __attribute__((always_inline)) void transpose16(__m512* r) {
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
SPBMM_AVX512 void small_avx512(int64_t m, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                               int64_t ldc, T alpha, T beta, int n, bool stream) {
  using X = Avx512<T>;
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
    for (int p = 0; p < K; ++p) bv[p] = X::load(b + p * ldb, mask);
  }
  const V va = X::set1(alpha);
  const V vb = X::set1(beta);
  int64_t i = 0;
  for (; i + kSmallRows <= m; i += kSmallRows) {
    V acc[kSmallRows];
#pragma GCC unroll 8
    for (int r = 0; r < kSmallRows; ++r) acc[r] = X::mul(X::bcast(a + r * lda), bv[0]);
#pragma GCC unroll 16
    for (int p = 1; p < K; ++p) {
#pragma GCC unroll 8
      for (int r = 0; r < kSmallRows; ++r)
        acc[r] = X::fmadd(X::bcast(a + r * lda + p), bv[p], acc[r]);
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
        acc0 = X::fmadd(X::bcast(a + p), bv[p], acc0);
      } else {
        acc1 = X::fmadd(X::bcast(a + p), bv[p], acc1);
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
  stream = stream && p.beta == T(0) && p.n == Avx512<T>::kLanes &&
           reinterpret_cast<std::uintptr_t>(p.c) % 64 == 0 &&
           (p.c_rs * static_cast<int64_t>(sizeof(T))) % 64 == 0;
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
SPBMM_AVX512 inline __attribute__((always_inline)) __m512 sum_pairs(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}

// Adds the 128-bit lanes of a and of b in pairs: (a0 + a1, a2 + a3, b0 + b1, b2 + b3).
// (A two-source permute rather than _mm512_shuffle_f32x4, whose GCC 12 header trips
// -Wmaybe-uninitialized.)
SPBMM_AVX512 inline __attribute__((always_inline)) __m512 sum_lanes(__m512 a, __m512 b) {
  const __m512i even = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i odd = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  return _mm512_add_ps(_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b));
}

// Sums each of 16 vectors; lane 4r + j of the result is the sum of v[4r + j].
SPBMM_AVX512 inline __attribute__((always_inline)) __m512 reduce16(const __m512* v) {
  __m512 g[4];
  for (int q = 0; q < 4; ++q) {
    g[q] = sum_pairs(sum_pairs(v[4 * q], v[4 * q + 1]), sum_pairs(v[4 * q + 2], v[4 * q + 3]));
  }
  return sum_lanes(sum_lanes(g[0], g[1]), sum_lanes(g[2], g[3]));
}

// Rows [0, m) of C = alpha * A * B^T + beta * C, fp32, A (m x k) and B (n x k) row-major.
SPBMM_AVX512 void dot_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                             const float* b, int64_t ldb, float* c, int64_t ldc, float alpha,
                             float beta) {
  const __mmask16 tail = static_cast<__mmask16>((1U << (k % 16)) - 1U);
  const int64_t kv = k / 16;
  for (int64_t i0 = 0; i0 < m; i0 += kDotRows) {
    const int mr = static_cast<int>(std::min<int64_t>(kDotRows, m - i0));
    const float* ar[kDotRows];
    // Rows past the edge repeat row i0: they are computed and never stored.
    for (int r = 0; r < kDotRows; ++r) ar[r] = a + (i0 + (r < mr ? r : 0)) * lda;
    for (int64_t j0 = 0; j0 < n; j0 += 4) {
      const int nr = static_cast<int>(std::min<int64_t>(4, n - j0));
      const float* br[4];
      for (int j = 0; j < 4; ++j) br[j] = b + (j0 + (j < nr ? j : 0)) * ldb;
      __m512 acc[16];
      for (int x = 0; x < 16; ++x) acc[x] = _mm512_setzero_ps();
      for (int64_t v = 0; v < kv; ++v) {
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
constexpr int64_t kDotMaxRows = 128;

// A row-major B panel is packed too (into contiguous rows) once C has this many rows to reuse it:
// rows of B a power-of-two stride apart map to few L1 sets, so that a 1024^3 product ran 1.35x
// faster packed (AVX-512 path); at 128^3 packing was 5% slower, at 256^3 and 512^3 level.
constexpr int64_t kPackMinRows = 256;

// Column panels [j_begin, j_end) (in units of NR = 2 vectors of columns) of the product, with the
// tiles of one family (Avx2Tiles or Avx512Tiles).
template <class T, class Tiles>
void gemm_simd(const Problem<T>& p, int64_t j_begin, int64_t j_end) {
  constexpr int L = Tiles::kLanes;
  constexpr int kNr = 2 * L;
  constexpr int kRows = Tiles::kRows;
  alignas(64) T buf[kKc * kNr];
  const bool pack = p.b_cs != 1 || p.m >= kPackMinRows;
  for (int64_t kb = 0; kb < p.k; kb += kKc) {
    const int64_t kc = std::min(kKc, p.k - kb);
    const T beta = kb == 0 ? p.beta : T(1);
    for (int64_t jp = j_begin; jp < j_end; ++jp) {
      const int64_t jb = jp * kNr;
      const int nr = static_cast<int>(std::min<int64_t>(kNr, p.n - jb));
      const T* bp = p.b + kb * p.b_rs + jb * p.b_cs;
      int64_t b_rs = p.b_rs;
      if (pack) {
        pack_b(bp, p.b_rs, p.b_cs, kc, nr, kNr, buf);
        bp = buf;
        b_rs = kNr;
      }
      const int nv = nr > L ? 2 : 1;
      const int tail = nr - (nv - 1) * L;
      const bool masked = tail != L;
      const T* ab = p.a + kb * p.a_cs;
      T* cb = p.c + jb;
      const TileFn<T> full = Tiles::get(nv, masked, kRows);
      int64_t ib = 0;
      for (; ib + kRows <= p.m; ib += kRows) {
        full(kc, ab + ib * p.a_rs, p.a_rs, p.a_cs, bp, b_rs, cb + ib * p.c_rs, p.c_rs, p.alpha,
             beta, tail);
      }
      if (ib < p.m) {
        Tiles::get(nv, masked, static_cast<int>(p.m - ib))(kc, ab + ib * p.a_rs, p.a_rs, p.a_cs, bp,
                                                           b_rs, cb + ib * p.c_rs, p.c_rs, p.alpha,
                                                           beta, tail);
      }
    }
  }
}

#endif  // SPBMM_DENSE_X86

// ---------------------------------------------------------------------------------------------
// Generic (any ISA): the same blocking with the B panel always packed (zero-padded), so the
// fixed-width inner loop vectorizes with the baseline ISA and never reads past a row.

constexpr int kGenericNr = 8;

template <class T, int MR>
void tile_generic(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T* c,
                  int64_t c_rs, int nr, T alpha, T beta) {
  T acc[MR][kGenericNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* bp = b + p * kGenericNr;
    for (int r = 0; r < MR; ++r) {
      const T av = a[r * a_rs + p * a_cs];
      for (int j = 0; j < kGenericNr; ++j) acc[r][j] += av * bp[j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    T* cr = c + r * c_rs;
    for (int j = 0; j < nr; ++j) {
      cr[j] = beta == T(0) ? alpha * acc[r][j] : alpha * acc[r][j] + beta * cr[j];
    }
  }
}

template <class T>
void gemm_generic(const Problem<T>& p, int64_t j_begin, int64_t j_end) {
  alignas(32) T buf[kKc * kGenericNr];
  using Fn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, T*, int64_t, int, T, T);
  static constexpr Fn kFns[kMr] = {&tile_generic<T, 1>, &tile_generic<T, 2>, &tile_generic<T, 3>,
                                   &tile_generic<T, 4>, &tile_generic<T, 5>, &tile_generic<T, 6>};
  for (int64_t kb = 0; kb < p.k; kb += kKc) {
    const int64_t kc = std::min(kKc, p.k - kb);
    const T beta = kb == 0 ? p.beta : T(1);
    for (int64_t jp = j_begin; jp < j_end; ++jp) {
      const int64_t jb = jp * kGenericNr;
      const int nr = static_cast<int>(std::min<int64_t>(kGenericNr, p.n - jb));
      pack_b(p.b + kb * p.b_rs + jb * p.b_cs, p.b_rs, p.b_cs, kc, nr, kGenericNr, buf);
      for (int64_t ib = 0; ib < p.m; ib += kMr) {
        const int mr = static_cast<int>(std::min<int64_t>(kMr, p.m - ib));
        kFns[mr - 1](kc, p.a + ib * p.a_rs + kb * p.a_cs, p.a_rs, p.a_cs, buf,
                     p.c + ib * p.c_rs + jb, p.c_rs, nr, p.alpha, beta);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

std::atomic<bool> g_blas_enabled{true};

// C of at least this many elements is zeroed ahead of a beta == 0 product (see gemm_panels); a
// 16x16 C (W2) gained nothing from it.
constexpr int64_t kPretouchMinSize = 1024;

#if SPBMM_DENSE_X86
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
#endif

// The dense kernel's run-time dispatch table: per Isa, the loops compiled for it.
template <class T>
struct DenseKernels {
  // Column panels [j_begin, j_end) of the register-blocked product, for an A with unit stride
  // along k (a_cs == 1) or along i.
  void (*panels_row_a)(const Problem<T>& p, int64_t j_begin, int64_t j_end);
  void (*panels_col_a)(const Problem<T>& p, int64_t j_begin, int64_t j_end);
  // Columns per panel.
  int64_t panel_width;
  // Products done without the panels where they apply: false (and nothing done) where none
  // does; nullptr for a path without such products.
  bool (*direct)(const Problem<T>& p, bool stream);
  // Whether op(B) (k x n) fits the registers of `direct`; nullptr where there is no such product.
  bool (*fits_registers)(int64_t n, int64_t k);
};

// Indexed by Isa. Without x86 every entry is the portable path (active_isa() is Generic there).
template <class T>
const DenseKernels<T>& dense_kernels(Isa isa) noexcept {
  static constexpr DenseKernels<T> kGeneric{&gemm_generic<T>, &gemm_generic<T>, kGenericNr, nullptr,
                                            nullptr};
#if SPBMM_DENSE_X86
  static constexpr DenseKernels<T> kAvx2{&gemm_simd<T, Avx2Tiles<T, true>>,
                                         &gemm_simd<T, Avx2Tiles<T, false>>, 2 * Avx<T>::kLanes,
                                         nullptr, nullptr};
  static constexpr DenseKernels<T> kAvx512{
      &gemm_simd<T, Avx512Tiles<T, true>>, &gemm_simd<T, Avx512Tiles<T, false>>,
      2 * Avx512<T>::kLanes, &direct_avx512<T>, &register_shape<T>};
  static constexpr std::array<const DenseKernels<T>*, kIsaCount> kTables = {&kGeneric, &kAvx2,
                                                                            &kAvx512};
#else
  static constexpr std::array<const DenseKernels<T>*, kIsaCount> kTables = {&kGeneric, &kGeneric,
                                                                            &kGeneric};
#endif
  return *kTables[static_cast<std::size_t>(isa)];
}

// The smallest m*k*n sent to BLAS on each path, indexed by Isa.
constexpr std::array<int64_t, kIsaCount> kBlasMinVolume = {kDenseBlasMinVolume, kDenseBlasMinVolume,
                                                           kDenseBlasMinVolumeAvx512};

// The register-blocked product over column panels [j_begin, j_end) of w columns.
template <class T>
void gemm_panels(const Problem<T>& p, const DenseKernels<T>& kernels, int64_t j_begin,
                 int64_t j_end, int64_t w) {
  if (p.beta == T(0) && p.m * p.n >= kPretouchMinSize) {
    // The tiles write C a few rows of one column panel at a time, so when C is not cached every
    // row misses separately; zeroing it first, row after row, lets the hardware prefetchers bring
    // the lines in (measured 15% faster on W5). beta == 0 only: the kernel then never reads C.
    const int64_t j0 = j_begin * w;
    const int64_t j1 = std::min(p.n, j_end * w);
    for (int64_t i = 0; i < p.m; ++i) std::fill(p.c + i * p.c_rs + j0, p.c + i * p.c_rs + j1, T(0));
  }
  (p.a_cs == 1 ? kernels.panels_row_a : kernels.panels_col_a)(p, j_begin, j_end);
}

// The register-blocked product; with threads > 1 the column panels are split between threads, so
// each thread owns whole columns of C and needs no synchronization between K chunks.
template <class T>
void gemm_blocked(const Problem<T>& p, int threads) {
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  const int64_t w = kernels.panel_width;
  const int64_t panels = (p.n + w - 1) / w;
#ifdef _OPENMP
  if (threads > 1 && panels > 1 && !in_parallel()) {
    const int t = static_cast<int>(std::min<int64_t>(threads, panels));
#pragma omp parallel num_threads(t)
    {
      const int64_t id = omp_get_thread_num();
      const int64_t nt = omp_get_num_threads();
      gemm_panels(p, kernels, panels * id / nt, panels * (id + 1) / nt, w);
    }
    return;
  }
#else
  (void)threads;
#endif
  gemm_panels(p, kernels, 0, panels, w);
}

#if SPBMM_HAVE_BLAS
CBLAS_TRANSPOSE blas_trans(Layout stored, Layout order, Op op) {
  // A matrix stored in the other layout is its own transpose in this one.
  const bool t = (op == Op::T) != (stored != order);
  return t ? CblasTrans : CblasNoTrans;
}

template <class T>
void blas_gemm(Op op_a, Op op_b, T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c, int64_t k) {
  const CBLAS_ORDER order = c.layout == Layout::RowMajor ? CblasRowMajor : CblasColMajor;
  const Layout ord = c.layout;
  const auto m = static_cast<blasint>(c.rows);
  const auto n = static_cast<blasint>(c.cols);
  const auto kk = static_cast<blasint>(k);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(order, blas_trans(a.layout, ord, op_a), blas_trans(b.layout, ord, op_b), m, n, kk,
                alpha, a.data, static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), beta,
                c.data, static_cast<blasint>(c.ld));
  } else {
    cblas_dgemm(order, blas_trans(a.layout, ord, op_a), blas_trans(b.layout, ord, op_b), m, n, kk,
                alpha, a.data, static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), beta,
                c.data, static_cast<blasint>(c.ld));
  }
}

bool blas_int_ok(int64_t x) { return x <= static_cast<int64_t>(INT_MAX); }
#endif

// Asks for a matrix (up to 128 KiB of it) to be brought into L2, so that the next entry of a batch
// streams in while this one computes (W5: 6-8% faster on the AVX-512 path, fp32 and fp64).
template <class T>
void prefetch_view(const DenseView<const T>& x) {
  const int64_t outer = x.layout == Layout::RowMajor ? x.rows : x.cols;
  const int64_t inner = x.layout == Layout::RowMajor ? x.cols : x.rows;
  if (outer == 0 || inner == 0 ||
      outer * x.ld * static_cast<int64_t>(sizeof(T)) > (int64_t{1} << 17))
    return;
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = x.data + o * x.ld;
    for (int64_t i = 0; i < inner; i += kLine) __builtin_prefetch(row + i, 0, 2);
    __builtin_prefetch(row + inner - 1, 0, 2);
  }
}

// A batch whose outputs take at least this many bytes writes them with non-temporal stores where
// the small-product path runs with beta == 0: such outputs leave the caches anyway, and the
// stores save reading every line of C in before overwriting it. W2 (20 MB of C) ran 1.2x faster
// on a 2-core Intel Xeon; outputs below the size of a usual L3 stay cached for their reader.
constexpr double kStreamMinBytes = 16.0 * (1 << 20);

// Entries of fewer multiply-adds than kPrefetchMinVolume have the operands of the entry this many
// places ahead prefetched into L1. Their A and B are 1 KB each in W2: the hardware prefetchers
// stop at every 4 KiB page, that is every few entries. W2 ran 5% faster with 4 than without
// (2 and 8 were in between; prefetching into L2 only was slower than none).
constexpr std::size_t kSmallPrefetchAhead = 4;

// Non-temporal stores are weakly ordered: a thread fences its own once its products are done,
// before anyone else may read C.
void fence_streams(bool streamed) {
#if SPBMM_DENSE_X86
  if (streamed) _mm_sfence();
#else
  (void)streamed;
#endif
}

// Asks for every line of a small matrix to be brought into L1.
template <class T>
void prefetch_lines(const DenseView<const T>& x) {
  const int64_t outer = x.layout == Layout::RowMajor ? x.rows : x.cols;
  const int64_t inner = x.layout == Layout::RowMajor ? x.cols : x.rows;
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = x.data + o * x.ld;
    for (int64_t i = 0; i < inner; i += kLine) __builtin_prefetch(row + i, 0, 3);
    __builtin_prefetch(row + inner - 1, 0, 3);
  }
}

// The smallest entry (m*k*n) whose operands are prefetched ahead of it.
constexpr double kPrefetchMinVolume = 32.0 * 32 * 32;

// m*k*n in floating point: the product of three int64 dimensions may not fit in one.
double volume(int64_t m, int64_t n, int64_t k) {
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
}

}  // namespace

void detail::set_dense_blas_enabled(bool on) noexcept {
  g_blas_enabled.store(on, std::memory_order_relaxed);
}

bool dense_uses_blas(std::int64_t m, std::int64_t n, std::int64_t k) noexcept {
#if SPBMM_HAVE_BLAS
  const int64_t min_volume = kBlasMinVolume[static_cast<std::size_t>(active_isa())];
  return g_blas_enabled.load(std::memory_order_relaxed) &&
         volume(m, n, k) >= static_cast<double>(min_volume) && blas_int_ok(m) && blas_int_ok(n) &&
         blas_int_ok(k);
#else
  (void)m;
  (void)n;
  (void)k;
  return false;
#endif
}

BlasThreadsScope::BlasThreadsScope(int threads) noexcept {
#if SPBMM_HAVE_BLAS
  saved_ = openblas_get_num_threads();
  if (threads > 0 && threads != saved_) openblas_set_num_threads(threads);
#else
  (void)threads;
#endif
}

BlasThreadsScope::~BlasThreadsScope() {
#if SPBMM_HAVE_BLAS
  if (openblas_get_num_threads() != saved_) openblas_set_num_threads(saved_);
#endif
}

namespace {
// One product (see dense_dense_threads); `stream_c` lets the small-product path write C with
// non-temporal stores (a batch whose outputs will not stay in cache).
template <Value T>
void dense_entry(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads,
                 bool stream_c) {
  if (c.rows == 0 || c.cols == 0) return;
  const Problem<T> p = make_problem(op_a, op_b, alpha, a, b, beta, c);
  // As in BLAS, alpha == 0 does not form the product, so NaN in A or B does not reach C.
  if (p.k == 0 || alpha == T(0)) {
    scale_c(p);
    return;
  }
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  if (kernels.direct != nullptr && kernels.direct(p, stream_c)) return;
  const bool nested = in_parallel();
  if (nested) threads = 1;
#if SPBMM_HAVE_BLAS
  if (dense_uses_blas(p.m, p.n, p.k)) {
    if (!nested) {
      const BlasThreadsScope scope(threads);
      blas_gemm(op_a, op_b, alpha, a, b, beta, c, p.k);
      return;
    }
    // The BLAS thread count is process-wide and cannot be changed safely from here; a
    // multi-threaded BLAS call from every thread of a team would oversubscribe the cores.
    if (openblas_get_num_threads() == 1) {
      blas_gemm(op_a, op_b, alpha, a, b, beta, c, p.k);
      return;
    }
  }
#endif
  gemm_blocked(p, volume(p.m, p.n, p.k) >= static_cast<double>(kDenseSplitMinVolume) ? threads : 1);
}

}  // namespace

template <Value T>
void dense_dense_threads(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads) {
  dense_entry(op_a, op_b, alpha, a, b, beta, c, threads, false);
}

template <Value T>
bool dense_register_product(std::int64_t n, std::int64_t k) noexcept {
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  return kernels.fits_registers != nullptr && kernels.fits_registers(n, k);
}

template <Value T>
void dense_dense_blocked(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads) {
  if (c.rows == 0 || c.cols == 0) return;
  const Problem<T> p = make_problem(op_a, op_b, alpha, a, b, beta, c);
  if (p.k == 0 || alpha == T(0)) {
    scale_c(p);
    return;
  }
  gemm_blocked(p, in_parallel() ? 1 : threads);
}

namespace {

// Rows of one chunk of a stacked A^T B: one generated kernel's inner dimension. On W11's weight
// gradient (128 x 503232 by 503232 x 128, 2 threads, Intel Xeon, kernels alone) chunks of 256
// rows took 76-99 ms, 512 71-72 ms, 1024 74-78 ms.
constexpr int64_t kAtBChunk = 512;
// A stacked A^T B keeps at most this many partial sums of m x n, each over whole chunks (at least
// kAtBPieceChunks of them): few enough to sum cheaply, enough to share among threads.
constexpr int64_t kAtBMaxPieces = 64;
constexpr int64_t kAtBPieceChunks = 16;

}  // namespace

template <Value T>
void stacked_at_b(T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
                  const DenseView<T>& c, int threads) {
  const int64_t k = a.rows, m = a.cols, n = b.cols;
  if (m == 0 || n == 0 || k == 0 || alpha == T(0)) return;
  if (threads <= 0) threads = default_threads();
  if (in_parallel()) threads = 1;
  const int64_t chunk = std::min(kAtBChunk, k);
  const int64_t rest = k % chunk;
  SmallGemm full, tail;
  const bool row_major =
      a.layout == Layout::RowMajor && b.layout == Layout::RowMajor && c.layout == Layout::RowMajor;
  if (row_major) {
    full = make_at_b_gemm<T>(m, n, chunk, a.ld, b.ld, n);
    if (rest > 0) tail = make_at_b_gemm<T>(m, n, rest, a.ld, b.ld, n);
  }
  if (full.fn == nullptr || (rest > 0 && tail.fn == nullptr)) {
    dense_dense_blocked<T>(Op::T, Op::N, alpha, a, b, T(1), c, threads);
    return;
  }
  // Pieces of whole chunks, fixed by k alone: each is summed by one thread in chunk order, and the
  // pieces are added in their order, so no bit depends on the thread count.
  const int64_t chunks = (k + chunk - 1) / chunk;
  const int64_t per_piece = std::max(kAtBPieceChunks, (chunks + kAtBMaxPieces - 1) / kAtBMaxPieces);
  const int64_t pieces = (chunks + per_piece - 1) / per_piece;
  const int64_t area = m * n;
  std::vector<T> part(static_cast<std::size_t>(pieces * area));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
  for (int64_t p = 0; p < pieces; ++p) {
    T* q = part.data() + p * area;
    std::fill(q, q + area, T(0));
    const int64_t end = std::min(chunks, (p + 1) * per_piece);
    for (int64_t ch = p * per_piece; ch < end; ++ch) {
      const int64_t r = ch * chunk;
      run_small_gemm<T>(r + chunk <= k ? full : tail, a.data + r * a.ld, b.data + r * b.ld, q);
    }
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (int64_t i = 0; i < m; ++i) {
    T acc[kSmallGemmMaxNK];
    const T* row = part.data() + i * n;
    std::copy(row, row + n, acc);
    for (int64_t p = 1; p < pieces; ++p) {
      const T* q = row + p * area;
      for (int64_t j = 0; j < n; ++j) acc[j] += q[j];
    }
    T* ci = c.data + i * c.ld;
    for (int64_t j = 0; j < n; ++j) ci[j] += alpha * acc[j];
  }
}

namespace {

// Rows of one chunk when a tall product with a generated kernel is split over threads: 512 rows
// of 128 floats pass the streaming cut-off (kSmallGemmStreamMinBytes).
constexpr int64_t kTallChunkRows = 512;

// C = A B for a product `g` fits, split over threads in fixed chunks of rows, each on a kernel
// generated for the chunk's height. False (nothing written) when no such kernel can be made.
template <Value T>
bool tall_on_generated(const SmallGemm& g, const DenseView<const T>& a, const DenseView<const T>& b,
                       const DenseView<T>& c, int threads, bool stream) {
  const int64_t m = c.rows;
  const int64_t rows = std::min(kTallChunkRows, m);
  const int64_t rest = m % rows;
  const SmallGemm full = make_small_gemm<T>(rows, g.n, g.k, g.lda, g.ldb, g.ldc);
  const SmallGemm tail =
      rest > 0 ? make_small_gemm<T>(rest, g.n, g.k, g.lda, g.ldb, g.ldc) : SmallGemm{};
  if (full.fn == nullptr || (rest > 0 && tail.fn == nullptr)) return false;
  const int64_t chunks = (m + rows - 1) / rows;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t r = ch * rows;
      const SmallGemm& k = r + rows <= m ? full : tail;
      T* cr = c.data + r * c.ld;
      run_small_gemm<T>(k, a.data + r * a.ld, b.data, cr, stream && k.streams(cr));
    }
    fence_streams(stream);
  }
  return true;
}

// C = beta C, with beta == 0 overwriting (NaN in C does not survive), as BLAS does.
template <Value T>
void scale_view(T beta, const DenseView<T>& c) {
  if (beta == T(1)) return;
  const bool row_major = c.layout == Layout::RowMajor;
  const int64_t outer = row_major ? c.rows : c.cols;
  const int64_t inner = row_major ? c.cols : c.rows;
  for (int64_t o = 0; o < outer; ++o) {
    T* line = c.data + o * c.ld;
    for (int64_t j = 0; j < inner; ++j) line[j] = beta == T(0) ? T(0) : beta * line[j];
  }
}

}  // namespace

template <Value T>
void dense_batch(Op op_a, Op op_b, T alpha, const std::vector<DenseView<const T>>& a,
                 const std::vector<DenseView<const T>>& b, T beta,
                 const std::vector<DenseView<T>>& c, int threads,
                 const std::vector<SmallGemm>* small) {
  const std::size_t count = c.size();
  if (count == 0) return;
  const auto a_at = [&](std::size_t i) -> const DenseView<const T>& {
    return a.size() == 1 ? a[0] : a[i];
  };
  const auto b_at = [&](std::size_t i) -> const DenseView<const T>& {
    return b.size() == 1 ? b[0] : b[i];
  };
  const auto vol = [&](std::size_t i) {
    const DenseView<const T>& ai = a_at(i);
    return volume(c[i].rows, c[i].cols, op_a == Op::N ? ai.cols : ai.rows);
  };
  if (small != nullptr && small->size() != a.size()) small = nullptr;
  // One B^T shared by every product (a layer's W^T in its input gradient) is transposed once, so
  // that the generated kernels, made for B as stored with op N, serve it (W11's dX: 104 ms with
  // op_b = T on the blocked kernel, 64-65 ms so).
  std::vector<T> packed;
  std::vector<DenseView<const T>> b_packed;
  if (small != nullptr && op_b == Op::T && b.size() == 1 && !in_parallel()) {
    const DenseView<const T>& bt = b[0];
    // op(B) = B^T is bt.cols x bt.rows.
    packed.resize(static_cast<std::size_t>(bt.rows * bt.cols));
    for (int64_t r = 0; r < bt.cols; ++r) {
      for (int64_t j = 0; j < bt.rows; ++j)
        packed[static_cast<std::size_t>(r * bt.rows + j)] = bt(j, r);
    }
    b_packed.push_back(DenseView<const T>(packed.data(), bt.cols, bt.rows));
    dense_batch<T>(op_a, Op::N, alpha, a, b_packed, beta, c, threads, small);
    return;
  }
  // One product: its generated kernel where there is one that fits, else the kernels below.
  const auto product = [&](std::size_t i, int inner_threads, bool stream) {
    const std::size_t e = a.size() == 1 ? 0 : i;
    const bool splits = inner_threads > 1 && vol(i) >= kDenseSplitMinVolume;
    if (small != nullptr && (*small)[e].fits(op_a, op_b, alpha, a_at(i), b_at(i), beta, c[i])) {
      const SmallGemm& g = (*small)[e];
      if (!splits) {
        run_small_gemm<T>(g, a_at(i).data, b_at(i).data, c[i].data, stream && g.streams(c[i].data));
        return;
      }
      // A tall product worth splitting, in chunks of rows (one product of 503232 x 128 x 128
      // with B^T: 145 ms on the blocked kernel's threads, 66 ms so).
      if (tall_on_generated<T>(g, a_at(i), b_at(i), c[i], inner_threads, stream)) return;
    }
    // One long A^T B (k x m by k x n, m and n small) worth splitting: as a stacked weight
    // gradient, in chunks of rows on generated kernels (503232 rows of 128, 2 threads: 83 ms on
    // the blocked kernel, 73 ms so).
    if (splits && op_a == Op::T && op_b == Op::N && small_gemm_built()) {
      const DenseView<const T>& ai = a_at(i);
      const DenseView<const T>& bi = b_at(i);
      if (ai.layout == Layout::RowMajor && bi.layout == Layout::RowMajor &&
          c[i].layout == Layout::RowMajor && c[i].rows <= kSmallGemmMaxNK &&
          c[i].cols <= kSmallGemmMaxNK) {
        scale_view(beta, c[i]);
        stacked_at_b<T>(alpha, ai, bi, c[i], inner_threads);
        return;
      }
    }
    dense_entry(op_a, op_b, alpha, a_at(i), b_at(i), beta, c[i], inner_threads, stream);
  };
  if (in_parallel()) {
    // The caller already spreads work over threads; the BLAS thread count is left alone, since it
    // is process-wide (dense_dense_threads avoids a multi-threaded BLAS here).
    for (std::size_t i = 0; i < count; ++i) product(i, 1, false);
    return;
  }
  if (threads <= 0) threads = default_threads();
  // Outputs that together exceed the caches go out through non-temporal stores where the small
  // path can (beta == 0): reading their lines in before overwriting them would only add traffic.
  double c_bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    c_bytes += static_cast<double>(c[i].rows) * static_cast<double>(c[i].cols) * sizeof(T);
  }
  const bool stream_c = c_bytes >= kStreamMinBytes;
  // Prefetches the operands of entry i + 1 while entry i computes. Not for tiny entries: W2 (16^3)
  // was 24% slower with it; the hardware prefetchers already follow its consecutive entries.
  const auto prefetch_after = [&](std::size_t i) {
    if (i + 1 < count && vol(i + 1) >= kPrefetchMinVolume) {
      if (a.size() != 1) prefetch_view(a[i + 1]);
      if (b.size() != 1) prefetch_view(b[i + 1]);
    }
  };
  const auto prefetch_small_ahead = [&](std::size_t i) {
    const std::size_t j = i + kSmallPrefetchAhead;
    if (j < count && vol(j) < kPrefetchMinVolume) {
      if (a.size() != 1) prefetch_lines(a[j]);
      if (b.size() != 1) prefetch_lines(b[j]);
    }
  };
  // dense_dense_threads sets the BLAS thread count itself around the products it hands to BLAS.
  if (threads == 1 || count == 1) {
    for (std::size_t i = 0; i < count; ++i) {
      prefetch_after(i);
      prefetch_small_ahead(i);
      product(i, threads, stream_c);
    }
    fence_streams(stream_c);
    return;
  }

  double total = 0;
  for (std::size_t i = 0; i < count; ++i) total += vol(i);
  // An entry bigger than a thread's share would leave the other threads idle at the end of an
  // entry-parallel loop, so it is split instead (when it is big enough to split well).
  const auto split = [&](std::size_t i) {
    const double v = vol(i);
    return v >= static_cast<double>(kDenseSplitMinVolume) && v * threads > total;
  };
  bool any_split = false;
  for (std::size_t i = 0; i < count && !any_split; ++i) any_split = split(i);
  if (any_split) {
    for (std::size_t i = 0; i < count; ++i) {
      if (split(i)) product(i, threads, false);
    }
  }

  // Guided: each thread starts on a long run of consecutive entries, which the hardware prefetchers
  // stream (W2 ran 2.4x faster than with dynamic chunks of 16 entries, and 1.2x faster than with
  // dynamic chunks of 2^20 multiply-adds), and the shrinking chunks still balance a ragged batch.
  // The smallest chunk holds about 2^16 multiply-adds, so tiny entries do not contend on the
  // counter.
  const double avg = std::max(1.0, total / static_cast<double>(count));
  const int chunk = static_cast<int>(std::clamp(65536.0 / avg, 1.0, 64.0));
  // Entries that go to BLAS inside the loop need it on one thread. Only then is the count
  // touched: each change wakes OpenBLAS's own thread pool, whose spinning threads would compete
  // with this loop's threads for the cores.
  bool any_blas = false;
  for (std::size_t i = 0; i < count && !any_blas; ++i) {
    const DenseView<const T>& ai = a_at(i);
    const std::int64_t k = op_a == Op::N ? ai.cols : ai.rows;
    any_blas = !(any_split && split(i)) && dense_uses_blas(c[i].rows, c[i].cols, k);
  }
  std::optional<BlasThreadsScope> scope;
  if (any_blas) scope.emplace(1);
  const auto body = [&](std::int64_t i) {
    const auto u = static_cast<std::size_t>(i);
    if (any_split && split(u)) return;
    prefetch_after(u);
    prefetch_small_ahead(u);
    product(u, 1, stream_c);
  };
  // Entries that are each big enough to split gain nothing from runs of consecutive entries, and
  // guided's long first runs leave a ragged tail: one at a time (W11's X W, 512 entries of about
  // 1000 x 128 x 128 on generated kernels: 67 against 70 ms, 2 threads, Intel Xeon).
  const bool one_by_one = avg >= static_cast<double>(kDenseSplitMinVolume);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
    if (one_by_one) {
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) body(i);
    } else {
#ifdef _OPENMP
#pragma omp for schedule(guided, chunk) nowait
#endif
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) body(i);
    }
    fence_streams(stream_c);
  }
  (void)chunk;
}

template <Value T>
void dense_dense(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  dense_dense_threads(op_a, op_b, alpha, a, b, beta, c, in_parallel() ? 1 : default_threads());
}

#define SPBMM_INSTANTIATE_DENSE(T)                                                                 \
  template void dense_dense<T>(Op, Op, T, const DenseView<const T>&, const DenseView<const T>&, T, \
                               const DenseView<T>&);                                               \
  template void dense_dense_threads<T>(Op, Op, T, const DenseView<const T>&,                       \
                                       const DenseView<const T>&, T, const DenseView<T>&, int);    \
  template bool dense_register_product<T>(std::int64_t, std::int64_t) noexcept;                    \
  template void dense_dense_blocked<T>(Op, Op, T, const DenseView<const T>&,                       \
                                       const DenseView<const T>&, T, const DenseView<T>&, int);    \
  template void stacked_at_b<T>(T, const DenseView<const T>&, const DenseView<const T>&,           \
                                const DenseView<T>&, int);                                         \
  template void dense_batch<T>(                                                                    \
      Op, Op, T, const std::vector<DenseView<const T>>&, const std::vector<DenseView<const T>>&,   \
      T, const std::vector<DenseView<T>>&, int, const std::vector<SmallGemm>*);

SPBMM_INSTANTIATE_DENSE(float)
SPBMM_INSTANTIATE_DENSE(double)
#undef SPBMM_INSTANTIATE_DENSE

}  // namespace spbmm::kernels::cpu
