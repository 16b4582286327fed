// The bmm entry points: batch views, up-front validation, then a transient plan executed once.
#include "spbmm/bmm.hpp"

#include <utility>
#include <vector>

#include "dispatch/checks.hpp"
#include "dispatch/engine.hpp"

namespace spbmm {

template <Value T, Index I>
BatchView<T, I>::BatchView(const CsrBatch<T, I>& a) {
  entries_.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) entries_.emplace_back(a.entry(i));
}

template <Value T, Index I>
BatchView<T, I>::BatchView(const CooBatch<T, I>& a) {
  entries_.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) entries_.emplace_back(a.entry(i));
}

template <Value T, Index I>
BatchView<T, I>::BatchView(const DenseBatch<T>& a) {
  entries_.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) entries_.emplace_back(a.entry(i));
}

template <Value T, Index I>
BatchView<T, I>::BatchView(const DenseBatchView<const T>& a) {
  entries_.reserve(a.size());
  for (const auto& m : a.entries()) entries_.emplace_back(m);
}

using dispatch::broadcast_size;
using dispatch::check_options;
using dispatch::shapes_of;

template <Value T, Index I>
std::vector<Shape> result_shapes(const BatchView<T, I>& a, const DenseBatchView<const T>& b,
                                 const Options& options) {
  check_options(options);
  return shapes_of(a, b, options);
}

template <Value T, Index I>
void bmm_into(const DenseBatchView<T>& c, const BatchView<T, I>& a,
              const DenseBatchView<const std::type_identity_t<T>>& b, std::type_identity_t<T> alpha,
              std::type_identity_t<T> beta, const Options& options) {
  check_options(options);
  broadcast_size(a.size(), b.size());
  dispatch::validate_a(a);
  dispatch::check_b_and_c(c, a, b, options);
  dispatch::run_batch<T, I>(c, a, b, alpha, beta, options, nullptr);
}

template <Value T, Index I>
void bmm_sum_into(const DenseView<T>& c, const BatchView<T, I>& a,
                  const DenseBatchView<const std::type_identity_t<T>>& b,
                  std::type_identity_t<T> alpha, std::type_identity_t<T> beta,
                  const Options& options) {
  check_options(options);
  broadcast_size(a.size(), b.size());
  dispatch::validate_a(a);
  dispatch::check_sum(c, a, b, options);
  dispatch::run_batch<T, I>(DenseBatchView<T>(), a, b, alpha, beta, options, &c);
}

template <Value T, Index I>
void multiply_into(const DenseView<T>& c, const MatrixView<T, I>& a,
                   const DenseView<const std::type_identity_t<T>>& b, std::type_identity_t<T> alpha,
                   std::type_identity_t<T> beta, const Options& options) {
  bmm_into<T, I>(DenseBatchView<T>::single(c), BatchView<T, I>({a}),
                 DenseBatchView<const T>::single(b), alpha, beta, options);
}

template <Value T, Index I>
DenseMatrix<T> multiply(const MatrixView<T, I>& a,
                        const DenseView<const std::type_identity_t<T>>& b, const Options& options,
                        std::type_identity_t<T> alpha) {
  check_options(options);
  const BatchView<T, I> batch({a});
  const DenseBatchView<const T> bb = DenseBatchView<const T>::single(b);
  const Shape s = shapes_of(batch, bb, options)[0];
  DenseMatrix<T> out(s.rows, s.cols, options.out_layout);
  bmm_into<T, I>(DenseBatchView<T>::single(out.view()), batch, bb, alpha, T(0), options);
  return out;
}

template <Value T, Index I>
DenseBatch<T> bmm(const BatchView<T, I>& a, const DenseBatchView<const std::type_identity_t<T>>& b,
                  const Options& options, std::type_identity_t<T> alpha) {
  check_options(options);
  const std::vector<Shape> shapes = shapes_of(a, b, options);
  std::vector<std::int64_t> rows(shapes.size());
  std::vector<std::int64_t> cols(shapes.size());
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    rows[i] = shapes[i].rows;
    cols[i] = shapes[i].cols;
  }
  DenseBatch<T> out(std::move(rows), std::move(cols), options.out_layout);
  bmm_into<T, I>(out.view(), a, b, alpha, T(0), options);
  return out;
}

#define SPBMM_INSTANTIATE(T, I)                                                                    \
  template class BatchView<T, I>;                                                                  \
  template std::vector<Shape> result_shapes<T, I>(const BatchView<T, I>&,                          \
                                                  const DenseBatchView<const T>&, const Options&); \
  template void bmm_into<T, I>(const DenseBatchView<T>&, const BatchView<T, I>&,                   \
                               const DenseBatchView<const T>&, T, T, const Options&);              \
  template void bmm_sum_into<T, I>(const DenseView<T>&, const BatchView<T, I>&,                    \
                                   const DenseBatchView<const T>&, T, T, const Options&);          \
  template void multiply_into<T, I>(const DenseView<T>&, const MatrixView<T, I>&,                  \
                                    const DenseView<const T>&, T, T, const Options&);              \
  template DenseMatrix<T> multiply<T, I>(const MatrixView<T, I>&, const DenseView<const T>&,       \
                                         const Options&, T);                                       \
  template DenseBatch<T> bmm<T, I>(const BatchView<T, I>&, const DenseBatchView<const T>&,         \
                                   const Options&, T);

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
