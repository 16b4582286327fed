// Tests of the optimized CPU sparse kernels (cpu::csr_dense, cpu::coo_dense) against the oracle.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/simd_table.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/aligned.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::dense_near;
using test::tolerance;
namespace cpu = kernels::cpu;
namespace ref = kernels::reference;

constexpr double kPadding = 555.0;
const double kNaN = std::numeric_limits<double>::quiet_NaN();

// A dense operand in a buffer whose leading dimension exceeds the tight one by `pad`; the
// padding holds kPadding so that a kernel writing outside its view is caught.
template <class T>
struct Operand {
  std::vector<T> storage;
  DenseView<T> view;

  Operand(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad) {
    const std::int64_t ld = DenseView<T>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)),
                   static_cast<T>(kPadding));
    view = DenseView<T>(storage.data(), rows, cols, layout, ld);
  }
  Operand(const Operand& o) : storage(o.storage), view(o.view) { view.data = storage.data(); }
  Operand& operator=(const Operand&) = delete;

  void fill(std::mt19937_64& rng) {
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) view(i, j) = test::random_value<T>(rng);
    }
  }
  void fill(double value) {
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) view(i, j) = static_cast<T>(value);
    }
  }
  // Every element outside the view still holds kPadding.
  bool padding_intact() const {
    std::vector<char> inside(storage.size(), 0);
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) inside[&view(i, j) - storage.data()] = 1;
    }
    for (std::size_t p = 0; p < storage.size(); ++p) {
      if (!inside[p] && storage[p] != static_cast<T>(kPadding)) return false;
    }
    return true;
  }
};

// The code paths this CPU can run; every test runs on each of them.
std::vector<cpu::Isa> isas() {
  std::vector<cpu::Isa> v = {cpu::Isa::Generic};
  if (cpu::cpu_has_avx2_fma()) v.push_back(cpu::Isa::Avx2Fma);
  if (cpu::cpu_has_avx512()) v.push_back(cpu::Isa::Avx512);
  return v;
}

// Restores the detected path when a test ends, even when an assertion fails.
struct IsaScope {
  explicit IsaScope(cpu::Isa isa) : previous(cpu::active_isa()) { cpu::force_isa(isa); }
  ~IsaScope() { cpu::force_isa(previous); }
  cpu::Isa previous;
};

struct Case {
  Op op_a = Op::N;
  Op op_b = Op::N;
  Layout layout_b = Layout::RowMajor;
  Layout layout_c = Layout::RowMajor;
  std::int64_t pad = 0;
  double alpha = 1.0;
  double beta = 0.0;

  std::string describe() const {
    return std::string("op_a ") + to_string(op_a) + ", op_b " + to_string(op_b) + ", B " +
           to_string(layout_b) + ", C " + to_string(layout_c) + ", pad " + std::to_string(pad) +
           ", alpha " + std::to_string(alpha) + ", beta " + std::to_string(beta);
  }
};

// Runs `kernel` and `oracle` on the same operands (op(A) is m x k, n columns) and compares;
// with beta == 0 C starts as NaN, which must not reach the result.
template <class T, class Kernel, class Oracle>
void check_product(const Case& cs, std::int64_t m, std::int64_t k, std::int64_t n,
                   std::mt19937_64& rng, Kernel kernel, Oracle oracle) {
  const bool tb = cs.op_b == Op::T;
  Operand<T> b(tb ? n : k, tb ? k : n, cs.layout_b, cs.pad);
  b.fill(rng);
  Operand<T> c(m, n, cs.layout_c, cs.pad);
  if (cs.beta == 0.0) {
    c.fill(kNaN);
  } else {
    c.fill(rng);
  }
  Operand<T> want = c;
  const DenseView<const T> bv = b.view;
  const auto alpha = static_cast<T>(cs.alpha), beta = static_cast<T>(cs.beta);
  oracle(cs.op_a, cs.op_b, alpha, bv, beta, want.view);
  kernel(cs.op_a, cs.op_b, alpha, bv, beta, c.view);
  EXPECT_TRUE(dense_near(c.view, want.view, tolerance<T>(k))) << cs.describe();
  EXPECT_TRUE(c.padding_intact()) << "wrote outside C: " << cs.describe();
}

template <class T, class I>
void check_csr(const Case& cs, const CsrView<T, I>& a, std::int64_t n, std::mt19937_64& rng) {
  const std::int64_t m = cs.op_a == Op::N ? a.rows : a.cols;
  const std::int64_t k = cs.op_a == Op::N ? a.cols : a.rows;
  check_product<T>(
      cs, m, k, n, rng,
      [&](Op oa, Op ob, T al, const DenseView<const T>& b, T be, const DenseView<T>& c) {
        cpu::csr_dense<T, I>(oa, ob, al, a, b, be, c);
      },
      [&](Op oa, Op ob, T al, const DenseView<const T>& b, T be, const DenseView<T>& c) {
        ref::csr_dense<T, I>(oa, ob, al, a, b, be, c);
      });
}

template <class T, class I>
void check_coo(const Case& cs, const CooView<T, I>& a, std::int64_t n, std::mt19937_64& rng) {
  const std::int64_t m = cs.op_a == Op::N ? a.rows : a.cols;
  const std::int64_t k = cs.op_a == Op::N ? a.cols : a.rows;
  check_product<T>(
      cs, m, k, n, rng,
      [&](Op oa, Op ob, T al, const DenseView<const T>& b, T be, const DenseView<T>& c) {
        cpu::coo_dense<T, I>(oa, ob, al, a, b, be, c);
      },
      [&](Op oa, Op ob, T al, const DenseView<const T>& b, T be, const DenseView<T>& c) {
        ref::coo_dense<T, I>(oa, ob, al, a, b, be, c);
      });
}

// Every op, layout, padding and alpha/beta combination.
std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      for (Layout lb : {Layout::RowMajor, Layout::ColMajor}) {
        for (Layout lc : {Layout::RowMajor, Layout::ColMajor}) {
          for (std::int64_t pad : {0, 3}) {
            for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {1.5, 1.0}, {-0.75, -0.5}}) {
              cases.push_back({op_a, op_b, lb, lc, pad, alpha, beta});
            }
          }
        }
      }
    }
  }
  return cases;
}

// A matrix whose row lengths follow a power law (row r holds about top / (r + 1)^0.9 entries,
// rows shuffled, one row in seven empty): the shape that breaks row-count partitioning.
template <class T, class I>
CsrMatrix<T, I> skewed_csr(std::int64_t rows, std::int64_t cols, std::int64_t top,
                           std::mt19937_64& rng) {
  std::vector<std::int64_t> len(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    const double l = static_cast<double>(top) / std::pow(static_cast<double>(r + 1), 0.9);
    len[static_cast<std::size_t>(r)] = r % 7 == 3 ? 0 : std::min<std::int64_t>(cols, 1 + l);
  }
  std::shuffle(len.begin(), len.end(), rng);
  std::vector<I> rp(1, 0), ci;
  std::vector<T> vals;
  std::vector<std::int64_t> all(static_cast<std::size_t>(cols));
  for (std::int64_t j = 0; j < cols; ++j) all[static_cast<std::size_t>(j)] = j;
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto l = static_cast<std::size_t>(len[static_cast<std::size_t>(r)]);
    // A partial Fisher-Yates shuffle picks l distinct columns.
    for (std::size_t q = 0; q < l; ++q) {
      std::uniform_int_distribution<std::size_t> pick(q, all.size() - 1);
      std::swap(all[q], all[pick(rng)]);
    }
    std::vector<std::int64_t> picked(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(l));
    std::sort(picked.begin(), picked.end());
    for (auto j : picked) {
      ci.push_back(static_cast<I>(j));
      vals.push_back(test::random_value<T>(rng));
    }
    rp.push_back(static_cast<I>(ci.size()));
  }
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(vals));
}

template <class P>
class CpuSparseKernels : public ::testing::Test {};
TYPED_TEST_SUITE(CpuSparseKernels, AllPairs);

// The detected path is the widest the CPU has, and forcing a path the CPU lacks falls back.
TEST(CpuSparseIsa, DefaultIsTheWidestSupportedPath) {
  const cpu::Isa best = cpu::cpu_has_avx512()     ? cpu::Isa::Avx512
                        : cpu::cpu_has_avx2_fma() ? cpu::Isa::Avx2Fma
                                                  : cpu::Isa::Generic;
  EXPECT_EQ(isas().back(), best);
  EXPECT_EQ(cpu::best_isa(), best);
  const IsaScope scope(cpu::Isa::Generic);
  EXPECT_EQ(cpu::force_isa(cpu::Isa::Avx512), best);
  EXPECT_EQ(cpu::active_isa(), best);
  if (cpu::cpu_has_avx512()) {
    EXPECT_TRUE(cpu::cpu_has_avx2_fma());
  }
}

// Each path has its own dispatch table with every entry set: no slot of the lookup falls back to
// another path's loops or to nothing.
TYPED_TEST(CpuSparseKernels, EveryPathHasItsOwnCompleteTable) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::vector<const kernels::cpu::detail::KernelTable<T, I>*> tables;
  for (cpu::Isa isa : {cpu::Isa::Generic, cpu::Isa::Avx2Fma, cpu::Isa::Avx512}) {
    SCOPED_TRACE(cpu::to_string(isa));
    const auto& k = kernels::cpu::detail::kernel_table<T, I>(isa);
    EXPECT_NE(k.csr_rows, nullptr);
    EXPECT_NE(k.scatter, nullptr);
    EXPECT_NE(k.sddmm, nullptr);
    EXPECT_NE(k.reduce_rows, nullptr);
    for (const auto* other : tables) {
      EXPECT_NE(k.csr_rows, other->csr_rows);
      EXPECT_NE(k.scatter, other->scatter);
      EXPECT_NE(k.sddmm, other->sddmm);
      EXPECT_NE(k.reduce_rows, other->reduce_rows);
    }
    tables.push_back(&k);
  }
}

TYPED_TEST(CpuSparseKernels, CsrMatchesReferenceForEveryOpLayoutAndScale) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  const auto a = test::random_csr<T, I>(37, 29, 0.2, rng);
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (const Case& cs : all_cases()) {
      SCOPED_TRACE(cpu::to_string(isa));
      check_csr(cs, a.view(), 19, rng);
    }
  }
}

TYPED_TEST(CpuSparseKernels, CooWithDuplicatesMatchesReferenceForEveryOpLayoutAndScale) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(12);
  const auto a = test::random_coo<T, I>(31, 23, 150, 40, rng);
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (const Case& cs : all_cases()) {
      SCOPED_TRACE(cpu::to_string(isa));
      check_coo(cs, a.view(), 21, rng);
    }
  }
}

TYPED_TEST(CpuSparseKernels, OddColumnCountsOnEveryPath) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(13);
  const auto a = test::random_csr<T, I>(90, 70, 0.08, rng);
  const auto coo = test::random_coo<T, I>(90, 70, 400, 50, rng);
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    // Every mix of full and partial vectors of the 8-, 16- and 32-byte paths: the wider blocks
    // of the AVX-512 loop (16, 8, 4, 2, 1 vectors) end on a masked vector for odd n.
    for (std::int64_t n : {1, 3, 8, 15, 16, 17, 33, 48, 65, 100, 130, 257}) {
      for (double beta : {0.0, 1.0, 0.7}) {
        SCOPED_TRACE(std::string(cpu::to_string(isa)) + ", n " + std::to_string(n));
        const Case cs{Op::N, Op::N, Layout::RowMajor, Layout::RowMajor, n % 2, 1.25, beta};
        check_csr(cs, a.view(), n, rng);
        check_coo(cs, coo.view(), n, rng);
        check_coo(Case{Op::T, Op::N, Layout::RowMajor, Layout::RowMajor, 1, 0.5, beta}, coo.view(),
                  n, rng);
        check_csr(Case{Op::T, Op::N, Layout::RowMajor, Layout::RowMajor, 0, 0.5, beta}, a.view(), n,
                  rng);
      }
    }
  }
}

// B and C at every offset within a 64-byte line, with leading dimensions of whole lines (the
// AVX-512 loop then shifts its vectors to line boundaries, the first one partial).
TYPED_TEST(CpuSparseKernels, OperandsAtEveryOffsetWithinACacheLine) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  constexpr std::int64_t kLine = 64 / static_cast<std::int64_t>(sizeof(T));
  std::mt19937_64 rng(19);
  const auto a = test::random_csr<T, I>(40, 30, 0.15, rng);
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (std::int64_t n : {kLine - 3, kLine, 2 * kLine + 5, 8 * kLine, 16 * kLine - 1}) {
      const std::int64_t ld = (n + kLine - 1) / kLine * kLine;
      for (std::int64_t off = 0; off < kLine; ++off) {
        for (double beta : {0.0, 1.0, -0.5}) {
          SCOPED_TRACE(std::string(cpu::to_string(isa)) + ", n " + std::to_string(n) + ", offset " +
                       std::to_string(off) + ", beta " + std::to_string(beta));
          // A spare row before each operand and a line after it; C's spare room holds a marker.
          std::vector<T> b((a.cols() + 2) * ld + kLine), c((a.rows() + 2) * ld + kLine);
          for (auto& x : b) x = test::random_value<T>(rng);
          const T fill = beta == 0.0 ? std::numeric_limits<T>::quiet_NaN() : T(0.25);
          std::fill(c.begin(), c.end(), static_cast<T>(kPadding));
          const DenseView<const T> bv(b.data() + ld + off, a.cols(), n, Layout::RowMajor, ld);
          const DenseView<T> cv(c.data() + ld + off, a.rows(), n, Layout::RowMajor, ld);
          for (std::int64_t i = 0; i < a.rows(); ++i) {
            for (std::int64_t j = 0; j < n; ++j) cv(i, j) = fill;
          }
          std::vector<T> want(static_cast<std::size_t>(a.rows() * n), fill);
          const DenseView<T> wv(want.data(), a.rows(), n);
          const auto al = T(1.5), be = static_cast<T>(beta);
          ref::csr_dense<T, I>(Op::N, Op::N, al, a.view(), bv, be, wv);
          cpu::csr_dense<T, I>(Op::N, Op::N, al, a.view(), bv, be, cv);
          EXPECT_TRUE(
              dense_near(DenseView<const T>(cv), DenseView<const T>(wv), tolerance<T>(a.cols())));
          std::int64_t outside_written = 0;
          for (std::size_t p = 0; p < c.size(); ++p) {
            const std::int64_t q = static_cast<std::int64_t>(p) - ld - off;
            const bool inside = q >= 0 && q / ld < a.rows() && q % ld < n;
            if (!inside && c[p] != static_cast<T>(kPadding)) ++outside_written;
          }
          EXPECT_EQ(outside_written, 0) << "wrote outside C";
        }
      }
    }
  }
}

TYPED_TEST(CpuSparseKernels, EmptyRowsAndDegenerateShapes) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(14);
  // Rows 0, 2 and the last are empty.
  const CsrMatrix<T, I> holes(5, 4, {0, 0, 2, 2, 3, 3}, {1, 3, 0}, {T(2), T(-1), T(0.5)});
  const CsrMatrix<T, I> no_nnz(6, 9);
  const CsrMatrix<T, I> no_cols(4, 0, {0, 0, 0, 0, 0}, {}, {});
  const CsrView<T, I> no_rows{0, 7, nullptr, nullptr, nullptr};
  const CooView<T, I> coo_empty{6, 5, 0, nullptr, nullptr, nullptr};
  const CooView<T, I> coo_no_rows{0, 5, 0, nullptr, nullptr, nullptr};
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (double beta : {0.0, 2.0}) {
      for (Op op_a : {Op::N, Op::T}) {
        for (std::int64_t n : {0, 1, 16, 40}) {
          SCOPED_TRACE(std::string(cpu::to_string(isa)) + ", n " + std::to_string(n));
          const Case cs{op_a, Op::N, Layout::RowMajor, Layout::RowMajor, 1, 1.0, beta};
          check_csr(cs, holes.view(), n, rng);
          check_csr(cs, no_nnz.view(), n, rng);
          check_csr(cs, no_cols.view(), n, rng);
          check_csr(cs, no_rows, n, rng);
          check_coo(cs, coo_empty, n, rng);
          check_coo(cs, coo_no_rows, n, rng);
        }
      }
    }
  }
}

TYPED_TEST(CpuSparseKernels, AlphaZeroReadsNeitherAnorB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const CsrMatrix<T, I> a(2, 2, {0, 1, 2}, {0, 1}, {nan, nan});
  const CooMatrix<T, I> coo(2, 2, {0, 1}, {1, 0}, {nan, nan});
  const std::vector<T> b = {nan, nan, nan, nan};
  const DenseView<const T> bv(b.data(), 2, 2);
  for (T beta : {T(0), T(3)}) {
    std::vector<T> c = {T(1), T(2), T(3), T(4)}, d = c;
    cpu::csr_dense<T, I>(Op::N, Op::N, T(0), a.view(), bv, beta, DenseView<T>(c.data(), 2, 2));
    cpu::coo_dense<T, I>(Op::T, Op::T, T(0), coo.view(), bv, beta, DenseView<T>(d.data(), 2, 2));
    for (std::size_t i = 0; i < c.size(); ++i) {
      EXPECT_EQ(c[i], beta * T(i + 1));
      EXPECT_EQ(d[i], beta * T(i + 1));
    }
  }
}

TYPED_TEST(CpuSparseKernels, PowerLawMatrixUsesThreadsAndSimd) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(15);
  const auto a = skewed_csr<T, I>(3000, 2500, 1500, rng);
  ASSERT_GT(2.0 * static_cast<double>(a.nnz()) * 64, 1e6);  // far above the parallel threshold
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (std::int64_t n : {64, 65}) {
      for (double beta : {0.0, -1.5}) {
        SCOPED_TRACE(std::string(cpu::to_string(isa)) + ", n " + std::to_string(n));
        check_csr(Case{Op::N, Op::N, Layout::RowMajor, Layout::RowMajor, 0, 1.0, beta}, a.view(), n,
                  rng);
      }
    }
    // The strided and scatter paths at a size that also splits them over threads.
    check_csr(Case{Op::N, Op::T, Layout::ColMajor, Layout::ColMajor, 2, 1.0, 0.5}, a.view(), 24,
              rng);
    check_csr(Case{Op::T, Op::N, Layout::RowMajor, Layout::RowMajor, 0, 1.0, 0.0}, a.view(), 48,
              rng);
  }
}

// Outputs large enough for non-temporal stores (beta == 0, line-aligned rows of C, the last
// vector of a row partial or not) and B both larger and smaller than the L2 share that turns the
// prefetching of B's rows on, every path, over threads.
TYPED_TEST(CpuSparseKernels, LargeAlignedOutputsAndLargeB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(31);
  for (const std::int64_t b_rows : {std::int64_t{300}, std::int64_t{9000}}) {
    const auto a = test::random_csr<T, I>(1200, b_rows, 4.0 / static_cast<double>(b_rows), rng);
    for (cpu::Isa isa : isas()) {
      const IsaScope scope(isa);
      for (const std::int64_t n : {std::int64_t{64}, std::int64_t{72}}) {
        const std::int64_t ld = (n + 15) / 16 * 16;
        AlignedVector<T> b(static_cast<std::size_t>(b_rows * ld));
        for (auto& x : b) x = test::random_value<T>(rng);
        for (const double beta : {0.0, 0.5}) {
          SCOPED_TRACE(std::string(cpu::to_string(isa)) + ", B rows " + std::to_string(b_rows) +
                       ", n " + std::to_string(n) + ", beta " + std::to_string(beta));
          const T fill = beta == 0.0 ? std::numeric_limits<T>::quiet_NaN() : T(0.25);
          AlignedVector<T> c(static_cast<std::size_t>(a.rows() * ld), static_cast<T>(kPadding));
          const DenseView<const T> bv(b.data(), b_rows, n, Layout::RowMajor, ld);
          const DenseView<T> cv(c.data(), a.rows(), n, Layout::RowMajor, ld);
          for (std::int64_t i = 0; i < a.rows(); ++i) {
            for (std::int64_t j = 0; j < n; ++j) cv(i, j) = fill;
          }
          std::vector<T> want(static_cast<std::size_t>(a.rows() * n), fill);
          const DenseView<T> wv(want.data(), a.rows(), n);
          const auto al = T(-1.25), be = static_cast<T>(beta);
          ref::csr_dense<T, I>(Op::N, Op::N, al, a.view(), bv, be, wv);
          cpu::csr_dense<T, I>(Op::N, Op::N, al, a.view(), bv, be, cv);
          EXPECT_TRUE(
              dense_near(DenseView<const T>(cv), DenseView<const T>(wv), tolerance<T>(b_rows)));
          std::int64_t outside_written = 0;
          for (std::int64_t i = 0; i < a.rows(); ++i) {
            for (std::int64_t j = n; j < ld; ++j) {
              if (c[static_cast<std::size_t>(i * ld + j)] != static_cast<T>(kPadding)) {
                ++outside_written;
              }
            }
          }
          EXPECT_EQ(outside_written, 0) << "wrote outside C";
        }
      }
    }
  }
}

TYPED_TEST(CpuSparseKernels, LargeCooScatterSplitsColumnsOverThreads) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(16);
  const auto a = test::random_coo<T, I>(400, 300, 6000, 500, rng);
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (Op op_a : {Op::N, Op::T}) {
      SCOPED_TRACE(cpu::to_string(isa));
      check_coo(Case{op_a, Op::N, Layout::RowMajor, Layout::RowMajor, 1, 1.0, 0.0}, a.view(), 130,
                rng);
      check_coo(Case{op_a, Op::T, Layout::RowMajor, Layout::ColMajor, 0, 2.0, 1.0}, a.view(), 37,
                rng);
    }
  }
}

// The dispatcher runs many small entries in one parallel loop; the kernel must then run on the
// calling thread and touch only its own output.
TYPED_TEST(CpuSparseKernels, CallsFromInsideAParallelRegion) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(17);
  constexpr int kEntries = 12;
  constexpr std::int64_t kN = 40;
  std::vector<CsrMatrix<T, I>> a;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<std::vector<T>> b, c, d, want_c, want_d;
  for (int e = 0; e < kEntries; ++e) {
    // Sizes above the parallel threshold, so only the enclosing region keeps them serial.
    a.push_back(skewed_csr<T, I>(200 + 10 * e, 150, 100, rng));
    coo.push_back(test::random_coo<T, I>(200 + 10 * e, 150, 2000, 100, rng));
    b.emplace_back(150 * kN);
    for (auto& x : b.back()) x = test::random_value<T>(rng);
    c.emplace_back(static_cast<std::size_t>((200 + 10 * e) * kN), T(0));
    d.push_back(c.back());
    want_c.push_back(c.back());
    want_d.push_back(c.back());
  }
  auto bview = [&](int e) { return DenseView<const T>(b[e].data(), 150, kN); };
  auto view = [&](std::vector<T>& x, int e) { return DenseView<T>(x.data(), 200 + 10 * e, kN); };
  for (int e = 0; e < kEntries; ++e) {
    ref::csr_dense<T, I>(Op::N, Op::N, T(1), a[e].view(), bview(e), T(0), view(want_c[e], e));
    ref::coo_dense<T, I>(Op::N, Op::N, T(1), coo[e].view(), bview(e), T(0), view(want_d[e], e));
  }
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic) num_threads(2)
#endif
    for (int e = 0; e < kEntries; ++e) {
      cpu::csr_dense<T, I>(Op::N, Op::N, T(1), a[e].view(), bview(e), T(0), view(c[e], e));
      cpu::coo_dense<T, I>(Op::N, Op::N, T(1), coo[e].view(), bview(e), T(0), view(d[e], e));
    }
    for (int e = 0; e < kEntries; ++e) {
      EXPECT_TRUE(dense_near(view(c[e], e), view(want_c[e], e), tolerance<T>(150))) << e;
      EXPECT_TRUE(dense_near(view(d[e], e), view(want_d[e], e), tolerance<T>(150))) << e;
    }
  }
}

// Every real matrix of the data set (complex ones excepted) through the fast path.
TYPED_TEST(CpuSparseKernels, RealMatricesMatchReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Two of the four type pairs keep the file's run time short; they cover both value and both
  // index types.
  if constexpr (sizeof(T) != sizeof(I)) GTEST_SKIP() << "covered by the other type pairs";
  const std::string dir = test::data_dir();
  if (dir.empty()) GTEST_SKIP() << "SPBMM_DATA_DIR is not set (meson setup -Ddata_dir=...)";
  std::mt19937_64 rng(18);
  const int checked = test::for_each_real_matrix<T, I>(
      [&](const std::string&, const CsrMatrix<T, I>& a) { check_csr(Case{}, a.view(), 17, rng); });
  EXPECT_GT(checked, 0);
}

}  // namespace
}  // namespace spbmm
