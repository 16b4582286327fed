// Eigen-per-entry and OpenBLAS-per-entry dense batch baselines.
#include "baselines_dense.hpp"

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "spbmm/config.hpp"

#if SPBMM_HAVE_BLAS
#include <cblas.h>
#endif

namespace spbmm::bench {
namespace {

template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class V>
const V& entry(const std::vector<V>& v, std::size_t i) {
  return v.size() == 1 ? v[0] : v[i];
}

#if SPBMM_HAVE_BLAS
CBLAS_TRANSPOSE trans(Layout stored, Layout order) {
  return stored == order ? CblasNoTrans : CblasTrans;
}

template <class T>
void gemm(const DenseView<const T>& a, const DenseView<const T>& b, const DenseView<T>& c) {
  const CBLAS_ORDER order = c.layout == Layout::RowMajor ? CblasRowMajor : CblasColMajor;
  const auto m = static_cast<blasint>(c.rows);
  const auto n = static_cast<blasint>(c.cols);
  const auto k = static_cast<blasint>(a.cols);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(order, trans(a.layout, c.layout), trans(b.layout, c.layout), m, n, k, 1.0f, a.data,
                static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), 0.0f, c.data,
                static_cast<blasint>(c.ld));
  } else {
    cblas_dgemm(order, trans(a.layout, c.layout), trans(b.layout, c.layout), m, n, k, 1.0, a.data,
                static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), 0.0, c.data,
                static_cast<blasint>(c.ld));
  }
}
#endif

}  // namespace

bool have_blas_baseline() noexcept { return SPBMM_HAVE_BLAS != 0; }

template <Value T>
void eigen_per_entry(const std::vector<DenseView<const T>>& a,
                     const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                     int threads) {
  const auto row_major = [](const auto& v) {
    for (const auto& x : v) {
      if (x.layout != Layout::RowMajor) return false;
    }
    return true;
  };
  if (!row_major(a) || !row_major(b) || !row_major(c)) {
    throw std::invalid_argument("eigen_per_entry: every operand must be row-major");
  }
  using CMap = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
  using Map = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
  // Eigen decides by itself whether to parallelize a product and, inside a one-thread team, would
  // start its own threads; the baseline means one product per thread.
  (void)threads;  // without OpenMP the loop runs on the calling thread
  const int eigen_threads = Eigen::nbThreads();
  Eigen::setNbThreads(1);
  const auto count = static_cast<std::int64_t>(c.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic)
#endif
  for (std::int64_t i = 0; i < count; ++i) {
    const auto u = static_cast<std::size_t>(i);
    const DenseView<const T>& ai = entry(a, u);
    const DenseView<const T>& bi = entry(b, u);
    const DenseView<T>& ci = c[u];
    const CMap ma(ai.data, ai.rows, ai.cols, Eigen::OuterStride<>(ai.ld));
    const CMap mb(bi.data, bi.rows, bi.cols, Eigen::OuterStride<>(bi.ld));
    Map mc(ci.data, ci.rows, ci.cols, Eigen::OuterStride<>(ci.ld));
    mc.noalias() = ma * mb;
  }
  Eigen::setNbThreads(eigen_threads);
}

template <Value T>
void blas_per_entry(const std::vector<DenseView<const T>>& a,
                    const std::vector<DenseView<const T>>& b, const std::vector<DenseView<T>>& c,
                    int threads) {
#if SPBMM_HAVE_BLAS
  (void)threads;
  const int saved = openblas_get_num_threads();
  openblas_set_num_threads(1);
  const auto count = static_cast<std::int64_t>(c.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic)
#endif
  for (std::int64_t i = 0; i < count; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (c[u].rows > 0 && c[u].cols > 0) gemm(entry(a, u), entry(b, u), c[u]);
  }
  openblas_set_num_threads(saved);
#else
  (void)a;
  (void)b;
  (void)c;
  (void)threads;
  throw std::runtime_error(
      "blas_per_entry: spbmm was built without OpenBLAS (meson -Dblas=enabled)");
#endif
}

#define SPBMM_INSTANTIATE_BASELINES(T)                                     \
  template void eigen_per_entry<T>(const std::vector<DenseView<const T>>&, \
                                   const std::vector<DenseView<const T>>&, \
                                   const std::vector<DenseView<T>>&, int); \
  template void blas_per_entry<T>(const std::vector<DenseView<const T>>&,  \
                                  const std::vector<DenseView<const T>>&,  \
                                  const std::vector<DenseView<T>>&, int);

SPBMM_INSTANTIATE_BASELINES(float)
SPBMM_INSTANTIATE_BASELINES(double)
#undef SPBMM_INSTANTIATE_BASELINES

}  // namespace spbmm::bench
