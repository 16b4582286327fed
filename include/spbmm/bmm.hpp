// The entry point: C_i = alpha * op(A_i) * op(B_i) + beta * C_i over a batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <variant>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm {

// One batch entry of A: dense, CSR or COO.
template <Value T, Index I>
using MatrixView = std::variant<DenseView<const T>, CsrView<T, I>, CooView<T, I>>;

// A non-owning batch of A operands that may mix formats and shapes.
template <Value T, Index I>
class BatchView {
 public:
  BatchView() = default;
  explicit BatchView(std::vector<MatrixView<T, I>> entries) : entries_(std::move(entries)) {}
  BatchView(const CsrBatch<T, I>& a);           // NOLINT(google-explicit-constructor)
  BatchView(const CooBatch<T, I>& a);           // NOLINT(google-explicit-constructor)
  BatchView(const DenseBatch<T>& a);            // NOLINT(google-explicit-constructor)
  BatchView(const DenseBatchView<const T>& a);  // NOLINT(google-explicit-constructor)

  void push_back(const MatrixView<T, I>& m) { entries_.push_back(m); }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  const MatrixView<T, I>& operator[](std::size_t i) const { return entries_[i]; }
  const std::vector<MatrixView<T, I>>& entries() const noexcept { return entries_; }

 private:
  std::vector<MatrixView<T, I>> entries_;
};

// Which kernel runs an entry. Auto lets the dispatcher choose per entry.
//   Reference  the naive oracle kernels
//   Sparse     the optimized CPU sparse x dense kernel (a dense entry is converted to CSR)
//   Dense      the optimized CPU dense kernel (a sparse entry is converted to dense)
//   Eigen      Eigen's own products (sparse or dense, as the entry is stored)
//   Gpu        cuSPARSE / cuBLAS (DeviceError when no device is available)
//   Mkl        Intel MKL: inspector-executor SpMM for a sparse entry (its handle made once per
//              plan), gemm for a dense one; a plugin built with -Dmkl (NotCompiled without it,
//              IoError when MKL's libraries cannot be loaded)
enum class Kernel : std::uint8_t { Auto, Reference, Sparse, Dense, Eigen, Gpu, Mkl };

const char* to_string(Kernel kernel) noexcept;

struct Options {
  Op op_a = Op::N;
  Op op_b = Op::N;
  Layout out_layout = Layout::RowMajor;  // layout of the result bmm() allocates
  int threads = 0;                       // 0: the runtime's default
  Kernel kernel = Kernel::Auto;
  // Bytes the dense copy of one sparse entry may take when the Dense kernel runs it (see
  // dense_limit() in convert.hpp); 0: the process-wide dense_limit().
  std::uint64_t dense_limit = 0;
};

// Rows and columns of op(X) for one entry.
struct Shape {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
};

// The shapes of the result of op(A_i) * op(B_i) with broadcasting: a batch of one A (or one B)
// is used with every entry of the other. Throws ShapeError when the batch sizes cannot broadcast
// or an entry's inner dimensions disagree; the message names the entry, both operands and both
// shapes, e.g. "entry 3: op(A) is 5x7 but op(B) is 6x2 (inner dimensions 7 != 6)".
template <Value T, Index I>
std::vector<Shape> result_shapes(const BatchView<T, I>& a, const DenseBatchView<const T>& b,
                                 const Options& options = {});

// Writes C_i = alpha * op(A_i) * op(B_i) + beta * C_i. With beta == 0, C is not read (NaN in C
// does not propagate); with alpha == 0, A and B are checked but not multiplied (as in BLAS).
// Inf and NaN in A and B propagate as A_i's stored format says, whichever kernel runs: a dense
// A_i multiplies every element (0 * Inf is NaN, as in BLAS), a sparse A_i only its stored entries
// (a structural zero never meets B; an explicit stored zero does).
// Every operand and shape is checked before anything is written to C, and C may not share
// memory with A, B or another entry of C (InvalidArgument).
// T and I are deduced from C and A; B and the scalars convert (a non-const B view, double
// literals for float data).
template <Value T, Index I>
void bmm_into(const DenseBatchView<T>& c, const BatchView<T, I>& a,
              const DenseBatchView<const std::type_identity_t<T>>& b, std::type_identity_t<T> alpha,
              std::type_identity_t<T> beta, const Options& options = {});

// Returns alpha * op(A_i) * op(B_i) as a new batch in options.out_layout.
template <Value T, Index I>
DenseBatch<T> bmm(const BatchView<T, I>& a, const DenseBatchView<const std::type_identity_t<T>>& b,
                  const Options& options = {}, std::type_identity_t<T> alpha = T(1));

// The batch sum C = alpha * sum_i op(A_i) op(B_i) + beta * C: every product (with the same
// broadcasting as bmm_into) has C's shape; the products are summed in entry order, so the result
// has the same bits at any thread count. Checked like bmm_into before C is written.
template <Value T, Index I>
void bmm_sum_into(const DenseView<T>& c, const BatchView<T, I>& a,
                  const DenseBatchView<const std::type_identity_t<T>>& b,
                  std::type_identity_t<T> alpha, std::type_identity_t<T> beta,
                  const Options& options = {});

// One matrix: C = alpha * op(A) * op(B) + beta * C for A dense, CSR or COO (a batch of one,
// with the same checks and kernel choice).
template <Value T, Index I>
void multiply_into(const DenseView<T>& c, const MatrixView<T, I>& a,
                   const DenseView<const std::type_identity_t<T>>& b,
                   std::type_identity_t<T> alpha = T(1), std::type_identity_t<T> beta = T(0),
                   const Options& options = {});
// Returns alpha * op(A) * op(B) in options.out_layout.
template <Value T, Index I>
DenseMatrix<T> multiply(const MatrixView<T, I>& a,
                        const DenseView<const std::type_identity_t<T>>& b,
                        const Options& options = {}, std::type_identity_t<T> alpha = T(1));

// Conveniences that deduce T and I from the containers.
template <Value T, Index I>
DenseBatch<T> bmm(const CsrBatch<T, I>& a, const DenseBatch<T>& b, const Options& options = {}) {
  return bmm<T, I>(BatchView<T, I>(a), b.view(), options);
}
template <Value T, Index I>
DenseBatch<T> bmm(const CooBatch<T, I>& a, const DenseBatch<T>& b, const Options& options = {}) {
  return bmm<T, I>(BatchView<T, I>(a), b.view(), options);
}
template <Value T>
DenseBatch<T> bmm(const DenseBatch<T>& a, const DenseBatch<T>& b, const Options& options = {}) {
  return bmm<T, std::int64_t>(BatchView<T, std::int64_t>(a), b.view(), options);
}
template <Value T, Index I>
void bmm_into(DenseBatch<T>& c, const CsrBatch<T, I>& a, const DenseBatch<T>& b,
              std::type_identity_t<T> alpha, std::type_identity_t<T> beta,
              const Options& options = {}) {
  bmm_into<T, I>(c.view(), BatchView<T, I>(a), b.view(), alpha, beta, options);
}
template <Value T, Index I>
void bmm_into(DenseBatch<T>& c, const CooBatch<T, I>& a, const DenseBatch<T>& b,
              std::type_identity_t<T> alpha, std::type_identity_t<T> beta,
              const Options& options = {}) {
  bmm_into<T, I>(c.view(), BatchView<T, I>(a), b.view(), alpha, beta, options);
}
template <Value T>
void bmm_into(DenseBatch<T>& c, const DenseBatch<T>& a, const DenseBatch<T>& b,
              std::type_identity_t<T> alpha, std::type_identity_t<T> beta,
              const Options& options = {}) {
  bmm_into<T, std::int64_t>(c.view(), BatchView<T, std::int64_t>(a), b.view(), alpha, beta,
                            options);
}
// Views of your own buffers for C and B, a container for A.
template <Value T, Index I>
void bmm_into(const DenseBatchView<T>& c, const CsrBatch<T, I>& a,
              const DenseBatchView<const std::type_identity_t<T>>& b, std::type_identity_t<T> alpha,
              std::type_identity_t<T> beta, const Options& options = {}) {
  bmm_into<T, I>(c, BatchView<T, I>(a), b, alpha, beta, options);
}
template <Value T, Index I>
void bmm_into(const DenseBatchView<T>& c, const CooBatch<T, I>& a,
              const DenseBatchView<const std::type_identity_t<T>>& b, std::type_identity_t<T> alpha,
              std::type_identity_t<T> beta, const Options& options = {}) {
  bmm_into<T, I>(c, BatchView<T, I>(a), b, alpha, beta, options);
}

// One matrix from its container or view.
template <Value T, Index I>
DenseMatrix<T> multiply(const CsrMatrix<T, I>& a, const DenseMatrix<T>& b,
                        const Options& options = {}) {
  return multiply<T, I>(MatrixView<T, I>(a.view()), b.view(), options);
}
template <Value T, Index I>
DenseMatrix<T> multiply(const CooMatrix<T, I>& a, const DenseMatrix<T>& b,
                        const Options& options = {}) {
  return multiply<T, I>(MatrixView<T, I>(a.view()), b.view(), options);
}
template <Value T>
DenseMatrix<T> multiply(const DenseMatrix<T>& a, const DenseMatrix<T>& b,
                        const Options& options = {}) {
  return multiply<T, std::int64_t>(MatrixView<T, std::int64_t>(DenseView<const T>(a.view())),
                                   b.view(), options);
}
template <Value T, Index I>
DenseMatrix<T> multiply(const CsrView<T, I>& a, const DenseView<const std::type_identity_t<T>>& b,
                        const Options& options = {}) {
  return multiply<T, I>(MatrixView<T, I>(a), b, options);
}
template <Value T, Index I>
DenseMatrix<T> multiply(const CooView<T, I>& a, const DenseView<const std::type_identity_t<T>>& b,
                        const Options& options = {}) {
  return multiply<T, I>(MatrixView<T, I>(a), b, options);
}
template <Value T, Index I>
void multiply_into(const DenseView<T>& c, const CsrView<T, I>& a,
                   const DenseView<const std::type_identity_t<T>>& b,
                   std::type_identity_t<T> alpha = T(1), std::type_identity_t<T> beta = T(0),
                   const Options& options = {}) {
  multiply_into<T, I>(c, MatrixView<T, I>(a), b, alpha, beta, options);
}
template <Value T, Index I>
void multiply_into(const DenseView<T>& c, const CooView<T, I>& a,
                   const DenseView<const std::type_identity_t<T>>& b,
                   std::type_identity_t<T> alpha = T(1), std::type_identity_t<T> beta = T(0),
                   const Options& options = {}) {
  multiply_into<T, I>(c, MatrixView<T, I>(a), b, alpha, beta, options);
}
template <Value T>
void multiply_into(const DenseView<T>& c, const DenseView<const std::type_identity_t<T>>& a,
                   const DenseView<const std::type_identity_t<T>>& b,
                   std::type_identity_t<T> alpha = T(1), std::type_identity_t<T> beta = T(0),
                   const Options& options = {}) {
  multiply_into<T, std::int64_t>(c, MatrixView<T, std::int64_t>(a), b, alpha, beta, options);
}

}  // namespace spbmm
