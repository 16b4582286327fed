// Basic enums, value and index type constraints shared by every spbmm header.
#pragma once

// spbmm's headers use concepts and requires-clauses: say so once, before the compiler lists every
// place that needs them. (MSVC keeps __cplusplus at 199711L unless /Zc:__cplusplus is given.)
#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L
#error "spbmm needs C++20: compile with -std=c++20 or later (or /std:c++20)"
#endif

#include <concepts>
#include <cstdint>

namespace spbmm {

// Storage order of a dense matrix.
enum class Layout : std::uint8_t { RowMajor, ColMajor };

// op(X): X itself or its transpose.
enum class Op : std::uint8_t { N, T };

// Storage format of one batch entry.
enum class Format : std::uint8_t { Dense, Csr, Coo };

const char* to_string(Layout layout) noexcept;
const char* to_string(Op op) noexcept;
const char* to_string(Format format) noexcept;

// Value types spbmm instantiates: float and double.
template <class T>
concept Value = std::same_as<T, float> || std::same_as<T, double>;

// Index types spbmm instantiates: int32_t and int64_t (int64 for graphs beyond 2^31 nnz).
template <class I>
concept Index = std::same_as<I, std::int32_t> || std::same_as<I, std::int64_t>;

}  // namespace spbmm
