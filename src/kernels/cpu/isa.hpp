// Run-time instruction-set selection for every CPU SIMD kernel (detected once, overridable).
#pragma once

#include <cstdint>

namespace spbmm::kernels::cpu {

// The code paths of the CPU kernels: portable C++ (SSE2 on x86-64), AVX2 with FMA, or AVX-512
// (F, VL, BW and DQ, with FMA). Ordered: each path's CPU also runs the ones before it.
enum class Isa : std::uint8_t { Generic, Avx2Fma, Avx512 };

// The number of paths, for tables indexed by Isa.
inline constexpr int kIsaCount = 3;

const char* to_string(Isa isa) noexcept;

// True when the CPU executing this process supports AVX2 and FMA (checked once).
bool cpu_has_avx2_fma() noexcept;

// True when the CPU executing this process (and its operating system) supports AVX-512 F, VL,
// BW and DQ as well as AVX2 and FMA (checked once).
bool cpu_has_avx512() noexcept;

// The best path the CPU supports (the default).
Isa best_isa() noexcept;

// The path the sparse, training and dense kernels take now: best_isa() unless forced.
Isa active_isa() noexcept;

// Makes every CPU kernel take `isa` (tests and benchmarks compare the paths on one machine); a
// path the CPU lacks falls back to the best one below it (Avx512 to Avx2Fma to Generic).
// Returns the path now active. Process-wide: not meant to be changed while kernels run.
Isa force_isa(Isa isa) noexcept;

// Returns to best_isa().
void reset_isa() noexcept;

}  // namespace spbmm::kernels::cpu
