// Run-time instruction-set selection for the CPU SIMD kernels: detection and the override.
#include "kernels/cpu/isa.hpp"

#include <atomic>

namespace spbmm::kernels::cpu {
namespace {

bool detect_avx2_fma() noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

// __builtin_cpu_supports reports an AVX-512 feature only when the operating system also saves
// the zmm and mask registers.
bool detect_avx512() noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return detect_avx2_fma() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

Isa best_supported(Isa isa) noexcept {
  if (isa == Isa::Avx512 && !cpu_has_avx512()) isa = Isa::Avx2Fma;
  if (isa == Isa::Avx2Fma && !cpu_has_avx2_fma()) isa = Isa::Generic;
  return isa;
}

// Relaxed ordering suffices: the value only picks between correct code paths.
std::atomic<Isa>& active() noexcept {
  static std::atomic<Isa> isa{best_isa()};
  return isa;
}

}  // namespace

const char* to_string(Isa isa) noexcept {
  switch (isa) {
    case Isa::Generic:
      return "generic";
    case Isa::Avx2Fma:
      return "avx2+fma";
    case Isa::Avx512:
      return "avx512";
  }
  return "unknown";
}

bool cpu_has_avx2_fma() noexcept {
  static const bool has = detect_avx2_fma();
  return has;
}

bool cpu_has_avx512() noexcept {
  static const bool has = detect_avx512();
  return has;
}

Isa best_isa() noexcept {
  static const Isa best = best_supported(Isa::Avx512);
  return best;
}

Isa active_isa() noexcept { return active().load(std::memory_order_relaxed); }

Isa force_isa(Isa isa) noexcept {
  const Isa chosen = best_supported(isa);
  active().store(chosen, std::memory_order_relaxed);
  return chosen;
}

void reset_isa() noexcept { active().store(best_isa(), std::memory_order_relaxed); }

}  // namespace spbmm::kernels::cpu
