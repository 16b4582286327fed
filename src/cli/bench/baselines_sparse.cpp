// Eigen baselines for CSR x dense products (zero-copy maps of spbmm's views).
#include "baselines_sparse.hpp"

#include <omp.h>

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <string>

#include "spbmm/error.hpp"

namespace spbmm::bench {
namespace {

template <class T>
using RowMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                          Eigen::OuterStride<>>;
template <class T>
using ConstRowMap =
    Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
               Eigen::OuterStride<>>;

std::string shape(std::int64_t r, std::int64_t c) {
  return std::to_string(r) + "x" + std::to_string(c);
}

template <class T, class I>
void check(const CsrView<T, I>& a, const DenseView<const T>& b, const DenseView<T>& c) {
  if (b.layout != Layout::RowMajor || c.layout != Layout::RowMajor) {
    throw InvalidArgument("eigen_csr_dense: B and C must be row-major");
  }
  if (a.cols != b.rows || a.rows != c.rows || b.cols != c.cols) {
    throw ShapeError("eigen_csr_dense: A is " + shape(a.rows, a.cols) + ", B is " +
                     shape(b.rows, b.cols) + ", C is " + shape(c.rows, c.cols) +
                     "; expected A m x k, B k x n, C m x n");
  }
}

// The product with Eigen's current thread setting.
template <class T, class I>
void product(const CsrView<T, I>& a, const DenseView<const T>& b, const DenseView<T>& c, T alpha,
             T beta) {
  check(a, b, c);
  if (c.rows == 0 || c.cols == 0) return;
  RowMap<T> cm(c.data, c.rows, c.cols, Eigen::OuterStride<>(c.ld));
  if (beta == T(0)) {
    cm.setZero();
  } else if (beta != T(1)) {
    cm *= beta;
  }
  if (a.nnz() == 0 || alpha == T(0)) return;
  const Eigen::Map<const Eigen::SparseMatrix<T, Eigen::RowMajor, I>> am(
      a.rows, a.cols, a.nnz(), a.row_ptr, a.col_idx, a.values);
  const ConstRowMap<T> bm(b.data, b.rows, b.cols, Eigen::OuterStride<>(b.ld));
  if (alpha == T(1)) {
    cm.noalias() += am * bm;
  } else {
    cm.noalias() += alpha * (am * bm);
  }
}

}  // namespace

EigenThreads::EigenThreads(int threads) : previous_(Eigen::nbThreads()), changed_(threads > 0) {
  if (changed_) Eigen::setNbThreads(threads);
}

EigenThreads::~EigenThreads() {
  if (changed_) Eigen::setNbThreads(previous_);
}

template <Value T, Index I>
void eigen_csr_dense(const CsrView<T, I>& a, const DenseView<const T>& b, const DenseView<T>& c,
                     T alpha, T beta, int threads) {
  const EigenThreads scope(threads);
  product(a, b, c, alpha, beta);
}

template <Value T, Index I>
void eigen_csr_dense_batch(const CsrBatch<T, I>& a, const DenseBatchView<const T>& b,
                           const DenseBatchView<T>& c, int threads) {
  if (a.size() != b.size() || a.size() != c.size()) {
    throw ShapeError("eigen_csr_dense_batch: batch sizes differ (A " + std::to_string(a.size()) +
                     ", B " + std::to_string(b.size()) + ", C " + std::to_string(c.size()) + ")");
  }
  for (std::size_t i = 0; i < a.size(); ++i) check(a.entry(i), b[i], c[i]);
  // Serial Eigen inside each entry: the parallelism is over entries.
  const EigenThreads scope(1);
  const auto n = static_cast<std::int64_t>(a.size());
  const int team = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) num_threads(team)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    product(a.entry(k), b[k], c[k], T(1), T(0));
  }
}

#define SPBMM_INSTANTIATE(T, I)                                                                    \
  template void eigen_csr_dense<T, I>(const CsrView<T, I>&, const DenseView<const T>&,             \
                                      const DenseView<T>&, T, T, int);                             \
  template void eigen_csr_dense_batch<T, I>(const CsrBatch<T, I>&, const DenseBatchView<const T>&, \
                                            const DenseBatchView<T>&, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::bench
