// Tests of the dense kernels (cpu::dense_dense, cpu::dense_batch, eigen::*) against the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "kernels/cpu/dense_dense.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/config.hpp"
#include "test_util.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace spbmm {
namespace {

using test::dense_near;
using test::tolerance;
namespace ref = kernels::reference;

constexpr double kPadSentinel = -555.0;

// A random matrix in a buffer whose leading dimension is the tight one plus `pad`; the padding
// holds NaN in inputs (a kernel reading it poisons its result) and a sentinel in outputs (a kernel
// writing it is caught).
template <class T>
struct Buffer {
  std::vector<T> storage;
  DenseView<T> view;

  Buffer(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad, T pad_value) {
    const std::int64_t ld = DenseView<T>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)), pad_value);
    view = DenseView<T>(storage.data(), rows, cols, layout, ld);
  }
  void fill(std::mt19937_64& rng) {
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) view(i, j) = test::random_value<T>(rng);
    }
  }
  void fill(T value) {
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) view(i, j) = value;
    }
  }
  bool padding_is(T value) const {
    std::vector<bool> inside(storage.size(), false);
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) {
        inside[static_cast<std::size_t>(&view(i, j) - storage.data())] = true;
      }
    }
    for (std::size_t k = 0; k < storage.size(); ++k) {
      if (!inside[k] && storage[k] != value) return false;
    }
    return true;
  }
  DenseView<const T> cview() const { return view; }

  // Copies point their view at their own storage.
  Buffer(const Buffer& o) : storage(o.storage), view(o.view) { view.data = storage.data(); }
  Buffer& operator=(const Buffer& o) {
    storage = o.storage;
    view = o.view;
    view.data = storage.data();
    return *this;
  }
  Buffer(Buffer&&) noexcept = default;
  Buffer& operator=(Buffer&&) noexcept = default;
  ~Buffer() = default;
};

template <class T>
Buffer<T> input(std::int64_t rows, std::int64_t cols, Layout layout, std::mt19937_64& rng) {
  Buffer<T> b(rows, cols, layout, 3, std::numeric_limits<T>::quiet_NaN());
  b.fill(rng);
  return b;
}

struct Case {
  Op op_a, op_b;
  Layout la, lb, lc;
  double alpha, beta;
};

// All 32 op/layout combinations, with alpha/beta cycling through the interesting cases
// (beta == 0 runs with NaN in C, which must not leak).
std::vector<Case> all_cases() {
  const double ab[][2] = {{1.0, 0.0}, {-0.75, 0.5}, {2.0, 1.0}, {0.0, -1.5}, {1.25, 0.0}};
  std::vector<Case> cases;
  int n = 0;
  for (Op oa : {Op::N, Op::T}) {
    for (Op ob : {Op::N, Op::T}) {
      for (Layout la : {Layout::RowMajor, Layout::ColMajor}) {
        for (Layout lb : {Layout::RowMajor, Layout::ColMajor}) {
          for (Layout lc : {Layout::RowMajor, Layout::ColMajor}) {
            const auto& s = ab[n++ % 5];
            cases.push_back({oa, ob, la, lb, lc, s[0], s[1]});
          }
        }
      }
    }
  }
  return cases;
}

// Runs `kernel` and the reference on one case and compares (and checks C's padding).
template <class T, class Kernel>
void check_case(const Case& cs, std::int64_t m, std::int64_t n, std::int64_t k, Kernel kernel,
                std::mt19937_64& rng, const char* what) {
  SCOPED_TRACE(::testing::Message()
               << what << " m=" << m << " n=" << n << " k=" << k << " op_a=" << to_string(cs.op_a)
               << " op_b=" << to_string(cs.op_b) << " A " << to_string(cs.la) << " B "
               << to_string(cs.lb) << " C " << to_string(cs.lc) << " alpha=" << cs.alpha
               << " beta=" << cs.beta);
  const Buffer<T> a = cs.op_a == Op::N ? input<T>(m, k, cs.la, rng) : input<T>(k, m, cs.la, rng);
  const Buffer<T> b = cs.op_b == Op::N ? input<T>(k, n, cs.lb, rng) : input<T>(n, k, cs.lb, rng);
  const T pad = static_cast<T>(kPadSentinel);
  Buffer<T> want(m, n, cs.lc, 2, pad);
  Buffer<T> got(m, n, cs.lc, 2, pad);
  if (cs.beta == 0.0) {
    want.fill(std::numeric_limits<T>::quiet_NaN());
  } else {
    want.fill(rng);
  }
  got.storage = want.storage;
  const auto alpha = static_cast<T>(cs.alpha);
  const auto beta = static_cast<T>(cs.beta);
  ref::dense_dense<T>(cs.op_a, cs.op_b, alpha, a.cview(), b.cview(), beta, want.view);
  kernel(cs.op_a, cs.op_b, alpha, a.cview(), b.cview(), beta, got.view);
  EXPECT_TRUE(dense_near(got.view, want.view, tolerance<T>(k)));
  EXPECT_TRUE(got.padding_is(pad));
}

// Shapes (m, n, k) covering 0, 1, 3, 16, 17, 33, 65 and 130 in every position, and a few more.
std::vector<std::array<std::int64_t, 3>> shapes() {
  const std::int64_t s[] = {0, 1, 3, 16, 17, 33, 65, 130};
  std::vector<std::array<std::int64_t, 3>> out;
  for (int i = 0; i < 8; ++i) {
    out.push_back({s[i], s[i], s[i]});
    out.push_back({s[i], s[(i + 3) % 8], s[(i + 5) % 8]});
  }
  // Column counts that end on a whole vector after a full panel (8, 24, 48 for the wider paths).
  out.push_back({13, 8, 5});
  out.push_back({9, 24, 48});
  out.push_back({20, 48, 9});
  return out;
}

// Every case for small shapes; for the large ones a rotating quarter of the cases, so that
// the whole set is still covered across shapes while the oracle's time stays bounded.
template <class T, class Kernel>
void check_all(Kernel kernel, const char* what) {
  std::mt19937_64 rng(42);
  const std::vector<Case> cases = all_cases();
  int shape_index = 0;
  for (const auto& sh : shapes()) {
    const bool big = sh[0] * sh[1] * sh[2] > 40000;
    for (std::size_t c = 0; c < cases.size(); ++c) {
      if (big && (c + static_cast<std::size_t>(shape_index)) % 4 != 0) continue;
      check_case<T>(cases[c], sh[0], sh[1], sh[2], kernel, rng, what);
    }
    ++shape_index;
  }
}

template <class T>
class DenseKernelTest : public ::testing::Test {};
using Values = ::testing::Types<float, double>;
TYPED_TEST_SUITE(DenseKernelTest, Values);

TYPED_TEST(DenseKernelTest, CpuMatchesReferenceOnAllCombinations) {
  using T = TypeParam;
  check_all<T>(&kernels::cpu::dense_dense<T>, "cpu");
}

using kernels::cpu::Isa;

// The kernel paths this CPU can run, best first.
std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Avx512, Isa::Avx2Fma, Isa::Generic}) {
    if (static_cast<int>(isa) <= static_cast<int>(kernels::cpu::best_isa())) {
      out.push_back(isa);
    }
  }
  return out;
}

// Forces one kernel path for the lifetime of the object.
class ForcedIsa {
 public:
  explicit ForcedIsa(Isa isa) { EXPECT_EQ(kernels::cpu::force_isa(isa), isa); }
  ~ForcedIsa() { kernels::cpu::reset_isa(); }
  ForcedIsa(const ForcedIsa&) = delete;
  ForcedIsa& operator=(const ForcedIsa&) = delete;
};

// Views that are the row blocks of one matrix stack into one view; anything else does not.
TEST(DenseBatchTest, StackedRowsOnlyForRowBlocksOfOneMatrix) {
  using kernels::cpu::stacked_rows;
  std::vector<float> buf(100 * 8);
  float* p = buf.data();
  using V = DenseView<float>;
  // Rows 0-2, an empty block anywhere, rows 3-9, with a row stride of 8 and width 5.
  const std::vector<V> blocks = {V(p, 3, 5, Layout::RowMajor, 8), V(nullptr, 0, 5),
                                 V(p + 24, 7, 5, Layout::RowMajor, 8)};
  const std::optional<V> s = stacked_rows(blocks);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->data, p);
  EXPECT_EQ(s->rows, 10);
  EXPECT_EQ(s->cols, 5);
  EXPECT_EQ(s->ld, 8);
  // A gap, a block out of order, another width or stride, column-major: none.
  EXPECT_FALSE(stacked_rows(
      std::vector<V>{V(p, 3, 5, Layout::RowMajor, 8), V(p + 32, 2, 5, Layout::RowMajor, 8)}));
  EXPECT_FALSE(stacked_rows(
      std::vector<V>{V(p + 24, 2, 5, Layout::RowMajor, 8), V(p, 3, 5, Layout::RowMajor, 8)}));
  EXPECT_FALSE(stacked_rows(
      std::vector<V>{V(p, 3, 5, Layout::RowMajor, 8), V(p + 24, 2, 4, Layout::RowMajor, 8)}));
  EXPECT_FALSE(stacked_rows(
      std::vector<V>{V(p, 3, 5, Layout::RowMajor, 8), V(p + 24, 2, 5, Layout::RowMajor, 9)}));
  EXPECT_FALSE(stacked_rows(
      std::vector<V>{V(p, 5, 3, Layout::ColMajor, 5), V(p + 15, 5, 3, Layout::ColMajor, 5)}));
  EXPECT_FALSE(stacked_rows(std::vector<V>{V(nullptr, 0, 5)}));
}

TEST(DenseIsaTest, ForcingFallsBackToSupportedPaths) {
  namespace cpu = kernels::cpu;
  const Isa best = cpu::best_isa();
  EXPECT_EQ(cpu::force_isa(Isa::Generic), Isa::Generic);
  EXPECT_EQ(cpu::active_isa(), Isa::Generic);
  EXPECT_EQ(cpu::force_isa(Isa::Avx512), best);
  cpu::reset_isa();
  EXPECT_EQ(cpu::active_isa(), best);
  EXPECT_STRNE(cpu::to_string(best), "unknown");
}

TYPED_TEST(DenseKernelTest, CpuEveryIsaPathMatchesReference) {
  using T = TypeParam;
  for (Isa isa : supported_isas()) {
    const ForcedIsa forced(isa);
    check_all<T>(&kernels::cpu::dense_dense<T>, kernels::cpu::to_string(isa));
  }
}

// Products above the BLAS cut-off kept on the register-blocked kernel (K past one chunk, edge
// tiles in both directions), on every path.
TYPED_TEST(DenseKernelTest, CpuEveryIsaPathWithoutBlasRouting) {
  using T = TypeParam;
  std::mt19937_64 rng(17);
  const std::vector<Case> cases = all_cases();
  kernels::cpu::detail::set_dense_blas_enabled(false);
  EXPECT_FALSE(kernels::cpu::dense_uses_blas(256, 256, 256));
  for (Isa isa : supported_isas()) {
    const ForcedIsa forced(isa);
    for (std::size_t c = 0; c < cases.size(); c += 7) {
      check_case<T>(cases[c], 261, 197, 270, &kernels::cpu::dense_dense<T>, rng,
                    kernels::cpu::to_string(isa));
    }
  }
  kernels::cpu::detail::set_dense_blas_enabled(true);
}

TYPED_TEST(DenseKernelTest, EigenMatchesReferenceOnAllCombinations) {
  using T = TypeParam;
  check_all<T>(&kernels::eigen::dense_dense<T>, "eigen");
}

// Products big enough for BLAS (when built with it; the cut-off depends on the path), and the
// split-over-threads path, on every kernel path.
TYPED_TEST(DenseKernelTest, LargeProductsMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(7);
  const std::vector<Case> cases = all_cases();
  {
    const ForcedIsa generic(Isa::Generic);
    EXPECT_EQ(kernels::cpu::dense_uses_blas(256, 256, 256), SPBMM_HAVE_BLAS != 0);
  }
  if (kernels::cpu::best_isa() == Isa::Avx512) {
    EXPECT_FALSE(kernels::cpu::dense_uses_blas(256, 256, 256));
    EXPECT_EQ(kernels::cpu::dense_uses_blas(2048, 2048, 2048), SPBMM_HAVE_BLAS != 0);
  }
  const auto one_thread = [](Op oa, Op ob, T alpha, const DenseView<const T>& a,
                             const DenseView<const T>& b, T beta, const DenseView<T>& c) {
    kernels::cpu::dense_dense_threads<T>(oa, ob, alpha, a, b, beta, c, 1);
  };
  for (Isa isa : supported_isas()) {
    const ForcedIsa forced(isa);
    SCOPED_TRACE(kernels::cpu::to_string(isa));
    // Every fifth case: both ops, all layouts and beta == 0 with NaN in C are among them.
    for (std::size_t c = 0; c < cases.size(); c += 5) {
      check_case<T>(cases[c], 256, 256, 256, &kernels::cpu::dense_dense<T>, rng, "cpu 256");
    }
    check_case<T>(cases[3], 300, 200, 260, &kernels::cpu::dense_dense<T>, rng, "cpu 300x200x260");
    check_case<T>(cases[6], 256, 256, 256, one_thread, rng, "cpu 256, 1 thread");
    check_case<T>(cases[0], 7, 5, 300, &kernels::cpu::dense_dense<T>, rng, "cpu long k");
  }
  check_case<T>(cases[9], 256, 256, 256, &kernels::eigen::dense_dense<T>, rng, "eigen 256");
}

TYPED_TEST(DenseKernelTest, AlphaZeroDoesNotReadAOrB) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> a(12, nan), b(20, nan), c(15, T(2));
  const DenseView<const T> va(a.data(), 3, 4), vb(b.data(), 4, 5);
  kernels::cpu::dense_dense<T>(Op::N, Op::N, T(0), va, vb, T(0.5), DenseView<T>(c.data(), 3, 5));
  for (T x : c) EXPECT_EQ(x, T(1));
  kernels::eigen::dense_dense<T>(Op::N, Op::N, T(0), va, vb, T(0), DenseView<T>(c.data(), 3, 5));
  for (T x : c) EXPECT_EQ(x, T(0));
}

// A ragged batch against a loop of reference products: shapes from empty to BLAS-sized, mixed
// layouts per entry, with 1, 2 and the default number of threads, and both broadcast modes.
template <class T>
struct RaggedBatch {
  std::vector<Buffer<T>> a, b, c, want;
  std::vector<DenseView<const T>> va, vb;
  std::vector<DenseView<T>> vc;

  RaggedBatch(const std::vector<std::array<std::int64_t, 3>>& mnk, Op op_a, Op op_b, bool one_a,
              bool one_b, T alpha, T beta, std::mt19937_64& rng) {
    std::uniform_int_distribution<int> coin(0, 1);
    const auto layout = [&] { return coin(rng) ? Layout::RowMajor : Layout::ColMajor; };
    for (std::size_t i = 0; i < mnk.size(); ++i) {
      const auto [m, n, k] = mnk[i];
      if (!one_a || i == 0) {
        a.push_back(op_a == Op::N ? input<T>(m, k, layout(), rng) : input<T>(k, m, layout(), rng));
      }
      if (!one_b || i == 0) {
        b.push_back(op_b == Op::N ? input<T>(k, n, layout(), rng) : input<T>(n, k, layout(), rng));
      }
      c.emplace_back(m, n, layout(), 1, static_cast<T>(kPadSentinel));
      if (beta == T(0)) {
        c.back().fill(std::numeric_limits<T>::quiet_NaN());
      } else {
        c.back().fill(rng);
      }
      want.push_back(c.back());
      const DenseView<const T>& ai = a[one_a ? 0 : i].view;
      const DenseView<const T>& bi = b[one_b ? 0 : i].view;
      ref::dense_dense<T>(op_a, op_b, alpha, ai, bi, beta, want.back().view);
    }
    for (auto& x : a) va.push_back(x.view);
    for (auto& x : b) vb.push_back(x.view);
    for (auto& x : c) vc.push_back(x.view);
  }

  void expect_matches(std::int64_t max_k) const {
    for (std::size_t i = 0; i < c.size(); ++i) {
      EXPECT_TRUE(dense_near(c[i].view, want[i].view, tolerance<T>(max_k))) << "entry " << i;
      EXPECT_TRUE(c[i].padding_is(static_cast<T>(kPadSentinel))) << "entry " << i;
    }
  }
};

std::vector<std::array<std::int64_t, 3>> ragged_shapes(std::mt19937_64& rng, std::size_t count,
                                                       std::int64_t max_dim) {
  std::uniform_int_distribution<std::int64_t> d(0, max_dim);
  std::vector<std::array<std::int64_t, 3>> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back({d(rng), d(rng), d(rng)});
  return out;
}

TYPED_TEST(DenseKernelTest, RaggedBatchMatchesLoopOfReferenceProducts) {
  using T = TypeParam;
  std::mt19937_64 rng(99);
  auto mnk = ragged_shapes(rng, 60, 70);
  mnk.push_back({0, 5, 5});
  mnk.push_back({5, 0, 5});
  mnk.push_back({5, 5, 0});
  mnk.push_back({260, 250, 256});  // BLAS-sized, one entry among many small ones
  for (Isa isa : supported_isas()) {
    const ForcedIsa forced(isa);
    for (int threads : {1, 2, 0}) {
      for (Op op_a : {Op::N, Op::T}) {
        const Op op_b = threads == 2 ? Op::T : Op::N;
        const T beta = op_a == Op::N ? T(0) : T(0.5);
        RaggedBatch<T> batch(mnk, op_a, op_b, false, false, T(1.5), beta, rng);
        kernels::cpu::dense_batch<T>(op_a, op_b, T(1.5), batch.va, batch.vb, beta, batch.vc,
                                     threads);
        SCOPED_TRACE(::testing::Message() << kernels::cpu::to_string(isa) << " threads " << threads
                                          << " op_a " << to_string(op_a));
        batch.expect_matches(256);
      }
    }
  }
}

TYPED_TEST(DenseKernelTest, BatchBroadcastsOneAOrOneB) {
  using T = TypeParam;
  std::mt19937_64 rng(5);
  // One A (m x k) with many B (k x n_i), and many A (m_i x k) with one B.
  std::vector<std::array<std::int64_t, 3>> one_a, one_b;
  for (std::int64_t i = 0; i < 12; ++i) {
    one_a.push_back({19, 3 + 5 * i, 23});
    one_b.push_back({3 + 5 * i, 17, 29});
  }
  RaggedBatch<T> x(one_a, Op::N, Op::T, true, false, T(1), T(0), rng);
  kernels::cpu::dense_batch<T>(Op::N, Op::T, T(1), x.va, x.vb, T(0), x.vc, 2);
  x.expect_matches(23);
  RaggedBatch<T> y(one_b, Op::T, Op::N, false, true, T(-1), T(2), rng);
  kernels::cpu::dense_batch<T>(Op::T, Op::N, T(-1), y.va, y.vb, T(2), y.vc, 2);
  y.expect_matches(29);
}

// A batch dominated by one big entry splits that entry over the threads: a BLAS-sized one and one
// that the register-blocked kernel splits by column panels (every ISA path).
TYPED_TEST(DenseKernelTest, BatchWithOneDominantEntry) {
  using T = TypeParam;
  std::mt19937_64 rng(11);
  for (std::int64_t big : {300, 150}) {
    SCOPED_TRACE(::testing::Message() << "big entry " << big);
    const std::vector<std::array<std::int64_t, 3>> mnk = {
        {5, 6, 7}, {big, big - 10, big - 20}, {33, 17, 65}, {1, 1, 1}};
    RaggedBatch<T> batch(mnk, Op::N, Op::N, false, false, T(1), T(0.25), rng);
    kernels::cpu::dense_batch<T>(Op::N, Op::N, T(1), batch.va, batch.vb, T(0.25), batch.vc, 2);
    batch.expect_matches(big);
    for (Isa isa : supported_isas()) {
      SCOPED_TRACE(kernels::cpu::to_string(isa));
      RaggedBatch<T> forced_batch(mnk, Op::T, Op::T, false, false, T(1), T(0), rng);
      const ForcedIsa forced(isa);
      kernels::cpu::dense_batch<T>(Op::T, Op::T, T(1), forced_batch.va, forced_batch.vb, T(0),
                                   forced_batch.vc, 2);
      forced_batch.expect_matches(big);
    }
  }
}

// The small-product path (op(B) at most one vector wide and at most 16 rows, B in registers) and
// the dot-product path for op(B) = T with few rows of A, on every shape around their edges: rows
// in groups of 8 and 4 and the rest, k and n from 1 to one vector and past it, partial tails of k.
TYPED_TEST(DenseKernelTest, SmallAndTransposedPathsMatchReference) {
  using T = TypeParam;
  std::mt19937_64 rng(23);
  const std::vector<Case> cases = all_cases();
  std::size_t c = 0;
  for (Isa isa : supported_isas()) {
    const ForcedIsa forced(isa);
    for (std::int64_t m : {1, 4, 7, 8, 9, 17, 64, 65}) {
      for (std::int64_t n : {1, 5, 8, 15, 16, 17}) {
        for (std::int64_t k : {1, 2, 9, 16, 17}) {
          // Row-major A and B with op N (the small path) or B^T stored row-major (the dot path).
          for (Op ob : {Op::N, Op::T}) {
            Case cs = cases[c++ % cases.size()];
            cs.op_a = Op::N;
            cs.op_b = ob;
            cs.la = Layout::RowMajor;
            cs.lb = Layout::RowMajor;
            check_case<T>(cs, m, n, k, &kernels::cpu::dense_dense<T>, rng,
                          kernels::cpu::to_string(isa));
          }
        }
      }
    }
    // Dot products longer than a vector with a partial last vector, and more than 4 columns.
    for (std::int64_t k : {31, 64, 100}) {
      Case cs = cases[c++ % cases.size()];
      cs.op_a = Op::N;
      cs.op_b = Op::T;
      cs.la = Layout::RowMajor;
      cs.lb = Layout::RowMajor;
      check_case<T>(cs, 13, 37, k, &kernels::cpu::dense_dense<T>, rng, "dot");
    }
  }
}

// A contiguous batch of small products whose outputs exceed the non-temporal store threshold
// (16 MiB): one vector of columns (16 fp32, 8 fp64) and 16 rows of B, beta == 0 with NaN in C,
// against a loop of reference products. (beta != 0, which never streams, is covered above.)
TYPED_TEST(DenseKernelTest, LargeBatchOfSmallProducts) {
  using T = TypeParam;
  constexpr std::int64_t kN = 64 / static_cast<std::int64_t>(sizeof(T));
  constexpr std::size_t kCount = 16500;
  std::mt19937_64 rng(29);
  const std::vector<std::int64_t> rows(kCount, 16), inner(kCount, 16), cols(kCount, kN);
  DenseBatch<T> a(rows, inner), b(inner, cols), c(rows, cols), want(rows, cols);
  for (auto& x : a.values()) x = test::random_value<T>(rng);
  for (auto& x : b.values()) x = test::random_value<T>(rng);
  const auto va = std::as_const(a).view().entries();
  const auto vb = std::as_const(b).view().entries();
  const auto vc = c.view().entries();
  const auto vw = want.view().entries();
  // fp32 also with op(B) = T: each B entry is square (16 x 16), so it serves as B^T as it is.
  for (const Op op_b : {Op::N, Op::T}) {
    if (op_b == Op::T && kN != 16) continue;
    SCOPED_TRACE(::testing::Message() << "op_b " << to_string(op_b));
    std::fill(c.values().begin(), c.values().end(), std::numeric_limits<T>::quiet_NaN());
    want.values() = c.values();
    for (std::size_t i = 0; i < kCount; ++i) {
      ref::dense_dense<T>(Op::N, op_b, T(1.5), va[i], vb[i], T(0), vw[i]);
    }
    kernels::cpu::dense_batch<T>(Op::N, op_b, T(1.5), va, vb, T(0), vc, 2);
    std::size_t off = 0;
    for (std::size_t i = 0; i < kCount; ++i) {
      if (!dense_near(DenseView<const T>(vc[i]), DenseView<const T>(vw[i]), tolerance<T>(16))) {
        ++off;
      }
    }
    EXPECT_EQ(off, 0U) << "entries off";
  }
}

TYPED_TEST(DenseKernelTest, EmptyBatchDoesNothing) {
  using T = TypeParam;
  kernels::cpu::dense_batch<T>(Op::N, Op::N, T(1), {}, {}, T(0), {}, 2);
}

// The dispatcher's one-entry-per-thread mode: the kernel called from inside a parallel region,
// each thread writing its own outputs; BLAS-sized entries included.
TYPED_TEST(DenseKernelTest, CalledFromInsideParallelRegion) {
  using T = TypeParam;
  std::mt19937_64 rng(3);
  std::vector<std::array<std::int64_t, 3>> mnk = ragged_shapes(rng, 16, 90);
  mnk.push_back({256, 256, 256});
  mnk.push_back({256, 200, 256});
  RaggedBatch<T> per_entry(mnk, Op::N, Op::T, false, false, T(1), T(0), rng);
  RaggedBatch<T> per_batch(mnk, Op::T, Op::N, false, false, T(2), T(1), rng);
  const auto count = static_cast<std::int64_t>(mnk.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(2) schedule(dynamic)
#endif
  for (std::int64_t i = 0; i < count; ++i) {
    const auto u = static_cast<std::size_t>(i);
    kernels::cpu::dense_dense<T>(Op::N, Op::T, T(1), per_entry.va[u], per_entry.vb[u], T(0),
                                 per_entry.vc[u]);
  }
  per_entry.expect_matches(256);
  // Each thread runs half the batch through dense_batch, which must stay on its thread.
#ifdef _OPENMP
#pragma omp parallel num_threads(2)
#endif
  {
#ifdef _OPENMP
    const auto id = static_cast<std::size_t>(omp_get_thread_num());
    const auto nt = static_cast<std::size_t>(omp_get_num_threads());
#else
    const std::size_t id = 0, nt = 1;
#endif
    std::vector<DenseView<const T>> a, b;
    std::vector<DenseView<T>> c;
    for (std::size_t i = id; i < mnk.size(); i += nt) {
      a.push_back(per_batch.va[i]);
      b.push_back(per_batch.vb[i]);
      c.push_back(per_batch.vc[i]);
    }
    kernels::cpu::dense_batch<T>(Op::T, Op::N, T(2), a, b, T(1), c, 2);
  }
  per_batch.expect_matches(256);
}

// eigen::csr_dense and eigen::coo_dense against the reference, over value and index types.
template <class P>
class EigenSparseTest : public ::testing::Test {};
TYPED_TEST_SUITE(EigenSparseTest, test::AllPairs);

TYPED_TEST(EigenSparseTest, MatchesReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(21);
  const std::vector<Case> cases = all_cases();
  const std::int64_t dims[][3] = {{0, 4, 5},   {4, 0, 5},    {4, 5, 0},   {1, 1, 1},
                                  {17, 9, 33}, {40, 33, 16}, {65, 17, 70}};
  for (const auto& d : dims) {
    const std::int64_t m = d[0], n = d[1], k = d[2];
    for (std::size_t ci = 0; ci < cases.size(); ci += 3) {
      const Case& cs = cases[ci];
      SCOPED_TRACE(::testing::Message() << "m=" << m << " n=" << n << " k=" << k << " op_a="
                                        << to_string(cs.op_a) << " op_b=" << to_string(cs.op_b)
                                        << " C " << to_string(cs.lc) << " beta=" << cs.beta);
      const std::int64_t ar = cs.op_a == Op::N ? m : k;
      const std::int64_t ac = cs.op_a == Op::N ? k : m;
      const double density = ci % 2 == 0 ? 0.2 : 0.0;  // zero nnz too
      const CsrMatrix<T, I> csr = test::random_csr<T, I>(ar, ac, density, rng);
      const CooMatrix<T, I> coo = test::random_coo<T, I>(ar, ac, (ar * ac) / 5, 6, rng);
      const Buffer<T> b =
          cs.op_b == Op::N ? input<T>(k, n, cs.lb, rng) : input<T>(n, k, cs.lb, rng);
      const auto alpha = static_cast<T>(cs.alpha);
      const auto beta = static_cast<T>(cs.beta);
      const T pad = static_cast<T>(kPadSentinel);
      Buffer<T> init(m, n, cs.lc, 2, pad);
      if (cs.beta == 0.0) {
        init.fill(std::numeric_limits<T>::quiet_NaN());
      } else {
        init.fill(rng);
      }
      Buffer<T> want = init, got = init;
      ref::csr_dense<T, I>(cs.op_a, cs.op_b, alpha, csr.view(), b.cview(), beta, want.view);
      kernels::eigen::csr_dense<T, I>(cs.op_a, cs.op_b, alpha, csr.view(), b.cview(), beta,
                                      got.view);
      EXPECT_TRUE(dense_near(got.view, want.view, tolerance<T>(k))) << "csr";
      EXPECT_TRUE(got.padding_is(pad)) << "csr";

      want = init;
      got = init;
      ref::coo_dense<T, I>(cs.op_a, cs.op_b, alpha, coo.view(), b.cview(), beta, want.view);
      kernels::eigen::coo_dense<T, I>(cs.op_a, cs.op_b, alpha, coo.view(), b.cview(), beta,
                                      got.view);
      EXPECT_TRUE(dense_near(got.view, want.view, tolerance<T>(k))) << "coo";
      EXPECT_TRUE(got.padding_is(pad)) << "coo";
    }
  }
}

}  // namespace
}  // namespace spbmm

namespace spbmm {
namespace {

// C += alpha A^T B over stacked rows (a weight gradient): against the reference on random inputs,
// with K within one chunk, on a chunk's edge, past it with a tail, and over several pieces; padded
// row strides; widths the generated kernels take and one they do not (the blocked kernel). Every
// bit the same at 1, 2 and 3 threads.
TYPED_TEST(DenseKernelTest, StackedAtBMatchesReferenceAtAnyThreadCount) {
  using T = TypeParam;
  std::mt19937_64 rng(29);
  const std::vector<std::array<std::int64_t, 3>> shapes = {
      {1, 1, 1},      {300, 40, 67},   {512, 128, 128}, {513, 128, 128},
      {8200, 33, 17}, {20000, 24, 16}, {700, 257, 9},
  };
  for (const auto& [k, m, n] : shapes) {
    SCOPED_TRACE(::testing::Message() << k << " x " << m << " by " << k << " x " << n);
    Buffer<T> a(k, m, Layout::RowMajor, k % 2 == 0 ? 3 : 0, T(kPadSentinel));
    Buffer<T> b(k, n, Layout::RowMajor, 0, T(kPadSentinel));
    a.fill(rng);
    b.fill(rng);
    Buffer<T> c0(m, n, Layout::RowMajor, 1, T(kPadSentinel));
    c0.fill(rng);
    Buffer<T> want = c0;
    want.view = DenseView<T>(want.storage.data(), m, n, Layout::RowMajor, c0.view.ld);
    const DenseView<const T> av = a.view;
    const DenseView<const T> bv = b.view;
    ref::dense_dense<T>(Op::T, Op::N, T(-0.5), av, bv, T(1), want.view);
    std::vector<std::vector<T>> results;
    for (int threads : {1, 2, 3}) {
      Buffer<T> c = c0;
      c.view = DenseView<T>(c.storage.data(), m, n, Layout::RowMajor, c0.view.ld);
      kernels::cpu::stacked_at_b<T>(T(-0.5), av, bv, c.view, threads);
      EXPECT_TRUE(dense_near(c.view, want.view, tolerance<T>(k)));
      EXPECT_TRUE(c.padding_is(T(kPadSentinel)));
      results.push_back(c.storage);
    }
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
  }
}

// A B^T shared by every product runs, transposed once, on the generated kernels made for op N;
// entries of other shapes and alpha != 1 take the other kernels. Against the reference.
TYPED_TEST(DenseKernelTest, SharedTransposedBOnGeneratedKernels) {
  using T = TypeParam;
  std::mt19937_64 rng(31);
  const std::int64_t k = 96, n = 128;
  const std::vector<std::int64_t> rows = {1, 17, 300, 1000, 64};
  std::vector<Buffer<T>> as, cs;
  for (const std::int64_t m : rows) {
    as.emplace_back(m, k, Layout::RowMajor, 0, T(kPadSentinel));
    as.back().fill(rng);
    cs.emplace_back(m, n, Layout::RowMajor, 0, T(kPadSentinel));
  }
  Buffer<T> w(n, k, Layout::RowMajor, 0, T(kPadSentinel));  // op(B) = W^T is k x n
  w.fill(rng);
  std::vector<DenseView<const T>> va;
  std::vector<DenseView<T>> vc;
  std::vector<kernels::cpu::SmallGemm> small;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    va.push_back(as[i].view);
    vc.push_back(cs[i].view);
    small.push_back(kernels::cpu::make_small_gemm<T>(rows[i], n, k, k, n, n));
  }
  const std::vector<DenseView<const T>> vb = {DenseView<const T>(w.view)};
  for (const T alpha : {T(1), T(2)}) {
    for (auto& c : cs) c.fill(T(7));
    kernels::cpu::dense_batch<T>(Op::N, Op::T, alpha, va, vb, T(0), vc, 2, &small);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      Buffer<T> want(rows[i], n, Layout::RowMajor, 0, T(0));
      ref::dense_dense<T>(Op::N, Op::T, alpha, va[i], vb[0], T(0), want.view);
      EXPECT_TRUE(dense_near(vc[i], want.view, tolerance<T>(k))) << "entry " << i;
    }
  }
}

// Outputs that together pass the streaming cut-off, each big enough for a generated kernel with
// non-temporal stores, in 64-byte aligned memory (so that kernel runs) and one entry off the
// alignment (the plain kernel): against the reference.
TYPED_TEST(DenseKernelTest, GeneratedKernelsWithStreamingStores) {
  using T = TypeParam;
  std::mt19937_64 rng(37);
  const std::int64_t m = 1024, k = 8, n = 256, count = 17;
  const std::int64_t area = m * n;
  std::vector<T> a_store(static_cast<std::size_t>(count * m * k));
  for (T& v : a_store) v = test::random_value<T>(rng);
  std::vector<T> b_store(static_cast<std::size_t>(k * n));
  for (T& v : b_store) v = test::random_value<T>(rng);
  std::vector<T> c_store(static_cast<std::size_t>(count * area + 64), T(-3));
  T* base = c_store.data();
  while (reinterpret_cast<std::uintptr_t>(base) % 64 != 0) ++base;
  std::vector<DenseView<const T>> va;
  std::vector<DenseView<T>> vc;
  std::vector<kernels::cpu::SmallGemm> small;
  for (std::int64_t i = 0; i < count; ++i) {
    // The last entry starts one element past a cache line; the one before it is a row shorter,
    // so they do not overlap.
    const std::int64_t rows = i == count - 2 ? m - 1 : m;
    va.push_back(DenseView<const T>(a_store.data() + i * m * k, rows, k));
    vc.push_back(DenseView<T>(base + i * area + (i == count - 1 ? 1 : 0), rows, n));
    small.push_back(kernels::cpu::make_small_gemm<T>(rows, n, k, k, n, n));
    if (kernels::cpu::small_gemm_built()) {
      EXPECT_NE(small.back().fn_stream, nullptr);
    }
  }
  const std::vector<DenseView<const T>> vb = {DenseView<const T>(b_store.data(), k, n)};
  kernels::cpu::dense_batch<T>(Op::N, Op::N, T(1), va, vb, T(0), vc, 2, &small);
  for (std::size_t i = 0; i < vc.size(); ++i) {
    Buffer<T> want(vc[i].rows, n, Layout::RowMajor, 0, T(0));
    ref::dense_dense<T>(Op::N, Op::N, T(1), va[i], vb[0], T(0), want.view);
    EXPECT_TRUE(dense_near(vc[i], want.view, tolerance<T>(k))) << "entry " << i;
  }
}

// One tall product worth splitting over threads: with a generated kernel (op_b N, and op_b T with
// B^T transposed once) it runs in chunks of rows with a tail; as A^T B (op_a T) in chunks of the
// inner dimension, with beta applied first. Against the reference, and the same bits at 2 and 3
// threads for A^T B.
TYPED_TEST(DenseKernelTest, TallProductsSplitOverGeneratedKernels) {
  using T = TypeParam;
  std::mt19937_64 rng(43);
  const std::int64_t m = 2600, k = 64, n = 128;  // 2600 = 5 chunks of 512 rows and 40
  Buffer<T> a(m, k, Layout::RowMajor, 0, T(kPadSentinel));
  a.fill(rng);
  const std::vector<DenseView<const T>> va = {DenseView<const T>(a.view)};
  for (const Op op_b : {Op::N, Op::T}) {
    SCOPED_TRACE(op_b == Op::N ? "op_b N" : "op_b T");
    Buffer<T> b(op_b == Op::N ? k : n, op_b == Op::N ? n : k, Layout::RowMajor, 0, T(kPadSentinel));
    b.fill(rng);
    Buffer<T> c(m, n, Layout::RowMajor, 0, T(kPadSentinel));
    c.fill(T(9));
    const std::vector<DenseView<const T>> vb = {DenseView<const T>(b.view)};
    const std::vector<DenseView<T>> vc = {c.view};
    const std::vector<kernels::cpu::SmallGemm> small = {
        kernels::cpu::make_small_gemm<T>(m, n, k, k, n, n)};
    kernels::cpu::dense_batch<T>(Op::N, op_b, T(1), va, vb, T(0), vc, 2, &small);
    Buffer<T> want(m, n, Layout::RowMajor, 0, T(0));
    ref::dense_dense<T>(Op::N, op_b, T(1), va[0], vb[0], T(0), want.view);
    EXPECT_TRUE(dense_near(c.view, want.view, tolerance<T>(k)));
  }
  // A^T B: A is m x k (op(A) k x m), B m x 40; C k x 40.
  Buffer<T> b(m, 40, Layout::RowMajor, 0, T(kPadSentinel));
  b.fill(rng);
  Buffer<T> c0(k, 40, Layout::RowMajor, 0, T(kPadSentinel));
  c0.fill(rng);
  Buffer<T> want = c0;
  want.view = DenseView<T>(want.storage.data(), k, 40);
  const std::vector<DenseView<const T>> vb = {DenseView<const T>(b.view)};
  ref::dense_dense<T>(Op::T, Op::N, T(-2), va[0], vb[0], T(0.5), want.view);
  std::vector<std::vector<T>> results;
  for (int threads : {2, 3}) {
    Buffer<T> c = c0;
    c.view = DenseView<T>(c.storage.data(), k, 40);
    kernels::cpu::dense_batch<T>(Op::T, Op::N, T(-2), va, vb, T(0.5), {c.view}, threads);
    EXPECT_TRUE(dense_near(c.view, want.view, tolerance<T>(m)));
    results.push_back(c.storage);
  }
  EXPECT_EQ(results[0], results[1]);
}

}  // namespace
}  // namespace spbmm
