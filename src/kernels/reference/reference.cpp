// The reference kernels: naive loops that serve as the test oracle for every other backend.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.hpp"

namespace spbmm::kernels::reference {
namespace {

// Element (i, j) of op(X).
template <class T>
double op_at(const DenseView<const T>& x, Op op, std::int64_t i, std::int64_t j) {
  return static_cast<double>(op == Op::N ? x(i, j) : x(j, i));
}

// The product is summed in double so that the oracle's own rounding stays far below the float
// tolerances the optimized backends are held to.
class Accumulator {
 public:
  Accumulator(std::int64_t rows, std::int64_t cols)
      : cols_(cols), sums_(static_cast<std::size_t>(rows * cols), 0.0) {}
  double& operator()(std::int64_t i, std::int64_t j) {
    return sums_[static_cast<std::size_t>(i * cols_ + j)];
  }

 private:
  std::int64_t cols_;
  std::vector<double> sums_;
};

// C = alpha * sum + beta * C. With beta == 0 the old C is never read, so NaN or garbage there
// cannot leak into the result (BLAS semantics).
template <class T>
void write_result(T alpha, double sum, T beta, T& c) {
  const double scaled = static_cast<double>(alpha) * sum;
  c = static_cast<T>(beta == T(0) ? scaled : scaled + static_cast<double>(beta) * c);
}

// Adds value * row `k` of op(B) to row `i` of the accumulator: one stored entry of op(A) at (i, k).
template <class T>
void add_scaled_row(Accumulator& acc, std::int64_t i, std::int64_t k, double value,
                    const DenseView<const T>& b, Op op_b, std::int64_t n) {
  for (std::int64_t j = 0; j < n; ++j) acc(i, j) += value * op_at(b, op_b, k, j);
}

// Writes alpha * acc + beta * C into C.
template <class T>
void finish(Accumulator& acc, T alpha, T beta, const DenseView<T>& c) {
  for (std::int64_t i = 0; i < c.rows; ++i) {
    for (std::int64_t j = 0; j < c.cols; ++j) write_result(alpha, acc(i, j), beta, c(i, j));
  }
}

}  // namespace

// As in BLAS, alpha == 0 means the product is not formed at all, so NaN or Inf in A or B does not
// turn 0 * x into NaN.

template <Value T, Index I>
void csr_dense(Op op_a, Op op_b, T alpha, const CsrView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  Accumulator acc(c.rows, c.cols);
  if (alpha != T(0)) {
    for (std::int64_t r = 0; r < a.rows; ++r) {
      for (auto p = static_cast<std::int64_t>(a.row_ptr[r]);
           p < static_cast<std::int64_t>(a.row_ptr[r + 1]); ++p) {
        const auto col = static_cast<std::int64_t>(a.col_idx[p]);
        const auto v = static_cast<double>(a.values[p]);
        // A stored (r, col) is op(A)(r, col) for N and op(A)(col, r) for T.
        if (op_a == Op::N) {
          add_scaled_row(acc, r, col, v, b, op_b, c.cols);
        } else {
          add_scaled_row(acc, col, r, v, b, op_b, c.cols);
        }
      }
    }
  }
  finish(acc, alpha, beta, c);
}

template <Value T, Index I>
void coo_dense(Op op_a, Op op_b, T alpha, const CooView<T, I>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c) {
  Accumulator acc(c.rows, c.cols);
  if (alpha != T(0)) {
    // Duplicates simply add, which is exactly what a duplicate means.
    for (std::int64_t k = 0; k < a.nnz; ++k) {
      const auto r = static_cast<std::int64_t>(a.row_idx[k]);
      const auto col = static_cast<std::int64_t>(a.col_idx[k]);
      const auto v = static_cast<double>(a.values[k]);
      if (op_a == Op::N) {
        add_scaled_row(acc, r, col, v, b, op_b, c.cols);
      } else {
        add_scaled_row(acc, col, r, v, b, op_b, c.cols);
      }
    }
  }
  finish(acc, alpha, beta, c);
}

template <Value T>
void dense_dense(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  const std::int64_t inner = (op_a == Op::N) ? a.cols : a.rows;
  for (std::int64_t i = 0; i < c.rows; ++i) {
    for (std::int64_t j = 0; j < c.cols; ++j) {
      double sum = 0.0;
      if (alpha != T(0)) {
        for (std::int64_t k = 0; k < inner; ++k) sum += op_at(a, op_a, i, k) * op_at(b, op_b, k, j);
      }
      write_result(alpha, sum, beta, c(i, j));
    }
  }
}

#define SPBMM_INSTANTIATE_SPARSE(T, I)                                                         \
  template void csr_dense<T, I>(Op, Op, T, const CsrView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);                                          \
  template void coo_dense<T, I>(Op, Op, T, const CooView<T, I>&, const DenseView<const T>&, T, \
                                const DenseView<T>&);

SPBMM_INSTANTIATE_SPARSE(float, std::int32_t)
SPBMM_INSTANTIATE_SPARSE(float, std::int64_t)
SPBMM_INSTANTIATE_SPARSE(double, std::int32_t)
SPBMM_INSTANTIATE_SPARSE(double, std::int64_t)
#undef SPBMM_INSTANTIATE_SPARSE

template void dense_dense<float>(Op, Op, float, const DenseView<const float>&,
                                 const DenseView<const float>&, float, const DenseView<float>&);
template void dense_dense<double>(Op, Op, double, const DenseView<const double>&,
                                  const DenseView<const double>&, double, const DenseView<double>&);

}  // namespace spbmm::kernels::reference
