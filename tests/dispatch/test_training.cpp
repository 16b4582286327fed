// Tests of plans in training: values that change between executes, both ops in one plan, batch
// sums, lifetimes, single-matrix products and a GNN forward and backward pass.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cpu/xsmm.hpp"
#include "plan_util.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/concat.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::batch_near;
using test::Mixed;
using test::operands;
using test::Operands;
using test::reference_loop;

// A plan keeps views of A, so it cannot be made from a temporary batch (a compile-time check:
// this file does not build if the deleted constructors go).
static_assert(!std::is_constructible_v<Plan<float, int>, CsrBatch<float, int>&&, std::int64_t>);
static_assert(!std::is_constructible_v<Plan<float, int>, CooBatch<float, int>&&, std::int64_t>);
static_assert(!std::is_constructible_v<Plan<float, int>, DenseBatch<float>&&, std::int64_t>);
static_assert(!std::is_constructible_v<Plan<double, std::int64_t>, CsrBatch<double, std::int64_t>,
                                       const std::vector<std::int64_t>&>);
static_assert(std::is_constructible_v<Plan<float, int>, const CsrBatch<float, int>&, std::int64_t>);
static_assert(std::is_constructible_v<Plan<float, int>, CsrBatch<float, int>&, std::int64_t>);
static_assert(std::is_constructible_v<Plan<float, int>, const BatchView<float, int>&, std::int64_t,
                                      const PlanOptions&>);

// New values for every entry of a mixed batch, keeping each sparse pattern; a dense entry keeps
// its zeros zero (its nonzero pattern is what a CSR form of it holds).
template <class T, class I>
void change_values(Mixed<T, I>& a, std::mt19937_64& rng) {
  for (auto& m : a.csr) {
    for (T& v : m.values()) v = test::random_value<T>(rng);
  }
  for (auto& m : a.coo) {
    for (T& v : m.values()) v = test::random_value<T>(rng);
  }
  for (auto& m : a.dense) {
    for (T& v : m.values()) v = v == T(0) ? T(0) : test::random_value<T>(rng) + T(3);
  }
}

template <class P>
class TrainingTest : public ::testing::Test {};
TYPED_TEST_SUITE(TrainingTest, AllPairs);

// Every kernel, forced or chosen, with either op: after A's values change in place, the next
// execute uses the new values, and so does the one after a second change.
TYPED_TEST(TrainingTest, ExecuteFollowsChangedValuesForEveryKernelAndOp) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::int64_t> dim(1, 30);
  for (Op oa : {Op::N, Op::T}) {
    std::vector<std::int64_t> m, k, n;
    std::vector<std::pair<std::int64_t, std::int64_t>> stored;
    for (int e = 0; e < 9; ++e) {
      m.push_back(dim(rng));
      k.push_back(dim(rng));
      n.push_back(dim(rng));
      stored.emplace_back(oa == Op::N ? m.back() : k.back(), oa == Op::N ? k.back() : m.back());
    }
    for (Kernel kernel :
         {Kernel::Auto, Kernel::Reference, Kernel::Sparse, Kernel::Dense, Kernel::Eigen}) {
      SCOPED_TRACE(::testing::Message()
                   << "op_a=" << to_string(oa) << " kernel=" << to_string(kernel));
      Mixed<T, I> a(stored, rng);
      const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
      PlanOptions po;
      po.op_a = oa;
      po.policy.force = kernel;
      const Plan<T, I> plan(a.view, n, po);
      for (int round = 0; round < 3; ++round) {
        if (round > 0) change_values(a, rng);
        DenseBatch<T> want = ops.c;
        reference_loop<T, I>(want.view(), a.view, ops.b.view(), T(1.5), T(-1), oa, Op::N);
        DenseBatch<T> got = ops.c;
        plan.execute(got.view(), ops.b.view(), T(1.5), T(-1));
        EXPECT_TRUE(batch_near(got, want, 30)) << "round " << round;
      }
    }
  }
}

// A dense entry that runs on a sparse kernel holds the CSR of its nonzeros: when a zero becomes
// nonzero (or back), the result still follows A, and again once the pattern returns.
TYPED_TEST(TrainingTest, DenseEntryOnSparseKernelFollowsANewPattern) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Op oa : {Op::N, Op::T}) {
    DenseMatrix<T> d(6, 5);
    d(0, 1) = T(2);
    d(3, 4) = T(-1);
    d(5, 0) = T(0.5);
    BatchView<T, I> view;
    view.push_back(DenseView<const T>(d.view()));
    PlanOptions po;
    po.op_a = oa;
    po.policy.force = Kernel::Sparse;
    const Plan<T, I> plan(view, 3, po);
    const std::int64_t inner = oa == Op::N ? 5 : 6;
    const std::int64_t outer = oa == Op::N ? 6 : 5;
    DenseBatch<T> b({inner}, {3});
    for (std::size_t i = 0; i < b.values().size(); ++i) b.values()[i] = T(1) + T(i % 7);
    const auto check = [&](const char* what) {
      DenseBatch<T> want({outer}, {3});
      reference_loop<T, I>(want.view(), view, b.view(), T(1), T(0), oa, Op::N);
      const DenseBatch<T> got = plan.execute(b.view());
      EXPECT_TRUE(batch_near(got, want, 6)) << what << ", op_a " << to_string(oa);
    };
    check("as planned");
    d(2, 2) = T(7);  // a new nonzero
    check("a zero became nonzero");
    d(0, 1) = T(0);  // and one gone
    check("a nonzero became zero too");
    d(2, 2) = T(0);
    d(0, 1) = T(4);  // the planned pattern, new values
    check("pattern back, new values");
  }
}

// Declared constant, a plan keeps the values it converted at plan time (the documented opt-in).
TYPED_TEST(TrainingTest, ConstantValuesKeepPlanTimeValuesOfConvertedEntries) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(8);
  CsrMatrix<T, I> s = test::random_csr<T, I>(20, 12, 0.3, rng);
  const CsrMatrix<T, I> before = s;
  BatchView<T, I> view;
  view.push_back(s.view());
  PlanOptions po;
  po.op_a = Op::T;  // a transpose: a derived form
  po.policy.force = Kernel::Sparse;
  po.constant_values = true;
  const Plan<T, I> plan(view, 4, po);
  for (T& v : s.values()) v *= T(2);
  DenseBatch<T> b({20}, {4});
  for (T& v : b.values()) v = test::random_value<T>(rng);
  BatchView<T, I> old_view;
  old_view.push_back(before.view());
  DenseBatch<T> want({12}, {4});
  reference_loop<T, I>(want.view(), old_view, b.view(), T(1), T(0), Op::T, Op::N);
  EXPECT_TRUE(batch_near(plan.execute(b.view()), want, 20));
}

// One plan serves op(A) = A and A^T, prepared together or on first use, with the same results
// as a plan made for each op.
TYPED_TEST(TrainingTest, OnePlanRunsBothOps) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(11);
  std::vector<std::pair<std::int64_t, std::int64_t>> stored{{30, 20}, {12, 40}, {25, 25},
                                                            {9, 17},  {33, 8},  {16, 16}};
  Mixed<T, I> a(stored, rng);
  for (bool both : {false, true}) {
    PlanOptions po;
    po.both_ops = both;
    const Plan<T, I> plan(a.view, 16, po);
    EXPECT_EQ(plan.explain().find("op(A) = T") != std::string::npos, both);
    for (Op oa : {Op::N, Op::T, Op::N}) {
      std::vector<std::int64_t> m, k, n(6, 16);
      for (const auto& [r, c] : stored) {
        m.push_back(oa == Op::N ? r : c);
        k.push_back(oa == Op::N ? c : r);
      }
      const Operands<T> ops = operands<T>(m, k, n, Op::N, rng);
      DenseBatch<T> want = ops.c;
      reference_loop<T, I>(want.view(), a.view, ops.b.view(), T(1), T(0.5), oa, Op::N);
      DenseBatch<T> got = ops.c;
      plan.execute(got.view(), ops.b.view(), T(1), T(0.5), oa);
      EXPECT_TRUE(batch_near(got, want, 40)) << to_string(oa) << " both_ops " << both;
      EXPECT_EQ(plan.stats(oa)[1].rows, m[1]);
      change_values(a, rng);
    }
    EXPECT_NE(plan.explain().find("op(A) = T"), std::string::npos);
    EXPECT_NE(plan.explain().find("op(A) = N"), std::string::npos);
  }
  const Plan<T, I> plan(a.view, 16);
  EXPECT_THROW(plan.execute(DenseBatch<T>().view(), static_cast<Op>(7)), InvalidArgument);
}

// A plan is made to be reused: conversions are priced over many calls; bmm() prices one.
TEST(Training, PlansExpectManyCalls) {
  EXPECT_EQ(Policy{}.expected_calls, Policy::kManyCalls);
  EXPECT_EQ(PlanOptions{}.policy.expected_calls, Policy::kManyCalls);
  EXPECT_GT(Policy::kManyCalls, 1);
  // A half-dense 300x300 entry at n = 128: its dense copy pays over a plan's many calls.
  std::mt19937_64 rng(2);
  const CsrMatrix<float, int> s = test::random_csr<float, int>(300, 300, 0.5, rng);
  BatchView<float, int> view;
  view.push_back(s.view());
  const Plan<float, int> plan(view, 128);
  EXPECT_NE(plan.choices()[0].reason.find("over 100 expected calls"), std::string::npos)
      << plan.choices()[0].reason;
}

// The batch sum of H_i^T G_i (a weight gradient) against the reference, bit-identical at one
// and two threads, through a plan and through bmm_sum_into.
TYPED_TEST(TrainingTest, BatchSumIsExactAndIndependentOfThreads) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(21);
  const std::int64_t f_in = 24;
  const std::int64_t f_out = 70;
  std::vector<std::pair<std::int64_t, std::int64_t>> stored;
  std::vector<std::int64_t> nodes;
  for (int i = 0; i < 7; ++i) {
    nodes.push_back(5 + 9 * i);
    stored.emplace_back(nodes.back(), f_in);
  }
  const Mixed<T, I> h(stored, rng);
  DenseBatch<T> g(nodes, std::vector<std::int64_t>(nodes.size(), f_out));
  for (T& v : g.values()) v = test::random_value<T>(rng);
  DenseMatrix<T> want(f_in, f_out);
  for (T& v : want.values()) v = test::random_value<T>(rng);
  const DenseMatrix<T> c0 = want;
  for (std::size_t i = 0; i < h.view.size(); ++i) {
    BatchView<T, I> one;
    one.push_back(h.view[i]);
    DenseBatchView<T> ci = DenseBatchView<T>::single(want.view());
    reference_loop<T, I>(ci, one, DenseBatchView<const T>::single(g.entry(i)), T(2),
                         i == 0 ? T(0.5) : T(1), Op::T, Op::N);
  }
  std::vector<DenseMatrix<T>> got;
  for (int threads : {1, 2}) {
    for (Kernel kernel : {Kernel::Auto, Kernel::Sparse, Kernel::Dense, Kernel::Reference}) {
      PlanOptions po;
      po.op_a = Op::T;
      po.threads = threads;
      po.policy.force = kernel;
      const Plan<T, I> plan(h.view, f_out, po);
      DenseMatrix<T> c = c0;
      plan.execute_sum(c.view(), g.view(), T(2), T(0.5));
      EXPECT_TRUE(test::dense_near(c.view(), want.view(), test::tolerance<T>(200)))
          << to_string(kernel);
      if (kernel == Kernel::Auto) got.push_back(std::move(c));
    }
  }
  EXPECT_EQ(got[0].values(), got[1].values());
  for (int threads : {1, 2}) {
    DenseMatrix<T> c = c0;
    Options o;
    o.op_a = Op::T;
    o.threads = threads;
    bmm_sum_into(c.view(), h.view, g.view(), 2.0, 0.5, o);
    EXPECT_TRUE(test::dense_near(c.view(), want.view(), test::tolerance<T>(200)));
  }
  // Shapes that do not agree, and C inside B.
  DenseMatrix<T> wrong(f_in, f_out + 1);
  Options o;
  o.op_a = Op::T;
  try {
    bmm_sum_into(wrong.view(), h.view, g.view(), 1.0, 0.0, o);
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("batch sum: entry 0: op(A) * op(B) is 24x70 but C is "
                                         "24x71"),
              std::string::npos)
        << e.what();
  }
  DenseView<T> inside(g.values().data(), f_in, f_out);
  EXPECT_THROW(bmm_sum_into(inside, h.view, g.view(), 1.0, 0.0, o), InvalidArgument);
}

// A layer over a concatenated feature matrix split per graph (split_rows): the weight gradient
// sum_i X_i^T G_i, whose entries are row blocks of one buffer and run as one long product, and X W
// with W shared. Checked against the per-entry reference, against the same batch copied into
// separate buffers (which runs entry by entry), and bit for bit at one and two threads.
TYPED_TEST(TrainingTest, RowBlocksOfOneMatrixRunAsOneProduct) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(23);
  const std::int64_t f_in = 40;
  const std::int64_t f_out = 67;  // three column blocks of the sum, the last one partial
  const std::vector<std::int64_t> ptr = {0, 13, 13, 60, 61, 150, 190};  // one graph is empty
  const std::int64_t nodes = ptr.back();
  DenseMatrix<T> x(nodes, f_in), g(nodes, f_out), w(f_in, f_out);
  for (DenseMatrix<T>* m : {&x, &g, &w}) {
    for (T& v : m->values()) v = test::random_value<T>(rng);
  }
  const DenseBatchView<const T> xs = split_rows(DenseView<const T>(x.view()), ptr);
  const DenseBatchView<const T> gs = split_rows(DenseView<const T>(g.view()), ptr);
  BatchView<T, I> a;
  for (const auto& e : xs.entries()) a.push_back(e);
  // The same entries in separate buffers.
  std::vector<DenseMatrix<T>> copies;
  BatchView<T, I> a_apart;
  std::vector<DenseView<const T>> g_apart;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    copies.emplace_back(xs[i].rows, f_in);
    for (std::int64_t r = 0; r < xs[i].rows; ++r) {
      for (std::int64_t j = 0; j < f_in; ++j) copies.back()(r, j) = xs[i](r, j);
    }
  }
  for (const auto& m : copies) a_apart.push_back(m.view());
  for (std::size_t i = 0; i < gs.size(); ++i) g_apart.push_back(gs[i]);

  // The weight gradient, with alpha and beta.
  DenseMatrix<T> c0(f_in, f_out);
  for (T& v : c0.values()) v = test::random_value<T>(rng);
  DenseMatrix<T> want = c0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    BatchView<T, I> one;
    one.push_back(xs[i]);
    reference_loop<T, I>(DenseBatchView<T>::single(want.view()), one,
                         DenseBatchView<const T>::single(gs[i]), T(2), i == 0 ? T(0.5) : T(1),
                         Op::T, Op::N);
  }
  std::vector<DenseMatrix<T>> sums;
  for (int threads : {1, 2}) {
    for (const BatchView<T, I>* batch : {&a, &a_apart}) {
      PlanOptions po;
      po.op_a = Op::T;
      po.threads = threads;
      const Plan<T, I> plan(*batch, f_out, po);
      DenseMatrix<T> c = c0;
      plan.execute_sum(c.view(), batch == &a ? gs : DenseBatchView<const T>(std::vector(g_apart)),
                       T(2), T(0.5));
      EXPECT_TRUE(test::dense_near(c.view(), want.view(), test::tolerance<T>(400)))
          << threads << " threads, " << (batch == &a ? "row blocks" : "apart");
      if (batch == &a) sums.push_back(std::move(c));
    }
  }
  EXPECT_EQ(sums[0].values(), sums[1].values());

  // X W with W shared, into row blocks of one output and into separate outputs.
  DenseMatrix<T> y(nodes, f_out);
  for (T& v : y.values()) v = test::random_value<T>(rng);
  DenseMatrix<T> y_want = y;
  const DenseBatchView<T> ys = split_rows(y.view(), ptr);
  const DenseBatchView<T> ys_want = split_rows(y_want.view(), ptr);
  reference_loop<T, I>(ys_want, a, DenseBatchView<const T>::single(w.view()), T(1.5), T(-1), Op::N,
                       Op::N);
  for (int threads : {1, 2}) {
    DenseMatrix<T> yt = y;
    Options o;
    o.threads = threads;
    bmm_into<T, I>(split_rows(yt.view(), ptr), a, DenseBatchView<const T>::single(w.view()), 1.5,
                   -1, o);
    EXPECT_TRUE(test::dense_near(yt.view(), y_want.view(), test::tolerance<T>(100))) << threads;
  }
  // W^T read transposed (op_b = T) over the same row blocks.
  DenseMatrix<T> wt(f_out, f_in);
  for (std::int64_t r = 0; r < f_in; ++r) {
    for (std::int64_t j = 0; j < f_out; ++j) wt(j, r) = w(r, j);
  }
  DenseMatrix<T> yt(nodes, f_out);
  Options o;
  o.op_b = Op::T;
  bmm_into<T, I>(split_rows(yt.view(), ptr), a, DenseBatchView<const T>::single(wt.view()), 1.5, 0,
                 o);
  DenseMatrix<T> y0(nodes, f_out);
  reference_loop<T, I>(split_rows(y0.view(), ptr), a, DenseBatchView<const T>::single(w.view()),
                       T(1.5), T(0), Op::N, Op::N);
  EXPECT_TRUE(test::dense_near(yt.view(), y0.view(), test::tolerance<T>(100)));
}

// One matrix of any format; float data with double literals and views of your own buffers
// without template arguments.
TEST(Training, SingleMatrixProductsAndDeducedCalls) {
  std::mt19937_64 rng(4);
  const CsrMatrix<float, int> a = test::random_csr<float, int>(9, 7, 0.4, rng);
  const DenseMatrix<float> b = test::random_dense<float>(7, 5, rng);
  const DenseMatrix<float> c = multiply(a, b);
  DenseMatrix<float> want(9, 5);
  kernels::reference::csr_dense<float, int>(Op::N, Op::N, 1.f, a.view(), b.view(), 0.f,
                                            want.view());
  EXPECT_TRUE(test::dense_near(c.view(), want.view(), test::tolerance<float>(7)));
  const CooMatrix<float, int> coo = test::random_coo<float, int>(9, 7, 20, 3, rng);
  EXPECT_EQ(multiply(coo, b).rows(), 9);
  const DenseMatrix<float> d = test::random_dense<float>(9, 7, rng);
  EXPECT_EQ(multiply(d, b).cols(), 5);
  DenseMatrix<float> out = want;
  multiply_into(out.view(), a.view(), b.view(), 2.0, -1.0);  // double literals, float data
  EXPECT_TRUE(test::dense_near(out.view(), want.view(), test::tolerance<float>(7)));
  // Wrapped buffers: no explicit template arguments.
  const CsrBatch<float, int> batch = CsrBatch<float, int>::from_list({a, a});
  std::vector<float> bb(2 * 7 * 5, 1.f), cc(2 * 9 * 5, 0.f);
  const DenseBatchView<float> bv = DenseBatchView<float>::uniform(bb.data(), 2, 7, 5);
  const DenseBatchView<float> cv = DenseBatchView<float>::uniform(cc.data(), 2, 9, 5);
  bmm_into(cv, batch, bv, 1.0, 0.0);
  bmm_into(cv, BatchView<float, int>(batch), bv, 1.0, 1.0);
  float row0 = 0.f;
  for (int k = a.row_ptr()[0]; k < a.row_ptr()[1]; ++k) row0 += a.values()[k];
  EXPECT_FLOAT_EQ(cc[0], 2.f * row0);
  EXPECT_FLOAT_EQ(cc[9 * 5], 2.f * row0);
  EXPECT_THROW(multiply(a, DenseMatrix<float>(6, 5)), ShapeError);
}

// A 3-layer GNN over a ragged batch, forward H_{l+1} = A H_l W_l and backward dH_l =
// A^T dH_{l+1} W_l^T on one plan per batch, against plain loops; A's values change every step.
TEST(Training, GnnForwardAndBackwardWithChangingValues) {
  using T = double;
  using I = std::int32_t;
  std::mt19937_64 rng(17);
  std::vector<std::pair<std::int64_t, std::int64_t>> stored;
  for (int i = 0; i < 6; ++i) stored.emplace_back(10 + 7 * i, 10 + 7 * i);
  Mixed<T, I> a(stored, rng);
  PlanOptions po;
  po.both_ops = true;
  const Plan<T, I> plan(a.view, 8, po);
  for (int step = 0; step < 3; ++step) {
    change_values(a, rng);
    std::vector<std::int64_t> nodes;
    for (const auto& s : stored) nodes.push_back(s.first);
    DenseBatch<T> h(nodes, std::vector<std::int64_t>(nodes.size(), 8));
    for (T& v : h.values()) v = test::random_value<T>(rng);
    for (int layer = 0; layer < 3; ++layer) {
      DenseBatch<T> want = h;
      reference_loop<T, I>(want.view(), a.view, h.view(), T(1), T(0), Op::N, Op::N);
      const DenseBatch<T> y = plan.execute(h.view());
      EXPECT_TRUE(batch_near(y, want, 40)) << "forward, step " << step << " layer " << layer;
      DenseBatch<T> back = h;
      reference_loop<T, I>(back.view(), a.view, y.view(), T(1), T(0), Op::T, Op::N);
      const DenseBatch<T> dx = plan.execute(y.view(), Op::T);
      EXPECT_TRUE(batch_near(dx, back, 40)) << "backward, step " << step << " layer " << layer;
      h = y;
    }
  }
}

// The gradient of loss = sum(R .* (A X)) with respect to X is A^T R: the plan's transposed
// product against central finite differences in double.
TEST(Training, GradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(31);
  const CsrMatrix<double, int> a = test::random_csr<double, int>(12, 9, 0.3, rng);
  BatchView<double, int> view;
  view.push_back(a.view());
  const Plan<double, int> plan(view, 3);
  DenseBatch<double> x({9}, {3});
  DenseBatch<double> r({12}, {3});
  for (double& v : x.values()) v = test::random_value<double>(rng);
  for (double& v : r.values()) v = test::random_value<double>(rng);
  const auto loss = [&] {
    const DenseBatch<double> y = plan.execute(x.view());
    double s = 0;
    for (std::size_t i = 0; i < y.values().size(); ++i) s += y.values()[i] * r.values()[i];
    return s;
  };
  const DenseBatch<double> grad = plan.execute(r.view(), Op::T);
  const double h = 1e-6;
  for (std::int64_t i = 0; i < 9; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      double& xij = x.values()[static_cast<std::size_t>(i * 3 + j)];
      const double keep = xij;
      xij = keep + h;
      const double up = loss();
      xij = keep - h;
      const double down = loss();
      xij = keep;
      EXPECT_NEAR(grad.entry(0)(i, j), (up - down) / (2 * h), 1e-7) << i << "," << j;
    }
  }
}

// The input gradient dX_i = G_i W^T with W shared (op_b = T) on a plan: kernels are generated
// (when built with LIBXSMM) for a batch whose entries share the inner dimension and width, and
// not for one whose entries differ (no B could be shared); results against the reference.
TYPED_TEST(TrainingTest, SharedTransposedWeightOnGeneratedKernels) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(47);
  const std::int64_t f_in = 40, f_out = 24;
  const std::vector<std::int64_t> ptr = {0, 300, 301, 700, 1200};
  DenseMatrix<T> g(ptr.back(), f_out), w(f_in, f_out), dx(ptr.back(), f_in);
  for (DenseMatrix<T>* m : {&g, &w}) {
    for (T& v : m->values()) v = test::random_value<T>(rng);
  }
  const DenseBatchView<const T> gs = split_rows(DenseView<const T>(g.view()), ptr);
  BatchView<T, I> a;
  for (const auto& e : gs.entries()) a.push_back(e);
  PlanOptions po;
  po.op_b = Op::T;
  po.threads = 2;
  const Plan<T, I> plan(a, f_in, po);
  const bool made = plan.explain().find("kernels generated") != std::string::npos;
  EXPECT_EQ(made, kernels::cpu::small_gemm_built());
  const auto w_one = DenseBatchView<const T>::single(w.view());
  plan.execute(split_rows(dx.view(), ptr), w_one);
  DenseMatrix<T> want(ptr.back(), f_in);
  reference_loop<T, I>(split_rows(want.view(), ptr), a, w_one, T(1), T(0), Op::N, Op::T);
  EXPECT_TRUE(test::dense_near(dx.view(), want.view(), test::tolerance<T>(f_out)));

  // Entries of different inner dimensions: no kernels.
  DenseMatrix<T> g2(10, f_out + 3);
  BatchView<T, I> ragged = a;
  ragged.push_back(g2.view());
  const Plan<T, I> plan2(ragged, f_in, po);
  EXPECT_EQ(plan2.explain().find("kernels generated"), std::string::npos);
}

}  // namespace
}  // namespace spbmm
