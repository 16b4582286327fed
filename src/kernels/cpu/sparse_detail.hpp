// Internals shared by the CPU sparse x dense kernels: strided operands, work partitioning and
// the portable loops (the SIMD ones are reached through simd_table.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::kernels::cpu::detail {

// Element (i, j) of a dense operand (after applying its op) is data[i * rs + j * cs].
template <class T>
struct Strided {
  T* data = nullptr;
  std::int64_t rs = 0;
  std::int64_t cs = 0;
};

// op(B) as seen by the kernels: transposing a matrix swaps its strides.
template <class T>
Strided<const T> op_strides(const DenseView<const T>& b, Op op) {
  const bool row_major = b.layout == Layout::RowMajor;
  const std::int64_t rs = row_major ? b.ld : 1;
  const std::int64_t cs = row_major ? 1 : b.ld;
  return op == Op::N ? Strided<const T>{b.data, rs, cs} : Strided<const T>{b.data, cs, rs};
}

template <class T>
Strided<T> strides(const DenseView<T>& c) {
  return c.layout == Layout::RowMajor ? Strided<T>{c.data, c.ld, 1} : Strided<T>{c.data, 1, c.ld};
}

// beta == 0 must never read C (it may hold NaN); beta == 1 saves a multiply per element.
enum class BetaMode : std::uint8_t { Zero, One, General };

template <class T>
BetaMode beta_mode(T beta) {
  return beta == T(0) ? BetaMode::Zero : (beta == T(1) ? BetaMode::One : BetaMode::General);
}

// Rows [r0, r1) of C = alpha * A * B + beta * C with unit column stride in B and C.
template <class T, class I>
struct RowJob {
  const I* row_ptr;
  const I* col_idx;
  const T* values;
  const T* b;
  std::int64_t ldb;
  T* c;
  std::int64_t ldc;
  std::int64_t n;
  T alpha;
  T beta;
  // Columns processed per sweep over the rows (>= n: one sweep). Narrower tiles shrink the part
  // of B that each sweep gathers from, at the price of re-reading A once per tile.
  std::int64_t tile;
  // How many nonzeros ahead the B rows are prefetched (0: none).
  std::int64_t prefetch;
  // beta == 0 only: full, line-aligned vectors of C are written with non-temporal stores, which
  // skip reading the lines of C into the cache before overwriting them. The loop ends with a
  // store fence.
  bool stream_c = false;
};

// Stored entries of A as (out, in, value) triplets meaning C(out, :) += alpha * value *
// op(B)(in, :). With row_ptr set, entry p of row i is (out_idx[p], i) (CSR read as A^T);
// otherwise entry k is (out_idx[k], in_idx[k]) (COO).
template <class T, class I>
struct Triplets {
  const I* row_ptr = nullptr;
  std::int64_t rows = 0;
  const I* out_idx = nullptr;
  const I* in_idx = nullptr;
  const T* values = nullptr;
  std::int64_t nnz = 0;
};

// Below this many flops a parallel region costs more than it saves.
inline constexpr double kMinParallelFlops = 5e4;

// Threads for a product of `flops`: one inside an enclosing parallel region (the caller already
// spreads entries over threads) or for small work, otherwise the OpenMP default.
inline int team_size(double flops) {
#ifdef _OPENMP
  if (flops < kMinParallelFlops || omp_in_parallel()) return 1;
  return std::max(1, omp_get_max_threads());
#else
  (void)flops;
  return 1;
#endif
}

// Calls body(thread, threads) on a team of `threads` (without a parallel region for one).
template <class F>
void run_team([[maybe_unused]] int threads, F&& body) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel num_threads(threads)
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  body(0, 1);
}

// Calls body(part) for every part in [0, parts): dynamically over a team of `threads`, or in
// order on the calling thread for one (no worksharing construct then, since one outside our own
// parallel region would bind to the caller's team).
template <class F>
void for_parts([[maybe_unused]] int threads, int parts, F&& body) {
#ifdef _OPENMP
  if (threads > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int part = 0; part < parts; ++part) body(part);
    return;
  }
#endif
  for (int part = 0; part < parts; ++part) body(part);
}

// First row of part t of `parts` when the rows are cut into parts of equal weight, a row
// weighing its nonzeros plus one (for writing its row of C). Found by binary search on
// row_ptr, so a power-law row distribution still gives every thread the same work.
template <class I>
std::int64_t balanced_row(const I* row_ptr, std::int64_t rows, int t, int parts) {
  if (t <= 0) return 0;
  if (t >= parts) return rows;
  const std::int64_t total = static_cast<std::int64_t>(row_ptr[rows]) + rows;
  const std::int64_t target = total / parts * t + total % parts * t / parts;
  std::int64_t lo = 0, hi = rows;
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (static_cast<std::int64_t>(row_ptr[mid]) + mid < target) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Columns [first, second) of n owned by part t of `parts`; boundaries fall on multiples of
// 16 elements so that threads writing neighbouring blocks of a row-major C share no cache line.
inline std::pair<std::int64_t, std::int64_t> column_block(std::int64_t n, int t, int parts) {
  constexpr std::int64_t kAlign = 16;
  const std::int64_t chunks = (n + kAlign - 1) / kAlign;
  const std::int64_t c0 = chunks * t / parts, c1 = chunks * (t + 1) / parts;
  return {std::min(n, c0 * kAlign), std::min(n, c1 * kAlign)};
}

// C(:, j0:j1) *= beta over `rows` rows; beta == 0 writes zeros without reading C.
template <class T>
void scale_columns(Strided<T> c, std::int64_t rows, std::int64_t j0, std::int64_t j1, T beta) {
  if (beta == T(1) || j1 <= j0) return;
  const bool by_rows = c.cs == 1;
  const std::int64_t outer = by_rows ? rows : j1 - j0, inner = by_rows ? j1 - j0 : rows;
  const std::int64_t so = by_rows ? c.rs : c.cs, si = by_rows ? c.cs : c.rs;
  T* base = c.data + j0 * c.cs;
  for (std::int64_t o = 0; o < outer; ++o) {
    T* p = base + o * so;
    if (beta == T(0)) {
      for (std::int64_t i = 0; i < inner; ++i) p[i * si] = T(0);
    } else {
      for (std::int64_t i = 0; i < inner; ++i) p[i * si] *= beta;
    }
  }
}

// The portable loops: fixed-width blocks the compiler vectorizes for the baseline ISA.
template <class T, BetaMode kMode>
inline void store_row(T* __restrict c, const T* __restrict acc, std::int64_t w, T alpha, T beta) {
  for (std::int64_t j = 0; j < w; ++j) {
    T r = alpha * acc[j];
    if constexpr (kMode == BetaMode::One) r += c[j];
    if constexpr (kMode == BetaMode::General) r += beta * c[j];
    c[j] = r;
  }
}

template <class T, class I, BetaMode kMode>
void csr_rows_generic_mode(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  constexpr std::int64_t kW = 16;
  for (std::int64_t r = r0; r < r1; ++r) {
    const auto p0 = static_cast<std::int64_t>(job.row_ptr[r]);
    const auto p1 = static_cast<std::int64_t>(job.row_ptr[r + 1]);
    T* crow = job.c + r * job.ldc;
    for (std::int64_t j0 = 0; j0 < job.n; j0 += kW) {
      T acc[kW] = {};
      const std::int64_t w = std::min(kW, job.n - j0);
      if (w == kW) {
        for (std::int64_t p = p0; p < p1; ++p) {
          const T v = job.values[p];
          const T* __restrict br = job.b + static_cast<std::int64_t>(job.col_idx[p]) * job.ldb + j0;
          for (std::int64_t j = 0; j < kW; ++j) acc[j] += v * br[j];
        }
      } else {
        for (std::int64_t p = p0; p < p1; ++p) {
          const T v = job.values[p];
          const T* __restrict br = job.b + static_cast<std::int64_t>(job.col_idx[p]) * job.ldb + j0;
          for (std::int64_t j = 0; j < w; ++j) acc[j] += v * br[j];
        }
      }
      store_row<T, kMode>(crow + j0, acc, w, job.alpha, job.beta);
    }
  }
}

template <class T, class I>
void csr_rows_generic(const RowJob<T, I>& job, std::int64_t r0, std::int64_t r1) {
  switch (beta_mode(job.beta)) {
    case BetaMode::Zero:
      return csr_rows_generic_mode<T, I, BetaMode::Zero>(job, r0, r1);
    case BetaMode::One:
      return csr_rows_generic_mode<T, I, BetaMode::One>(job, r0, r1);
    case BetaMode::General:
      return csr_rows_generic_mode<T, I, BetaMode::General>(job, r0, r1);
  }
}

// Rows [r0, r1) of C = alpha * A * op(B) + beta * C for any strides of op(B) and C.
template <class T, class I>
void csr_rows_strided(const CsrView<T, I>& a, Strided<const T> b, Strided<T> c, std::int64_t n,
                      T alpha, T beta, std::int64_t r0, std::int64_t r1) {
  constexpr std::int64_t kW = 32;
  for (std::int64_t r = r0; r < r1; ++r) {
    const auto p0 = static_cast<std::int64_t>(a.row_ptr[r]);
    const auto p1 = static_cast<std::int64_t>(a.row_ptr[r + 1]);
    for (std::int64_t j0 = 0; j0 < n; j0 += kW) {
      const std::int64_t w = std::min(kW, n - j0);
      T acc[kW] = {};
      for (std::int64_t p = p0; p < p1; ++p) {
        const T v = a.values[p];
        const T* __restrict br =
            b.data + static_cast<std::int64_t>(a.col_idx[p]) * b.rs + j0 * b.cs;
        if (b.cs == 1) {
          for (std::int64_t j = 0; j < w; ++j) acc[j] += v * br[j];
        } else {
          for (std::int64_t j = 0; j < w; ++j) acc[j] += v * br[j * b.cs];
        }
      }
      T* cr = c.data + r * c.rs + j0 * c.cs;
      for (std::int64_t j = 0; j < w; ++j) {
        T& cij = cr[j * c.cs];
        cij = beta == T(0) ? alpha * acc[j] : alpha * acc[j] + beta * cij;
      }
    }
  }
}

// C(out, j0:j1) += alpha * value * op(B)(in, j0:j1) for every triplet, any strides.
template <class T, class I>
void scatter_generic(const Triplets<T, I>& t, Strided<const T> b, Strided<T> c, std::int64_t j0,
                     std::int64_t j1, T alpha) {
  const std::int64_t w = j1 - j0;
  if (w <= 0) return;
  const bool unit = b.cs == 1 && c.cs == 1;
  auto axpy = [&](std::int64_t out, std::int64_t in, T value) {
    const T s = alpha * value;
    const T* __restrict x = b.data + in * b.rs + j0 * b.cs;
    T* __restrict y = c.data + out * c.rs + j0 * c.cs;
    if (unit) {
      for (std::int64_t j = 0; j < w; ++j) y[j] += s * x[j];
    } else {
      for (std::int64_t j = 0; j < w; ++j) y[j * c.cs] += s * x[j * b.cs];
    }
  };
  if (t.row_ptr != nullptr) {
    for (std::int64_t i = 0; i < t.rows; ++i) {
      for (auto p = static_cast<std::int64_t>(t.row_ptr[i]);
           p < static_cast<std::int64_t>(t.row_ptr[i + 1]); ++p) {
        axpy(static_cast<std::int64_t>(t.out_idx[p]), i, t.values[p]);
      }
    }
  } else {
    for (std::int64_t k = 0; k < t.nnz; ++k) {
      axpy(static_cast<std::int64_t>(t.out_idx[k]), static_cast<std::int64_t>(t.in_idx[k]),
           t.values[k]);
    }
  }
}

}  // namespace spbmm::kernels::cpu::detail
