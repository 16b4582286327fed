// The ISA-independent part of the SIMD sparse kernels: included by simd_avx2.cpp and
// simd_avx512.cpp inside their own `#pragma GCC target` region and anonymous namespace, after
// they define Vec<T> (the vector traits) and row_sets(NV); each defines csr_rows_mode<T, I,
// BetaMode> (its column schedule over these row blocks) after it. GCC compiles each inclusion
// for that file's instruction set.
// No include guard: each including translation unit wants its own copy.

// The lanes kept by the first and the last vector of a row (the others lie outside it).
template <class T>
struct Edges {
  typename Vec<T>::M first;
  typename Vec<T>::M last;
};

// Vector k of a block of NV whose first (kFirst) or last (kLast) vector is partial; for NV == 1
// with both, e.first holds the lanes of both.
template <class T, int NV, bool kFirst, bool kLast>
inline __attribute__((always_inline)) bool partial_k(int k) {
  return (kFirst && k == 0) || (kLast && k == NV - 1);
}

template <class T, int NV, bool kFirst, bool kLast>
inline __attribute__((always_inline)) typename Vec<T>::V load_k(const T* p, int k,
                                                                const Edges<T>& e) {
  if (partial_k<T, NV, kFirst, kLast>(k)) {
    return Vec<T>::maskload(p + k * Vec<T>::kLanes, kFirst && k == 0 ? e.first : e.last);
  }
  return Vec<T>::load(p + k * Vec<T>::kLanes);
}

// Writes alpha * acc (+ beta * C) to NV vectors of a row of C; with kStream (beta == 0, c on a
// line boundary) the full vectors go out as non-temporal stores.
template <class T, int NV, BetaMode kMode, bool kFirst, bool kLast, bool kStream>
inline __attribute__((always_inline)) void store_block(const typename Vec<T>::V* acc, T* c, T alpha,
                                                       T beta, const Edges<T>& e) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr std::int64_t L = W::kLanes;
  const V va_alpha = W::set1(alpha);
#pragma GCC unroll 16
  for (int k = 0; k < NV; ++k) {
    V r = W::mul(acc[k], va_alpha);
    if constexpr (kMode != BetaMode::Zero) {
      const V old = load_k<T, NV, kFirst, kLast>(c, k, e);
      r = kMode == BetaMode::One ? W::add(r, old) : W::fma(W::set1(beta), old, r);
    }
    if (partial_k<T, NV, kFirst, kLast>(k)) {
      W::maskstore(c + k * L, kFirst && k == 0 ? e.first : e.last, r);
    } else if constexpr (kStream) {
      W::stream(c + k * L, r);
    } else {
      W::store(c + k * L, r);
    }
  }
}

// One row of C over NV vectors of columns (the first and the last possibly partial): the
// accumulators live in registers for the whole row. With few accumulators the FMA latency
// would bind, so short blocks keep row_sets(NV) sets (the path's choice) and deal the nonzeros
// out among them.
template <class T, class I, int NV, BetaMode kMode, bool kFirst, bool kLast, bool kStream>
inline __attribute__((always_inline)) void row_block(const I* __restrict ci, const T* __restrict va,
                                                     std::int64_t p0, std::int64_t p1,
                                                     const T* __restrict b, std::int64_t ldb,
                                                     T* __restrict c, T alpha, T beta,
                                                     const Edges<T>& e) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr int kSets = row_sets(NV);
  V acc[kSets][NV];
  for (int s = 0; s < kSets; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) acc[s][k] = W::zero();
  }
  std::int64_t p = p0;
  if constexpr (kSets > 1) {
    for (; p + kSets - 1 < p1; p += kSets) {
      V v[kSets];
      const T* bs[kSets];
#pragma GCC unroll 4
      for (int s = 0; s < kSets; ++s) {
        v[s] = W::set1(va[p + s]);
        bs[s] = b + static_cast<std::int64_t>(ci[p + s]) * ldb;
      }
#pragma GCC unroll 16
      for (int k = 0; k < NV; ++k) {
#pragma GCC unroll 4
        for (int s = 0; s < kSets; ++s) {
          acc[s][k] = W::fma(v[s], load_k<T, NV, kFirst, kLast>(bs[s], k, e), acc[s][k]);
        }
      }
    }
  }
  for (; p < p1; ++p) {
    const V v = W::set1(va[p]);
    const T* br = b + static_cast<std::int64_t>(ci[p]) * ldb;
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) {
      acc[0][k] = W::fma(v, load_k<T, NV, kFirst, kLast>(br, k, e), acc[0][k]);
    }
  }
#pragma GCC unroll 4
  for (int s = 1; s < kSets; ++s) {
#pragma GCC unroll 16
    for (int k = 0; k < NV; ++k) acc[0][k] = W::add(acc[0][k], acc[s][k]);
  }
  store_block<T, NV, kMode, kFirst, kLast, kStream>(acc[0], c, alpha, beta, e);
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

// Rows [r0, r1) with beta of kind kMode: the path's own column schedule (defined by the including
// file).
template <class T, class I, BetaMode kMode>
void csr_rows_mode(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1);

// y[0:w] += s * x[0:w].
template <class T>
inline __attribute__((always_inline)) void axpy(std::int64_t w, T s, const T* __restrict x,
                                                T* __restrict y) {
  using W = Vec<T>;
  constexpr std::int64_t L = W::kLanes;
  const typename W::V vs = W::set1(s);
  std::int64_t j = 0;
  for (; j + 4 * L <= w; j += 4 * L) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      W::store(y + j + k * L, W::fma(vs, W::load(x + j + k * L), W::load(y + j + k * L)));
    }
  }
  for (; j + L <= w; j += L) W::store(y + j, W::fma(vs, W::load(x + j), W::load(y + j)));
  if (j < w) {
    const typename W::M m = W::mask(w - j);
    W::maskstore(y + j, m, W::fma(vs, W::maskload(x + j, m), W::maskload(y + j, m)));
  }
}

// The fast path's entry: picks the beta variant once for the row range.
template <class T, class I>
void csr_rows_any_beta(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  if (r1 <= r0) return;
  switch (beta_mode(job.beta)) {
    case BetaMode::Zero:
      return csr_rows_mode<T, I, BetaMode::Zero>(job, r0, r1);
    case BetaMode::One:
      return csr_rows_mode<T, I, BetaMode::One>(job, r0, r1);
    case BetaMode::General:
      return csr_rows_mode<T, I, BetaMode::General>(job, r0, r1);
  }
}

// C[:, j0:j1] += alpha * scattered products of B rows (op(A) = T and COO).
template <class T, class I>
void scatter_columns(const Triplets<T, I>& t, const T* b, std::int64_t ldb, T* c, std::int64_t ldc,
                     std::int64_t j0, std::int64_t j1, T alpha) {
  const std::int64_t w = j1 - j0;
  if (w <= 0) return;
  b += j0;
  c += j0;
  if (t.row_ptr != nullptr) {
    for (std::int64_t i = 0; i < t.rows; ++i) {
      for (auto p = static_cast<std::int64_t>(t.row_ptr[i]);
           p < static_cast<std::int64_t>(t.row_ptr[i + 1]); ++p) {
        axpy(w, alpha * t.values[p], b + i * ldb,
             c + static_cast<std::int64_t>(t.out_idx[p]) * ldc);
      }
    }
  } else {
    for (std::int64_t k = 0; k < t.nnz; ++k) {
      axpy(w, alpha * t.values[k], b + static_cast<std::int64_t>(t.in_idx[k]) * ldb,
           c + static_cast<std::int64_t>(t.out_idx[k]) * ldc);
    }
  }
}
