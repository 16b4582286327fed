// The table entries of one SIMD path: included last by simd_avx2.cpp and simd_avx512.cpp inside
// their own target region and anonymous namespace, after sparse-inl.hpp and
// training-inl.hpp. GCC compiles each inclusion for that file's instruction set.
// No include guard: each including translation unit wants its own copy.

// Y is fetched in order first where that pays (see stream_in_y).
template <class T, class I>
void sddmm_entry(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T alpha, T beta) {
  stream_in_y(t, p0, p1);
  sddmm_range_simd(t, p0, p1, alpha, beta);
}

template <class T, class I>
void reduce_rows_entry(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1, bool is_max) {
  if (is_max) {
    reduce_rows_simd<true>(t, r0, r1);
  } else {
    reduce_rows_simd<false>(t, r0, r1);
  }
}

template <class T, class I>
constexpr KernelTable<T, I> kKernels{&csr_rows_any_beta<T, I>, &scatter_columns<T, I>,
                                     &sddmm_entry<T, I>, &reduce_rows_entry<T, I>};
