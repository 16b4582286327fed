// The reference SpMM with reduce: each row's products combined one column at a time.
#include <cmath>
#include <cstdint>
#include <span>

#include "kernels/kernels.hpp"

namespace spbmm::kernels::reference {
namespace {

// Whether v replaces the current best: larger (Max) or smaller (Min), or the first NaN.
template <class T>
bool better(Reduce reduce, T v, T best) {
  if (std::isnan(best)) return false;
  if (std::isnan(v)) return true;
  return reduce == Reduce::Max ? v > best : v < best;
}

}  // namespace

template <Value T, Index I>
void spmm_reduce(std::span<const ReduceTask<T, I>> tasks, Reduce reduce, int /*threads*/) {
  for (const ReduceTask<T, I>& t : tasks) {
    for (std::int64_t r = 0; r < t.c.rows; ++r) {
      const auto p0 = static_cast<std::int64_t>(t.a.row_ptr[r]);
      const auto p1 = static_cast<std::int64_t>(t.a.row_ptr[r + 1]);
      for (std::int64_t c = 0; c < t.c.cols; ++c) {
        if (p0 == p1) {
          t.c(r, c) = T(0);
          if (t.arg.data != nullptr) t.arg(r, c) = I(-1);
          continue;
        }
        if (reduce == Reduce::Sum || reduce == Reduce::Mean) {
          // Summed in double, so that the oracle's rounding stays far below the tolerances.
          double sum = 0;
          for (std::int64_t p = p0; p < p1; ++p) {
            sum += static_cast<double>(t.a.values[p]) *
                   static_cast<double>(t.b(static_cast<std::int64_t>(t.a.col_idx[p]), c));
          }
          if (reduce == Reduce::Mean) sum /= static_cast<double>(p1 - p0);
          t.c(r, c) = static_cast<T>(sum);
        } else {
          // Products in T, as any kernel forms them, so that the winner is the same one.
          T best = t.a.values[p0] * t.b(static_cast<std::int64_t>(t.a.col_idx[p0]), c);
          I best_col = t.a.col_idx[p0];
          for (std::int64_t p = p0 + 1; p < p1; ++p) {
            const T v = t.a.values[p] * t.b(static_cast<std::int64_t>(t.a.col_idx[p]), c);
            if (better(reduce, v, best)) {
              best = v;
              best_col = t.a.col_idx[p];
            }
          }
          t.c(r, c) = best;
          if (t.arg.data != nullptr) t.arg(r, c) = best_col;
        }
      }
    }
  }
}

#define SPBMM_INSTANTIATE(T, I) \
  template void spmm_reduce<T, I>(std::span<const ReduceTask<T, I>>, Reduce, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::reference
