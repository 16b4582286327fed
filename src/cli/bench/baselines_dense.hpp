// Dense batch baselines that spbmm's figures are compared with: Eigen and OpenBLAS per entry.
#pragma once

#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/types.hpp"

namespace spbmm::bench {

// True when the baselines were built with OpenBLAS (blas_per_entry is then available).
bool have_blas_baseline() noexcept;

// C_i = A_i * B_i for every entry, as a plain Eigen user writes it: an OpenMP loop over the entries
// with a dynamic schedule on `threads` threads, each entry `C.noalias() = A * B` on Eigen::Map
// row-major dynamic-size matrices (Eigen runs each product on its one thread). a and b hold
// c.size() views or one view used with every entry. Every view must be row-major
// (std::invalid_argument otherwise); shapes must agree (not checked).
template <Value T>
void eigen_per_entry(const std::vector<DenseView<const T>>& a,
                     const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                     int threads);

// C_i = A_i * B_i with one cblas_sgemm/dgemm per entry, the batch spread over `threads` OpenMP
// threads (dynamic schedule) and OpenBLAS set to one thread per call for the duration (restored
// after), which is how OpenBLAS is fastest on a batch. Any layouts. Throws std::runtime_error when
// built without OpenBLAS.
template <Value T>
void blas_per_entry(const std::vector<DenseView<const T>>& a,
                    const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                    int threads);

}  // namespace spbmm::bench
