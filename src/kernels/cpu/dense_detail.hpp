// Internals of the CPU dense x dense kernel shared by dense_dense.cpp and the SIMD paths'
// translation units: the normalized product, B panel packing, and the per-path dispatch table.
#pragma once

#include <cstdint>

#include "kernels/cpu/isa.hpp"

namespace spbmm::kernels::cpu::detail {

// The product as strided arrays, normalized so that C is row-major: op(A)(i, p) is
// a[i * a_rs + p * a_cs], op(B)(p, j) is b[p * b_rs + j * b_cs], C(i, j) is c[i * c_rs + j].
// For any layout and op, each operand has a unit stride along one of its two indices.
template <class T>
struct Problem {
  std::int64_t m, n, k;
  const T* a;
  std::int64_t a_rs, a_cs;
  const T* b;
  std::int64_t b_rs, b_cs;
  T* c;
  std::int64_t c_rs;
  T alpha, beta;
};

// K is processed in chunks so that a B panel (kKc x NR) stays in L1 while all row blocks use it.
inline constexpr std::int64_t kKc = 256;

// A row-major B panel is packed too (into contiguous rows) once C has this many rows to reuse it:
// rows of B a power-of-two stride apart map to few L1 sets, so that a 1024^3 product ran 1.35x
// faster packed (AVX-512 path); at 128^3 packing was 5% slower, at 256^3 and 512^3 level.
inline constexpr std::int64_t kPackMinRows = 256;

// Copies rows [0, kc) and columns [0, nr) of a B panel into buf (row stride nr_pad), zero-padding
// the columns past nr.
template <class T>
void pack_b(const T* b, std::int64_t b_rs, std::int64_t b_cs, std::int64_t kc, int nr, int nr_pad,
            T* buf) {
  for (std::int64_t p = 0; p < kc; ++p) {
    const T* src = b + p * b_rs;
    T* dst = buf + p * nr_pad;
    int j = 0;
    for (; j < nr; ++j) dst[j] = src[j * b_cs];
    for (; j < nr_pad; ++j) dst[j] = T(0);
  }
}

// The dense kernel's run-time dispatch table: per Isa, the loops compiled for it.
template <class T>
struct DenseKernels {
  // Column panels [j_begin, j_end) of the register-blocked product, for an A with unit stride
  // along k (a_cs == 1) or along i.
  void (*panels_row_a)(const Problem<T>& p, std::int64_t j_begin, std::int64_t j_end);
  void (*panels_col_a)(const Problem<T>& p, std::int64_t j_begin, std::int64_t j_end);
  // Columns per panel.
  std::int64_t panel_width;
  // Products done without the panels where they apply: false (and nothing done) where none
  // does; nullptr for a path without such products.
  bool (*direct)(const Problem<T>& p, bool stream);
  // Whether op(B) (k x n) fits the registers of `direct`; nullptr where there is no such product.
  bool (*fits_registers)(std::int64_t n, std::int64_t k);
};

// The tables of the SIMD paths: explicit specializations defined in simd_avx2.cpp and
// simd_avx512.cpp (the portable path's table is dense_dense.cpp's own). Use them only where the
// CPU has their ISA.
template <Isa kIsa, class T>
struct IsaDenseKernels {
  static const DenseKernels<T> kTable;
};
template <>
const DenseKernels<float> IsaDenseKernels<Isa::Avx2Fma, float>::kTable;
template <>
const DenseKernels<double> IsaDenseKernels<Isa::Avx2Fma, double>::kTable;
template <>
const DenseKernels<float> IsaDenseKernels<Isa::Avx512, float>::kTable;
template <>
const DenseKernels<double> IsaDenseKernels<Isa::Avx512, double>::kTable;

}  // namespace spbmm::kernels::cpu::detail
