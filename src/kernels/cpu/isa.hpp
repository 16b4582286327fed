// Run-time instruction-set selection for the CPU sparse kernels (resolved once, overridable).
#pragma once

#include <cstdint>

namespace spbmm::kernels::cpu {

// The code paths of the sparse kernels: portable C++ (SSE2 on x86-64), AVX2 with FMA, or
// AVX-512 (F, VL, BW and DQ, with FMA).
enum class Isa : std::uint8_t { Generic, Avx2Fma, Avx512 };

const char* to_string(Isa isa) noexcept;

// True when the CPU executing this process supports AVX2 and FMA (checked once).
bool cpu_has_avx2_fma() noexcept;

// True when the CPU executing this process (and its operating system) supports AVX-512 F, VL,
// BW and DQ as well as AVX2 and FMA (checked once).
bool cpu_has_avx512() noexcept;

// The path the sparse kernels take now: the best one the CPU supports unless forced.
Isa sparse_isa() noexcept;

// Makes the sparse kernels take `isa` (tests and benchmarks compare the paths on one machine);
// a path the CPU lacks falls back to the best one below it (Avx512 to Avx2Fma to Generic).
// Returns the path now active. Not meant to be changed while kernels run on other threads.
Isa force_sparse_isa(Isa isa) noexcept;

}  // namespace spbmm::kernels::cpu
