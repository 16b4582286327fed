// The optimized CPU CSR x dense kernel: nnz-balanced OpenMP rows, SIMD over the dense columns.
#include <algorithm>
#include <cstdint>

#include <unistd.h>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu {
namespace {

using detail::Strided;

// How many nonzeros ahead the AVX2 loop prefetches the rows of B it will gather. Without it a
// B that does not fit in L2 (W4: 1 MB per entry) runs at half speed; 16 to 64 measure alike.
// Tiling the columns of B instead (sweeping the rows once per 32 or 16 columns) was slower on
// every workload: it re-reads A and halves the work per gathered cache line. The AVX-512 loop
// measures best at 16 too (8, 32 and 64 were up to 10% slower on W8).
constexpr std::int64_t kPrefetchDistance = 16;

// Equal-work parts per thread, handed out dynamically: a thread that loses its core to another
// process for a while does not hold up the others at the end.
constexpr int kPartsPerThread = 8;

// A C of at least this many bytes written with beta == 0 goes out through non-temporal stores
// (see RowJob::stream_c): such a C does not stay in L2 anyway, and the stores save reading each
// line of C in before overwriting it. On a 2-core Intel Xeon (AVX-512, 2 MiB L2 per core) this
// made W4 (1 MiB per C) 8% faster and W8 (0.5 MiB on average) 6-10% (in one process), W3 (32 MiB)
// 16% (runs one after the other).
constexpr std::int64_t kStreamMinBytes = std::int64_t{256} << 10;

// The L2 cache of a core in bytes (1 MiB when the system does not say).
std::int64_t l2_bytes() {
  static const std::int64_t bytes = [] {
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? static_cast<std::int64_t>(v) : std::int64_t{1} << 20;
  }();
  return bytes;
}

// Whether the rows of B are prefetched ahead of their gathers: only when B fills more than half
// of L2. A B that fits stays in L2 after its first rows are gathered, and the prefetches (one per
// line of every gathered row) then cost issue slots for nothing: on the Xeon above, W4 (1 MiB B)
// ran 1.27x faster without them (1.42x with B already in cache). The half-speed figure of
// kPrefetchDistance was measured on a 2-core AMD EPYC; with the 1 MiB L2 per core of current EPYCs
// this rule keeps the prefetches for W4 there.
bool prefetch_b(std::int64_t b_bytes) { return 2 * b_bytes > l2_bytes(); }

// C = alpha * A * op(B) + beta * C, every output row written by exactly one thread.
template <class T, class I>
void rows_product(const CsrView<T, I>& a, Strided<const T> b, Strided<T> c, std::int64_t n, T alpha,
                  T beta) {
  const std::int64_t rows = a.rows;
  const double flops = 2.0 * static_cast<double>(a.nnz()) * static_cast<double>(n);
  const bool contiguous = b.cs == 1 && c.cs == 1;
  const detail::KernelTable<T, I>& kernels = detail::kernel_table<T, I>(active_isa());
  // The bytes of B the gathers may touch: rows [0, cols of A) of n contiguous elements.
  const std::int64_t b_bytes = a.cols * std::max(b.rs, n) * static_cast<std::int64_t>(sizeof(T));
  const detail::RowJob<T, I> job{
      a.row_ptr,
      a.col_idx,
      a.values,
      b.data,
      b.rs,
      c.data,
      c.rs,
      n,
      alpha,
      beta,
      n,
      prefetch_b(b_bytes) ? kPrefetchDistance : 0,
      beta == T(0) && rows * n * static_cast<std::int64_t>(sizeof(T)) >= kStreamMinBytes};
  const int threads = detail::team_size(flops);
  const int parts = threads == 1 ? 1 : threads * kPartsPerThread;
  detail::for_parts(threads, parts, [&](int part) {
    const std::int64_t r0 = detail::balanced_row(a.row_ptr, rows, part, parts);
    const std::int64_t r1 = detail::balanced_row(a.row_ptr, rows, part + 1, parts);
    if (contiguous) {
      kernels.csr_rows(job, r0, r1);
    } else {
      detail::csr_rows_strided(a, b, c, n, alpha, beta, r0, r1);
    }
  });
}

}  // namespace

template <Value T, Index I>
void csr_dense(Op op_a, Op op_b, T alpha, const CsrView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  if (c.rows == 0 || c.cols == 0) return;
  const Strided<const T> sb = detail::op_strides(b, op_b);
  const Strided<T> sc = detail::strides(c);
  // As in BLAS, alpha == 0 leaves A and B unread, so NaN there cannot reach C.
  if (alpha == T(0)) {
    detail::scale_columns(sc, c.rows, 0, c.cols, beta);
    return;
  }
  if (op_a == Op::N) {
    rows_product(a, sb, sc, c.cols, alpha, beta);
  } else {
    // Row i of A scatters into the rows of C named by its column indices; threads own column
    // blocks of C instead of rows.
    const detail::Triplets<T, I> t{a.row_ptr, a.rows, a.col_idx, nullptr, a.values, a.nnz()};
    detail::scatter_product(t, sb, sc, c.rows, c.cols, a.nnz(), alpha, beta);
  }
}

#define SPBMM_INSTANTIATE(T, I)                                                                \
  template void csr_dense<T, I>(Op, Op, T, const CsrView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu
