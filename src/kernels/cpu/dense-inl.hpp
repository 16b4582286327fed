// The ISA-independent part of the SIMD register-blocked dense kernel: included by simd_avx2.cpp
// and simd_avx512.cpp inside their own target region and anonymous namespace, after they define
// Vec<T> (the vector traits) and kTileRows (the rows of a full tile). A tile of C is kTileRows
// rows by up to 2 vectors, in accumulators; B rows are loaded as vectors and A elements
// broadcast. Edge columns use masked loads and stores, so no tile is ever padded. GCC compiles
// each inclusion for that file's instruction set.
// No include guard: each including translation unit wants its own copy.

// The tile: MR rows, NV vectors of columns, the last one masked when kMask. kRowA: A has unit
// stride along k (a_cs == 1), else along i (a_rs == 1); both are common and both stay in L1.
// Masked loads do not fault on the columns they leave out.
template <class T, int MR, int NV, bool kMask, bool kRowA>
void tile(std::int64_t kc, const T* a, std::int64_t a_rs, std::int64_t a_cs, const T* b,
          std::int64_t b_rs, T* c, std::int64_t c_rs, T alpha, T beta, int tail) {
  using W = Vec<T>;
  using V = typename W::V;
  constexpr int L = static_cast<int>(W::kLanes);
  const typename W::M mask = W::mask(tail);
  V acc[MR][NV];
  for (int r = 0; r < MR; ++r) {
    for (int v = 0; v < NV; ++v) acc[r][v] = W::zero();
  }
  const T* ar[MR];
  for (int r = 0; r < MR; ++r) ar[r] = a + r * a_rs;
#pragma GCC unroll 4
  for (std::int64_t p = 0; p < kc; ++p) {
    V bv[NV];
    for (int v = 0; v < NV; ++v) {
      bv[v] = (kMask && v == NV - 1) ? W::maskload(b + v * L, mask) : W::load(b + v * L);
    }
    for (int r = 0; r < MR; ++r) {
      const V av = kRowA ? W::bcast(ar[r] + p) : W::bcast(a + r);
      for (int v = 0; v < NV; ++v) acc[r][v] = W::fma(av, bv[v], acc[r][v]);
    }
    b += b_rs;
    if (!kRowA) a += a_cs;
  }
  const V va = W::set1(alpha);
  const V vb = W::set1(beta);
  for (int r = 0; r < MR; ++r) {
    T* cr = c + r * c_rs;
    for (int v = 0; v < NV; ++v) {
      const bool masked = kMask && v == NV - 1;
      V res = W::mul(acc[r][v], va);
      // beta == 0 must not read C: NaN there may not leak into the result.
      if (beta != T(0))
        res = W::fma(masked ? W::maskload(cr + v * L, mask) : W::load(cr + v * L), vb, res);
      if (masked) {
        W::maskstore(cr + v * L, mask, res);
      } else {
        W::store(cr + v * L, res);
      }
    }
  }
}

template <class T>
using TileFn = void (*)(std::int64_t, const T*, std::int64_t, std::int64_t, const T*, std::int64_t,
                        T*, std::int64_t, T, T, int);

template <class T, bool kRowA, int NV, bool kMask, std::size_t... R>
constexpr std::array<TileFn<T>, kTileRows> tile_row(std::index_sequence<R...> /*rows*/) {
  return {&tile<T, static_cast<int>(R) + 1, NV, kMask, kRowA>...};
}

// Tile kernels indexed [nv - 1][masked][mr - 1], for one A access kind.
template <class T, bool kRowA>
inline constexpr std::array<std::array<std::array<TileFn<T>, kTileRows>, 2>, 2> kTiles = {{
    {{tile_row<T, kRowA, 1, false>(std::make_index_sequence<kTileRows>{}),
      tile_row<T, kRowA, 1, true>(std::make_index_sequence<kTileRows>{})}},
    {{tile_row<T, kRowA, 2, false>(std::make_index_sequence<kTileRows>{}),
      tile_row<T, kRowA, 2, true>(std::make_index_sequence<kTileRows>{})}},
}};

template <class T, bool kRowA>
TileFn<T> tile_fn(int nv, bool masked, int mr) {
  return kTiles<T, kRowA>[static_cast<std::size_t>(nv - 1)][static_cast<std::size_t>(masked)]
                         [static_cast<std::size_t>(mr - 1)];
}

// Column panels [j_begin, j_end) (in units of NR = 2 vectors of columns) of the product.
template <class T, bool kRowA>
void gemm_simd(const Problem<T>& p, std::int64_t j_begin, std::int64_t j_end) {
  constexpr int L = static_cast<int>(Vec<T>::kLanes);
  constexpr int kNr = 2 * L;
  alignas(64) T buf[kKc * kNr];
  const bool pack = p.b_cs != 1 || p.m >= kPackMinRows;
  for (std::int64_t kb = 0; kb < p.k; kb += kKc) {
    const std::int64_t kc = std::min(kKc, p.k - kb);
    const T beta = kb == 0 ? p.beta : T(1);
    for (std::int64_t jp = j_begin; jp < j_end; ++jp) {
      const std::int64_t jb = jp * kNr;
      const int nr = static_cast<int>(std::min<std::int64_t>(kNr, p.n - jb));
      const T* bp = p.b + kb * p.b_rs + jb * p.b_cs;
      std::int64_t b_rs = p.b_rs;
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
      const TileFn<T> full = tile_fn<T, kRowA>(nv, masked, kTileRows);
      std::int64_t ib = 0;
      for (; ib + kTileRows <= p.m; ib += kTileRows) {
        full(kc, ab + ib * p.a_rs, p.a_rs, p.a_cs, bp, b_rs, cb + ib * p.c_rs, p.c_rs, p.alpha,
             beta, tail);
      }
      if (ib < p.m) {
        tile_fn<T, kRowA>(nv, masked, static_cast<int>(p.m - ib))(
            kc, ab + ib * p.a_rs, p.a_rs, p.a_cs, bp, b_rs, cb + ib * p.c_rs, p.c_rs, p.alpha, beta,
            tail);
      }
    }
  }
}
