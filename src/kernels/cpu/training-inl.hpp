// The ISA-independent part of the SIMD SDDMM and max/min-reduce loops: included by
// simd_avx2.cpp and simd_avx512.cpp inside their own target region and anonymous
// namespace, after they define Vec<T> (load, fma, masks, hsum, better, blend). GCC compiles each
// inclusion for that file's instruction set.
// No include guard: each including translation unit wants its own copy.

// Four dot products of length k at once (x_i . y_i), two accumulators each, so that eight
// independent FMA chains hide the FMA latency.
template <class T>
inline __attribute__((always_inline)) void dot4(const T* const* x, const T* const* y,
                                                std::int64_t k, T* out) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr std::int64_t L = W::kLanes;
  V a[4], b[4];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) a[i] = b[i] = W::zero();
  std::int64_t j = 0;
  for (; j + 2 * L <= k; j += 2 * L) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      a[i] = W::fma(W::load(x[i] + j), W::load(y[i] + j), a[i]);
      b[i] = W::fma(W::load(x[i] + j + L), W::load(y[i] + j + L), b[i]);
    }
  }
  if (j + L <= k) {
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) a[i] = W::fma(W::load(x[i] + j), W::load(y[i] + j), a[i]);
    j += L;
  }
  if (j < k) {
    const typename W::M m = W::mask(k - j);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      b[i] = W::fma(W::maskload(x[i] + j, m), W::maskload(y[i] + j, m), b[i]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) out[i] = W::hsum(W::add(a[i], b[i]));
}

template <class T>
inline __attribute__((always_inline)) T dot1(const T* x, const T* y, std::int64_t k) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr std::int64_t L = W::kLanes;
  V a = W::zero(), b = W::zero();
  std::int64_t j = 0;
  for (; j + 2 * L <= k; j += 2 * L) {
    a = W::fma(W::load(x + j), W::load(y + j), a);
    b = W::fma(W::load(x + j + L), W::load(y + j + L), b);
  }
  if (j + L <= k) {
    a = W::fma(W::load(x + j), W::load(y + j), a);
    j += L;
  }
  if (j < k) {
    const typename W::M m = W::mask(k - j);
    b = W::fma(W::maskload(x + j, m), W::maskload(y + j, m), b);
  }
  return W::hsum(W::add(a, b));
}

// How many stored entries ahead the SDDMM loop fetches the row of Y it will need.
constexpr std::int64_t kSddmmPrefetch = 8;

// Positions [p0, p1) of an SDDMM task with row-major X and Y, four positions at a time.
template <class T, class I>
void sddmm_range_simd(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T alpha, T beta) {
  const std::int64_t k = t.x.cols, ldx = t.x.ld, ldy = t.y.ld;
  const T* xs[4];
  const T* ys[4];
  std::int64_t ps[4];
  int filled = 0;
  T dots[4];
  const auto finish = [&](int count) {
    for (int i = 0; i < count; ++i) {
      T r = alpha * dots[i];
      if (beta != T(0)) r += beta * t.a_values[ps[i]];
      t.out[ps[i]] = r;
    }
  };
  // Y's rows are gathered in the pattern's order, so each one is a cache miss unless fetched
  // ahead; X's rows come in order (CSR) and the hardware prefetcher finds them.
  const std::int64_t row_bytes = k * static_cast<std::int64_t>(sizeof(T));
  for_positions(t, p0, p1, [&](std::int64_t p, std::int64_t row, std::int64_t col) {
    if (p + kSddmmPrefetch < p1) {
      const char* ahead = reinterpret_cast<const char*>(
          t.y.data + static_cast<std::int64_t>(t.col_idx[p + kSddmmPrefetch]) * ldy);
      for (std::int64_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(ahead + off);
    }
    xs[filled] = t.x.data + row * ldx;
    ys[filled] = t.y.data + col * ldy;
    ps[filled] = p;
    if (++filled == 4) {
      dot4(xs, ys, k, dots);
      finish(4);
      filled = 0;
    }
  });
  for (int i = 0; i < filled; ++i) dots[i] = dot1(xs[i], ys[i], k);
  finish(filled);
}

// How many stored entries ahead the max/min loop fetches the part of B's row it will need.
constexpr std::int64_t kReducePrefetch = 16;

// How a block tracks the winners: not at all (no arg wanted), as positions in the row held in
// T (turned into columns at the end; exact, since longer rows go to the portable loop), or as
// the columns themselves in integer lanes (where Vec has them for this index type).
enum class ArgMode : std::uint8_t { None, Position, Column };

// One row's max or min over NV vectors of columns starting at column j0, the last vector
// limited to the lanes in `last`.
template <bool kMax, int NV, ArgMode kArg, class T, class I>
inline __attribute__((always_inline)) void reduce_block(const ReduceTask<T, I>& t, std::int64_t p0,
                                                        std::int64_t p1, std::int64_t pf_end, T* c,
                                                        I* arg, std::int64_t arg_cs,
                                                        std::int64_t j0, std::int64_t width,
                                                        typename Vec<T>::M last) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr std::int64_t L = W::kLanes;
  const T* b = t.b.data + j0;
  const std::int64_t ldb = t.b.ld;
  const std::int64_t row_bytes = width * static_cast<std::int64_t>(sizeof(T));
  const I* ci = t.a.col_idx;
  const T* va = t.a.values;
  const auto load_k = [&](const T* row, int k) {
    return k == NV - 1 ? W::maskload(row + k * L, last) : W::load(row + k * L);
  };
  V best[NV], pos[NV];
  typename W::IV cols[NV];
  {
    const V v = W::set1(va[p0]);
    const T* br = b + static_cast<std::int64_t>(ci[p0]) * ldb;
#pragma GCC unroll 8
    for (int k = 0; k < NV; ++k) {
      best[k] = W::mul(v, load_k(br, k));
      if constexpr (kArg == ArgMode::Position) pos[k] = W::zero();
      if constexpr (kArg == ArgMode::Column) cols[k] = W::iset1(ci[p0]);
    }
  }
  for (std::int64_t p = p0 + 1; p < p1; ++p) {
    if (p + kReducePrefetch < pf_end) {
      const char* ahead = reinterpret_cast<const char*>(
          b + static_cast<std::int64_t>(ci[p + kReducePrefetch]) * ldb);
      for (std::int64_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(ahead + off);
    }
    const V v = W::set1(va[p]);
    const T* br = b + static_cast<std::int64_t>(ci[p]) * ldb;
    if constexpr (kArg == ArgMode::Position) {
      const V q = W::set1(static_cast<T>(p - p0));
#pragma GCC unroll 8
      for (int k = 0; k < NV; ++k) {
        const V prod = W::mul(v, load_k(br, k));
        const auto m = W::template better<kMax>(prod, best[k]);
        best[k] = W::blend(m, best[k], prod);
        pos[k] = W::blend(m, pos[k], q);
      }
    } else if constexpr (kArg == ArgMode::Column) {
      const auto q = W::iset1(ci[p]);
#pragma GCC unroll 8
      for (int k = 0; k < NV; ++k) {
        const V prod = W::mul(v, load_k(br, k));
        const auto m = W::template better<kMax>(prod, best[k]);
        best[k] = W::blend(m, best[k], prod);
        cols[k] = W::iblend(m, cols[k], q);
      }
    } else {
#pragma GCC unroll 8
      for (int k = 0; k < NV; ++k) {
        const V prod = W::mul(v, load_k(br, k));
        best[k] = W::blend(W::template better<kMax>(prod, best[k]), best[k], prod);
      }
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < NV; ++k) {
    if (k == NV - 1) {
      W::maskstore(c + j0 + k * L, last, best[k]);
      if constexpr (kArg == ArgMode::Column) W::imaskstore(arg + j0 + k * L, last, cols[k]);
    } else {
      W::store(c + j0 + k * L, best[k]);
      if constexpr (kArg == ArgMode::Column) W::istore(arg + j0 + k * L, cols[k]);
    }
  }
  if constexpr (kArg == ArgMode::Position) {
    alignas(64) T where[NV * L];
#pragma GCC unroll 8
    for (int k = 0; k < NV; ++k) W::store(where + k * L, pos[k]);
    for (std::int64_t j = 0; j < width; ++j) {
      arg[(j0 + j) * arg_cs] = ci[p0 + static_cast<std::int64_t>(where[j])];
    }
  }
}

template <bool kMax, ArgMode kArg, class T, class I>
inline __attribute__((always_inline)) void reduce_row(const ReduceTask<T, I>& t, std::int64_t p0,
                                                      std::int64_t p1, std::int64_t pf_end, T* c,
                                                      I* arg, std::int64_t arg_cs) {
  using W = Vec<T>;
  constexpr std::int64_t L = W::kLanes;
  constexpr std::int64_t kBlock = 4 * L;
  const std::int64_t n = t.c.cols;
  for (std::int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const std::int64_t width = std::min(kBlock, n - j0);
    const std::int64_t nv = (width + L - 1) / L;
    const typename W::M last = W::mask_or_full(width - (nv - 1) * L);
    switch (nv) {
      case 4:
        reduce_block<kMax, 4, kArg>(t, p0, p1, pf_end, c, arg, arg_cs, j0, width, last);
        break;
      case 3:
        reduce_block<kMax, 3, kArg>(t, p0, p1, pf_end, c, arg, arg_cs, j0, width, last);
        break;
      case 2:
        reduce_block<kMax, 2, kArg>(t, p0, p1, pf_end, c, arg, arg_cs, j0, width, last);
        break;
      default:
        reduce_block<kMax, 1, kArg>(t, p0, p1, pf_end, c, arg, arg_cs, j0, width, last);
        break;
    }
  }
}

// Rows [r0, r1) of a max or min reduction with B and C of unit column stride.
template <bool kMax, class T, class I>
void reduce_rows_simd(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1) {
  // Positions up to 2^24 (float) or 2^53 (double) are exact in T.
  constexpr std::int64_t kExact = std::int64_t{1} << (sizeof(T) == 4 ? 24 : 53);
  const std::int64_t n = t.c.cols;
  const bool arg_rm = t.arg.layout == Layout::RowMajor;
  const std::int64_t arg_rs = arg_rm ? t.arg.ld : 1, arg_cs = arg_rm ? 1 : t.arg.ld;
  const bool direct = Vec<T>::template kColumnLanes<I> && arg_cs == 1;
  const auto pf_end = static_cast<std::int64_t>(t.a.row_ptr[r1]);
  for (std::int64_t r = r0; r < r1; ++r) {
    const auto p0 = static_cast<std::int64_t>(t.a.row_ptr[r]);
    const auto p1 = static_cast<std::int64_t>(t.a.row_ptr[r + 1]);
    T* c = t.c.data + r * t.c.ld;
    I* arg = t.arg.data != nullptr ? t.arg.data + r * arg_rs : nullptr;
    if (p0 == p1) {
      for (std::int64_t j = 0; j < n; ++j) c[j] = T(0);
      if (arg != nullptr) {
        for (std::int64_t j = 0; j < n; ++j) arg[j * arg_cs] = I(-1);
      }
    } else if (arg == nullptr) {
      reduce_row<kMax, ArgMode::None>(t, p0, p1, pf_end, c, arg, arg_cs);
    } else if (direct) {
      if constexpr (Vec<T>::template kColumnLanes<I>) {
        reduce_row<kMax, ArgMode::Column>(t, p0, p1, pf_end, c, arg, arg_cs);
      }
    } else if (p1 - p0 < kExact) {
      reduce_row<kMax, ArgMode::Position>(t, p0, p1, pf_end, c, arg, arg_cs);
    } else {
      reduce_rows_generic<kMax>(t, r, r + 1);
    }
  }
}
