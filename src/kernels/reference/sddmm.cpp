// The reference SDDMM: for each stored entry, a dot product of two dense rows summed in double.
#include <cstdint>
#include <span>

#include "kernels/kernels.hpp"

namespace spbmm::kernels::reference {

template <Value T, Index I>
void sddmm(std::span<const SddmmTask<T, I>> tasks, T alpha, T beta, int /*threads*/) {
  for (const SddmmTask<T, I>& t : tasks) {
    const std::int64_t k = t.x.cols;
    std::int64_t row = 0;
    for (std::int64_t p = 0; p < t.nnz; ++p) {
      if (t.row_ptr != nullptr) {
        while (static_cast<std::int64_t>(t.row_ptr[row + 1]) <= p) ++row;
      } else {
        row = static_cast<std::int64_t>(t.row_idx[p]);
      }
      const auto col = static_cast<std::int64_t>(t.col_idx[p]);
      double dot = 0;
      // As in BLAS, alpha == 0 leaves X and Y unread, so NaN there cannot reach the result.
      if (alpha != T(0)) {
        for (std::int64_t j = 0; j < k; ++j) {
          dot += static_cast<double>(t.x(row, j)) * static_cast<double>(t.y(col, j));
        }
      }
      double r = static_cast<double>(alpha) * dot;
      if (beta != T(0)) r += static_cast<double>(beta) * static_cast<double>(t.a_values[p]);
      t.out[p] = static_cast<T>(r);
    }
  }
}

#define SPBMM_INSTANTIATE(T, I) \
  template void sddmm<T, I>(std::span<const SddmmTask<T, I>>, T, T, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::kernels::reference
