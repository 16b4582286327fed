// Fast paths for the numbers of a Matrix Market body: decimal integers eight digits at a time,
// and decimal reals of up to 19 digits read as float through double arithmetic. Each returns
// false when its fast path does not apply, and the caller then parses the token with
// std::from_chars; both give the same bits (tests/io/test_mm_numbers.cpp).
#pragma once

#include <bit>
#include <cfenv>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>
#define SPBMM_MM_SSE 1
#else
#define SPBMM_MM_SSE 0
#endif

namespace spbmm::mm_detail {

// Bytes of w that are not decimal digits have their high bit set (no carries between bytes).
inline __attribute__((always_inline)) std::uint64_t non_digit_bytes(std::uint64_t w) noexcept {
  const std::uint64_t y = w ^ 0x3030303030303030ULL;  // digits become 0..9
  return (y | ((y & 0x7F7F7F7F7F7F7F7FULL) + 0x7676767676767676ULL)) & 0x8080808080808080ULL;
}

// The value of eight digit bytes, the first one most significant (bytes already minus '0').
inline __attribute__((always_inline)) std::uint64_t eight_digits(std::uint64_t y) noexcept {
  y = y * 10 + (y >> 8);
  return (((y & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
          (((y >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
         32;
}

// Reads the run of decimal digits at p, up to eight of them, when at least eight bytes are
// readable there: sets `digits` to its length (0 when p is not a digit, 8 when the run may go
// on) and `value` to its value. Returns false when fewer than eight bytes are left.
inline __attribute__((always_inline)) bool digit_run8(const char* p, const char* end, int& digits,
                                                      std::uint64_t& value) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return false;
  } else {
    if (end - p < 8) return false;
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    const std::uint64_t nd = non_digit_bytes(w);
    const std::uint64_t y = w ^ 0x3030303030303030ULL;
    if (nd == 0) {
      digits = 8;
      value = eight_digits(y);
      return true;
    }
    digits = std::countr_zero(nd) >> 3;
    // The digits moved to the high bytes, zeros (leading zeros) below them.
    value = digits == 0 ? 0 : eight_digits(y << (8 * (8 - digits)));
    return true;
  }
}

// Parses the decimal integer (1 to 7 digits, the common case) at p into v and moves p past it;
// returns false, touching nothing, for anything else (the caller then takes the general path).
inline __attribute__((always_inline)) bool parse_small_uint(const char*& p, const char* end,
                                                            std::uint64_t& v) noexcept {
  int n = 0;
  std::uint64_t x = 0;
  if (!digit_run8(p, end, n, x) || n == 0 || n == 8) return false;
  v = x;
  p += n;
  return true;
}

// Whether this thread rounds to nearest (SSE and x87), which parse_real_fast relies on; a caller
// may have changed it (fesetround).
inline bool nearest_rounding() noexcept {
#if SPBMM_MM_SSE
  return std::fegetround() == FE_TONEAREST && (_mm_getcsr() & 0x6000) == 0;
#else
  return false;
#endif
}

// Parses [-]digits[.digits][(e|E)[+|-]digits] at p into a float v, with the bits std::from_chars
// gives (round to nearest even), when the token has at most 19 digits and a decimal exponent
// within +-22 after scaling, and the result is a normal float. The digits convert to a double
// with at most one rounding, the power of ten (10^k exact, 10^-k rounded) and the product add
// two more: the double is then within 2^-51 (relative) of the exact value, so it rounds to the
// float the exact value rounds to unless it lies within a few units of its last place of a
// halfway point between two floats, which is checked. Only with `nearest` (nearest_rounding() of
// the calling thread). Returns false without touching p or v when any of this does not hold, and
// always for double (whose halfway cases would need more than a double's precision); the caller
// then takes std::from_chars. p is left after the token otherwise; the caller checks what follows
// it.
template <class T>
inline __attribute__((always_inline)) bool parse_real_fast(const char*& p, const char* end, T& v,
                                                           bool nearest) noexcept {
#if SPBMM_MM_SSE
  if constexpr (!std::is_same_v<T, float>) {
    (void)p;
    (void)end;
    (void)v;
    (void)nearest;
    return false;
  } else {
    if (!nearest) return false;
    static constexpr std::uint64_t kPow10[] = {1,      10,      100,      1000,     10000,
                                               100000, 1000000, 10000000, 100000000};
    static constexpr double kPow10D[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                         1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                         1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    // The nearest doubles to 10^-k: a multiply costs a third of a divide's latency for one
    // more rounding.
    static constexpr double kPow10Neg[] = {1e0,   1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,
                                           1e-8,  1e-9,  1e-10, 1e-11, 1e-12, 1e-13, 1e-14, 1e-15,
                                           1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};
    const char* s = p;
    const bool neg = s < end && *s == '-';
    if (neg) ++s;
    std::uint64_t mant = 0;
    int digits = 0;  // of the integer and fraction parts, at most 19
    int scale = 0;   // decimal exponent of mant's last digit
    // Appends the run of digits at s to mant; false past 19 digits.
    const auto take = [&](bool fraction) __attribute__((always_inline)) {
      while (true) {
        int n = 0;
        std::uint64_t val = 0;
        if (!digit_run8(s, end, n, val)) {
          // Near the end of the input: one digit at a time.
          while (n < 8 && s + n < end && static_cast<unsigned>(s[n] - '0') < 10) {
            val = val * 10 + static_cast<unsigned>(s[n] - '0');
            ++n;
          }
        }
        digits += n;
        if (digits > 19) return false;
        mant = mant * kPow10[n] + val;
        if (fraction) scale -= n;
        s += n;
        if (n < 8) return true;
      }
    };
    if (!take(false)) return false;
    if (s < end && *s == '.') {
      ++s;
      if (!take(true)) return false;
    }
    if (digits == 0) return false;
    if (s < end && (*s == 'e' || *s == 'E')) {
      ++s;
      const bool eneg = s < end && *s == '-';
      if (s < end && (*s == '-' || *s == '+')) ++s;
      int e = 0, ed = 0;
      while (s < end && static_cast<unsigned>(*s - '0') < 10) {
        if (++ed > 4) return false;
        e = e * 10 + (*s - '0');
        ++s;
      }
      if (ed == 0) return false;
      scale += eneg ? -e : e;
    }
    if (mant == 0) {
      v = neg ? -0.0f : 0.0f;
      p = s;
      return true;
    }
    if (scale < -22 || scale > 22 || mant >= (std::uint64_t{1} << 63)) return false;
    const double m = static_cast<double>(static_cast<std::int64_t>(mant));
    const double x = m * (scale < 0 ? kPow10Neg[-scale] : kPow10D[scale]);
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    // Only results in the normal range of float (from 2^-126 up to, not including, 2^127).
    const int exp2 = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
    if (exp2 < -126 || exp2 >= 127) return false;
    // The 29 bits a float drops: halfway is 1 followed by 28 zeros. Within 16 units of it the
    // exact value may lie on the other side (the error bound is 4 units at most).
    const auto low = static_cast<std::int64_t>(bits & ((std::uint64_t{1} << 29) - 1));
    const std::int64_t off = low - (std::int64_t{1} << 28);
    if (off >= -16 && off <= 16) return false;
    const auto r = static_cast<float>(x);
    v = neg ? -r : r;
    p = s;
    return true;
  }
#else
  (void)p;
  (void)end;
  (void)v;
  (void)nearest;
  return false;
#endif
}

}  // namespace spbmm::mm_detail
