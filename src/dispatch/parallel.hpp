// Threading helpers of the dispatcher: thread counts, a parallel loop that carries exceptions
// out, and small dense-view operations the executor and the plan-time stages share.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "spbmm/dense.hpp"

namespace spbmm::dispatch {

// Sets the OpenMP thread count of the calling thread for the lifetime of the object, so that
// a kernel's own parallel region uses exactly the threads the schedule gives it.
class OmpThreadsScope {
 public:
  explicit OmpThreadsScope(int threads) noexcept {
#ifdef _OPENMP
    saved_ = omp_get_max_threads();
    omp_set_num_threads(std::max(threads, 1));
#else
    (void)threads;
#endif
  }
  ~OmpThreadsScope() {
#ifdef _OPENMP
    omp_set_num_threads(saved_);
#endif
  }
  OmpThreadsScope(const OmpThreadsScope&) = delete;
  OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

 private:
  int saved_ = 1;
};

inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

inline int default_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Runs body(k) for k in [0, count) on up to `threads` threads, one index at a time in the given
// order (dynamic schedule). The first exception is carried out of the region and rethrown.
template <class F>
void parallel_for(std::size_t count, int threads, F&& body) {
  std::exception_ptr error;
  const auto n = static_cast<std::int64_t>(count);
#ifdef _OPENMP
  const int t =
      static_cast<int>(std::clamp<std::int64_t>(threads, 1, std::max<std::int64_t>(n, 1)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(t) if (t > 1)
#else
  (void)threads;
#endif
  for (std::int64_t k = 0; k < n; ++k) {
    try {
      body(static_cast<std::size_t>(k));
    } catch (...) {
#ifdef _OPENMP
#pragma omp critical(spbmm_dispatch_error)
#endif
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// C = beta * C, or exact zeros when beta == 0 (C not read).
template <Value T>
void scale(T beta, const DenseView<T>& c) {
  for (std::int64_t i = 0; i < c.rows; ++i) {
    for (std::int64_t j = 0; j < c.cols; ++j) c(i, j) = beta == T(0) ? T(0) : beta * c(i, j);
  }
}

// op(X) of a dense view as a view with op N: the transpose is the same memory read in the other
// layout.
template <class T>
DenseView<T> op_view(const DenseView<T>& v, Op op) {
  if (op == Op::N) return v;
  const Layout flipped = v.layout == Layout::RowMajor ? Layout::ColMajor : Layout::RowMajor;
  return DenseView<T>(v.data, v.cols, v.rows, flipped, v.ld);
}

// Rows [r0, r0 + nr) and columns [c0, c0 + nc) of a dense view.
template <class T>
DenseView<T> sub_block(const DenseView<T>& v, std::int64_t r0, std::int64_t nr, std::int64_t c0,
                       std::int64_t nc) {
  const std::int64_t offset = v.layout == Layout::RowMajor ? r0 * v.ld + c0 : c0 * v.ld + r0;
  return DenseView<T>(v.data + offset, nr, nc, v.layout, v.ld);
}

}  // namespace spbmm::dispatch
