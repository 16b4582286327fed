// Internal helpers for building error messages and checked size arithmetic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "spbmm/error.hpp"

namespace spbmm::detail {

// Concatenates the arguments with operator<< into one message.
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// "CSR entry 3: " or "CSR matrix: " prefix for messages about one matrix.
inline std::string where(const char* kind, std::int64_t entry) {
  return entry >= 0 ? cat(kind, " entry ", entry, ": ") : cat(kind, " matrix: ");
}

// a * b, or LimitError naming `what` when the product overflows int64.
inline std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) {
    throw LimitError(cat(what, ": ", a, " * ", b, " overflows a 64-bit size"));
  }
  return r;
}

// The limit a conversion runs under: `limit`, or the process-wide dense_limit() when it is 0.
std::uint64_t resolve_dense_limit(std::uint64_t limit) noexcept;

// Bytes of a rows x cols dense copy of value_bytes-byte values; LimitError when they exceed
// `limit` (already resolved), with the message "<prefix>a dense RxC float copy needs N bytes,
// more than the dense conversion limit of L bytes (raise it with <hint>)". Shapes must be
// non-negative.
std::uint64_t check_dense_limit(std::int64_t rows, std::int64_t cols, std::size_t value_bytes,
                                std::uint64_t limit, const std::string& prefix, const char* hint);

// True when v is representable in I.
template <class I>
bool fits(std::int64_t v) {
  return v >= 0 &&
         static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<I>::max());
}

}  // namespace spbmm::detail
