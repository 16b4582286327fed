// Tests for the Intel MKL backend (Kernel::Mkl): products against the reference kernel, plans
// that follow A's values, thread counts, the dispatcher's use of MKL figures, and the errors
// without MKL. Tests that multiply skip, saying why, where the backend is not built or does not
// load; the dispatcher's tests run everywhere.
#include <gtest/gtest.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "kernels/mkl/mkl.hpp"
#include "models.hpp"
#include "plan_util.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/plan.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::batch_near;
using test::random_value;
using test::reference_loop;

#define SKIP_WITHOUT_MKL()                                                            \
  do {                                                                                \
    if (!kernels::mkl::available()) {                                                 \
      GTEST_SKIP() << "the MKL backend is not available: " << kernels::mkl::status(); \
    }                                                                                 \
  } while (0)

template <class T>
void fill_random(DenseBatch<T>& x, std::mt19937_64& rng) {
  for (auto& v : x.values()) v = random_value<T>(rng);
}

// Shapes of op(A) per entry.
template <class T, class I>
std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>> op_shapes(const BatchView<T, I>& a,
                                                                          Op op_a) {
  std::vector<std::int64_t> m, k;
  for (const auto& e : a.entries()) {
    const auto [r, c] = std::visit([](const auto& v) { return std::pair(v.rows, v.cols); }, e);
    m.push_back(op_a == Op::N ? r : c);
    k.push_back(op_a == Op::N ? c : r);
  }
  return {m, k};
}

struct Case {
  Op op_a = Op::N;
  Op op_b = Op::N;
  double alpha = 1;
  double beta = 0;
  Layout b_layout = Layout::RowMajor;
  Layout c_layout = Layout::RowMajor;
  int threads = 2;
};

// bmm_into and a Plan, both forced to Kernel::Mkl, against the reference loop. With beta == 0, C
// starts as NaN, which must not reach the result.
template <class T, class I>
void expect_reference(const BatchView<T, I>& a, const std::vector<std::int64_t>& n, const Case& k,
                      std::mt19937_64& rng) {
  SCOPED_TRACE(testing::Message() << "op_a " << to_string(k.op_a) << ", op_b " << to_string(k.op_b)
                                  << ", alpha " << k.alpha << ", beta " << k.beta << ", threads "
                                  << k.threads);
  const auto [m, inner] = op_shapes(a, k.op_a);
  DenseBatch<T> b =
      k.op_b == Op::N ? DenseBatch<T>(inner, n, k.b_layout) : DenseBatch<T>(n, inner, k.b_layout);
  fill_random(b, rng);
  DenseBatch<T> c0(m, n, k.c_layout);
  fill_random(c0, rng);
  if (k.beta == 0) {
    for (auto& v : c0.values()) v = std::numeric_limits<T>::quiet_NaN();
  }
  const T alpha = static_cast<T>(k.alpha);
  const T beta = static_cast<T>(k.beta);
  DenseBatch<T> want = c0;
  reference_loop<T, I>(want.view(), a, b.view(), alpha, beta, k.op_a, k.op_b);
  std::int64_t kmax = 1;
  for (const auto x : inner) kmax = std::max(kmax, x);

  Options o;
  o.op_a = k.op_a;
  o.op_b = k.op_b;
  o.threads = k.threads;
  o.kernel = Kernel::Mkl;
  DenseBatch<T> c = c0;
  bmm_into<T, I>(c.view(), a, b.view(), alpha, beta, o);
  EXPECT_TRUE(batch_near(c, want, kmax)) << "bmm_into";

  PlanOptions po;
  po.op_a = k.op_a;
  po.op_b = k.op_b;
  po.threads = k.threads;
  po.policy.force = Kernel::Mkl;
  const Plan<T, I> plan(a, n, po);
  for (const Choice& ch : plan.choices()) EXPECT_EQ(ch.kernel, Kernel::Mkl);
  for (int call = 0; call < 2; ++call) {
    DenseBatch<T> cp = c0;
    plan.execute(cp.view(), b.view(), alpha, beta);
    EXPECT_TRUE(batch_near(cp, want, kmax)) << "plan, call " << call;
  }
}

// expect_reference for every op_a and op_b, each with two (alpha, beta) pairs; with
// c_follows_op_b, C is column-major where op_b = T.
template <class T, class I>
void expect_every_op(const BatchView<T, I>& a, const std::vector<std::int64_t>& n,
                     std::pair<double, double> first, std::pair<double, double> second,
                     bool c_follows_op_b, std::mt19937_64& rng) {
  for (const Op op_a : {Op::N, Op::T}) {
    for (const Op op_b : {Op::N, Op::T}) {
      for (const auto& [alpha, beta] : {first, second}) {
        Case k;
        k.op_a = op_a;
        k.op_b = op_b;
        k.alpha = alpha;
        k.beta = beta;
        if (c_follows_op_b && op_b == Op::T) k.c_layout = Layout::ColMajor;
        expect_reference<T, I>(a, n, k, rng);
      }
    }
  }
}

template <class P>
class MklKernel : public ::testing::Test {};
TYPED_TEST_SUITE(MklKernel, test::AllPairs);

// A ragged batch of CSR, COO (with duplicates) and dense entries, empty ones among them, with
// every op and alpha/beta.
TYPED_TEST(MklKernel, RaggedMixedBatchMatchesReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(101);
  const test::Mixed<T, I> a({{40, 30},
                             {0, 10},
                             {25, 0},
                             {64, 64},
                             {7, 90},
                             {50, 50},
                             {33, 17},
                             {1, 1},
                             {80, 20},
                             {12, 12}},
                            rng);
  const std::vector<std::int64_t> n = {16, 8, 4, 32, 1, 64, 5, 3, 17, 0};
  expect_every_op<T, I>(a.view, n, {1.0, 0.0}, {0.5, -2.0}, false, rng);
}

// A batch of dense entries only runs as one gemm_batch call: ragged shapes, both layouts of A,
// empty entries and one with an empty inner dimension, every op.
TYPED_TEST(MklKernel, DenseBatchMatchesReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(109);
  std::vector<DenseMatrix<T>> d;
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {
      {16, 16}, {33, 8}, {0, 5}, {64, 100}, {7, 0}, {128, 32}, {5, 5}, {90, 60}};
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    d.push_back(test::random_dense<T>(shapes[i].first, shapes[i].second, rng,
                                      i % 2 ? Layout::ColMajor : Layout::RowMajor));
  }
  BatchView<T, I> a;
  for (const auto& x : d) a.push_back(DenseView<const T>(x.view()));
  const std::vector<std::int64_t> n = {16, 8, 3, 40, 2, 1, 0, 64};
  expect_every_op<T, I>(a, n, {1.0, 0.0}, {-0.5, 1.5}, true, rng);
  PlanOptions po;
  po.policy.force = Kernel::Mkl;
  const Plan<T, I> plan(a, n, po);
  EXPECT_NE(plan.explain().find("every entry in one gemm_batch call"), std::string::npos)
      << plan.explain();
}

// B and C column-major, and B in another layout than C (copied into C's for MKL's SpMM).
TYPED_TEST(MklKernel, LayoutsMatchReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(102);
  const test::Mixed<T, I> a({{30, 40}, {20, 20}, {45, 15}, {60, 33}}, rng);
  const std::vector<std::int64_t> n = {9, 24, 7, 40};
  for (const Layout bl : {Layout::RowMajor, Layout::ColMajor}) {
    for (const Layout cl : {Layout::RowMajor, Layout::ColMajor}) {
      Case k;
      k.b_layout = bl;
      k.c_layout = cl;
      k.beta = 0.25;
      expect_reference<T, I>(a.view, n, k, rng);
      k.op_b = Op::T;
      expect_reference<T, I>(a.view, n, k, rng);
    }
  }
}

// One large entry (run alone with every thread, its handle optimized for them) among small ones
// (one thread each), at one and two threads; then the same plan executed from inside a parallel
// region, where every product gets one thread and the large handle must not run.
TYPED_TEST(MklKernel, OneAndTwoThreads) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(103);
  std::vector<CsrMatrix<T, I>> csr;
  csr.push_back(test::random_csr<T, I>(1500, 1200, 0.02, rng));
  for (int i = 0; i < 6; ++i) csr.push_back(test::random_csr<T, I>(60 + 7 * i, 50, 0.1, rng));
  BatchView<T, I> a;
  for (const auto& x : csr) a.push_back(x.view());
  const std::vector<std::int64_t> n(csr.size(), 48);
  const MachineModel machine = test::small_machine();  // a slow machine: the large entry splits
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    PlanOptions po;
    po.threads = threads;
    po.machine = &machine;
    po.policy.force = Kernel::Mkl;
    const Plan<T, I> plan(a, n, po);
    const std::string text = plan.explain();
    EXPECT_NE(text.find(threads == 2 ? "(1 optimized for every thread" : "(0 optimized for every"),
              std::string::npos)
        << text;
    const auto [m, k] = op_shapes(a, Op::N);
    DenseBatch<T> b(k, n);
    fill_random(b, rng);
    DenseBatch<T> want(m, n);
    reference_loop<T, I>(want.view(), a, b.view(), T(1), T(0), Op::N, Op::N);
    DenseBatch<T> c(m, n);
    plan.execute(c.view(), b.view());
    EXPECT_TRUE(batch_near(c, want, 1200));
#ifdef _OPENMP
    std::vector<DenseBatch<T>> per_thread(2, DenseBatch<T>(m, n));
#pragma omp parallel num_threads(2)
    plan.execute(per_thread[static_cast<std::size_t>(omp_get_thread_num())].view(), b.view());
    for (const auto& x : per_thread) EXPECT_TRUE(batch_near(x, want, 1200));
#endif
  }
}

// A plan follows A's values: the caller's CSR (MKL's handle views it), a COO and a transposed
// entry (derived CSR forms), changed between executes.
TYPED_TEST(MklKernel, PlanFollowsChangedValues) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(104);
  CsrMatrix<T, I> c0 = test::random_csr<T, I>(70, 50, 0.1, rng);
  CooMatrix<T, I> c1 = test::random_coo<T, I>(40, 50, 300, 5, rng);
  CsrMatrix<T, I> c2 = test::random_csr<T, I>(90, 50, 0.05, rng);
  BatchView<T, I> a;
  a.push_back(c0.view());
  a.push_back(c1.view());
  a.push_back(c2.view());
  for (const Op op_a : {Op::N, Op::T}) {
    SCOPED_TRACE(to_string(op_a));
    // op(A) of each entry must have the same inner dimension for one n per entry to fit.
    const auto [m, k] = op_shapes(a, op_a);
    const std::vector<std::int64_t> n = {8, 12, 20};
    PlanOptions po;
    po.op_a = op_a;
    po.threads = 2;
    po.policy.force = Kernel::Mkl;
    const Plan<T, I> plan(a, n, po);
    DenseBatch<T> b(k, n);
    fill_random(b, rng);
    for (int round = 0; round < 3; ++round) {
      DenseBatch<T> want(m, n);
      reference_loop<T, I>(want.view(), a, b.view(), T(1), T(0), op_a, Op::N);
      DenseBatch<T> c(m, n);
      plan.execute(c.view(), b.view());
      EXPECT_TRUE(batch_near(c, want, 90)) << "round " << round;
      for (auto& v : c0.values()) v = static_cast<T>(-1.5) * v + T(1);
      for (auto& v : c1.values()) v = v * T(2);
      for (auto& v : c2.values()) v = random_value<T>(rng);
    }
  }
}

// The batch sum runs each product on column blocks of B and C with one thread: the handles made
// for one thread run there, one made for every thread gives way to the CPU sparse kernel.
TYPED_TEST(MklKernel, BatchSumMatchesReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(110);
  std::vector<CsrMatrix<T, I>> csr;
  csr.push_back(test::random_csr<T, I>(50, 900, 0.3, rng));  // large: optimized for 2 threads
  for (int i = 0; i < 3; ++i) csr.push_back(test::random_csr<T, I>(50, 40, 0.2, rng));
  BatchView<T, I> a;
  for (const auto& x : csr) a.push_back(x.view());
  const std::int64_t n = 70;  // three column blocks
  const std::vector<std::int64_t> k = {900, 40, 40, 40};
  const MachineModel machine = test::small_machine();
  for (const int threads : {1, 2}) {
    PlanOptions po;
    po.threads = threads;
    po.machine = &machine;
    po.policy.force = Kernel::Mkl;
    const Plan<T, I> plan(a, std::vector<std::int64_t>(4, n), po);
    DenseBatch<T> b(k, std::vector<std::int64_t>(4, n));
    fill_random(b, rng);
    DenseMatrix<T> want = test::random_dense<T>(50, n, rng);
    DenseMatrix<T> c = want;
    for (std::size_t i = 0; i < csr.size(); ++i) {
      kernels::reference::csr_dense<T, I>(Op::N, Op::N, T(2), csr[i].view(), b.entry(i),
                                          i == 0 ? T(0.5) : T(1), want.view());
    }
    plan.execute_sum(c.view(), b.view(), T(2), T(0.5));
    EXPECT_TRUE(test::dense_near(DenseView<const T>(c.view()), DenseView<const T>(want.view()),
                                 test::tolerance<T>(900 * 4)))
        << threads;
  }
}

// Every real matrix of the data set up to a size that keeps the test short (complex ones
// excepted), forced to MKL, against the reference.
TYPED_TEST(MklKernel, RealMatricesMatchReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (sizeof(T) != sizeof(I)) GTEST_SKIP() << "covered by the other type pairs";
  SKIP_WITHOUT_MKL();
  const std::string dir = test::data_dir();
  if (dir.empty()) GTEST_SKIP() << "SPBMM_DATA_DIR is not set (meson setup -Ddata_dir=...)";
  std::mt19937_64 rng(105);
  int checked = 0;
  test::for_each_real_matrix<T, I>([&](const std::string&, const CsrMatrix<T, I>& a) {
    if (a.nnz() > 400000) return;
    BatchView<T, I> batch;
    batch.push_back(a.view());
    const std::vector<std::int64_t> n = {8};
    DenseBatch<T> b({a.cols()}, n);
    fill_random(b, rng);
    DenseBatch<T> want({a.rows()}, n);
    reference_loop<T, I>(want.view(), batch, b.view(), T(1), T(0), Op::N, Op::N);
    // MKL sums in its own order: the difference is bounded by the sum of |A_ij| |B_jk| (real
    // matrices cancel heavily), which the reference gives from the absolute values.
    CsrMatrix<T, I> abs_a = a;
    for (auto& v : abs_a.values()) v = std::abs(v);
    DenseBatch<T> abs_b = b;
    for (auto& v : abs_b.values()) v = std::abs(v);
    BatchView<T, I> abs_batch;
    abs_batch.push_back(abs_a.view());
    DenseBatch<T> bound({a.rows()}, n);
    reference_loop<T, I>(bound.view(), abs_batch, abs_b.view(), T(1), T(0), Op::N, Op::N);
    std::int64_t longest = 1;
    for (std::int64_t r = 0; r < a.rows(); ++r) {
      longest = std::max<std::int64_t>(longest, a.row_ptr()[r + 1] - a.row_ptr()[r]);
    }
    Options o;
    o.kernel = Kernel::Mkl;
    o.threads = 2;
    DenseBatch<T> c({a.rows()}, n);
    bmm_into<T, I>(c.view(), batch, b.view(), T(1), T(0), o);
    const double tol = test::tolerance<T>(longest);
    std::int64_t bad = 0;
    for (std::size_t e = 0; e < c.values().size(); ++e) {
      const double diff = std::fabs(static_cast<double>(c.values()[e]) - want.values()[e]);
      bad += diff <= tol * (static_cast<double>(bound.values()[e]) + 1e-30) ? 0 : 1;
    }
    EXPECT_EQ(bad, 0);
    ++checked;
  });
  EXPECT_GT(checked, 0);
}

// MKL's gemm comes from MKL's own library, not from OpenBLAS, which libspbmm has loaded and
// which defines the same cblas_* names.
TEST(MklBackend, GemmBindsToMkl) {
  SKIP_WITHOUT_MKL();
  const std::string s = kernels::mkl::status();
  const auto at = s.find("(gemm from ");
  ASSERT_NE(at, std::string::npos) << s;
  const std::string library = s.substr(at);
  EXPECT_NE(library.find("libmkl"), std::string::npos) << s;
  EXPECT_EQ(library.find("openblas"), std::string::npos) << s;
  EXPECT_NE(s.find("Math Kernel Library"), std::string::npos) << s;
}

// Forcing MKL where it is not available is a clear error naming why, before anything runs.
TEST(MklBackend, ForcedWithoutBackendIsClearError) {
  if (kernels::mkl::available()) GTEST_SKIP() << "the MKL backend loads here";
  std::mt19937_64 rng(106);
  const CsrMatrix<float, std::int32_t> a = test::random_csr<float, std::int32_t>(20, 20, 0.2, rng);
  BatchView<float, std::int32_t> batch;
  batch.push_back(a.view());
  PlanOptions po;
  po.policy.force = Kernel::Mkl;
  const auto make = [&] { Plan<float, std::int32_t> plan(batch, 4, po); };
  if (kernels::mkl::built()) {
    SPBMM_EXPECT_THROW_MSG(make(), IoError,
                           "entry 0: Kernel::Mkl was requested: MKL backend not loaded");
  } else {
    SPBMM_EXPECT_THROW_MSG(make(), NotCompiled,
                           "entry 0: Kernel::Mkl was requested: MKL backend not built in");
  }
}

// ---------------------------------------------------------------------------------------------
// The dispatcher

MachineModel with_mkl(double factor) {
  MachineModel m = test::small_machine();
  m.mkl_sparse_gflops = m.sparse_gflops * factor;
  m.mkl_sparse_gflops_small_n = m.sparse_gflops_small_n * factor;
  m.mkl_dense_gflops_small = m.dense_gflops_small * factor;
  m.mkl_dense_gflops_large = m.dense_gflops_large * factor;
  return m;
}

std::vector<EntryStats> entries() {
  std::vector<EntryStats> out;
  for (const Format f : {Format::Csr, Format::Coo, Format::Dense}) {
    for (const double density : {0.001, 0.05, 0.6}) {
      for (const std::int64_t n : {1, 8, 64, 256}) {
        EntryStats s;
        s.format = f;
        s.rows = 2000;
        s.cols = 1500;
        s.n = n;
        s.density = density;
        s.nnz = static_cast<std::int64_t>(density * 2000 * 1500);
        out.push_back(s);
      }
    }
  }
  return out;
}

TEST(MklChoice, PicksMklWhereTheModelSaysItIsFaster) {
  // MKL a hundred times faster than every CPU kernel, whichever the entry's format.
  const MachineModel m = with_mkl(100);
  for (const EntryStats& s : entries()) {
    const Choice c = choose_kernel(s, {}, m);
    EXPECT_EQ(c.kernel, Kernel::Mkl) << c.reason;
    EXPECT_NE(c.reason.find("mkl "), std::string::npos) << c.reason;
  }
}

TEST(MklChoice, NeverWhereTheModelSaysItIsSlower) {
  for (const MachineModel& m : {with_mkl(0.5), with_mkl(0), test::small_machine()}) {
    for (const EntryStats& s : entries()) {
      EXPECT_NE(choose_kernel(s, {}, m).kernel, Kernel::Mkl);
    }
  }
  // The built-in figures have none: Auto never picks MKL unless a calibration measured it.
  for (const EntryStats& s : entries()) {
    EXPECT_NE(choose_kernel(s, {}, MachineModel::defaults()).kernel, Kernel::Mkl);
  }
}

TEST(MklChoice, NotBeyondThirtyTwoBitIndices) {
  EntryStats s;
  s.format = Format::Csr;
  s.rows = 1 << 20;
  s.cols = 1 << 20;
  s.n = 16;
  s.nnz = std::int64_t{3} << 30;
  s.density = static_cast<double>(s.nnz) / (static_cast<double>(s.rows) * s.cols);
  s.index_bytes = 8;
  const Choice c = choose_kernel(s, {}, with_mkl(10));
  EXPECT_NE(c.kernel, Kernel::Mkl);
  EXPECT_NE(c.reason.find("mkl not considered (beyond MKL's 32-bit indices)"), std::string::npos)
      << c.reason;
}

TEST(MklChoice, TextFormKeepsTheFigures) {
  MachineModel m = with_mkl(2);
  m.mkl_inspect_gbps = 1.25;
  const MachineModel r = MachineModel::from_text(m.to_text());
  EXPECT_EQ(r.mkl_sparse_gflops, m.mkl_sparse_gflops);
  EXPECT_EQ(r.mkl_dense_gflops_large, m.mkl_dense_gflops_large);
  EXPECT_EQ(r.mkl_inspect_gbps, 1.25);
}

// A model that says MKL is faster: a plan picks it where the backend loads (and its results
// match the reference); where it does not load, Auto never picks it, without an error, and
// explain() says why.
TEST(MklPlan, AutoTakesMklOnlyWhereTheBackendLoads) {
  using T = double;
  using I = std::int32_t;
  std::mt19937_64 rng(107);
  const test::Mixed<T, I> a({{300, 200}, {120, 120}, {200, 90}, {150, 150}}, rng);
  const std::vector<std::int64_t> n = {32, 32, 32, 32};
  const MachineModel machine = with_mkl(10);
  PlanOptions po;
  po.machine = &machine;
  po.threads = 2;
  const Plan<T, I> plan(a.view, n, po);
  std::size_t on_mkl = 0;
  for (const Choice& c : plan.choices()) on_mkl += c.kernel == Kernel::Mkl ? 1 : 0;
  const std::string text = plan.explain();
  if (!kernels::mkl::available()) {
    EXPECT_EQ(on_mkl, 0u);
    EXPECT_NE(text.find("mkl not considered: " + kernels::mkl::status()), std::string::npos)
        << text;
  } else {
    EXPECT_EQ(on_mkl, plan.size()) << text;
    EXPECT_NE(text.find("mkl: "), std::string::npos) << text;
  }
  const auto [m, k] = op_shapes(a.view, Op::N);
  DenseBatch<T> b(k, n);
  fill_random(b, rng);
  DenseBatch<T> want(m, n);
  reference_loop<T, I>(want.view(), a.view, b.view(), 1.0, 0.0, Op::N, Op::N);
  DenseBatch<T> c(m, n);
  plan.execute(c.view(), b.view());
  EXPECT_TRUE(batch_near(c, want, 300));
}

// With op(B) = B^T, Auto leaves sparse entries off MKL (its SpMM would copy B at every call).
TEST(MklPlan, AutoLeavesSparseEntriesOffMklForTransposedB) {
  SKIP_WITHOUT_MKL();
  std::mt19937_64 rng(108);
  const CsrMatrix<float, std::int32_t> a =
      test::random_csr<float, std::int32_t>(300, 300, 0.05, rng);
  BatchView<float, std::int32_t> batch;
  batch.push_back(a.view());
  const MachineModel machine = with_mkl(10);
  PlanOptions po;
  po.machine = &machine;
  po.op_b = Op::T;
  const Plan<float, std::int32_t> plan(batch, 32, po);
  EXPECT_NE(plan.choices()[0].kernel, Kernel::Mkl);
  EXPECT_NE(plan.explain().find("op(B) = B^T"), std::string::npos) << plan.explain();
}

}  // namespace
}  // namespace spbmm
