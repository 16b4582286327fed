// Helpers shared by the fuzz targets: a decoder that turns fuzz bytes into numbers, and checks
// that abort (so libFuzzer, or the replay program, reports the input) when an expectation fails.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

namespace spbmm::fuzz {

// Prints what went wrong and aborts: libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

#define SPBMM_FUZZ_CHECK(cond, msg)                                                 \
  do {                                                                              \
    if (!(cond)) ::spbmm::fuzz::fail(std::string(#cond) + ": " + std::string(msg)); \
  } while (0)

// Reads numbers from the fuzz bytes front to back. Once the bytes run out it continues with a
// small generator seeded by everything read, so a short input still describes a whole case and
// the same input always decodes the same way.
class Decoder {
 public:
  Decoder(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::size_t remaining() const noexcept { return size_ - pos_; }
  bool exhausted() const noexcept { return pos_ >= size_; }

  std::uint8_t byte() noexcept {
    std::uint8_t b;
    if (pos_ < size_) {
      b = data_[pos_++];
    } else {
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      b = static_cast<std::uint8_t>(state_ >> 24);
    }
    state_ = state_ * 0x9E3779B97F4A7C15ull + b + 1;
    return b;
  }
  bool flag() noexcept { return (byte() & 1) != 0; }

  // A raw little-endian value of U.
  template <class U>
  U bits() noexcept {
    static_assert(std::is_trivially_copyable_v<U> && sizeof(U) <= 8);
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) x |= std::uint64_t{byte()} << (8 * i);
    U v;
    std::memcpy(&v, &x, sizeof(U));  // the low bytes on a little-endian machine
    return v;
  }

  // Uniform-ish in [lo, hi] (hi - lo < 2^32).
  std::int64_t range(std::int64_t lo, std::int64_t hi) noexcept {
    if (hi <= lo) return lo;
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    std::uint64_t x = byte();
    if (span > 256) x = x | (static_cast<std::uint64_t>(byte()) << 8);
    if (span > 65536) x = x | (static_cast<std::uint64_t>(bits<std::uint16_t>()) << 16);
    return lo + static_cast<std::int64_t>(x % span);
  }

  // Mostly small numbers, sometimes the values that break size arithmetic.
  std::int64_t hostile() noexcept {
    const std::uint8_t sel = byte();
    if (sel < 208) return static_cast<std::int64_t>(sel % 19) - 2;  // -2 .. 16
    static constexpr std::int64_t kEdges[] = {
        std::numeric_limits<std::int32_t>::max(),
        std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1,
        std::numeric_limits<std::int32_t>::min(),
        std::numeric_limits<std::uint32_t>::max(),
        std::int64_t{1} << 32,
        std::int64_t{1} << 40,
        std::int64_t{1} << 60,
        std::int64_t{1} << 62,
        std::numeric_limits<std::int64_t>::max(),
        std::numeric_limits<std::int64_t>::max() - 1,
        std::numeric_limits<std::int64_t>::min(),
        -1,
        std::numeric_limits<std::int64_t>::max() / 2 + 1,
        std::numeric_limits<std::int64_t>::max() / 8 + 1,
        1000,
        100000,
    };
    if (sel < 240) return kEdges[sel % (sizeof(kEdges) / sizeof(kEdges[0]))];
    return bits<std::int64_t>();
  }

  // A small exact value (a multiple of 1/4 in [-2, 2]), so that sums and products stay exact in
  // float and every kernel must agree exactly up to the order of additions.
  double small_value() noexcept { return (static_cast<int>(byte() % 17) - 8) * 0.25; }

  // A value that may be special: NaN, +-Inf, a huge or a tiny one.
  double any_value() noexcept {
    const std::uint8_t sel = byte();
    switch (sel % 8) {
      case 0:
        return std::numeric_limits<double>::quiet_NaN();
      case 1:
        return std::numeric_limits<double>::infinity();
      case 2:
        return -std::numeric_limits<double>::infinity();
      case 3:
        return 1e300;
      case 4:
        return 1e-310;
      case 5:
        return bits<double>();
      default:
        return small_value();
    }
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::uint64_t state_ = 0x243F6A8885A308D3ull;
};

// Equal, or both NaN.
template <class T>
bool same_value(T a, T b) {
  return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace spbmm::fuzz
