// The ISA-independent part of the SIMD sparse kernels: included by simd_avx2.cpp and
// simd_avx512.cpp inside their own `#pragma GCC target` region and anonymous namespace, after
// they define Vec<T> (the vector traits) and csr_rows_mode<T, I, BetaMode>. GCC compiles each
// inclusion for that file's instruction set.
// No include guard: each including translation unit wants its own copy.

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
