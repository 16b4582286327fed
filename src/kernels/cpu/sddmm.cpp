// The optimized CPU SDDMM over a whole batch: threads split the stored entries of every entry
// into equal-work parts (k multiply-adds each), SIMD over k with run-time ISA selection.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/training_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu {

template <Value T, Index I>
void sddmm(std::span<const SddmmTask<T, I>> tasks, T alpha, T beta, int threads) {
  // As in BLAS, alpha == 0 leaves X and Y unread, so NaN there cannot reach the result.
  const bool with_dot = alpha != T(0);
  // The one allocation: the work before each entry, so that parts cut across entry boundaries.
  std::vector<std::int64_t> prefix(tasks.size() + 1, 0);
  double flops = 0;
  for (std::size_t e = 0; e < tasks.size(); ++e) {
    prefix[e + 1] = prefix[e] + tasks[e].nnz * detail::sddmm_unit(tasks[e], with_dot);
    flops += 2.0 * static_cast<double>(tasks[e].nnz) * static_cast<double>(tasks[e].x.cols);
  }
  if (prefix.back() == 0) return;
  const detail::KernelTable<T, I>& kernels = detail::kernel_table<T, I>(active_isa());
  const int team = detail::training_team(threads, flops);
  const int parts = team == 1 ? 1 : team * detail::kTrainingPartsPerThread;
  detail::for_parts(team, parts, [&](int part) {
    detail::for_weight_slices(
        prefix, part, parts, [&](std::size_t e, std::int64_t lo, std::int64_t hi) {
          const SddmmTask<T, I>& t = tasks[e];
          const std::int64_t unit = detail::sddmm_unit(t, with_dot);
          const std::int64_t p0 = detail::ceil_div(lo, unit), p1 = detail::ceil_div(hi, unit);
          if (p1 <= p0) return;
          const bool rows_contiguous =
              t.x.layout == Layout::RowMajor && t.y.layout == Layout::RowMajor;
          if (!with_dot) {
            detail::sddmm_scale_only(t, p0, p1, beta);
          } else if (rows_contiguous) {
            kernels.sddmm(t, p0, p1, alpha, beta);
          } else {
            detail::sddmm_range_generic(t, p0, p1, alpha, beta);
          }
        });
  });
}

#define SPBMM_INSTANTIATE(T, I) \
  template void sddmm<T, I>(std::span<const SddmmTask<T, I>>, T, T, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu
