// Internals of the CPU SDDMM and SpMM-with-reduce kernels: the batch-wide work split and the
// portable loops (the SIMD ones are reached through simd_table.hpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cpu/sparse_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu::detail {

// Equal-work parts per thread, handed out dynamically (as the sparse kernels do): a thread that
// loses its core for a while does not hold up the others at the end.
inline constexpr int kTrainingPartsPerThread = 8;

// The team for `flops` of work: 1 inside a caller's parallel region or for small work, else
// `threads` (0: the runtime's default).
inline int training_team(int threads, double flops) {
#ifdef _OPENMP
  if (flops < kMinParallelFlops || omp_in_parallel()) return 1;
  return threads > 0 ? threads : std::max(1, omp_get_max_threads());
#else
  (void)threads;
  (void)flops;
  return 1;
#endif
}

// Splits the batch into `parts` parts of equal weight, whole batch at once, and calls
// body(entry, lo, hi) for the slices of each part, where [lo, hi) is the part's range of the
// entry's own weight [0, weight(entry)). prefix has size() + 1 entries: prefix[e] is the weight
// of the entries before e. Every unit of weight lies in exactly one part.
template <class F>
void for_weight_slices(const std::vector<std::int64_t>& prefix, int part, int parts, F&& body) {
  const std::int64_t total = prefix.back();
  const auto cut = [&](int t) { return total / parts * t + total % parts * t / parts; };
  const std::int64_t w0 = cut(part), w1 = cut(part + 1);
  if (w1 <= w0) return;
  // The entry holding unit w0: the last e with prefix[e] <= w0 and a non-empty weight.
  auto e = static_cast<std::size_t>(std::upper_bound(prefix.begin(), prefix.end(), w0) -
                                    prefix.begin()) -
           1;
  const std::size_t n = prefix.size() - 1;
  for (; e < n && prefix[e] < w1; ++e) {
    const std::int64_t lo = std::max(w0, prefix[e]) - prefix[e];
    const std::int64_t hi = std::min(w1, prefix[e + 1]) - prefix[e];
    if (hi > lo) body(e, lo, hi);
  }
}

// ceil(a / b) for a >= 0, b > 0.
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return a / b + (a % b != 0); }

// ---- SDDMM -----------------------------------------------------------------------------------

// Weight of one stored entry of an SDDMM task: its k multiply-adds plus a fixed cost (indices,
// output) so that k == 0 still spreads.
template <class T, class I>
std::int64_t sddmm_unit(const SddmmTask<T, I>& t, bool with_dot) {
  return (with_dot ? t.x.cols : 0) + 8;
}

// The row of stored position p of a CSR task (row_ptr[row] <= p < row_ptr[row + 1]).
template <class I>
std::int64_t row_of(const I* row_ptr, std::int64_t rows, std::int64_t p) {
  const I* it = std::upper_bound(row_ptr, row_ptr + rows + 1, static_cast<I>(p));
  return static_cast<std::int64_t>(it - row_ptr) - 1;
}

// out[p] for positions [p0, p1) when alpha == 0: X and Y are not read.
template <class T, class I>
void sddmm_scale_only(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T beta) {
  for (std::int64_t p = p0; p < p1; ++p) t.out[p] = beta == T(0) ? T(0) : beta * t.a_values[p];
}

// Walks positions [p0, p1) of a task, calling f(p, row, col).
template <class T, class I, class F>
inline __attribute__((always_inline)) void for_positions(const SddmmTask<T, I>& t, std::int64_t p0,
                                                         std::int64_t p1, F&& f) {
  if (t.row_ptr != nullptr) {
    std::int64_t row = row_of(t.row_ptr, t.rows, p0);
    for (std::int64_t p = p0; p < p1; ++p) {
      while (static_cast<std::int64_t>(t.row_ptr[row + 1]) <= p) ++row;
      f(p, row, static_cast<std::int64_t>(t.col_idx[p]));
    }
  } else {
    for (std::int64_t p = p0; p < p1; ++p) {
      f(p, static_cast<std::int64_t>(t.row_idx[p]), static_cast<std::int64_t>(t.col_idx[p]));
    }
  }
}

// The portable loop: any layout of X and Y; unit strides take fixed-width blocks the compiler
// vectorizes for the baseline ISA.
template <class T, class I>
void sddmm_range_generic(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1, T alpha,
                         T beta) {
  const std::int64_t k = t.x.cols;
  const bool xr = t.x.layout == Layout::RowMajor, yr = t.y.layout == Layout::RowMajor;
  const std::int64_t xrs = xr ? t.x.ld : 1, xcs = xr ? 1 : t.x.ld;
  const std::int64_t yrs = yr ? t.y.ld : 1, ycs = yr ? 1 : t.y.ld;
  for_positions(t, p0, p1, [&](std::int64_t p, std::int64_t row, std::int64_t col) {
    const T* __restrict x = t.x.data + row * xrs;
    const T* __restrict y = t.y.data + col * yrs;
    T dot = T(0);
    if (xcs == 1 && ycs == 1) {
      constexpr std::int64_t kW = 8;
      T acc[kW] = {};
      std::int64_t j = 0;
      for (; j + kW <= k; j += kW) {
        for (std::int64_t l = 0; l < kW; ++l) acc[l] += x[j + l] * y[j + l];
      }
      for (; j < k; ++j) acc[0] += x[j] * y[j];
      for (std::int64_t l = 0; l < kW; ++l) dot += acc[l];
    } else {
      for (std::int64_t j = 0; j < k; ++j) dot += x[j * xcs] * y[j * ycs];
    }
    T r = alpha * dot;
    if (beta != T(0)) r += beta * t.a_values[p];
    t.out[p] = r;
  });
}

// Y's rows are gathered in the pattern's order, at random. When a slice covers most of its
// entry and Y fits in L2, Y is fetched in order first so that the gathers hit L2. On W10 (Y of
// 25 KB to 1 MB per graph) this and the prefetch in the SIMD loop measured level with the loop
// without them (46.0 against 46.7 ms): the time there goes to reading X and Y once (538 MB).
template <class T, class I>
void stream_in_y(const SddmmTask<T, I>& t, std::int64_t p0, std::int64_t p1) {
  constexpr std::int64_t kMaxBytes = std::int64_t{1} << 20;
  const std::int64_t bytes = t.y.rows * t.y.ld * static_cast<std::int64_t>(sizeof(T));
  if (bytes > kMaxBytes || 2 * (p1 - p0) < t.nnz) return;
  const char* y = reinterpret_cast<const char*>(t.y.data);
  for (std::int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(y + off);
}

// ---- SpMM with reduce ------------------------------------------------------------------------

// First row r in [0, rows] with row_ptr[r] + r >= target (row_ptr[r] + r grows strictly).
template <class I>
std::int64_t row_at_weight(const I* row_ptr, std::int64_t rows, std::int64_t target) {
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

// Whether v replaces best in a max (kMax) or min reduction: strictly better, or the first NaN.
template <bool kMax, class T>
inline bool reduce_better(T v, T best) {
  if (std::isnan(best)) return false;
  if (std::isnan(v)) return true;
  return kMax ? v > best : v < best;
}

// Rows [r0, r1) of a max or min reduction, any layouts.
template <bool kMax, class T, class I>
void reduce_rows_generic(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1) {
  const std::int64_t n = t.c.cols;
  for (std::int64_t r = r0; r < r1; ++r) {
    const auto p0 = static_cast<std::int64_t>(t.a.row_ptr[r]);
    const auto p1 = static_cast<std::int64_t>(t.a.row_ptr[r + 1]);
    for (std::int64_t c = 0; c < n; ++c) {
      if (p0 == p1) {
        t.c(r, c) = T(0);
        if (t.arg.data != nullptr) t.arg(r, c) = I(-1);
        continue;
      }
      T best = t.a.values[p0] * t.b(static_cast<std::int64_t>(t.a.col_idx[p0]), c);
      std::int64_t at = p0;
      for (std::int64_t p = p0 + 1; p < p1; ++p) {
        const T v = t.a.values[p] * t.b(static_cast<std::int64_t>(t.a.col_idx[p]), c);
        if (reduce_better<kMax>(v, best)) {
          best = v;
          at = p;
        }
      }
      t.c(r, c) = best;
      if (t.arg.data != nullptr) t.arg(r, c) = t.a.col_idx[at];
    }
  }
}

}  // namespace spbmm::kernels::cpu::detail
