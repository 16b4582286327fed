// The optimized CPU SpMM with reduce over a whole batch: threads split the rows of every entry
// into equal-work parts (a row weighing its stored entries plus one); sum and mean run the
// sparse x dense row loops, max and min their own SIMD loops that track the winning column.
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/simd_table.hpp"
#include "kernels/cpu/training_detail.hpp"
#include "kernels/kernels.hpp"

namespace spbmm::kernels::cpu {
namespace {

// How many stored entries ahead the sum loop prefetches the rows of B (as csr_dense does).
constexpr std::int64_t kPrefetchDistance = 16;

template <class T, class I>
void sum_rows(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1,
              const detail::KernelTable<T, I>& kernels, bool mean) {
  const std::int64_t n = t.c.cols;
  const detail::Strided<const T> sb = detail::op_strides(t.b, Op::N);
  const detail::Strided<T> sc = detail::strides(t.c);
  if (sb.cs == 1 && sc.cs == 1) {
    const detail::RowJob<T, I> job{t.a.row_ptr, t.a.col_idx, t.a.values, sb.data,
                                   sb.rs,       sc.data,     sc.rs,      n,
                                   T(1),        T(0),        n,          kPrefetchDistance};
    kernels.csr_rows(job, r0, r1);
  } else {
    detail::csr_rows_strided(t.a, sb, sc, n, T(1), T(0), r0, r1);
  }
  if (!mean) return;
  for (std::int64_t r = r0; r < r1; ++r) {
    const auto count = static_cast<std::int64_t>(t.a.row_ptr[r + 1] - t.a.row_ptr[r]);
    if (count <= 1) continue;
    const T scale = T(1) / static_cast<T>(count);
    for (std::int64_t j = 0; j < n; ++j) sc.data[r * sc.rs + j * sc.cs] *= scale;
  }
}

template <class T, class I>
void extreme_rows(const ReduceTask<T, I>& t, std::int64_t r0, std::int64_t r1,
                  const detail::KernelTable<T, I>& kernels, bool is_max) {
  if (t.b.layout == Layout::RowMajor && t.c.layout == Layout::RowMajor) {
    kernels.reduce_rows(t, r0, r1, is_max);
  } else {
    detail::kernel_table<T, I>(Isa::Generic).reduce_rows(t, r0, r1, is_max);
  }
}

}  // namespace

template <Value T, Index I>
void spmm_reduce(std::span<const ReduceTask<T, I>> tasks, Reduce reduce, int threads) {
  // The one allocation: the work before each entry, so that parts cut across entry boundaries.
  std::vector<std::int64_t> prefix(tasks.size() + 1, 0);
  double flops = 0;
  for (std::size_t e = 0; e < tasks.size(); ++e) {
    const ReduceTask<T, I>& t = tasks[e];
    const std::int64_t n = t.c.cols;
    const std::int64_t w = t.c.rows == 0 || n == 0 ? 0 : (t.a.nnz() + t.c.rows) * n;
    prefix[e + 1] = prefix[e] + w;
    flops += 2.0 * static_cast<double>(t.a.nnz()) * static_cast<double>(n);
  }
  if (prefix.back() == 0) return;
  const detail::KernelTable<T, I>& kernels = detail::kernel_table<T, I>(active_isa());
  const int team = detail::training_team(threads, flops);
  const int parts = team == 1 ? 1 : team * detail::kTrainingPartsPerThread;
  detail::for_parts(team, parts, [&](int part) {
    detail::for_weight_slices(
        prefix, part, parts, [&](std::size_t e, std::int64_t lo, std::int64_t hi) {
          const ReduceTask<T, I>& t = tasks[e];
          const std::int64_t n = t.c.cols;
          // Row r starts at weight (row_ptr[r] + r) * n of its entry.
          const std::int64_t r0 =
              detail::row_at_weight(t.a.row_ptr, t.c.rows, detail::ceil_div(lo, n));
          const std::int64_t r1 =
              detail::row_at_weight(t.a.row_ptr, t.c.rows, detail::ceil_div(hi, n));
          if (r1 <= r0) return;
          switch (reduce) {
            case Reduce::Sum:
            case Reduce::Mean:
              sum_rows(t, r0, r1, kernels, reduce == Reduce::Mean);
              break;
            case Reduce::Max:
            case Reduce::Min:
              extreme_rows(t, r0, r1, kernels, reduce == Reduce::Max);
              break;
          }
        });
  });
}

#define SPBMM_INSTANTIATE(T, I) \
  template void spmm_reduce<T, I>(std::span<const ReduceTask<T, I>>, Reduce, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::cpu
