// Tests of the batched SDDMM (sddmm_into, sddmm): the optimized kernel on every ISA path
// against the reference on random ragged batches and real matrices, in place, and every error.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/isa.hpp"
#include "ops/checks.hpp"
#include "spbmm/config.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/training.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
namespace cpu = kernels::cpu;

std::vector<cpu::Isa> isas() {
  std::vector<cpu::Isa> v = {cpu::Isa::Generic};
  if (cpu::cpu_has_avx2_fma()) v.push_back(cpu::Isa::Avx2Fma);
  if (cpu::cpu_has_avx512()) v.push_back(cpu::Isa::Avx512);
  return v;
}

struct IsaScope {
  explicit IsaScope(cpu::Isa isa) : previous(cpu::active_isa()) { cpu::force_isa(isa); }
  ~IsaScope() { cpu::force_isa(previous); }
  cpu::Isa previous;
};

// A dense matrix in a buffer with `pad` extra elements per leading dimension.
template <class T>
struct Padded {
  std::vector<T> storage;
  DenseView<T> view;
  Padded(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad,
         std::mt19937_64& rng) {
    const std::int64_t ld = DenseView<T>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)), T(0));
    for (T& v : storage) v = test::random_value<T>(rng);
    view = DenseView<T>(storage.data(), rows, cols, layout, ld);
  }
  Padded(const Padded&) = delete;
  Padded& operator=(const Padded&) = delete;
};

// A ragged batch of CSR and COO entries with X and Y of random layouts and k per entry.
template <class T, class I>
struct Problem {
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<std::unique_ptr<Padded<T>>> xs, ys;
  BatchView<T, I> a;
  std::vector<DenseView<const T>> xv, yv;

  // shapes[i] = {rows, cols, k}; odd entries are COO with duplicates, unsorted.
  Problem(const std::vector<std::array<std::int64_t, 3>>& shapes, double density,
          std::mt19937_64& rng) {
    csr.reserve(shapes.size());
    coo.reserve(shapes.size());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const auto [m, n, k] = shapes[i];
      if (i % 2 == 0) {
        csr.push_back(test::random_csr<T, I>(m, n, density, rng));
        a.push_back(csr.back().view());
      } else {
        const auto nnz = static_cast<std::int64_t>(density * static_cast<double>(m * n));
        coo.push_back(test::random_coo<T, I>(m, n, nnz, nnz / 4, rng));
        a.push_back(coo.back().view());
      }
      const Layout lx = (i / 2) % 2 == 0 ? Layout::RowMajor : Layout::ColMajor;
      const Layout ly = i % 3 == 0 ? Layout::RowMajor : Layout::ColMajor;
      xs.push_back(std::make_unique<Padded<T>>(m, k, lx, static_cast<std::int64_t>(i % 3), rng));
      ys.push_back(std::make_unique<Padded<T>>(n, k, ly, static_cast<std::int64_t>(i % 2), rng));
      xv.push_back(xs.back()->view);
      yv.push_back(ys.back()->view);
    }
  }
  DenseBatchView<const T> x() const { return DenseBatchView<const T>(xv); }
  DenseBatchView<const T> y() const { return DenseBatchView<const T>(yv); }
  std::vector<std::vector<T>> outputs(T fill) const {
    std::vector<std::vector<T>> o;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::int64_t nnz = std::visit(
          [](const auto& v) -> std::int64_t {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, CsrView<T, I>>) {
              return v.nnz();
            } else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, CooView<T, I>>) {
              return v.nnz;
            } else {
              return 0;
            }
          },
          a[i]);
      o.emplace_back(static_cast<std::size_t>(nnz), fill);
    }
    return o;
  }
};

template <class T>
std::vector<std::span<T>> spans(std::vector<std::vector<T>>& o) {
  std::vector<std::span<T>> s;
  for (auto& v : o) s.emplace_back(v);
  return s;
}

template <class T>
::testing::AssertionResult values_near(const std::vector<std::vector<T>>& got,
                                       const std::vector<std::vector<T>>& want, double tol) {
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (std::size_t p = 0; p < want[i].size(); ++p) {
      const double g = got[i][p], w = want[i][p];
      if (std::isnan(g) && std::isnan(w)) continue;
      if (!(std::fabs(g - w) <= tol * std::max({1.0, std::fabs(g), std::fabs(w)}))) {
        return ::testing::AssertionFailure()
               << "entry " << i << " position " << p << ": got " << g << ", want " << w;
      }
    }
  }
  return ::testing::AssertionSuccess();
}

template <class P>
class SddmmTest : public ::testing::Test {};
TYPED_TEST_SUITE(SddmmTest, AllPairs);

TYPED_TEST(SddmmTest, RaggedBatchMatchesReferenceOnEveryPath) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  // Empty entries, zero nnz, k = 0, k below, at and above the vector widths, a skewed entry.
  const Problem<T, I> pr({{7, 5, 3},
                          {9, 11, 16},
                          {0, 4, 8},
                          {6, 0, 8},
                          {40, 30, 33},
                          {13, 17, 0},
                          {1, 1, 1},
                          {200, 150, 64},
                          {25, 19, 128},
                          {31, 8, 7}},
                         0.15, rng);
  for (const auto& [alpha, beta] :
       {std::pair{1.0, 0.0}, std::pair{-1.5, 0.5}, std::pair{2.0, 1.0}}) {
    auto want = pr.outputs(T(0));
    // A's values as the starting output make beta visible in both.
    sddmm_into<T, I>(spans(want), pr.a, pr.x(), pr.y(), alpha, beta,
                     {.threads = 1, .kernel = Kernel::Reference});
    for (cpu::Isa isa : isas()) {
      const IsaScope scope(isa);
      for (int threads : {1, 2}) {
        auto got = pr.outputs(T(7));
        sddmm_into<T, I>(spans(got), pr.a, pr.x(), pr.y(), alpha, beta, {.threads = threads});
        EXPECT_TRUE(values_near(got, want, test::tolerance<T>(128)))
            << cpu::to_string(isa) << " threads " << threads << " alpha " << alpha << " beta "
            << beta;
      }
    }
  }
}

TYPED_TEST(SddmmTest, ThreadCountDoesNotChangeBits) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(12);
  std::vector<std::array<std::int64_t, 3>> shapes = {{300, 300, 40}};
  for (int i = 0; i < 30; ++i) shapes.push_back({5 + i, 7 + i, 40});
  const Problem<T, I> pr(shapes, 0.05, rng);
  auto one = pr.outputs(T(0)), two = pr.outputs(T(0));
  sddmm_into<T, I>(spans(one), pr.a, pr.x(), pr.y(), T(1), T(0), {.threads = 1});
  sddmm_into<T, I>(spans(two), pr.a, pr.x(), pr.y(), T(1), T(0), {.threads = 2});
  EXPECT_EQ(one, two);
}

TYPED_TEST(SddmmTest, InPlaceUpdateOfCsrAndCooBatches) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(13);
  std::vector<CsrMatrix<T, I>> list;
  std::vector<CooMatrix<T, I>> coo_list;
  for (std::int64_t m : {12, 40, 3}) {
    list.push_back(test::random_csr<T, I>(m, m + 5, 0.3, rng));
    coo_list.push_back(test::random_coo<T, I>(m, m + 2, 2 * m, m / 2, rng));
  }
  CsrBatch<T, I> a = CsrBatch<T, I>::from_list(list);
  CooBatch<T, I> c = CooBatch<T, I>::from_list(coo_list);
  DenseBatch<T> x({12, 40, 3}, {24, 24, 24}), y({17, 45, 8}, {24, 24, 24}),
      yc({14, 42, 5}, {24, 24, 24});
  for (auto* d : {&x, &y, &yc}) {
    for (T& v : d->values()) v = test::random_value<T>(rng);
  }
  for (Kernel kernel : {Kernel::Auto, Kernel::Reference}) {
    CsrBatch<T, I> in_place = a;
    // Out of place into a fresh array, then in place into A's own values.
    std::vector<T> want(a.values().size(), T(0));
    sddmm_into(std::span<T>(want), a, x.view(), y.view(), 0.5, -2.0, {.kernel = kernel});
    sddmm_into(in_place.values(), in_place, x.view(), y.view(), 0.5, -2.0, {.kernel = kernel});
    EXPECT_EQ(in_place.values(), want);
    // The same through sddmm(), which copies the pattern.
    const CsrBatch<T, I> fresh = sddmm(a, x.view(), y.view(), 0.5, -2.0, {.kernel = kernel});
    EXPECT_EQ(fresh.values(), want);
    EXPECT_EQ(fresh.col_idx(), a.col_idx());

    CooBatch<T, I> coo_in_place = c;
    std::vector<T> want_coo(c.values().size(), T(0));
    sddmm_into(std::span<T>(want_coo), c, x.view(), yc.view(), 1.0, 1.0, {.kernel = kernel});
    sddmm_into(coo_in_place.values(), coo_in_place, x.view(), yc.view(), 1.0, 1.0,
               {.kernel = kernel});
    EXPECT_EQ(coo_in_place.values(), want_coo);
    EXPECT_EQ(sddmm(c, x.view(), yc.view(), 1.0, 1.0, {.kernel = kernel}).values(), want_coo);
  }
}

TYPED_TEST(SddmmTest, SmallCaseByHandAndCooDuplicates) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // A 2x3 COO with a duplicate (1, 2) and an unsorted order; X rows [1,2], [3,4]; Y rows
  // [1,0], [0,1], [1,1]. Each triplet gets its own value.
  const CooBatch<T, I> a({2}, {3}, {0, 4}, {1, 0, 1, 1}, {2, 1, 2, 0}, {10, 20, 30, 40});
  const DenseBatch<T> x = DenseBatch<T>::from_list({DenseMatrix<T>(2, 2, {1, 2, 3, 4})});
  const DenseBatch<T> y = DenseBatch<T>::from_list({DenseMatrix<T>(3, 2, {1, 0, 0, 1, 1, 1})});
  for (Kernel kernel : {Kernel::Auto, Kernel::Reference}) {
    const CooBatch<T, I> out = sddmm(a, x.view(), y.view(), 2.0, 0.5, {.kernel = kernel});
    // (1,2): 2*7 + 5 = 19; (0,1): 2*2 + 10 = 14; (1,2): 2*7 + 15 = 29; (1,0): 2*3 + 20 = 26.
    EXPECT_EQ(out.values(), (std::vector<T>{19, 14, 29, 26}));
  }
}

TYPED_TEST(SddmmTest, AlphaZeroAndBetaZeroReadNothing) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const CsrBatch<T, I> a({2}, {2}, {0, 1, 2}, {1, 0}, {nan, nan});
  const DenseBatch<T> x = DenseBatch<T>::from_list({DenseMatrix<T>(2, 1, {1, 2})});
  const DenseBatch<T> xn = DenseBatch<T>::from_list({DenseMatrix<T>(2, 1, {nan, nan})});
  const CsrBatch<T, I> a_ok({2}, {2}, {0, 1, 2}, {1, 0}, {3, 4});
  for (Kernel kernel : {Kernel::Auto, Kernel::Reference}) {
    EXPECT_EQ(sddmm(a, x.view(), x.view(), 1.0, 0.0, {.kernel = kernel}).values(),
              (std::vector<T>{2, 2}));
    EXPECT_EQ(sddmm(a_ok, xn.view(), xn.view(), 0.0, 2.0, {.kernel = kernel}).values(),
              (std::vector<T>{6, 8}));
    EXPECT_EQ(sddmm(a_ok, xn.view(), xn.view(), 0.0, 0.0, {.kernel = kernel}).values(),
              (std::vector<T>{0, 0}));
  }
}

TYPED_TEST(SddmmTest, EmptyBatch) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrBatch<T, I> a;
  const CsrBatch<T, I> out = sddmm(a, DenseBatchView<const T>(), DenseBatchView<const T>());
  EXPECT_TRUE(out.empty());
  sddmm_into<T, I>(std::vector<std::span<T>>{}, BatchView<T, I>(), DenseBatchView<const T>(),
                   DenseBatchView<const T>(), 1.0, 0.0);
}

TYPED_TEST(SddmmTest, RealMatrices) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (sizeof(T) != sizeof(I)) GTEST_SKIP() << "covered by the other type pairs";
  const std::string dir = test::data_dir();
  if (dir.empty()) GTEST_SKIP() << "SPBMM_DATA_DIR is not set (meson setup -Ddata_dir=...)";
  std::vector<CsrMatrix<T, I>> list;
  for (const char* name : {"karate.mtx", "west0479.mtx", "bcspwr10.mtx", "ca-GrQc.mtx",
                           "lp_e226.mtx", "dwt_992.mtx"}) {
    const std::string path = dir + "/real/" + name;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing";
    list.push_back(read_matrix_market_csr<T, I>(path));
  }
  const CsrBatch<T, I> a = CsrBatch<T, I>::from_list(list);
  std::mt19937_64 rng(14);
  std::vector<std::int64_t> rows, cols;
  for (const auto& m : list) {
    rows.push_back(m.rows());
    cols.push_back(m.cols());
  }
  constexpr std::int64_t kK = 37;
  DenseBatch<T> x(rows, std::vector<std::int64_t>(list.size(), kK));
  DenseBatch<T> y(cols, std::vector<std::int64_t>(list.size(), kK), Layout::ColMajor);
  for (auto* d : {&x, &y}) {
    for (T& v : d->values()) v = test::random_value<T>(rng);
  }
  const CsrBatch<T, I> want = sddmm(a, x.view(), y.view(), 1.0, 0.5, {.kernel = Kernel::Reference});
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    const CsrBatch<T, I> got = sddmm(a, x.view(), y.view(), 1.0, 0.5, {.threads = 2});
    EXPECT_TRUE(values_near<T>({got.values()}, {want.values()}, test::tolerance<T>(kK)))
        << cpu::to_string(isa);
  }
}

// ---- errors: each one before anything is written -----------------------------------------

template <class P>
class SddmmErrorTest : public ::testing::Test {};
TYPED_TEST_SUITE(SddmmErrorTest, AllPairs);

TYPED_TEST(SddmmErrorTest, EveryErrorLeavesTheOutputUntouched) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Entry 0 is 2x3, entry 1 is 3x2; k = 4.
  CsrBatch<T, I> a({2, 3}, {3, 2}, {0, 2, 3, 0, 1, 2, 3}, {0, 2, 1, 1, 0, 1}, {1, 2, 3, 4, 5, 6});
  DenseBatch<T> x({2, 3}, {4, 4}), y({3, 2}, {4, 4});
  std::vector<T> out(6, T(42));
  const auto untouched = [&] {
    for (T v : out) {
      if (v != T(42)) return false;
    }
    return true;
  };
  const auto xv = x.view(), yv = y.view();
  using O = TrainingOptions;

  SPBMM_EXPECT_THROW_MSG((sddmm_into(std::span<T>(out).first(5), a, xv, yv, 1.0, 0.0)), ShapeError,
                         "the output holds 5 values but the batch of A has 6 stored entries");
  const BatchView<T, I> av(a);
  std::vector<std::span<T>> parts = {std::span<T>(out).first(3), std::span<T>(out).last(3)};
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into<T, I>(parts, av, DenseBatchView<const T>::single(x.entry(0)), yv, 1.0, 0.0)),
      ShapeError, "A has 2 entries, X 1, Y 2 and the output 2");
  std::vector<std::span<T>> bad_part = {std::span<T>(out).first(2), std::span<T>(out).last(3)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(bad_part, av, xv, yv, 1.0, 0.0)), ShapeError,
                         "entry 0: the output holds 2 values but A (2x3) has 3 stored entries");
  DenseBatch<T> x_bad({2, 2}, {4, 4});
  SPBMM_EXPECT_THROW_MSG((sddmm_into(std::span<T>(out), a, x_bad.view(), yv, 1.0, 0.0)), ShapeError,
                         "entry 1: A is 3x2 but X is 2x4 (X needs 3 rows, one per row of A)");
  DenseBatch<T> y_bad({3, 3}, {4, 4});
  SPBMM_EXPECT_THROW_MSG((sddmm_into(std::span<T>(out), a, xv, y_bad.view(), 1.0, 0.0)), ShapeError,
                         "entry 1: A is 3x2 but Y is 3x4 (Y needs 2 rows, one per column of A)");
  DenseBatch<T> y_k({3, 2}, {5, 4});
  SPBMM_EXPECT_THROW_MSG((sddmm_into(std::span<T>(out), a, xv, y_k.view(), 1.0, 0.0)), ShapeError,
                         "entry 0: X is 2x4 but Y is 3x5 (their columns 4 != 5)");
  // Formats.
  std::vector<DenseView<const T>> xl(xv.entries().begin(), xv.entries().end());
  xl[1].ld = 2;
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into(std::span<T>(out), a, DenseBatchView<const T>(xl), yv, 1.0, 0.0)), FormatError,
      "X entry 1: leading dimension 2 < 4");
  xl[1].ld = 4;
  xl[1].data = nullptr;
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into(std::span<T>(out), a, DenseBatchView<const T>(xl), yv, 1.0, 0.0)), FormatError,
      "X entry 1: null data pointer");
  const I bad_col[] = {0, 3};
  const I rp[] = {0, 1, 2};
  const T vals[] = {1, 2};
  const BatchView<T, I> a_bad({CsrView<T, I>{2, 3, rp, bad_col, vals}});
  std::vector<std::span<T>> two = {std::span<T>(out).first(2)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(two, a_bad, DenseBatchView<const T>::single(x.entry(0)),
                                           DenseBatchView<const T>::single(y.entry(0)), 1.0, 0.0)),
                         FormatError, "CSR entry 0");
  DenseMatrix<T> dense(2, 3);
  const BatchView<T, I> a_dense({DenseView<const T>(dense.view())});
  std::vector<std::span<T>> none = {std::span<T>()};
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into<T, I>(none, a_dense, DenseBatchView<const T>::single(x.entry(0)),
                        DenseBatchView<const T>::single(y.entry(0)), 1.0, 0.0)),
      InvalidArgument, "A entry 0 is dense");
  // Options.
  SPBMM_EXPECT_THROW_MSG((sddmm_into(std::span<T>(out), a, xv, yv, 1.0, 0.0, O{.threads = -1})),
                         InvalidArgument, "options.threads is -1");
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into(std::span<T>(out), a, xv, yv, 1.0, 0.0, O{.kernel = Kernel::Dense})),
      InvalidArgument, "options.kernel is dense");
  EXPECT_TRUE(untouched());

  // Aliasing: the output over X, over another entry's values of A, shifted over its own
  // values, and two outputs over each other.
  std::vector<T> xbuf(20, T(1));
  const std::vector<T*> xp = {xbuf.data(), xbuf.data() + 8};
  const DenseBatchView<const T> xa =
      DenseBatchView<const T>(DenseBatchView<T>::ragged(xp, {2, 3}, {4, 4}));
  std::vector<std::span<T>> over_x = {std::span<T>(xbuf).first(3), std::span<T>(out).last(3)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(over_x, av, xa, yv, 1.0, 0.0)), InvalidArgument,
                         "output entry 0 overlaps X entry 0 in memory");
  std::vector<std::span<T>> crossed = {std::span<T>(a.values()).last(3),
                                       std::span<T>(a.values()).first(3)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(crossed, av, xv, yv, 1.0, 0.0)), InvalidArgument,
                         "overlaps A entry");
  CsrBatch<T, I> a_copy = a;
  std::vector<std::span<T>> shift = {std::span<T>(a_copy.values()).subspan(1, 3),
                                     std::span<T>(out).last(3)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(shift, BatchView<T, I>(a_copy), xv, yv, 1.0, 0.0)),
                         InvalidArgument, "output entry 0 overlaps A entry 0");
  std::vector<std::span<T>> same = {std::span<T>(out).first(3), std::span<T>(out).subspan(2, 3)};
  SPBMM_EXPECT_THROW_MSG((sddmm_into<T, I>(same, av, xv, yv, 1.0, 0.0)), InvalidArgument,
                         "output entry 0 overlaps output entry 1");
  // The same A entry twice, updated in place: the second would read what the first wrote.
  const BatchView<T, I> twice({a.entry(0), a.entry(0)});
  std::vector<std::span<T>> twice_out = {std::span<T>(a_copy.values()).first(3),
                                         std::span<T>(out).first(3)};
  const BatchView<T, I> twice_copy({a_copy.entry(0), a_copy.entry(0)});
  SPBMM_EXPECT_THROW_MSG(
      (sddmm_into<T, I>(twice_out, twice_copy, DenseBatchView<const T>({x.entry(0), x.entry(0)}),
                        DenseBatchView<const T>({y.entry(0), y.entry(0)}), 1.0, 1.0)),
      InvalidArgument, "overlaps A entry 1");
  EXPECT_TRUE(untouched());
  EXPECT_EQ(a_copy.values(), a.values());
}

// The device kernel is reached through options.kernel (and through Auto when the model says
// so); without a device asking for it is the clear device error, and nothing is written.
TEST(SddmmGpu, ForcedWithoutADeviceSaysWhy) {
  if (gpu::available()) GTEST_SKIP() << "a device is present: " << gpu::status();
  std::mt19937_64 rng(12);
  const auto a = test::random_csr<float, std::int32_t>(20, 10, 0.3, rng);
  const auto x = test::random_dense<float>(20, 4, rng);
  const auto y = test::random_dense<float>(10, 4, rng);
  std::vector<float> out(static_cast<std::size_t>(a.nnz()), 7.0f);
  const BatchView<float, std::int32_t> av({a.view()});
  const auto call = [&] {
    sddmm_into<float, std::int32_t>(
        {std::span<float>(out)}, av, DenseBatchView<const float>::single(x.view()),
        DenseBatchView<const float>::single(y.view()), 1.0f, 0.0f, {.kernel = Kernel::Gpu});
  };
  if (SPBMM_HAVE_CUDA) {
    SPBMM_EXPECT_THROW_MSG(call(), DeviceError, "sddmm: Kernel::Gpu was requested");
  } else {
    SPBMM_EXPECT_THROW_MSG(call(), NotCompiled, "sddmm: Kernel::Gpu was requested");
  }
  for (const float v : out) EXPECT_EQ(v, 7.0f);
  // spmm_reduce has no device kernel.
  DenseBatch<float> c = DenseBatch<float>::uniform(1, 20, 4);
  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<float, std::int32_t>(
                             c.view(), av, DenseBatchView<const float>::single(y.view()),
                             Reduce::Sum, {.kernel = Kernel::Gpu})),
                         InvalidArgument, "Auto, Sparse or Reference");
}

TEST(SddmmGpu, EstimateChargesTransfersAndNeedsFigures) {
  MachineModel m;
  m.sparse_gflops = 5;
  m.memory_gbps = 8;
  ops::SddmmWork w;  // the W10 batch: 512 graphs, ~525k nodes, ~4.2M stored entries, k = 128
  w.nnz = 4.2e6;
  w.rows = 525000;
  w.products = 4.2e6 * 128;
  w.dense_elements = 2 * 525000.0 * 128;
  EXPECT_FALSE(std::isfinite(ops::estimate_sddmm(w, m, 2).gpu));
  const double cpu = ops::estimate_sddmm(w, m, 2).cpu;
  EXPECT_NEAR(cpu, 2 * 4.2e6 * 128 / (5e9 * 2), 1e-9);
  m.gpu_gflops = 800;
  m.gpu_transfer_gbps = 20;
  m.gpu_stage_gbps = 10;
  m.gpu_launch_seconds = 10e-6;
  m.gpu_sync_seconds = 10e-6;
  m.gpu_copy_seconds = 5e-6;
  const ops::SddmmEstimate big = ops::estimate_sddmm(w, m, 2);
  EXPECT_LT(big.gpu, big.cpu);
  // X and Y (538 MB of floats) are moved: at least their bytes over the staging rate.
  EXPECT_GT(big.gpu, w.dense_elements * 4 / 10e9);
  // A small batch stays on the CPU: the fixed costs alone exceed its product.
  ops::SddmmWork small{200, 50, 200 * 8, 2 * 50 * 8, 4, 4};
  const ops::SddmmEstimate s = ops::estimate_sddmm(small, m, 2);
  EXPECT_GT(s.gpu, s.cpu);
}

}  // namespace
}  // namespace spbmm
