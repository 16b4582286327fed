// Tests of Plan: results against the reference for every kernel, reuse, concurrency, explain().
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/kernels.hpp"
#include "models.hpp"
#include "plan_util.hpp"
#include "spbmm/config.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::batch_near;
using test::dense_near;
using test::Mixed;
using test::operands;
using test::Operands;
using test::reference_loop;
using test::tolerance;

constexpr double kSentinel = 12345.0;

template <class T, class A>
void fill(std::vector<T, A>& v, double x) {
  for (T& e : v) e = static_cast<T>(x);
}

template <class P>
class PlanTest : public ::testing::Test {};
TYPED_TEST_SUITE(PlanTest, AllPairs);

// Every kernel forced for the whole batch, and Auto, over all op combinations and alpha/beta:
// the plan's results equal the reference loop (Dense on sparse entries and Sparse on dense ones
// included, as forcing converts them).
TYPED_TEST(PlanTest, EveryKernelAndOpMatchesTheReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(99);
  std::uniform_int_distribution<std::int64_t> dim(1, 40);
  for (Op oa : {Op::N, Op::T}) {
    for (Op ob : {Op::N, Op::T}) {
      std::vector<std::int64_t> m, k, n;
      std::vector<std::pair<std::int64_t, std::int64_t>> stored;
      for (int e = 0; e < 9; ++e) {
        m.push_back(e == 4 ? 0 : dim(rng));
        k.push_back(e == 7 ? 0 : dim(rng));
        n.push_back(dim(rng));
        stored.emplace_back(oa == Op::N ? m.back() : k.back(), oa == Op::N ? k.back() : m.back());
      }
      const Mixed<T, I> a(stored, rng);
      const Operands<T> ops = operands<T>(m, k, n, ob, rng);
      for (auto [alpha, beta] : {std::pair<T, T>{T(1), T(0)}, std::pair<T, T>{T(-0.5), T(1.5)}}) {
        DenseBatch<T> want = ops.c;
        reference_loop<T, I>(want.view(), a.view, ops.b.view(), alpha, beta, oa, ob);
        for (Kernel kernel :
             {Kernel::Auto, Kernel::Reference, Kernel::Sparse, Kernel::Dense, Kernel::Eigen}) {
          SCOPED_TRACE(::testing::Message() << "op_a=" << to_string(oa) << " op_b=" << to_string(ob)
                                            << " kernel=" << to_string(kernel) << " beta=" << beta);
          PlanOptions po;
          po.op_a = oa;
          po.op_b = ob;
          po.policy.force = kernel;
          const Plan<T, I> plan(a.view, n, po);
          ASSERT_EQ(plan.size(), 9u);
          DenseBatch<T> got = ops.c;
          plan.execute(got.view(), ops.b.view(), alpha, beta);
          EXPECT_TRUE(batch_near(got, want, 40));
          for (const Choice& c : plan.choices()) {
            if (kernel != Kernel::Auto) {
              EXPECT_EQ(c.kernel, kernel);
            }
          }
        }
      }
    }
  }
}

// Per-entry overrides mix every kernel in one batch.
// A ragged batch of small dense products, planned for many calls: where the build has LIBXSMM,
// the plan generates a kernel per shape (explain() says so) and uses it for the products it fits
// (alpha 1, beta 0, unpadded B and C); other scalars and a padded B run on the blocked kernel.
// Every result against the reference.
TYPED_TEST(PlanTest, SmallDenseProductsOnGeneratedKernels) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(31);
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;
  std::vector<std::int64_t> n;
  for (int i = 0; i < 12; ++i) {
    shapes.emplace_back(1 + (7 * i) % 40, 1 + (11 * i) % 37);
    n.push_back(1 + (5 * i) % 45);
  }
  std::vector<DenseMatrix<T>> a_store;
  BatchView<T, I> a;
  for (const auto& [r, c] : shapes) {
    a_store.emplace_back(r, c);
    for (T& v : a_store.back().values()) v = test::random_value<T>(rng);
  }
  for (const auto& m : a_store) a.push_back(m.view());
  std::vector<std::int64_t> b_rows, c_rows;
  for (const auto& [r, c] : shapes) {
    b_rows.push_back(c);
    c_rows.push_back(r);
  }
  DenseBatch<T> b(b_rows, n);
  for (T& v : b.values()) v = test::random_value<T>(rng);
  PlanOptions po;
  po.threads = 2;
  // Made only where the expected calls repay making them: not for one call of these tiny products.
  po.policy.expected_calls = 1;
  {
    const Plan<T, I> once(a, n, po);
    EXPECT_EQ(once.explain().find("LIBXSMM"), std::string::npos);
  }
  po.policy.expected_calls = 1000000;
  const Plan<T, I> plan(a, n, po);
  EXPECT_EQ(plan.explain().find("LIBXSMM") != std::string::npos, SPBMM_HAVE_XSMM != 0)
      << plan.explain();
  for (const auto& [alpha, beta] : {std::pair{T(1), T(0)}, {T(1), T(1)}, {T(-2), T(0.5)}}) {
    DenseBatch<T> c(c_rows, n), want(c_rows, n);
    for (T& v : c.values()) v = test::random_value<T>(rng);
    want.values() = c.values();
    plan.execute(c.view(), b.view(), alpha, beta);
    reference_loop<T, I>(want.view(), a, b.view(), alpha, beta, Op::N, Op::N);
    EXPECT_TRUE(batch_near(c, want, tolerance<T>(50))) << alpha << " " << beta;
  }
  // B with padded rows: the kernels made for unpadded B do not fit and are not used.
  std::vector<DenseMatrix<T>> padded;
  std::vector<DenseView<const T>> b_padded;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    padded.emplace_back(b_rows[i], n[i] + 3);
    for (T& v : padded.back().values()) v = test::random_value<T>(rng);
    b_padded.emplace_back(padded.back().values().data(), b_rows[i], n[i], Layout::RowMajor,
                          n[i] + 3);
  }
  DenseBatch<T> c(c_rows, n), want(c_rows, n);
  plan.execute(c.view(), DenseBatchView<const T>(b_padded));
  reference_loop<T, I>(want.view(), a, DenseBatchView<const T>(b_padded), T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(c, want, tolerance<T>(50)));
}

TYPED_TEST(PlanTest, PerEntryOverridesMixKernels) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(3);
  std::vector<std::int64_t> m{30, 20, 25, 12, 33, 8}, k{18, 40, 22, 9, 27, 16}, n(6, 24);
  std::vector<std::pair<std::int64_t, std::int64_t>> stored;
  for (int i = 0; i < 6; ++i) stored.emplace_back(m[i], k[i]);
  const Mixed<T, I> a(stored, rng);
  const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
  PlanOptions po;
  po.policy.force = Kernel::Sparse;
  po.policy.per_entry = {
      {1, Kernel::Dense}, {2, Kernel::Eigen}, {3, Kernel::Reference}, {5, Kernel::Dense}};
  const Plan<T, I> plan(a.view, 24, po);
  const std::vector<Kernel> expect{Kernel::Sparse,    Kernel::Dense,  Kernel::Eigen,
                                   Kernel::Reference, Kernel::Sparse, Kernel::Dense};
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(plan.choices()[i].kernel, expect[i]) << i;
  DenseBatch<T> want = ops.c;
  reference_loop<T, I>(want.view(), a.view, ops.b.view(), T(2), T(-1), Op::N, Op::N);
  DenseBatch<T> got = ops.c;
  plan.execute(got.view(), ops.b.view(), T(2), T(-1));
  EXPECT_TRUE(batch_near(got, want, 40));
}

// Plans are reusable: a second and third run give bit-identical results, and new B operands
// need no new plan.
TYPED_TEST(PlanTest, ReuseGivesIdenticalResults) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  std::vector<std::int64_t> m, k, n;
  std::vector<std::pair<std::int64_t, std::int64_t>> stored;
  for (int i = 0; i < 12; ++i) {
    m.push_back(20 + 7 * i);
    k.push_back(90 - 5 * i);
    n.push_back(16);
    stored.emplace_back(m.back(), k.back());
  }
  const Mixed<T, I> a(stored, rng);
  const Plan<T, I> plan(a.view, 16);
  const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
  const DenseBatch<T> first = plan.execute(ops.b.view());
  for (int r = 0; r < 2; ++r) {
    const DenseBatch<T> again = plan.execute(ops.b.view());
    EXPECT_EQ(again.values(), first.values());
  }
  const Operands<T> other = operands<T>(m, k, n, Op::N, rng);
  DenseBatch<T> want = other.c;
  reference_loop<T, I>(want.view(), a.view, other.b.view(), T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(plan.execute(other.b.view(), T(1), Layout::ColMajor), want, 90));
}

// One const plan, four threads at once, each with its own B and its own C (and its own starting
// values in C): every thread's result is bit-identical to the serial execution of the same plan on
// the same operands, for every CPU kernel and for Auto, with threads inside the kernels too. Any
// state shared between concurrent calls (scratch buffers, a thread count, a cached form) would
// mix one thread's operands into another's result.
TYPED_TEST(PlanTest, ConcurrentExecutionEqualsSerial) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  constexpr std::size_t kThreads = 4;
  constexpr int kRounds = 3;
  std::mt19937_64 rng(12);
  std::vector<std::int64_t> m, k, n;
  std::vector<std::pair<std::int64_t, std::int64_t>> stored;
  for (int i = 0; i < 10; ++i) {
    m.push_back(16 + 9 * i);
    k.push_back(60 + 3 * i);
    n.push_back(8 + i);
    stored.emplace_back(k.back(), m.back());
  }
  const Mixed<T, I> a(stored, rng);
  std::vector<Operands<T>> ops;
  for (std::size_t t = 0; t < kThreads; ++t) ops.push_back(operands<T>(m, k, n, Op::N, rng));
  for (Kernel kernel :
       {Kernel::Auto, Kernel::Reference, Kernel::Sparse, Kernel::Dense, Kernel::Eigen}) {
    SCOPED_TRACE(to_string(kernel));
    PlanOptions po;
    po.op_a = Op::T;
    po.threads = 2;
    po.policy.force = kernel;
    const Plan<T, I> plan(a.view, n, po);
    std::vector<DenseBatch<T>> serial;
    for (std::size_t t = 0; t < kThreads; ++t) {
      serial.push_back(ops[t].c);
      plan.execute(serial[t].view(), ops[t].b.view(), T(1.5), T(0.5));
    }
    // The operands differ, so the serial results do too: a result landing in the wrong thread's
    // C could not pass.
    for (std::size_t t = 1; t < kThreads; ++t) EXPECT_NE(serial[t].values(), serial[0].values());
    std::vector<std::vector<DenseBatch<T>>> outs(kThreads);
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < kThreads; ++t) {
      pool.emplace_back([&, t] {
        for (int r = 0; r < kRounds; ++r) {
          outs[t].push_back(ops[t].c);
          plan.execute(outs[t].back().view(), ops[t].b.view(), T(1.5), T(0.5));
        }
      });
    }
    for (auto& th : pool) th.join();
    for (std::size_t t = 0; t < kThreads; ++t) {
      ASSERT_EQ(outs[t].size(), static_cast<std::size_t>(kRounds));
      for (const auto& o : outs[t]) EXPECT_EQ(o.values(), serial[t].values()) << "thread " << t;
    }
  }
}

// One A shared by many B (a graph times several feature matrices), and many A with one B.
TYPED_TEST(PlanTest, BroadcastBothWays) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(13);
  const auto graph = test::random_csr<T, I>(50, 50, 0.1, rng);
  BatchView<T, I> one;
  one.push_back(graph.view());
  std::vector<DenseMatrix<T>> feats;
  for (int i = 0; i < 5; ++i) feats.push_back(test::random_dense<T>(50, 4 + 6 * i, rng));
  const auto b = DenseBatch<T>::from_list(feats);
  for (Kernel kernel : {Kernel::Auto, Kernel::Sparse, Kernel::Dense, Kernel::Eigen}) {
    PlanOptions po;
    po.policy.force = kernel;
    const Plan<T, I> plan(one, 16, po);
    const DenseBatch<T> got = plan.execute(b.view());
    ASSERT_EQ(got.size(), 5u);
    DenseBatch<T> want(std::vector<std::int64_t>(5, 50), {4, 10, 16, 22, 28});
    reference_loop<T, I>(want.view(), one, b.view(), T(1), T(0), Op::N, Op::N);
    EXPECT_TRUE(batch_near(got, want, 50)) << to_string(kernel);
  }
  std::vector<std::pair<std::int64_t, std::int64_t>> stored{{7, 9}, {30, 9}, {12, 9}, {1, 9}};
  const Mixed<T, I> many(stored, rng);
  const auto table = test::random_dense<T>(9, 6, rng);
  const auto b1 = DenseBatchView<const T>::single(table.view());
  const Plan<T, I> plan(many.view, 6);
  const DenseBatch<T> got = plan.execute(b1);
  DenseBatch<T> want({7, 30, 12, 1}, {6, 6, 6, 6});
  reference_loop<T, I>(want.view(), many.view, b1, T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(got, want, 9));
}

// One large entry next to many small ones, with threads, and from inside a caller's parallel
// region (which runs the batch serially): results do not depend on the schedule.
TYPED_TEST(PlanTest, SkewedBatchAndCallerThreads) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(14);
  std::vector<std::int64_t> m{300}, k{300}, n{64};
  std::vector<std::pair<std::int64_t, std::int64_t>> stored{{300, 300}};
  for (int i = 0; i < 30; ++i) {
    m.push_back(5 + i);
    k.push_back(9 + i);
    n.push_back(64);
    stored.emplace_back(m.back(), k.back());
  }
  const Mixed<T, I> a(stored, rng);
  const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
  DenseBatch<T> want = ops.c;
  reference_loop<T, I>(want.view(), a.view, ops.b.view(), T(1), T(1), Op::N, Op::N);
  for (int threads : {0, 1, 2, 3}) {
    PlanOptions po;
    po.threads = threads;
    const Plan<T, I> plan(a.view, n, po);
    DenseBatch<T> got = ops.c;
    plan.execute(got.view(), ops.b.view(), T(1), T(1));
    EXPECT_TRUE(batch_near(got, want, 300)) << "threads " << threads;
  }
  const Plan<T, I> plan(a.view, n);
  std::vector<DenseBatch<T>> outs(2, ops.c);
#ifdef _OPENMP
#pragma omp parallel for num_threads(2)
#endif
  for (int t = 0; t < 2; ++t) plan.execute(outs[t].view(), ops.b.view(), T(1), T(1));
  for (const auto& o : outs) EXPECT_TRUE(batch_near(o, want, 300));
}

// A ragged CSR batch with a common N and an empty entry, on the sparse kernel, with C stacked
// row-major back to back and column-major: the same results either way.
TYPED_TEST(PlanTest, RaggedSparseBatchWithCommonN) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(15);
  std::vector<CsrMatrix<T, I>> list;
  std::vector<std::int64_t> m, k, n;
  for (int i = 0; i < 20; ++i) {
    m.push_back(3 + (i * 7) % 40);
    k.push_back(5 + (i * 11) % 37);
    n.push_back(12);
    list.push_back(test::random_csr<T, I>(m.back(), k.back(), 0.05, rng));
  }
  list.push_back(CsrMatrix<T, I>(0, 4));
  m.push_back(0);
  k.push_back(4);
  n.push_back(12);
  const auto a = CsrBatch<T, I>::from_list(list);
  PlanOptions po;
  po.policy.force = Kernel::Sparse;
  const Plan<T, I> plan(BatchView<T, I>(a), 12, po);
  const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
  DenseBatch<T> want = ops.c;
  reference_loop<T, I>(want.view(), BatchView<T, I>(a), ops.b.view(), T(0.5), T(2), Op::N, Op::N);
  DenseBatch<T> stacked_c(m, n);  // row-major, back to back
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (std::int64_t r = 0; r < m[i]; ++r) {
      for (std::int64_t j = 0; j < 12; ++j) stacked_c.entry(i)(r, j) = ops.c.entry(i)(r, j);
    }
  }
  plan.execute(stacked_c.view(), ops.b.view(), T(0.5), T(2));
  EXPECT_TRUE(batch_near(stacked_c, want, 40));
  DenseBatch<T> col_c = ops.c;
  plan.execute(col_c.view(), ops.b.view(), T(0.5), T(2));
  EXPECT_TRUE(batch_near(col_c, want, 40));
}

TYPED_TEST(PlanTest, ExplainListsEveryEntryAndKernel) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(16);
  std::vector<std::pair<std::int64_t, std::int64_t>> stored{
      {40, 30}, {20, 60}, {64, 64}, {10, 10}, {0, 5}};
  const Mixed<T, I> a(stored, rng);
  PlanOptions po;
  po.policy.per_entry = {{1, Kernel::Eigen}, {3, Kernel::Reference}};
  const Plan<T, I> plan(a.view, 32, po);
  const std::string text = plan.explain();
  for (const char* word :
       {"entry", "op(A)", "nnz", "density", "kernel", "estimate", "reason", "40x30", "20x60",
        "64x64 D", "0x5", "eigen", "reference", "forced for entry 1"}) {
    EXPECT_NE(text.find(word), std::string::npos) << "missing '" << word << "' in\n" << text;
  }
  // One line per entry after the header lines.
  for (std::size_t i = 0; i < plan.size(); ++i) {
    char row[32];
    std::snprintf(row, sizeof(row), "\n%6zu  ", i);
    EXPECT_NE(text.find(row), std::string::npos) << "entry " << i << " in\n" << text;
    EXPECT_NE(text.find(to_string(plan.choices()[i].kernel)), std::string::npos);
  }
  ASSERT_EQ(plan.stats().size(), 5u);
  EXPECT_EQ(plan.stats()[2].format, Format::Dense);
  EXPECT_EQ(plan.stats()[4].rows, 0);
}

TYPED_TEST(PlanTest, StatsDescribeOpA) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // Rows of lengths 3, 0, 1; columns of lengths 1, 1, 2.
  const CsrMatrix<T, I> csr(3, 3, {0, 3, 3, 4}, {0, 1, 2, 2}, {1, 2, 3, 4});
  BatchView<T, I> a;
  a.push_back(csr.view());
  const Plan<T, I> plan(a, 5);
  const EntryStats& s = plan.stats()[0];
  EXPECT_EQ(s.nnz, 4);
  EXPECT_EQ(s.n, 5);
  EXPECT_EQ(s.max_row, 3);
  EXPECT_NEAR(s.density, 4.0 / 9.0, 1e-12);
  EXPECT_NEAR(s.row_cv, std::sqrt(14.0 / 9.0) / (4.0 / 3.0), 1e-12);
  EXPECT_EQ(s.value_bytes, static_cast<int>(sizeof(T)));
  PlanOptions po;
  po.op_a = Op::T;
  const Plan<T, I> pt(a, 5, po);
  EXPECT_EQ(pt.stats()[0].max_row, 2);
}

// Forcing the GPU on a machine without one: DeviceError (or NotCompiled) with the reason, and
// C as it was.
TYPED_TEST(PlanTest, ForcedGpuWithoutDeviceIsAClearError) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if (gpu::available()) GTEST_SKIP() << "a GPU is present: " << gpu::status();
  std::mt19937_64 rng(17);
  const auto a = CsrBatch<T, I>::from_list({test::random_csr<T, I>(6, 5, 0.5, rng)});
  DenseBatch<T> b = DenseBatch<T>::uniform(1, 5, 3);
  DenseBatch<T> c = DenseBatch<T>::uniform(1, 6, 3);
  fill(c.values(), kSentinel);
  Options o;
  o.kernel = Kernel::Gpu;
  const auto check = [&](auto&& call) {
    try {
      call();
      ADD_FAILURE() << "expected DeviceError or NotCompiled";
    } catch (const DeviceError& e) {
      EXPECT_NE(std::string(e.what()).find("Kernel::Gpu was requested but no GPU is usable"),
                std::string::npos)
          << e.what();
    } catch (const NotCompiled& e) {
      EXPECT_NE(std::string(e.what()).find("-Dcuda=enabled"), std::string::npos) << e.what();
    }
  };
  check([&] { bmm_into(c, a, b, T(1), T(0), o); });
  for (const T& v : c.values()) EXPECT_EQ(v, T(kSentinel));
  PlanOptions po;
  po.policy.per_entry = {{0, Kernel::Gpu}};
  check([&] { Plan<T, I>(BatchView<T, I>(a), 3, po); });
  // Auto never picks the device, whatever the model claims.
  MachineModel m = MachineModel::defaults();
  m.gpu_gflops = 1e9;
  m.gpu_dense_gflops = 1e9;
  m.gpu_transfer_gbps = 1e9;
  PlanOptions fast;
  fast.machine = &m;
  const Plan<T, I> plan(BatchView<T, I>(a), 3, fast);
  EXPECT_NE(plan.choices()[0].kernel, Kernel::Gpu);
  EXPECT_NE(plan.explain().find("gpu not considered"), std::string::npos);
}

// With a device: the GPU forced for every entry, for some entries, and with a shared A, equals
// the reference (sparse entries run on cuSPARSE, dense ones on cuBLAS).
TYPED_TEST(PlanTest, ForcedGpuMatchesTheReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if (!gpu::available()) GTEST_SKIP() << "no GPU: " << gpu::status();
  std::mt19937_64 rng(20);
  for (Op oa : {Op::N, Op::T}) {
    for (Op ob : {Op::N, Op::T}) {
      std::vector<std::int64_t> m{30, 20, 25, 12, 33, 8}, k{18, 40, 22, 9, 27, 16}, n(6, 24);
      std::vector<std::pair<std::int64_t, std::int64_t>> stored;
      for (int i = 0; i < 6; ++i) {
        stored.emplace_back(oa == Op::N ? m[i] : k[i], oa == Op::N ? k[i] : m[i]);
      }
      const Mixed<T, I> a(stored, rng);
      const Operands<T> ops = operands<T>(m, k, n, ob, rng);
      DenseBatch<T> want = ops.c;
      reference_loop<T, I>(want.view(), a.view, ops.b.view(), T(1.5), T(-0.5), oa, ob);
      for (int mode = 0; mode < 2; ++mode) {
        PlanOptions po;
        po.op_a = oa;
        po.op_b = ob;
        if (mode == 0) {
          po.policy.force = Kernel::Gpu;
        } else {
          po.policy.per_entry = {{0, Kernel::Gpu}, {2, Kernel::Gpu}, {4, Kernel::Gpu}};
        }
        const Plan<T, I> plan(a.view, n, po);
        DenseBatch<T> got = ops.c;
        plan.execute(got.view(), ops.b.view(), T(1.5), T(-0.5));
        EXPECT_TRUE(batch_near(got, want, 40))
            << "op_a=" << to_string(oa) << " op_b=" << to_string(ob) << " mode " << mode;
      }
    }
  }
  const auto graph = test::random_csr<T, I>(50, 50, 0.1, rng);
  BatchView<T, I> one;
  one.push_back(graph.view());
  std::vector<DenseMatrix<T>> feats;
  for (int i = 0; i < 3; ++i) feats.push_back(test::random_dense<T>(50, 16, rng));
  const auto b = DenseBatch<T>::from_list(feats);
  PlanOptions po;
  po.policy.force = Kernel::Gpu;
  const Plan<T, I> plan(one, 16, po);
  DenseBatch<T> want(std::vector<std::int64_t>(3, 50), std::vector<std::int64_t>(3, 16));
  reference_loop<T, I>(want.view(), one, b.view(), T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(plan.execute(b.view()), want, 50));
}

// execute() re-checks B and C with bmm_into's messages and writes nothing on error.
TYPED_TEST(PlanTest, ExecuteChecksLikeBmmInto) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(18);
  const auto a = CsrBatch<T, I>::from_list(
      {test::random_csr<T, I>(2, 3, 0.5, rng), test::random_csr<T, I>(2, 3, 0.5, rng)});
  const Plan<T, I> plan(BatchView<T, I>(a), 2);
  DenseBatch<T> c = DenseBatch<T>::uniform(2, 2, 2);
  fill(c.values(), kSentinel);
  const DenseBatch<T> b3({3, 3, 3}, {2, 2, 2});
  SPBMM_EXPECT_THROW_MSG(plan.execute(c.view(), b3.view()), ShapeError,
                         "batch sizes do not broadcast: A has 2 entries, B has 3");
  const DenseBatch<T> b_bad({3, 4}, {2, 2});
  SPBMM_EXPECT_THROW_MSG(plan.execute(c.view(), b_bad.view()), ShapeError,
                         "entry 1: op(A) is 2x3 but op(B) is 4x2 (inner dimensions 3 != 4)");
  const DenseBatch<T> b2({3, 3}, {2, 2});
  DenseBatch<T> c_bad({2, 2}, {2, 3});
  SPBMM_EXPECT_THROW_MSG(plan.execute(c_bad.view(), b2.view()), ShapeError,
                         "entry 1: C is 2x3 but op(A) * op(B) is 2x2");
  SPBMM_EXPECT_THROW_MSG(
      plan.execute(c.view(),
                   DenseBatchView<const T>({b2.entry(0), DenseView<const T>(nullptr, 3, 2)})),
      FormatError, "B entry 1: null data pointer");
  // C laid over B.
  DenseBatch<T> sq = DenseBatch<T>::uniform(2, 3, 2);
  DenseBatch<T> own = DenseBatch<T>::uniform(1, 2, 2);
  const DenseBatchView<T> c_alias({DenseView<T>(sq.entry(0).data, 2, 2), own.entry(0)});
  SPBMM_EXPECT_THROW_MSG(plan.execute(c_alias, sq.view()), InvalidArgument, "overlaps B entry");
  for (const T& v : c.values()) EXPECT_EQ(v, T(kSentinel));
}

// Many small dense entries (the whole batch on the CPU dense kernel, in both stored layouts,
// every op, alpha and beta): the plan's results equal the reference loop, with B shared or per
// entry, and an aliased C is still rejected before anything is written.
TYPED_TEST(PlanTest, ManySmallDenseEntriesMatchTheReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(23);
  constexpr std::size_t kCount = 3000;
  for (const Op oa : {Op::N, Op::T}) {
    for (const Op ob : {Op::N, Op::T}) {
      std::vector<DenseMatrix<T>> owned;
      owned.reserve(kCount);
      BatchView<T, I> av;
      std::vector<std::int64_t> m, k, n;
      for (std::size_t i = 0; i < kCount; ++i) {
        const std::int64_t r = 16 + static_cast<std::int64_t>(i % 5);
        const std::int64_t c = 16 + static_cast<std::int64_t>(i % 3);
        owned.push_back(
            test::random_dense<T>(r, c, rng, i % 2 ? Layout::RowMajor : Layout::ColMajor));
        av.push_back(DenseView<const T>(owned.back().view()));
        m.push_back(oa == Op::N ? r : c);
        k.push_back(oa == Op::N ? c : r);
        n.push_back(16);
      }
      PlanOptions po;
      po.op_a = oa;
      po.op_b = ob;
      po.threads = 2;
      po.policy.allow_gpu = false;
      const Plan<T, I> plan(av, 16, po);
      for (const Choice& ch : plan.choices()) ASSERT_EQ(ch.kernel, Kernel::Dense);
      const Operands<T> ops = operands<T>(m, k, n, ob, rng);
      DenseBatch<T> got = ops.c;
      DenseBatch<T> want = ops.c;
      plan.execute(got.view(), ops.b.view(), T(0.5), T(-1.5));
      reference_loop<T, I>(want.view(), av, ops.b.view(), T(0.5), T(-1.5), oa, ob);
      EXPECT_TRUE(batch_near(got, want, 20)) << to_string(oa) << to_string(ob);
      // Repeated execution gives identical results.
      DenseBatch<T> again = ops.c;
      plan.execute(again.view(), ops.b.view(), T(0.5), T(-1.5));
      EXPECT_EQ(again.values(), got.values());
    }
  }
  // A plan of uniform 16x16 entries, one B shared by every entry.
  std::vector<DenseMatrix<T>> owned;
  BatchView<T, I> av;
  owned.reserve(kCount);
  for (std::size_t i = 0; i < kCount; ++i) {
    owned.push_back(test::random_dense<T>(16, 16, rng, Layout::RowMajor));
    av.push_back(DenseView<const T>(owned.back().view()));
  }
  const Plan<T, I> plan(av, 16);
  const DenseBatch<T> b_one = DenseBatch<T>::uniform(1, 16, 16);
  DenseBatch<T> b_fill = b_one;
  for (auto& v : b_fill.values()) v = test::random_value<T>(rng);
  DenseBatch<T> got = DenseBatch<T>::uniform(kCount, 16, 16);
  DenseBatch<T> want = got;
  plan.execute(got.view(), b_fill.view(), T(1), T(0));
  reference_loop<T, I>(want.view(), av, b_fill.view(), T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(got, want, 16));
  // C entry 1 laid over C entry 0: rejected, nothing written.
  DenseBatch<T> c = DenseBatch<T>::uniform(kCount, 16, 16);
  fill(c.values(), kSentinel);
  std::vector<DenseView<T>> views = c.view().entries();
  views[1] = views[0];
  SPBMM_EXPECT_THROW_MSG(plan.execute(DenseBatchView<T>(views), b_fill.view()), InvalidArgument,
                         "overlaps C entry");
  for (const T& v : c.values()) EXPECT_EQ(v, T(kSentinel));
}

// Memory layouts of B and C other than one buffer per operand in entry order, and bad entries at
// the end of a large batch: valid layouts give the reference result, invalid ones are reported
// exactly as in a small batch, before anything is written.
TYPED_TEST(PlanTest, ManyDenseEntriesAnyMemoryLayoutIsCheckedExactly) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(29);
  constexpr std::size_t kCount = 1000;
  constexpr std::int64_t kS = 8;
  DenseBatch<T> a = DenseBatch<T>::uniform(kCount, kS, kS);
  for (auto& v : a.values()) v = test::random_value<T>(rng);
  const DenseBatch<T>& ac = a;
  const BatchView<T, I> av(ac);
  PlanOptions po;
  po.threads = 2;
  po.policy.allow_gpu = false;
  const Plan<T, I> plan(av, kS, po);
  DenseBatch<T> b = DenseBatch<T>::uniform(kCount, kS, kS);
  for (auto& v : b.values()) v = test::random_value<T>(rng);
  const DenseBatch<T>& bc = b;
  DenseBatch<T> want = DenseBatch<T>::uniform(kCount, kS, kS);
  reference_loop<T, I>(want.view(), av, bc.view(), T(1), T(0), Op::N, Op::N);
  const auto result_of = [&](const std::vector<DenseView<T>>& c) {
    DenseBatch<T> out = DenseBatch<T>::uniform(kCount, kS, kS);
    for (std::size_t i = 0; i < kCount; ++i) {
      for (std::int64_t r = 0; r < kS; ++r) {
        for (std::int64_t q = 0; q < kS; ++q) out.entry(i)(r, q) = c[i](r, q);
      }
    }
    return out;
  };

  // C entries in reverse address order.
  DenseBatch<T> c = DenseBatch<T>::uniform(kCount, kS, kS);
  std::vector<DenseView<T>> reversed;
  for (std::size_t i = 0; i < kCount; ++i) reversed.push_back(c.entry(kCount - 1 - i));
  plan.execute(DenseBatchView<T>(reversed), bc.view());
  EXPECT_TRUE(batch_near(result_of(reversed), want, 16));

  // B and C interleaved in one buffer (B_0, C_0, B_1, C_1, ...), B read through a const view.
  DenseBatch<T> both = DenseBatch<T>::uniform(2 * kCount, kS, kS);
  std::vector<DenseView<const T>> b_mixed;
  std::vector<DenseView<T>> c_mixed;
  for (std::size_t i = 0; i < kCount; ++i) {
    for (std::int64_t r = 0; r < kS; ++r) {
      for (std::int64_t q = 0; q < kS; ++q) both.entry(2 * i)(r, q) = bc.entry(i)(r, q);
    }
    b_mixed.push_back(both.entry(2 * i));
    c_mixed.push_back(both.entry(2 * i + 1));
  }
  plan.execute(DenseBatchView<T>(c_mixed), DenseBatchView<const T>(b_mixed));
  EXPECT_TRUE(batch_near(result_of(c_mixed), want, 16));

  // Every B entry the same view.
  std::vector<DenseView<const T>> b_same(kCount, bc.entry(0));
  plan.execute(c.view(), DenseBatchView<const T>(b_same));
  DenseBatch<T> want_same = DenseBatch<T>::uniform(kCount, kS, kS);
  reference_loop<T, I>(want_same.view(), av, DenseBatchView<const T>(b_same), T(1), T(0), Op::N,
                       Op::N);
  EXPECT_TRUE(batch_near(c, want_same, 16));

  // Rejections at the last entry; C keeps its values.
  const std::size_t last = kCount - 1;
  fill(c.values(), kSentinel);
  const auto untouched = [&] {
    for (const T& v : c.values()) {
      if (v != T(kSentinel)) return false;
    }
    return true;
  };
  std::vector<DenseView<T>> c_views = c.view().entries();
  {
    std::vector<DenseView<T>> cv = c_views;
    cv[last] = DenseView<T>(const_cast<T*>(ac.entry(3).data), kS, kS);
    SPBMM_EXPECT_THROW_MSG(plan.execute(DenseBatchView<T>(cv), bc.view()), InvalidArgument,
                           "C entry 999 overlaps A entry 3");
    cv[last] = DenseView<T>(const_cast<T*>(bc.entry(7).data), kS, kS);
    SPBMM_EXPECT_THROW_MSG(plan.execute(DenseBatchView<T>(cv), bc.view()), InvalidArgument,
                           "C entry 999 overlaps B entry 7");
    cv[last] = DenseView<T>(c_views[last].data, kS, kS - 1);
    SPBMM_EXPECT_THROW_MSG(plan.execute(DenseBatchView<T>(cv), bc.view()), ShapeError,
                           "entry 999: C is 8x7 but op(A) * op(B) is 8x8");
    cv[last] = DenseView<T>(c_views[last].data, kS, kS, Layout::RowMajor, kS - 1);
    SPBMM_EXPECT_THROW_MSG(plan.execute(DenseBatchView<T>(cv), bc.view()), FormatError,
                           "C entry 999: leading dimension 7 < 8");
  }
  {
    std::vector<DenseView<const T>> bv = bc.view().entries();
    bv[last] = DenseView<const T>(bv[last].data, kS, kS, Layout::RowMajor, kS - 1);
    SPBMM_EXPECT_THROW_MSG(plan.execute(c.view(), DenseBatchView<const T>(bv)), FormatError,
                           "B entry 999: leading dimension 7 < 8");
    bv[last] = DenseView<const T>(bv[0].data, kS + 1, kS);
    SPBMM_EXPECT_THROW_MSG(plan.execute(c.view(), DenseBatchView<const T>(bv)), ShapeError,
                           "entry 999: op(A) is 8x8 but op(B) is 9x8");
  }
  EXPECT_TRUE(untouched());
}

TYPED_TEST(PlanTest, ConstructorRejectsBadArguments) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({CsrMatrix<T, I>(2, 3), CsrMatrix<T, I>(2, 3)});
  const BatchView<T, I> av(a);
  PlanOptions po;
  po.policy.per_entry = {{2, Kernel::Dense}};
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(av, 4, po)), InvalidArgument,
                         "policy.per_entry names entry 2 but the batch has 2 entries");
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(av, std::vector<std::int64_t>{1, 2, 3})), InvalidArgument,
                         "3 values of n for a batch of 2 entries");
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(av, -1)), InvalidArgument, "entry 0: n is -1");
  PlanOptions threads;
  threads.threads = -2;
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(av, 4, threads)), InvalidArgument, "options.threads is -2");
  const std::vector<I> rp = {0, 1, 2}, ci = {0, 9};
  const std::vector<T> vals = {1, 2};
  BatchView<T, I> bad;
  bad.push_back(CsrView<T, I>{2, 3, rp.data(), ci.data(), vals.data()});
  SPBMM_EXPECT_THROW_MSG((Plan<T, I>(bad, 4)), FormatError,
                         "CSR entry 0: row 1: column index 9 >= cols 3");
  const Plan<T, I> empty(BatchView<T, I>(), 4);
  EXPECT_EQ(empty.size(), 0u);
  DenseBatch<T> none;
  empty.execute(none.view(), DenseBatchView<const T>());
}

// The W7 shape of problem, smaller: with the default model, the 0.5-density entries run dense
// and the 0.001-density ones sparse.
TYPED_TEST(PlanTest, RaggedW7LikeBatchChoosesPerDensity) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(19);
  std::uniform_int_distribution<std::int64_t> dim(256, 640);
  const double densities[] = {0.001, 0.01, 0.1, 0.5};
  std::vector<CsrMatrix<T, I>> list;
  for (int i = 0; i < 8; ++i) {
    list.push_back(test::random_csr<T, I>(dim(rng), dim(rng), densities[i % 4], rng));
  }
  const auto a = CsrBatch<T, I>::from_list(list);
  const Plan<T, I> plan(BatchView<T, I>(a), 64);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Kernel k = plan.choices()[i].kernel;
    if (i % 4 == 0) {
      EXPECT_EQ(k, Kernel::Sparse) << plan.explain();
    } else if (i % 4 == 3) {
      EXPECT_EQ(k, Kernel::Dense) << plan.explain();
    }
  }
  std::vector<std::int64_t> m, k, n;
  for (const auto& x : list) {
    m.push_back(x.rows());
    k.push_back(x.cols());
    n.push_back(64);
  }
  const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
  DenseBatch<T> want = ops.c;
  reference_loop<T, I>(want.view(), BatchView<T, I>(a), ops.b.view(), T(1), T(0), Op::N, Op::N);
  EXPECT_TRUE(batch_near(plan.execute(ops.b.view()), want, 640));
}

// ---- inputs found by fuzzing (tests/fuzz/regressions/bmm) ----

// A sparse entry run by the dense kernel makes the plan scan B for Inf and NaN. An empty B with
// rows but no columns may have a null data pointer, which the scan offset row by row (undefined
// behaviour, reported by UBSan). The product is an empty 2 x 0 C.
TYPED_TEST(PlanTest, FuzzEmptyBWithNullDataForACrossingEntry) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const CsrMatrix<T, I> a(2, 3, {0, 1, 2}, {0, 2}, {T(1), T(2)});
  BatchView<T, I> av;
  av.push_back(a.view());
  PlanOptions po;
  po.policy.force = Kernel::Dense;
  const Plan<T, I> plan(av, 0, po);
  const DenseView<const T> b(nullptr, 3, 0);
  const DenseBatch<T> c = plan.execute(DenseBatchView<const T>::single(b));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.rows(0), 2);
  EXPECT_EQ(c.cols(0), 0);
  DenseBatch<T> into = DenseBatch<T>::uniform(1, 2, 0);
  plan.execute(into.view(), DenseBatchView<const T>::single(b), T(1), T(1));
}

// A plan prices every entry with the whole batch's bytes: the same half-dense entries run dense
// while the batch fits the model's cache and sparse once it does not (the dense kernel reads its
// copy of A once per column panel), with the same results either way.
TEST(PlanChoice, BatchOutgrowingTheCacheMovesHalfDenseEntriesToSparse) {
  using T = float;
  using I = std::int32_t;
  std::mt19937_64 rng(41);
  std::vector<CsrMatrix<T, I>> a;
  for (int i = 0; i < 4; ++i) a.push_back(test::random_csr<T, I>(256, 256, 0.5, rng));
  const CsrBatch<T, I> batch = CsrBatch<T, I>::from_list(a);
  MachineModel m = test::streaming_machine(100);  // the batch's 1.58 MB fit
  PlanOptions po;
  po.machine = &m;
  const Plan<T, I> cached(BatchView<T, I>(batch), 64, po);
  m.cache_mb = 0.5;  // they do not
  const Plan<T, I> streamed(BatchView<T, I>(batch), 64, po);
  const std::vector<std::int64_t> sizes(4, 256), n(4, 64);
  const test::Operands<T> o = test::operands<T>(sizes, sizes, n, Op::N, rng);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(cached.choices()[i].kernel, Kernel::Dense) << cached.explain();
    EXPECT_EQ(streamed.choices()[i].kernel, Kernel::Sparse) << streamed.explain();
  }
  EXPECT_EQ(cached.explain().find("from memory"), std::string::npos);
  EXPECT_NE(streamed.explain().find("from memory at each call (the batch's operands, 1.5"),
            std::string::npos)
      << streamed.explain();
  EXPECT_TRUE(batch_near(cached.execute(o.b.view()), streamed.execute(o.b.view()), 256));
}

}  // namespace
}  // namespace spbmm
