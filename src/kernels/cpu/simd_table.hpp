// The run-time dispatch table of the CPU sparse and training loops: per Isa, one struct of
// function pointers to the loops compiled for it (simd_avx2.cpp, simd_avx512.cpp; the portable
// loops in simd_table.cpp), looked up once per call instead of chains of ISA tests; and the
// scattered product that the CSR (op(A) = T) and COO kernels share.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu::detail {

template <class T, class I>
struct KernelTable {
  // Rows [r0, r1) of C = alpha * A * B + beta * C, B and C with unit column stride.
  void (*csr_rows)(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1);
  // C[:, j0:j1] += alpha * the triplets' products of B rows, B and C with unit column stride
  // (row strides ldb and ldc).
  void (*scatter)(const Triplets<T, I>& t, const T* b, std::int64_t ldb, T* c, std::int64_t ldc,
                  std::int64_t j0, std::int64_t j1, T alpha);
  // Stored positions [p0, p1) of an SDDMM task with alpha != 0 and row-major X and Y.
  void (*sddmm)(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T alpha, T beta);
  // Rows [r0, r1) of a max (is_max) or min reduction, B and C row-major.
  void (*reduce_rows)(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1, bool is_max);
};

// The table of each path: one explicit specialization per Isa and <T, I>, defined in
// simd_table.cpp (Generic), simd_avx2.cpp and simd_avx512.cpp. The SIMD ones may be used only
// where the CPU has their ISA.
template <Isa kIsa, class T, class I>
struct IsaKernels {
  static const KernelTable<T, I> kTable;
};

#define SPBMM_DECLARE_TABLE(T, I)                                 \
  template <>                                                     \
  const KernelTable<T, I> IsaKernels<Isa::Generic, T, I>::kTable; \
  template <>                                                     \
  const KernelTable<T, I> IsaKernels<Isa::Avx2Fma, T, I>::kTable; \
  template <>                                                     \
  const KernelTable<T, I> IsaKernels<Isa::Avx512, T, I>::kTable;
SPBMM_DECLARE_TABLE(float, std::int32_t)
SPBMM_DECLARE_TABLE(float, std::int64_t)
SPBMM_DECLARE_TABLE(double, std::int32_t)
SPBMM_DECLARE_TABLE(double, std::int64_t)
#undef SPBMM_DECLARE_TABLE

// The tables indexed by Isa: constant, so a lookup is one load.
template <class T, class I>
inline constexpr std::array<const KernelTable<T, I>*, kIsaCount> kKernelTables = {
    &IsaKernels<Isa::Generic, T, I>::kTable, &IsaKernels<Isa::Avx2Fma, T, I>::kTable,
    &IsaKernels<Isa::Avx512, T, I>::kTable};

// The table of `isa` (one the CPU supports, as active_isa() is).
template <class T, class I>
const KernelTable<T, I>& kernel_table(Isa isa) noexcept {
  return *kKernelTables<T, I>[static_cast<std::size_t>(isa)];
}

// C = alpha * (sum of the triplets' contributions) + beta * C, C having `rows` x n elements.
// Threads own blocks of C's columns, so they never write the same element and need no atomics;
// each one streams over every triplet.
template <class T, class I>
void scatter_product(const Triplets<T, I>& t, Strided<const T> b, Strided<T> c, std::int64_t rows,
                     std::int64_t n, std::int64_t nnz, T alpha, T beta) {
  const bool unit = b.cs == 1 && c.cs == 1;
  const KernelTable<T, I>& kernels = kernel_table<T, I>(active_isa());
  const double flops = 2.0 * static_cast<double>(nnz) * static_cast<double>(n);
  run_team(team_size(flops), [&](int tid, int threads) {
    const auto [j0, j1] = column_block(n, tid, threads);
    scale_columns(c, rows, j0, j1, beta);
    if (alpha == T(0)) return;
    if (unit) {
      kernels.scatter(t, b.data, b.rs, c.data, c.rs, j0, j1, alpha);
    } else {
      scatter_generic(t, b, c, j0, j1, alpha);
    }
  });
}

}  // namespace spbmm::kernels::cpu::detail
