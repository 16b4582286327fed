// Tests of SpMM with reduce (spmm_reduce_into, spmm_reduce): every reduction and ISA path
// against the reference on random ragged batches and real matrices, arg indices, NaN and ties,
// broadcasting, and every error.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/isa.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/training.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
namespace cpu = kernels::cpu;

constexpr Reduce kAllReduces[] = {Reduce::Sum, Reduce::Mean, Reduce::Max, Reduce::Min};

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

// An output (C or arg) in a padded buffer of its own; the padding must survive every call.
template <class U>
struct Out {
  static constexpr U kPad = U(77);
  std::vector<U> storage;
  DenseView<U> view;
  Out(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad) {
    const std::int64_t ld = DenseView<U>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)), kPad);
    view = DenseView<U>(storage.data(), rows, cols, layout, ld);
  }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  bool padding_intact() const {
    std::vector<char> inside(storage.size(), 0);
    for (std::int64_t i = 0; i < view.rows; ++i) {
      for (std::int64_t j = 0; j < view.cols; ++j) inside[&view(i, j) - storage.data()] = 1;
    }
    for (std::size_t p = 0; p < storage.size(); ++p) {
      if (!inside[p] && storage[p] != kPad) return false;
    }
    return true;
  }
};

// A ragged batch: even entries CSR, odd entries COO (unsorted, with duplicates), with empty
// rows; B of random layouts.
template <class T, class I>
struct Problem {
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<DenseMatrix<T>> bs;
  BatchView<T, I> a;
  std::vector<DenseView<const T>> bv;
  std::vector<std::int64_t> rows, cols;

  // shapes[i] = {rows, inner, n}.
  Problem(const std::vector<std::array<std::int64_t, 3>>& shapes, double density,
          std::mt19937_64& rng) {
    csr.reserve(shapes.size());
    coo.reserve(shapes.size());
    bs.reserve(shapes.size());
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const auto [m, k, n] = shapes[i];
      if (i % 2 == 0) {
        csr.push_back(test::random_csr<T, I>(m, k, density, rng));
        a.push_back(csr.back().view());
      } else {
        const auto nnz = static_cast<std::int64_t>(density * static_cast<double>(m * k));
        coo.push_back(test::random_coo<T, I>(m, k, nnz, nnz / 3 + 1, rng));
        a.push_back(coo.back().view());
      }
      bs.push_back(
          test::random_dense<T>(k, n, rng, i % 3 == 1 ? Layout::ColMajor : Layout::RowMajor));
      bv.push_back(bs.back().view());
      rows.push_back(m);
      cols.push_back(n);
    }
  }
  DenseBatchView<const T> b() const { return DenseBatchView<const T>(bv); }
};

// C and arg outputs for a problem, in the given layouts.
template <class T, class I>
struct Outputs {
  std::vector<std::unique_ptr<Out<T>>> c;
  std::vector<std::unique_ptr<Out<I>>> arg;
  Outputs(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols,
          Layout c_layout, Layout arg_layout, bool with_arg) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      c.push_back(std::make_unique<Out<T>>(rows[i], cols[i], c_layout, 1 + i % 2));
      if (with_arg) arg.push_back(std::make_unique<Out<I>>(rows[i], cols[i], arg_layout, i % 2));
    }
  }
  DenseBatchView<T> cv() const {
    std::vector<DenseView<T>> v;
    for (const auto& o : c) v.push_back(o->view);
    return DenseBatchView<T>(v);
  }
  DenseBatchView<I> argv() const {
    std::vector<DenseView<I>> v;
    for (const auto& o : arg) v.push_back(o->view);
    return DenseBatchView<I>(v);
  }
  bool intact() const {
    for (const auto& o : c) {
      if (!o->padding_intact()) return false;
    }
    for (const auto& o : arg) {
      if (!o->padding_intact()) return false;
    }
    return true;
  }
};

// Exact comparison for max and min (the products are formed alike); a tolerance for sum and mean.
template <class T, class I>
::testing::AssertionResult same_result(const Outputs<T, I>& got, const Outputs<T, I>& want,
                                       Reduce reduce, double tol) {
  const bool exact = reduce == Reduce::Max || reduce == Reduce::Min;
  for (std::size_t e = 0; e < want.c.size(); ++e) {
    const auto& g = got.c[e]->view;
    const auto& w = want.c[e]->view;
    for (std::int64_t i = 0; i < w.rows; ++i) {
      for (std::int64_t j = 0; j < w.cols; ++j) {
        const double gv = g(i, j), wv = w(i, j);
        const bool ok = exact ? (gv == wv || (std::isnan(gv) && std::isnan(wv)))
                              : std::fabs(gv - wv) <= tol * std::max({1.0, std::fabs(wv)});
        if (!ok) {
          return ::testing::AssertionFailure()
                 << "entry " << e << " C(" << i << ", " << j << "): got " << gv << ", want " << wv;
        }
        if (!got.arg.empty() && got.arg[e]->view(i, j) != want.arg[e]->view(i, j)) {
          return ::testing::AssertionFailure()
                 << "entry " << e << " arg(" << i << ", " << j << "): got "
                 << got.arg[e]->view(i, j) << ", want " << want.arg[e]->view(i, j);
        }
      }
    }
  }
  return ::testing::AssertionSuccess();
}

template <class P>
class SpmmReduceTest : public ::testing::Test {};
TYPED_TEST_SUITE(SpmmReduceTest, AllPairs);

TYPED_TEST(SpmmReduceTest, RaggedBatchMatchesReferenceOnEveryPath) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(21);
  // Empty entries, n below, at and above the vector widths (and past one 4-vector block), a
  // large entry among small ones.
  const Problem<T, I> pr({{7, 5, 3},
                          {9, 11, 16},
                          {0, 4, 8},
                          {6, 0, 8},
                          {40, 30, 33},
                          {13, 17, 0},
                          {1, 1, 1},
                          {300, 200, 64},
                          {25, 19, 70},
                          {31, 8, 7}},
                         0.12, rng);
  for (Reduce reduce : kAllReduces) {
    const bool extreme = reduce == Reduce::Max || reduce == Reduce::Min;
    for (const auto& [cl, al] : {std::pair{Layout::RowMajor, Layout::RowMajor},
                                 std::pair{Layout::ColMajor, Layout::RowMajor},
                                 std::pair{Layout::RowMajor, Layout::ColMajor}}) {
      Outputs<T, I> want(pr.rows, pr.cols, cl, al, extreme);
      spmm_reduce_into<T, I>(want.cv(), want.argv(), pr.a, pr.b(), reduce,
                             {.kernel = Kernel::Reference});
      ASSERT_TRUE(want.intact());
      for (cpu::Isa isa : isas()) {
        const IsaScope scope(isa);
        for (int threads : {1, 2}) {
          Outputs<T, I> got(pr.rows, pr.cols, cl, al, extreme);
          spmm_reduce_into<T, I>(got.cv(), got.argv(), pr.a, pr.b(), reduce, {.threads = threads});
          EXPECT_TRUE(same_result(got, want, reduce, test::tolerance<T>(64)))
              << to_string(reduce) << " " << cpu::to_string(isa) << " threads " << threads << " C "
              << to_string(cl) << " arg " << to_string(al);
          EXPECT_TRUE(got.intact());
        }
      }
    }
  }
}

TYPED_TEST(SpmmReduceTest, SmallCaseByHandWithEmptyRowTiesAndDuplicates) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // A is 3x3 COO: row 0 holds (0,0)=1 and (0,2)=2 given as 1.5 + 0.5 (a duplicate, summed
  // first); row 1 is empty; row 2 holds (2,1)=1 and (2,2)=1, whose products tie in column 0.
  const CooBatch<T, I> a({3}, {3}, {0, 5}, {2, 0, 0, 2, 0}, {2, 2, 0, 1, 2}, {1, 1.5, 1, 1, 0.5});
  // B rows: [1, -1], [3, 0], [3, -4].
  const DenseBatch<T> b = DenseBatch<T>::from_list({DenseMatrix<T>(3, 2, {1, -1, 3, 0, 3, -4})});
  for (Kernel kernel : {Kernel::Auto, Kernel::Reference}) {
    const TrainingOptions o{.kernel = kernel};
    const auto max = spmm_reduce(a, b, Reduce::Max, o);
    // Row 0: products [1, -1] (col 0) and [6, -8] (col 2).
    EXPECT_EQ(max.c.values(), (std::vector<T>{6, -1, 0, 0, 3, 0}));
    EXPECT_EQ(max.arg, (std::vector<I>{2, 0, -1, -1, 1, 1}));
    const auto min = spmm_reduce(a, b, Reduce::Min, o);
    EXPECT_EQ(min.c.values(), (std::vector<T>{1, -8, 0, 0, 3, -4}));
    EXPECT_EQ(min.arg, (std::vector<I>{0, 2, -1, -1, 1, 2}));
    const auto arg_view = min.arg_entry(0);
    EXPECT_EQ(arg_view(0, 1), I(2));
    EXPECT_EQ(spmm_reduce(a, b, Reduce::Sum, o).c.values(), (std::vector<T>{7, -9, 0, 0, 6, -4}));
    EXPECT_EQ(spmm_reduce(a, b, Reduce::Mean, o).c.values(),
              (std::vector<T>{3.5, -4.5, 0, 0, 3, -2}));
    EXPECT_TRUE(spmm_reduce(a, b, Reduce::Sum, o).arg.empty());
  }
}

TYPED_TEST(SpmmReduceTest, NanWinsAndKeepsTheFirstColumn) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  // One row with four stored entries over 20 columns of B (past one vector on every path).
  const CsrBatch<T, I> a({1}, {4}, {0, 4}, {0, 1, 2, 3}, {1, 1, 1, 1});
  DenseMatrix<T> bm(4, 20);
  for (std::int64_t j = 0; j < 20; ++j) {
    bm(0, j) = T(1);
    bm(1, j) = j % 2 == 0 ? nan : T(5);
    bm(2, j) = j % 3 == 0 ? nan : -inf;
    bm(3, j) = T(2);
  }
  const DenseBatch<T> b = DenseBatch<T>::from_list({bm});
  for (cpu::Isa isa : isas()) {
    const IsaScope scope(isa);
    for (Reduce reduce : {Reduce::Max, Reduce::Min}) {
      const auto got = spmm_reduce(a, b, reduce);
      const auto want = spmm_reduce(a, b, reduce, {.kernel = Kernel::Reference});
      for (std::int64_t j = 0; j < 20; ++j) {
        const T c = got.c.values()[static_cast<std::size_t>(j)];
        const I at = got.arg[static_cast<std::size_t>(j)];
        EXPECT_EQ(at, want.arg[static_cast<std::size_t>(j)]) << j;
        if (j % 2 == 0) {
          EXPECT_TRUE(std::isnan(c));
          EXPECT_EQ(at, I(1));
        } else if (j % 3 == 0) {
          EXPECT_TRUE(std::isnan(c));
          EXPECT_EQ(at, I(2));
        } else {
          EXPECT_EQ(c, reduce == Reduce::Max ? T(5) : -inf) << cpu::to_string(isa);
          EXPECT_EQ(at, reduce == Reduce::Max ? I(1) : I(2));
        }
      }
    }
  }
}

TYPED_TEST(SpmmReduceTest, BroadcastAndEmptyBatches) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(22);
  const CsrBatch<T, I> one = CsrBatch<T, I>::from_list({test::random_csr<T, I>(20, 15, 0.2, rng)});
  DenseBatch<T> bs({15, 15, 15}, {4, 9, 17});
  for (T& v : bs.values()) v = test::random_value<T>(rng);
  // One A, three B: each product equals the single one.
  const auto all = spmm_reduce(one, bs, Reduce::Max);
  ASSERT_EQ(all.c.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto single = spmm_reduce<T, I>(
        BatchView<T, I>(one), DenseBatchView<const T>::single(bs.entry(i)), Reduce::Max);
    const DenseView<const T> ci = all.c.entry(i);
    for (std::int64_t r = 0; r < ci.rows; ++r) {
      for (std::int64_t j = 0; j < ci.cols; ++j) {
        EXPECT_EQ(ci(r, j), single.c.entry(0)(r, j));
        EXPECT_EQ(all.arg_entry(i)(r, j), single.arg_entry(0)(r, j));
      }
    }
  }
  // Three A, one B.
  const CsrBatch<T, I> three = CsrBatch<T, I>::from_list({test::random_csr<T, I>(5, 15, 0.3, rng),
                                                          test::random_csr<T, I>(0, 15, 0.3, rng),
                                                          test::random_csr<T, I>(9, 15, 0.3, rng)});
  const auto mean = spmm_reduce<T, I>(BatchView<T, I>(three),
                                      DenseBatchView<const T>::single(bs.entry(1)), Reduce::Mean);
  const auto mean_ref =
      spmm_reduce<T, I>(BatchView<T, I>(three), DenseBatchView<const T>::single(bs.entry(1)),
                        Reduce::Mean, {.kernel = Kernel::Reference});
  EXPECT_TRUE(test::dense_near(mean.c.entry(2), mean_ref.c.entry(2), test::tolerance<T>(15)));
  EXPECT_EQ(mean.c.rows(1), 0);
  // Empty batches.
  EXPECT_TRUE(spmm_reduce(CsrBatch<T, I>(), DenseBatch<T>(), Reduce::Min).c.empty());
}

TYPED_TEST(SpmmReduceTest, RealMatrices) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (sizeof(T) != sizeof(I)) GTEST_SKIP() << "covered by the other type pairs";
  const std::string dir = test::data_dir();
  if (dir.empty()) GTEST_SKIP() << "SPBMM_DATA_DIR is not set (meson setup -Ddata_dir=...)";
  std::vector<CsrMatrix<T, I>> list;
  for (const char* name : {"karate.mtx", "west0479.mtx", "bcspwr10.mtx", "ca-GrQc.mtx",
                           "lp_e226.mtx", "tech-WHOIS.mtx"}) {
    const std::string path = dir + "/real/" + name;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing";
    list.push_back(read_matrix_market_csr<T, I>(path));
  }
  const CsrBatch<T, I> a = CsrBatch<T, I>::from_list(list);
  std::mt19937_64 rng(23);
  std::vector<std::int64_t> inner;
  for (const auto& m : list) inner.push_back(m.cols());
  DenseBatch<T> b(inner, std::vector<std::int64_t>(list.size(), 24));
  for (T& v : b.values()) v = test::random_value<T>(rng);
  for (Reduce reduce : kAllReduces) {
    const auto want = spmm_reduce(a, b, reduce, {.kernel = Kernel::Reference});
    for (cpu::Isa isa : isas()) {
      const IsaScope scope(isa);
      const auto got = spmm_reduce(a, b, reduce, {.threads = 2});
      EXPECT_EQ(got.arg, want.arg) << to_string(reduce) << " " << cpu::to_string(isa);
      for (std::size_t e = 0; e < list.size(); ++e) {
        EXPECT_TRUE(test::dense_near(got.c.entry(e), want.c.entry(e), test::tolerance<T>(1000)))
            << to_string(reduce) << " " << cpu::to_string(isa) << " entry " << e;
      }
    }
  }
}

// ---- errors: each one before anything is written -----------------------------------------

template <class P>
class SpmmReduceErrorTest : public ::testing::Test {};
TYPED_TEST_SUITE(SpmmReduceErrorTest, AllPairs);

TYPED_TEST(SpmmReduceErrorTest, EveryErrorLeavesTheOutputsUntouched) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Entry 0 is 2x3, entry 1 is 3x2; B is 3x4 and 2x4.
  const CsrBatch<T, I> a({2, 3}, {3, 2}, {0, 2, 3, 0, 1, 2, 3}, {0, 2, 1, 1, 0, 1},
                         {1, 2, 3, 4, 5, 6});
  DenseBatch<T> b({3, 2}, {4, 4});
  const BatchView<T, I> av(a);
  const DenseBatchView<const T> bv = b.view();
  Outputs<T, I> out({2, 3}, {4, 4}, Layout::RowMajor, Layout::RowMajor, true);
  const auto cv = out.cv();
  const auto argv = out.argv();
  const auto untouched = [&] {
    for (const auto& o : out.c) {
      for (T v : o->storage) {
        if (v != Out<T>::kPad) return false;
      }
    }
    for (const auto& o : out.arg) {
      for (I v : o->storage) {
        if (v != Out<I>::kPad) return false;
      }
    }
    return true;
  };

  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<T, I>(cv, argv, av, bv, Reduce::Sum)), InvalidArgument,
                         "arg indices are given for reduce sum");
  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<T, I>(cv, argv, av, bv, static_cast<Reduce>(9))),
                         InvalidArgument, "reduce has unknown value 9");
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(cv, argv, av, bv, Reduce::Max, {.kernel = Kernel::Gpu})),
      InvalidArgument, "options.kernel is gpu");
  DenseBatch<T> b3({3, 2, 2}, {4, 4, 4});
  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<T, I>(cv, argv, av, b3.view(), Reduce::Max)), ShapeError,
                         "batch sizes do not broadcast: A has 2 entries, B has 3 entries");
  DenseBatch<T> b_in({3, 3}, {4, 4});
  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<T, I>(cv, argv, av, b_in.view(), Reduce::Max)),
                         ShapeError, "entry 1: A is 3x2 but B is 3x4 (inner dimensions 2 != 3)");
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(DenseBatchView<T>::single(cv[0]), argv, av, bv, Reduce::Max)),
      ShapeError, "C has 1 entries but A * B has 2");
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(cv, DenseBatchView<I>::single(argv[0]), av, bv, Reduce::Max)),
      ShapeError, "arg has 1 entries but A * B has 2");
  std::vector<DenseView<T>> c_small(cv.entries());
  c_small[1].rows = 2;
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(DenseBatchView<T>(c_small), argv, av, bv, Reduce::Max)), ShapeError,
      "entry 1: C is 2x4 but A * B is 3x4");
  std::vector<DenseView<I>> arg_small(argv.entries());
  arg_small[0].cols = 3;
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(cv, DenseBatchView<I>(arg_small), av, bv, Reduce::Max)), ShapeError,
      "entry 0: arg is 2x3 but A * B is 2x4");
  std::vector<DenseView<I>> arg_ld(argv.entries());
  arg_ld[1].ld = 1;
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(cv, DenseBatchView<I>(arg_ld), av, bv, Reduce::Max)), FormatError,
      "arg entry 1: leading dimension 1 < 4");
  DenseMatrix<T> dense(2, 3);
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(DenseBatchView<T>::single(cv[0]), DenseBatchView<I>(),
                              BatchView<T, I>({DenseView<const T>(dense.view())}),
                              DenseBatchView<const T>::single(bv[0]), Reduce::Sum)),
      InvalidArgument, "A entry 0 is dense");
  const I rp[] = {0, 1, 0};
  const I ci[] = {0};
  const T vals[] = {1};
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(DenseBatchView<T>::single(cv[0]), DenseBatchView<I>(),
                              BatchView<T, I>({CsrView<T, I>{2, 3, rp, ci, vals}}),
                              DenseBatchView<const T>::single(bv[0]), Reduce::Sum)),
      FormatError, "CSR entry 0");
  // Aliasing: C over B, arg over C, two C entries over each other.
  std::vector<DenseView<T>> c_over_b(cv.entries());
  c_over_b[0].data = b.values().data() + 2;
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(DenseBatchView<T>(c_over_b), argv, av, bv, Reduce::Max)),
      InvalidArgument, "C entry 0 overlaps B entry 0 in memory");
  std::vector<DenseView<I>> arg_over_c(argv.entries());
  arg_over_c[1].data = reinterpret_cast<I*>(cv[1].data);
  SPBMM_EXPECT_THROW_MSG(
      (spmm_reduce_into<T, I>(cv, DenseBatchView<I>(arg_over_c), av, bv, Reduce::Max)),
      InvalidArgument, "arg entry 1");
  std::vector<DenseView<T>> c_twice = {cv[0], cv[0]};
  c_twice[1].rows = 3;
  c_twice[1].ld = cv[0].ld;
  std::vector<T> big(40, T(0));
  c_twice[0].data = big.data();
  c_twice[1].data = big.data() + 4;
  SPBMM_EXPECT_THROW_MSG((spmm_reduce_into<T, I>(DenseBatchView<T>(c_twice), DenseBatchView<I>(),
                                                 av, bv, Reduce::Sum)),
                         InvalidArgument, "C entry 0 overlaps C entry 1");
  EXPECT_TRUE(untouched());
  for (T v : big) EXPECT_EQ(v, T(0));
}

}  // namespace
}  // namespace spbmm
