// Eigen baselines for CSR x dense products, measured in the same run as spbmm's sparse kernels.
#pragma once

#include <cstdint>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::bench {

// Sets Eigen's thread count (Eigen::setNbThreads) while it lives and restores the previous
// setting after; threads <= 0 keeps the current one. Eigen's setting is global: do not create
// one while another thread runs an Eigen product.
class EigenThreads {
 public:
  explicit EigenThreads(int threads);
  ~EigenThreads();
  EigenThreads(const EigenThreads&) = delete;
  EigenThreads& operator=(const EigenThreads&) = delete;

 private:
  int previous_;
  bool changed_;
};

// C = alpha * A * B + beta * C through Eigen's row-major sparse x row-major dense product: A is
// mapped zero-copy as Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>>, B and C as
// row-major dense maps with their leading dimensions. B and C must be row-major
// (InvalidArgument otherwise); A must be canonical CSR with A.cols == B.rows and C of shape
// A.rows x B.cols (ShapeError otherwise). beta == 0 does not read C.
//
// Eigen splits the rows over OpenMP threads (schedule(dynamic) in chunks of rows / (4 threads))
// when Eigen::nbThreads() > 1 and nnz * N > 20000; `threads` > 0 sets that count for this call
// only (not from several threads at once; 0 keeps Eigen's setting, which is what to pass from
// inside a parallel loop, where the nested region runs on one thread anyway). alpha == 1 is
// Eigen's plain product; other alpha values go through Eigen's scaled product.
template <Value T, Index I>
void eigen_csr_dense(const CsrView<T, I>& a, const DenseView<const T>& b, const DenseView<T>& c,
                     T alpha = T(1), T beta = T(0), int threads = 0);

// The batch as a loop over entries: C_i = A_i * B_i with one entry per thread
// (omp parallel for schedule(dynamic)) and Eigen serial inside each entry. Entry i of a, b and c
// must fit together as for eigen_csr_dense; threads <= 0 uses the OpenMP default.
template <Value T, Index I>
void eigen_csr_dense_batch(const CsrBatch<T, I>& a, const DenseBatchView<const T>& b,
                           const DenseBatchView<T>& c, int threads = 0);

}  // namespace spbmm::bench
