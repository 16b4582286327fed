// Run-time instruction-set selection for the CPU sparse kernels.
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

// Relaxed ordering suffices: the value only picks between two correct code paths.
std::atomic<Isa>& active() noexcept {
  static std::atomic<Isa> isa{cpu_has_avx2_fma() ? Isa::Avx2Fma : Isa::Generic};
  return isa;
}

}  // namespace

const char* to_string(Isa isa) noexcept {
  switch (isa) {
    case Isa::Generic:
      return "generic";
    case Isa::Avx2Fma:
      return "avx2+fma";
  }
  return "unknown";
}

bool cpu_has_avx2_fma() noexcept {
  static const bool has = detect_avx2_fma();
  return has;
}

Isa sparse_isa() noexcept { return active().load(std::memory_order_relaxed); }

Isa force_sparse_isa(Isa isa) noexcept {
  const Isa chosen = (isa == Isa::Avx2Fma && !cpu_has_avx2_fma()) ? Isa::Generic : isa;
  active().store(chosen, std::memory_order_relaxed);
  return chosen;
}

}  // namespace spbmm::kernels::cpu
