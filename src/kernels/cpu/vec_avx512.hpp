// Vec<T>: the AVX-512 (F, VL, BW, DQ with FMA) vector operations the CPU sparse, training and
// dense kernels share. Included inside namespace spbmm::kernels::cpu::detail { namespace { ... } }
// of a source compiled for that ISA (after its target pragma), so that each such source gets its
// own copy.
// NOLINTBEGIN(build/namespaces)
template <class T>
struct Vec;

template <>
struct Vec<float> {
  using V = __m512;
  using M = __mmask16;
  static constexpr std::int64_t kLanes = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V bcast(const float* p) { return _mm512_set1_ps(*p); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  // The first n lanes (0 < n < kLanes); mask_or_full also takes n == kLanes.
  static M mask(std::int64_t n) { return static_cast<M>((1u << n) - 1u); }
  static M mask_or_full(std::int64_t n) { return n >= kLanes ? static_cast<M>(~0u) : mask(n); }
  static V maskload(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static void maskstore(float* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static void stream(float* p, V v) { _mm512_stream_ps(p, v); }
  // The zero-masked extracts avoid GCC 12's _mm512_reduce_add_*, whose undefined upper half
  // trips -Wmaybe-uninitialized.
  static float hsum(V v) {
    const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xff, v, 0),
                                   _mm512_maskz_extractf32x8_ps(0xff, v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Lanes where v beats best: strictly larger (smaller), or NaN while best is not. The
  // unordered compare is true for either NaN; the second one drops the lanes where best is NaN.
  template <bool kMax>
  static M better(V v, V best) {
    return _mm512_cmp_ps_mask(v, best, kMax ? _CMP_NLE_UQ : _CMP_NGE_UQ) &
           _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
  }
  // b where m, else a.
  static V blend(M m, V a, V b) { return _mm512_mask_blend_ps(m, a, b); }
  // Columns of A in 32-bit integer lanes beside the float lanes (int32 indices only).
  template <class I>
  static constexpr bool kColumnLanes = sizeof(I) == 4;
  using IV = __m512i;
  template <class I>
  static IV iset1(I x) {
    return _mm512_set1_epi32(static_cast<int>(x));
  }
  static IV iblend(M m, IV a, IV b) { return _mm512_mask_blend_epi32(m, a, b); }
  template <class I>
  static void istore(I* p, IV v) {
    _mm512_storeu_si512(p, v);
  }
  template <class I>
  static void imaskstore(I* p, M m, IV v) {
    _mm512_mask_storeu_epi32(p, m, v);
  }
};

template <>
struct Vec<double> {
  using V = __m512d;
  using M = __mmask8;
  static constexpr std::int64_t kLanes = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V bcast(const double* p) { return _mm512_set1_pd(*p); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static M mask(std::int64_t n) { return static_cast<M>((1u << n) - 1u); }
  static M mask_or_full(std::int64_t n) { return n >= kLanes ? static_cast<M>(0xffu) : mask(n); }
  static V maskload(const double* p, M m) { return _mm512_maskz_loadu_pd(m, p); }
  static void maskstore(double* p, M m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static void stream(double* p, V v) { _mm512_stream_pd(p, v); }
  static double hsum(V v) {
    const __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xff, v, 0),
                                    _mm512_maskz_extractf64x4_pd(0xff, v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  template <bool kMax>
  static M better(V v, V best) {
    return _mm512_cmp_pd_mask(v, best, kMax ? _CMP_NLE_UQ : _CMP_NGE_UQ) &
           _mm512_cmp_pd_mask(best, best, _CMP_ORD_Q);
  }
  static V blend(M m, V a, V b) { return _mm512_mask_blend_pd(m, a, b); }
  // Columns of A in 64-bit integer lanes beside the double lanes (int64 indices only).
  template <class I>
  static constexpr bool kColumnLanes = sizeof(I) == 8;
  using IV = __m512i;
  template <class I>
  static IV iset1(I x) {
    return _mm512_set1_epi64(static_cast<long long>(x));
  }
  static IV iblend(M m, IV a, IV b) { return _mm512_mask_blend_epi64(m, a, b); }
  template <class I>
  static void istore(I* p, IV v) {
    _mm512_storeu_si512(p, v);
  }
  template <class I>
  static void imaskstore(I* p, M m, IV v) {
    _mm512_mask_storeu_epi64(p, m, v);
  }
};
// NOLINTEND(build/namespaces)
