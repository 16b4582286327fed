// Shared by the fuzz targets: multiply one validated A entry by a small dense B with every CPU
// kernel and compare each result with the reference kernel's.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "fuzz_util.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"

namespace spbmm::fuzz {

// Largest element count the harnesses let a product touch (B or C).
inline constexpr std::int64_t kMaxProductElements = std::int64_t{1} << 14;

// A dense matrix in a buffer of exactly the size its view needs (leading dimension included), so
// that a sanitizer sees any access beyond the last element.
template <class T>
struct ExactDense {
  std::vector<T> buf;
  DenseView<T> view;

  ExactDense(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad) {
    const std::int64_t minor = layout == Layout::RowMajor ? cols : rows;
    const std::int64_t major = layout == Layout::RowMajor ? rows : cols;
    // An empty operand's other dimension may be as large as 2^63 - 1: no padding then.
    if (minor > kMaxProductElements) pad = 0;
    const std::int64_t ld = std::max<std::int64_t>(minor, 1) + pad;
    const std::int64_t need = (rows == 0 || cols == 0) ? 0 : (major - 1) * ld + minor;
    buf.assign(static_cast<std::size_t>(need), T(0));
    view = DenseView<T>(need > 0 ? buf.data() : nullptr, rows, cols, layout, ld);
  }
  DenseView<const T> cview() const { return DenseView<const T>(view); }
};

template <class T>
bool close_enough(T got, T want) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  const double tol = (sizeof(T) == 4 ? 1e-5 : 1e-12) * (1.0 + std::fabs(static_cast<double>(want)));
  return std::fabs(static_cast<double>(got) - static_cast<double>(want)) <= tol;
}

// Multiplies `a` (already accepted by validation) by a small B with the reference kernel and with
// the optimized kernels. `exact` says A holds only small exact values, so every kernel must agree.
// An op(A) with a huge inner dimension is multiplied with n = 0 only. One with more than
// kMaxProductElements rows is not multiplied, unless it has more rows than any per-row array can
// hold: then every kernel must refuse it with LimitError (n = 0, so C is empty).
template <Value T, Index I>
void check_product(const MatrixView<T, I>& a, Decoder& d, bool exact) {
  const auto [ar, ac] = std::visit([](const auto& v) { return std::pair{v.rows, v.cols}; }, a);
  Options opt;
  opt.op_a = d.flag() ? Op::T : Op::N;
  opt.op_b = d.flag() ? Op::T : Op::N;
  opt.threads = 1 + static_cast<int>(d.byte() % 2);
  const std::int64_t m = opt.op_a == Op::N ? ar : ac;
  const std::int64_t k = opt.op_a == Op::N ? ac : ar;
  // The dispatcher's work (row statistics, transposes, conversions) is proportional to the rows
  // of op(A), as is C for any n > 0: a product with more rows is a legitimately large request.
  const bool impossible = static_cast<std::uint64_t>(m) >= std::vector<std::int64_t>().max_size();
  if (m > kMaxProductElements && !impossible) return;
  std::int64_t n = d.range(0, 5);
  if (m > kMaxProductElements || k > kMaxProductElements || m * n > kMaxProductElements ||
      k * n > kMaxProductElements) {
    n = 0;
  }
  const std::int64_t b_rows = opt.op_b == Op::N ? k : n;
  const std::int64_t b_cols = opt.op_b == Op::N ? n : k;
  ExactDense<T> b(b_rows, b_cols, d.flag() ? Layout::ColMajor : Layout::RowMajor, d.range(0, 2));
  for (auto& x : b.buf) x = static_cast<T>(d.small_value());
  const T alpha = static_cast<T>(d.small_value());
  const T beta = static_cast<T>(d.small_value());
  const Layout c_layout = d.flag() ? Layout::ColMajor : Layout::RowMajor;
  const std::int64_t c_pad = d.range(0, 2);
  std::vector<T> c0;
  auto run = [&](Kernel kernel) {
    ExactDense<T> c(m, n, c_layout, c_pad);
    if (c0.empty()) {
      c0.resize(c.buf.size());
      for (auto& x : c0) x = static_cast<T>(d.small_value());
    }
    c.buf = c0;
    c.view.data = c.buf.empty() ? nullptr : c.buf.data();
    opt.kernel = kernel;
    try {
      bmm_into<T, I>(DenseBatchView<T>::single(c.view), BatchView<T, I>({a}),
                     DenseBatchView<const T>::single(b.cview()), alpha, beta, opt);
    } catch (const LimitError&) {
      if (!impossible) throw;
      return c;
    }
    if (impossible) {
      fail(std::string("kernel ") + to_string(kernel) + " accepted an op(A) with " +
           std::to_string(m) + " rows");
    }
    return c;
  };
  const ExactDense<T> want = run(Kernel::Reference);
  std::vector<Kernel> kernels = {Kernel::Auto, Kernel::Sparse, Kernel::Eigen};
  // The dense kernel converts a sparse A to dense: only where that is cheap.
  std::int64_t a_elements = 0;
  if (!__builtin_mul_overflow(ar, ac, &a_elements) && a_elements <= kMaxProductElements) {
    kernels.push_back(Kernel::Dense);
  }
  for (const Kernel kernel : kernels) {
    const ExactDense<T> got = run(kernel);
    if (!exact) continue;
    for (std::size_t i = 0; i < want.buf.size(); ++i) {
      if (!close_enough(got.buf[i], want.buf[i])) {
        fail(std::string("kernel ") + to_string(kernel) + " differs from the reference at " +
             std::to_string(i) + ": " + std::to_string(got.buf[i]) + " vs " +
             std::to_string(want.buf[i]));
      }
    }
  }
}

}  // namespace spbmm::fuzz
