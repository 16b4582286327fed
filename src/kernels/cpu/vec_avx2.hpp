// Vec<T>: the AVX2 with FMA vector operations the CPU sparse, training and dense kernels share.
// Included inside namespace spbmm::kernels::cpu::detail { namespace { ... } } of a source
// compiled for that ISA (after its target pragma), so that each such source gets its own copy.
// NOLINTBEGIN(build/namespaces)
template <class T>
struct Vec;

template <>
struct Vec<float> {
  using V = __m256;
  using M = __m256i;
  static constexpr std::int64_t kLanes = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V bcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  // The first n lanes (0 < n <= kLanes).
  static M mask(std::int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static M mask_or_full(std::int64_t n) { return mask(n); }
  static V maskload(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  static void maskstore(float* p, M m, V v) { _mm256_maskstore_ps(p, m, v); }
  static float hsum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Lanes where v beats best: strictly larger (smaller), or NaN while best is not.
  template <bool kMax>
  static V better(V v, V best) {
    return _mm256_and_ps(_mm256_cmp_ps(v, best, kMax ? _CMP_NLE_UQ : _CMP_NGE_UQ),
                         _mm256_cmp_ps(best, best, _CMP_ORD_Q));
  }
  // b where m, else a.
  static V blend(V m, V a, V b) { return _mm256_blendv_ps(a, b, m); }
  // No integer lanes: winners are tracked as positions.
  template <class I>
  static constexpr bool kColumnLanes = false;
  using IV = V;
  template <class I>
  static IV iset1(I) {
    return zero();
  }
  static IV iblend(V, IV a, IV) { return a; }
  template <class I>
  static void istore(I*, IV) {}
  template <class I>
  static void imaskstore(I*, M, IV) {}
};

template <>
struct Vec<double> {
  using V = __m256d;
  using M = __m256i;
  static constexpr std::int64_t kLanes = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V bcast(const double* p) { return _mm256_broadcast_sd(p); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static M mask(std::int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static M mask_or_full(std::int64_t n) { return mask(n); }
  static V maskload(const double* p, M m) { return _mm256_maskload_pd(p, m); }
  static void maskstore(double* p, M m, V v) { _mm256_maskstore_pd(p, m, v); }
  static double hsum(V v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  template <bool kMax>
  static V better(V v, V best) {
    return _mm256_and_pd(_mm256_cmp_pd(v, best, kMax ? _CMP_NLE_UQ : _CMP_NGE_UQ),
                         _mm256_cmp_pd(best, best, _CMP_ORD_Q));
  }
  static V blend(V m, V a, V b) { return _mm256_blendv_pd(a, b, m); }
  // No integer lanes: winners are tracked as positions.
  template <class I>
  static constexpr bool kColumnLanes = false;
  using IV = V;
  template <class I>
  static IV iset1(I) {
    return zero();
  }
  static IV iblend(V, IV a, IV) { return a; }
  template <class I>
  static void istore(I*, IV) {}
  template <class I>
  static void imaskstore(I*, M, IV) {}
};
// NOLINTEND(build/namespaces)
