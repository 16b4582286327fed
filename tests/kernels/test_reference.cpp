// Tests of the reference kernels: hand-checked products, alpha/beta, layouts and cross-checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernels.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::dense_near;
using test::tolerance;
namespace ref = kernels::reference;

constexpr double kSentinel = 777.0;

// A dense matrix inside a buffer whose leading dimension exceeds the tight one by `pad`; the
// padding holds kSentinel so a kernel writing outside its view is caught.
template <class T>
struct Padded {
  std::vector<T> storage;
  DenseView<T> view;

  Padded(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad, T fill = T(0)) {
    const std::int64_t ld = DenseView<T>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)),
                   static_cast<T>(kSentinel));
    view = DenseView<T>(storage.data(), rows, cols, layout, ld);
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) view(i, j) = fill;
    }
  }
  // From row-major values.
  Padded(std::int64_t rows, std::int64_t cols, const std::vector<double>& values, Layout layout,
         std::int64_t pad)
      : Padded(rows, cols, layout, pad) {
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) {
        view(i, j) = static_cast<T>(values[static_cast<std::size_t>(i * cols + j)]);
      }
    }
  }
  DenseView<const T> cview() const { return view; }

  bool padding_intact() const {
    std::vector<bool> inside(storage.size(), false);
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) {
        inside[static_cast<std::size_t>(&view(i, j) - storage.data())] = true;
      }
    }
    for (std::size_t k = 0; k < storage.size(); ++k) {
      if (!inside[k] && storage[k] != static_cast<T>(kSentinel)) return false;
    }
    return true;
  }
};

template <class T>
DenseMatrix<T> from_rows(std::int64_t rows, std::int64_t cols, const std::vector<double>& v) {
  DenseMatrix<T> m(rows, cols);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) m(i, j) = static_cast<T>(v[i * cols + j]);
  }
  return m;
}

template <class T, class I>
DenseMatrix<T> densify(const CsrMatrix<T, I>& a) {
  DenseMatrix<T> d(a.rows(), a.cols());
  for (std::int64_t r = 0; r < a.rows(); ++r) {
    for (auto p = a.row_ptr()[r]; p < a.row_ptr()[r + 1]; ++p) d(r, a.col_idx()[p]) = a.values()[p];
  }
  return d;
}

// Duplicates add, as COO promises.
template <class T, class I>
DenseMatrix<T> densify(const CooMatrix<T, I>& a) {
  DenseMatrix<T> d(a.rows(), a.cols());
  for (std::int64_t k = 0; k < a.nnz(); ++k) d(a.row_idx()[k], a.col_idx()[k]) += a.values()[k];
  return d;
}

// The same matrix as COO, stored in reverse order so the kernel cannot rely on sortedness.
template <class T, class I>
CooMatrix<T, I> to_coo_reversed(const CsrMatrix<T, I>& a) {
  std::vector<I> ri, ci;
  std::vector<T> v;
  for (std::int64_t r = a.rows() - 1; r >= 0; --r) {
    for (auto p = a.row_ptr()[r + 1] - 1; p >= a.row_ptr()[r]; --p) {
      ri.push_back(static_cast<I>(r));
      ci.push_back(a.col_idx()[p]);
      v.push_back(a.values()[p]);
    }
  }
  return CooMatrix<T, I>(a.rows(), a.cols(), ri, ci, v);
}

// alpha * op(A) * op(B) + beta * C straight from the definition, in long double.
template <class T>
DenseMatrix<double> definition(Op op_a, Op op_b, double alpha, const DenseView<const T>& a,
                               const DenseView<const T>& b, double beta,
                               const DenseView<const T>& c) {
  const auto at = [](const DenseView<const T>& x, Op op, std::int64_t i, std::int64_t j) {
    return static_cast<long double>(op == Op::N ? x(i, j) : x(j, i));
  };
  const std::int64_t k_dim = op_a == Op::N ? a.cols : a.rows;
  DenseMatrix<double> out(c.rows, c.cols);
  for (std::int64_t i = 0; i < c.rows; ++i) {
    for (std::int64_t j = 0; j < c.cols; ++j) {
      long double s = 0;
      for (std::int64_t k = 0; k < k_dim; ++k) s += at(a, op_a, i, k) * at(b, op_b, k, j);
      out(i, j) = static_cast<double>(alpha * s + (beta == 0 ? 0.0L : beta * c(i, j)));
    }
  }
  return out;
}

enum class Fmt { Csr, Coo, Dense };
constexpr Fmt kFormats[] = {Fmt::Csr, Fmt::Coo, Fmt::Dense};
const char* name(Fmt f) { return f == Fmt::Csr ? "csr" : f == Fmt::Coo ? "coo" : "dense"; }

// One matrix A in all three formats.
template <class T, class I>
struct ThreeWay {
  CsrMatrix<T, I> csr;
  CooMatrix<T, I> coo;
  DenseMatrix<T> dense;

  explicit ThreeWay(CsrMatrix<T, I> m)
      : csr(std::move(m)), coo(to_coo_reversed(csr)), dense(densify(csr)) {}

  void run(Fmt f, Op op_a, Op op_b, T alpha, const DenseView<const T>& b, T beta,
           const DenseView<T>& c) const {
    switch (f) {
      case Fmt::Csr:
        return ref::csr_dense<T, I>(op_a, op_b, alpha, csr.view(), b, beta, c);
      case Fmt::Coo:
        return ref::coo_dense<T, I>(op_a, op_b, alpha, coo.view(), b, beta, c);
      case Fmt::Dense:
        return ref::dense_dense<T>(op_a, op_b, alpha, dense.view(), b, beta, c);
    }
  }
};

// A = [[1, 0, 2],
//      [0, 3, 0]]
template <class T, class I>
ThreeWay<T, I> hand_a() {
  return ThreeWay<T, I>(CsrMatrix<T, I>(2, 3, {0, 2, 3}, {0, 2, 1}, {1, 2, 3}));
}

template <class P>
class ReferenceKernels : public ::testing::Test {};
TYPED_TEST_SUITE(ReferenceKernels, AllPairs);

struct HandCase {
  Op op_a, op_b;
  std::int64_t b_rows, b_cols;
  std::vector<double> b;
  std::int64_t m, n;
  std::vector<double> want;
};

const std::vector<HandCase>& hand_cases() {
  static const std::vector<HandCase> cases = {
      // A * B with B = [[1,2],[3,4],[5,6]]:
      // row 0 = 1*[1,2] + 2*[5,6] = [11,14]; row 1 = 3*[3,4] = [9,12].
      {Op::N, Op::N, 3, 2, {1, 2, 3, 4, 5, 6}, 2, 2, {11, 14, 9, 12}},
      // A^T * B with B = [[1,2],[3,4]]; A^T = [[1,0],[0,3],[2,0]]:
      // rows 1*[1,2], 3*[3,4], 2*[1,2].
      {Op::T, Op::N, 2, 2, {1, 2, 3, 4}, 3, 2, {1, 2, 9, 12, 2, 4}},
      // A * B^T with B = [[1,0,1],[0,1,0]]; B^T = [[1,0],[0,1],[1,0]]:
      // row 0 = 1*[1,0] + 2*[1,0] = [3,0]; row 1 = 3*[0,1] = [0,3].
      {Op::N, Op::T, 2, 3, {1, 0, 1, 0, 1, 0}, 2, 2, {3, 0, 0, 3}},
      // A^T * B^T with B = [[1,2],[3,4]]; B^T = [[1,3],[2,4]]:
      // rows 1*[1,3], 3*[2,4], 2*[1,3].
      {Op::T, Op::T, 2, 2, {1, 2, 3, 4}, 3, 2, {1, 3, 6, 12, 2, 6}},
  };
  return cases;
}

TYPED_TEST(ReferenceKernels, HandCheckedEveryOpFormatAndLayout) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = hand_a<T, I>();
  for (const auto& hc : hand_cases()) {
    for (Fmt f : kFormats) {
      for (Layout lb : {Layout::RowMajor, Layout::ColMajor}) {
        for (Layout lc : {Layout::RowMajor, Layout::ColMajor}) {
          SCOPED_TRACE(::testing::Message() << name(f) << " op_a=" << to_string(hc.op_a)
                                            << " op_b=" << to_string(hc.op_b) << " B "
                                            << to_string(lb) << " C " << to_string(lc));
          const Padded<T> b(hc.b_rows, hc.b_cols, hc.b, lb, 2);
          Padded<T> c(hc.m, hc.n, lc, 3, std::numeric_limits<T>::quiet_NaN());
          a.run(f, hc.op_a, hc.op_b, T(1), b.cview(), T(0), c.view);
          const auto want = from_rows<T>(hc.m, hc.n, hc.want);
          EXPECT_TRUE(dense_near(c.cview(), want.view(), 0.0));
          EXPECT_TRUE(c.padding_intact());
        }
      }
    }
  }
}

TYPED_TEST(ReferenceKernels, AlphaAndBeta) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = hand_a<T, I>();
  const Padded<T> b(3, 2, {1, 2, 3, 4, 5, 6}, Layout::RowMajor, 0);  // A * B = [[11,14],[9,12]]
  const T nan = std::numeric_limits<T>::quiet_NaN();
  struct Case {
    double alpha, beta;
    std::vector<double> c0, want;
  };
  const std::vector<Case> cases = {
      // 2 * [[11,14],[9,12]] - [[1,1],[1,1]]
      {2, -1, {1, 1, 1, 1}, {21, 27, 17, 23}},
      // [[11,14],[9,12]] + [[1,2],[3,4]]
      {1, 1, {1, 2, 3, 4}, {12, 16, 12, 16}},
      // alpha 0: only 3 * C0 remains
      {0, 3, {1, 2, 3, 4}, {3, 6, 9, 12}},
      // 0.5 * product, C dropped
      {0.5, 0, {1, 2, 3, 4}, {5.5, 7, 4.5, 6}},
  };
  for (Fmt f : kFormats) {
    for (const auto& k : cases) {
      SCOPED_TRACE(::testing::Message() << name(f) << " alpha " << k.alpha << " beta " << k.beta);
      Padded<T> c(2, 2, k.c0, Layout::RowMajor, 1);
      a.run(f, Op::N, Op::N, T(k.alpha), b.cview(), T(k.beta), c.view);
      EXPECT_TRUE(dense_near(c.cview(), from_rows<T>(2, 2, k.want).view(), 0.0));
    }
    // beta == 0 must not read C: NaN there stays out of the result.
    Padded<T> c(2, 2, Layout::ColMajor, 1, nan);
    a.run(f, Op::N, Op::N, T(1), b.cview(), T(0), c.view);
    EXPECT_TRUE(dense_near(c.cview(), from_rows<T>(2, 2, {11, 14, 9, 12}).view(), 0.0));
    // alpha == 0 and beta == 0 give exact zeros whatever C and B hold.
    Padded<T> b_nan(3, 2, Layout::RowMajor, 0, nan);
    Padded<T> z(2, 2, Layout::RowMajor, 0, nan);
    a.run(f, Op::N, Op::N, T(0), b_nan.cview(), T(0), z.view);
    EXPECT_TRUE(dense_near(z.cview(), from_rows<T>(2, 2, {0, 0, 0, 0}).view(), 0.0));
  }
}

TYPED_TEST(ReferenceKernels, CooDuplicatesAndUnsortedAdd) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Triplets (1,2,1) (0,0,2) (1,2,4) (0,0,-1) (1,0,1) sum to A = [[1,0,0],[1,0,5]].
  const CooMatrix<T, I> a(2, 3, {1, 0, 1, 0, 1}, {2, 0, 2, 0, 0}, {1, 2, 4, -1, 1});
  {
    // A * [[1,2],[3,4],[5,6]]: row 0 = [1,2]; row 1 = [1,2] + 5*[5,6] = [26,32].
    const Padded<T> b(3, 2, {1, 2, 3, 4, 5, 6}, Layout::RowMajor, 0);
    Padded<T> c(2, 2, Layout::RowMajor, 0);
    ref::coo_dense<T, I>(Op::N, Op::N, T(1), a.view(), b.cview(), T(0), c.view);
    EXPECT_TRUE(dense_near(c.cview(), from_rows<T>(2, 2, {1, 2, 26, 32}).view(), 0.0));
  }
  {
    // A^T * [[1,2],[3,4]]; A^T = [[1,1],[0,0],[0,5]]: rows [4,6], [0,0], 5*[3,4].
    const Padded<T> b(2, 2, {1, 2, 3, 4}, Layout::ColMajor, 1);
    Padded<T> c(3, 2, Layout::ColMajor, 2);
    ref::coo_dense<T, I>(Op::T, Op::N, T(1), a.view(), b.cview(), T(0), c.view);
    EXPECT_TRUE(dense_near(c.cview(), from_rows<T>(3, 2, {4, 6, 0, 0, 15, 20}).view(), 0.0));
    EXPECT_TRUE(c.padding_intact());
  }
}

TYPED_TEST(ReferenceKernels, EmptyShapesAndZeroNnz) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const Op ops[] = {Op::N, Op::T};
  struct Case {
    std::int64_t m, k, n;
  };
  // M = 0, K = 0 (C = beta * C), N = 0, and everything 0.
  for (const Case s : {Case{0, 3, 2}, Case{2, 0, 3}, Case{2, 3, 0}, Case{0, 0, 0}}) {
    for (Op oa : ops) {
      for (Op ob : ops) {
        const std::int64_t ar = oa == Op::N ? s.m : s.k, ac = oa == Op::N ? s.k : s.m;
        const std::int64_t br = ob == Op::N ? s.k : s.n, bc = ob == Op::N ? s.n : s.k;
        const auto a = ThreeWay<T, I>(CsrMatrix<T, I>(ar, ac));
        const Padded<T> b(br, bc, Layout::RowMajor, 1, T(1));
        for (Fmt f : kFormats) {
          SCOPED_TRACE(::testing::Message() << name(f) << " " << s.m << "x" << s.k << "x" << s.n);
          Padded<T> c(s.m, s.n, Layout::RowMajor, 1, T(3));
          a.run(f, oa, ob, T(1), b.cview(), T(2), c.view);
          Padded<T> want(s.m, s.n, Layout::RowMajor, 0, T(6));
          EXPECT_TRUE(dense_near(c.cview(), want.cview(), 0.0));
          EXPECT_TRUE(c.padding_intact());
        }
      }
    }
  }
  // Non-empty shape with no stored entries: the product is zero, C = beta * C.
  const auto a = ThreeWay<T, I>(CsrMatrix<T, I>(3, 4));
  const Padded<T> b(4, 2, Layout::ColMajor, 0, T(1));
  for (Fmt f : kFormats) {
    Padded<T> c(3, 2, Layout::RowMajor, 0, T(5));
    a.run(f, Op::N, Op::N, T(1), b.cview(), T(-1), c.view);
    EXPECT_TRUE(dense_near(c.cview(), Padded<T>(3, 2, Layout::RowMajor, 0, T(-5)).cview(), 0.0));
  }
}

// Every kernel, op pair and layout against the definition, on random matrices of odd sizes.
TYPED_TEST(ReferenceKernels, CrossCheckRandomOddSizes) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(42);
  struct Size {
    std::int64_t m, k, n;
  };
  for (const Size s :
       {Size{1, 1, 1}, Size{3, 5, 1}, Size{17, 3, 17}, Size{5, 17, 3}, Size{1, 17, 17}}) {
    for (Op oa : {Op::N, Op::T}) {
      for (Op ob : {Op::N, Op::T}) {
        const std::int64_t ar = oa == Op::N ? s.m : s.k, ac = oa == Op::N ? s.k : s.m;
        const std::int64_t br = ob == Op::N ? s.k : s.n, bc = ob == Op::N ? s.n : s.k;
        const auto a = ThreeWay<T, I>(test::random_csr<T, I>(ar, ac, 0.4, rng));
        const auto b_src = test::random_dense<T>(br, bc, rng);
        const auto c_src = test::random_dense<T>(s.m, s.n, rng);
        for (Layout lb : {Layout::RowMajor, Layout::ColMajor}) {
          for (Layout lc : {Layout::RowMajor, Layout::ColMajor}) {
            Padded<T> b(br, bc, lb, 2);
            for (std::int64_t i = 0; i < br; ++i) {
              for (std::int64_t j = 0; j < bc; ++j) b.view(i, j) = b_src(i, j);
            }
            const auto want =
                definition<T>(oa, ob, 1.5, a.dense.view(), b.cview(), -0.5, c_src.view());
            for (Fmt f : kFormats) {
              SCOPED_TRACE(::testing::Message()
                           << name(f) << " " << s.m << "x" << s.k << "x" << s.n
                           << " op_a=" << to_string(oa) << " op_b=" << to_string(ob) << " B "
                           << to_string(lb) << " C " << to_string(lc));
              Padded<T> c(s.m, s.n, lc, 1);
              for (std::int64_t i = 0; i < s.m; ++i) {
                for (std::int64_t j = 0; j < s.n; ++j) c.view(i, j) = c_src(i, j);
              }
              a.run(f, oa, ob, T(1.5), b.cview(), T(-0.5), c.view);
              EXPECT_TRUE(dense_near(c.cview(), want.view(), tolerance<T>(s.k)));
              EXPECT_TRUE(c.padding_intact());
            }
          }
        }
      }
    }
  }
}

// Random COO with duplicates against the dense kernel on its summed form.
TYPED_TEST(ReferenceKernels, RandomCooWithDuplicatesMatchesDense) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(7);
  for (Op oa : {Op::N, Op::T}) {
    const auto a = test::random_coo<T, I>(9, 13, 30, 12, rng);
    const auto dense = densify(a);
    const std::int64_t k = oa == Op::N ? 13 : 9, m = oa == Op::N ? 9 : 13;
    const auto b = test::random_dense<T>(k, 3, rng, Layout::ColMajor);
    DenseMatrix<T> c1(m, 3), c2(m, 3);
    ref::coo_dense<T, I>(oa, Op::N, T(1), a.view(), b.view(), T(0), c1.view());
    ref::dense_dense<T>(oa, Op::N, T(1), dense.view(), b.view(), T(0), c2.view());
    EXPECT_TRUE(dense_near(c1.view(), c2.view(), tolerance<T>(k)));
  }
}

}  // namespace
}  // namespace spbmm
