// Run-time instruction-set selection for the CPU sparse kernels (resolved once, overridable).
#pragma once

#include <cstdint>

namespace spbmm::kernels::cpu {

// The code paths of the sparse kernels: portable C++ (SSE2 on x86-64) or AVX2 with FMA.
enum class Isa : std::uint8_t { Generic, Avx2Fma };

const char* to_string(Isa isa) noexcept;

// True when the CPU executing this process supports AVX2 and FMA (checked once).
bool cpu_has_avx2_fma() noexcept;

// The path the sparse kernels take now: the best one the CPU supports unless forced.
Isa sparse_isa() noexcept;

// Makes the sparse kernels take `isa` (tests and benchmarks compare the paths on one machine);
// Avx2Fma falls back to Generic on a CPU without it. Returns the path now active. Not meant to be
// changed while kernels run on other threads.
Isa force_sparse_isa(Isa isa) noexcept;

}  // namespace spbmm::kernels::cpu
