// Tests of bmm, bmm_into and result_shapes: broadcasting, ragged mixed batches, buffers, errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <variant>
#include <vector>

#include "dispatch/engine.hpp"
#include "kernels/kernels.hpp"
#include "models.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/error.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::AllPairs;
using test::dense_near;
using test::tolerance;

constexpr double kSentinel = 12345.0;

// A dense matrix in a buffer with a leading dimension `pad` beyond the tight one.
template <class T>
struct Padded {
  std::vector<T> storage;
  DenseView<T> view;

  Padded(std::int64_t rows, std::int64_t cols, Layout layout, std::int64_t pad, T fill) {
    const std::int64_t ld = DenseView<T>::natural_ld(rows, cols, layout) + pad;
    const std::int64_t outer = layout == Layout::RowMajor ? rows : cols;
    storage.assign(static_cast<std::size_t>(std::max<std::int64_t>(1, outer * ld)), fill);
    view = DenseView<T>(storage.data(), rows, cols, layout, ld);
  }
  // Copies point their view at their own storage.
  Padded(const Padded& o) : storage(o.storage), view(o.view) { view.data = storage.data(); }
  Padded& operator=(const Padded& o) {
    storage = o.storage;
    view = o.view;
    view.data = storage.data();
    return *this;
  }
  Padded(Padded&&) noexcept = default;
  Padded& operator=(Padded&&) noexcept = default;
  DenseView<const T> cview() const { return view; }
};

template <class T>
DenseMatrix<T> from_rows(std::int64_t rows, std::int64_t cols, const std::vector<double>& v) {
  DenseMatrix<T> m(rows, cols);
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t j = 0; j < cols; ++j) m(i, j) = static_cast<T>(v[i * cols + j]);
  }
  return m;
}

template <class T, class A>
bool all_equal(const std::vector<T, A>& v, double x) {
  for (const T& e : v) {
    if (e != static_cast<T>(x)) return false;
  }
  return true;
}

template <class T, class A>
void fill(std::vector<T, A>& v, double x) {
  for (T& e : v) e = static_cast<T>(x);
}

// The batched semantics spelled out: one reference-kernel call per entry, with broadcasting.
template <class T, class I>
void loop_reference(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                    const DenseBatchView<const T>& b, T alpha, T beta, Op oa, Op ob) {
  namespace ref = kernels::reference;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const auto& ai = a[a.size() == 1 ? 0 : i];
    const auto& bi = b[b.size() == 1 ? 0 : i];
    if (const auto* d = std::get_if<DenseView<const T>>(&ai)) {
      ref::dense_dense<T>(oa, ob, alpha, *d, bi, beta, c[i]);
    } else if (const auto* s = std::get_if<CsrView<T, I>>(&ai)) {
      ref::csr_dense<T, I>(oa, ob, alpha, *s, bi, beta, c[i]);
    } else {
      ref::coo_dense<T, I>(oa, ob, alpha, std::get<CooView<T, I>>(ai), bi, beta, c[i]);
    }
  }
}

// A ragged batch of A operands in all three formats, owned here.
template <class T, class I>
struct MixedBatch {
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<DenseMatrix<T>> dense;
  std::vector<std::pair<Format, std::size_t>> order;

  void add(Format f, std::int64_t rows, std::int64_t cols, std::mt19937_64& rng) {
    switch (f) {
      case Format::Csr:
        order.emplace_back(f, csr.size());
        csr.push_back(test::random_csr<T, I>(rows, cols, 0.3, rng));
        break;
      case Format::Coo:
        order.emplace_back(f, coo.size());
        coo.push_back(test::random_coo<T, I>(rows, cols, rows * cols / 3, 2, rng));
        break;
      case Format::Dense:
        order.emplace_back(f, dense.size());
        dense.push_back(test::random_dense<T>(rows, cols, rng, Layout::ColMajor));
        break;
    }
  }
  BatchView<T, I> view() const {
    BatchView<T, I> v;
    for (const auto& [f, k] : order) {
      if (f == Format::Csr) v.push_back(csr[k].view());
      if (f == Format::Coo) v.push_back(coo[k].view());
      if (f == Format::Dense) v.push_back(DenseView<const T>(dense[k].view()));
    }
    return v;
  }
};

// Owned dense operands with padded leading dimensions and alternating layouts.
template <class T>
struct PaddedBatch {
  std::vector<Padded<T>> items;

  void add(std::int64_t rows, std::int64_t cols, std::mt19937_64& rng) {
    const Layout l = items.size() % 2 == 0 ? Layout::ColMajor : Layout::RowMajor;
    items.emplace_back(rows, cols, l, static_cast<std::int64_t>(items.size() % 3), T(kSentinel));
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::int64_t j = 0; j < cols; ++j) items.back().view(i, j) = test::random_value<T>(rng);
    }
  }
  DenseBatchView<T> view() {
    std::vector<DenseView<T>> v;
    for (auto& p : items) v.push_back(p.view);
    return DenseBatchView<T>(v);
  }
  DenseBatchView<const T> cview() const {
    std::vector<DenseView<const T>> v;
    for (const auto& p : items) v.push_back(p.cview());
    return DenseBatchView<const T>(v);
  }
};

template <class P>
class Bmm : public ::testing::Test {};
TYPED_TEST_SUITE(Bmm, AllPairs);

// A = [[1,0,2],[0,3,0]] (the hand-checked CSR entry used below).
template <class T, class I>
CsrMatrix<T, I> hand_csr() {
  return CsrMatrix<T, I>(2, 3, {0, 2, 3}, {0, 2, 1}, {1, 2, 3});
}

TYPED_TEST(Bmm, BatchViewWrapsContainersWithoutCopying) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(1);
  const auto csr = CsrBatch<T, I>::from_list(
      {test::random_csr<T, I>(3, 4, 0.5, rng), test::random_csr<T, I>(2, 5, 0.5, rng)});
  const BatchView<T, I> vc(csr);
  ASSERT_EQ(vc.size(), 2u);
  ASSERT_TRUE((std::holds_alternative<CsrView<T, I>>(vc[1])));
  EXPECT_EQ((std::get<CsrView<T, I>>(vc[1]).values), csr.entry(1).values);
  EXPECT_EQ((std::get<CsrView<T, I>>(vc[1]).cols), 5);

  const auto coo = CooBatch<T, I>::from_list({test::random_coo<T, I>(3, 4, 5, 1, rng)});
  const BatchView<T, I> vo(coo);
  ASSERT_EQ(vo.size(), 1u);
  ASSERT_TRUE((std::holds_alternative<CooView<T, I>>(vo[0])));
  EXPECT_EQ((std::get<CooView<T, I>>(vo[0]).nnz), coo.nnz(0));

  const auto dense = DenseBatch<T>::uniform(3, 2, 2);
  const BatchView<T, I> vd(dense);
  ASSERT_EQ(vd.size(), 3u);
  EXPECT_EQ(std::get<DenseView<const T>>(vd[2]).data, dense.entry(2).data);

  const BatchView<T, I> vv(dense.view());
  ASSERT_EQ(vv.size(), 3u);
  EXPECT_EQ(std::get<DenseView<const T>>(vv[0]).data, dense.values().data());
  EXPECT_TRUE((BatchView<T, I>().empty()));
}

TYPED_TEST(Bmm, ResultShapesBroadcastAndTranspose) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a1 = CsrBatch<T, I>::from_list({CsrMatrix<T, I>(2, 3)});
  const auto a3 = CsrBatch<T, I>::from_list(
      {CsrMatrix<T, I>(2, 3), CsrMatrix<T, I>(4, 3), CsrMatrix<T, I>(1, 3)});
  const DenseBatch<T> b1({3}, {5});
  const DenseBatch<T> b3({3, 3, 3}, {1, 2, 3});
  const auto shapes = [](const auto& s) {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const Shape& x : s) out.emplace_back(x.rows, x.cols);
    return out;
  };
  using V = std::vector<std::pair<std::int64_t, std::int64_t>>;
  EXPECT_EQ(shapes(result_shapes<T, I>(a3, b3.view())), (V{{2, 1}, {4, 2}, {1, 3}}));
  EXPECT_EQ(shapes(result_shapes<T, I>(a1, b3.view())), (V{{2, 1}, {2, 2}, {2, 3}}));
  EXPECT_EQ(shapes(result_shapes<T, I>(a3, b1.view())), (V{{2, 5}, {4, 5}, {1, 5}}));
  // op(B) = B^T is 5x3 for B 3x5; op(A) = A^T is 3x2 for A 2x3.
  const DenseBatch<T> b_t({5}, {3});
  Options o;
  o.op_b = Op::T;
  EXPECT_EQ(shapes(result_shapes<T, I>(a1, b_t.view(), o)), (V{{2, 5}}));
  o.op_a = Op::T;
  const DenseBatch<T> b_tt({4}, {2});
  EXPECT_EQ(shapes(result_shapes<T, I>(a1, b_tt.view(), o)), (V{{3, 4}}));
  // An empty batch against an empty or single partner yields nothing.
  const BatchView<T, I> none;
  const DenseBatchView<const T> no_b;
  EXPECT_TRUE((result_shapes<T, I>(none, no_b).empty()));
  EXPECT_TRUE((result_shapes<T, I>(none, b1.view()).empty()));
  EXPECT_TRUE((result_shapes<T, I>(a1, no_b).empty()));
}

TYPED_TEST(Bmm, ResultShapesErrors) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a3 = CsrBatch<T, I>::from_list(
      {CsrMatrix<T, I>(2, 3), CsrMatrix<T, I>(2, 3), CsrMatrix<T, I>(2, 3)});
  const DenseBatch<T> b2({3, 3}, {1, 1});
  SPBMM_EXPECT_THROW_MSG((result_shapes<T, I>(a3, b2.view())), ShapeError,
                         "batch sizes do not broadcast: A has 3 entries, B has 2");
  const BatchView<T, I> none;
  SPBMM_EXPECT_THROW_MSG((result_shapes<T, I>(none, b2.view())), ShapeError,
                         "A has 0 entries, B has 2");
  const DenseBatch<T> bad({3, 4, 3}, {2, 2, 2});
  SPBMM_EXPECT_THROW_MSG((result_shapes<T, I>(a3, bad.view())), ShapeError,
                         "entry 1: op(A) is 2x3 but op(B) is 4x2 (inner dimensions 3 != 4)");
  Options o;
  o.op_a = Op::T;
  const DenseBatch<T> b3({3, 3, 3}, {2, 2, 2});
  SPBMM_EXPECT_THROW_MSG((result_shapes<T, I>(a3, b3.view(), o)), ShapeError,
                         "entry 0: op(A) is 3x2 but op(B) is 3x2 (inner dimensions 2 != 3)");
}

// Three entries of different formats and shapes, each worked out by hand.
TYPED_TEST(Bmm, HandCheckedRaggedMixedBatch) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto csr = hand_csr<T, I>();
  // [[0,1],[1,0]] with the (0,1) entry split into two duplicates 0.5 + 0.5, unsorted.
  const CooMatrix<T, I> coo(2, 2, {1, 0, 0}, {0, 1, 1}, {1, 0.5, 0.5});
  const auto dense = from_rows<T>(1, 1, {2});
  BatchView<T, I> a;
  a.push_back(csr.view());
  a.push_back(coo.view());
  a.push_back(DenseView<const T>(dense.view()));
  const auto b = DenseBatch<T>::from_list({
      from_rows<T>(3, 2, {1, 2, 3, 4, 5, 6}),
      from_rows<T>(2, 3, {1, 2, 3, 4, 5, 6}),
      from_rows<T>(1, 2, {3, -1}),
  });
  const DenseBatch<T> c = bmm<T, I>(a, b.view());
  ASSERT_EQ(c.size(), 3u);
  // [[1,0,2],[0,3,0]] * [[1,2],[3,4],[5,6]] = [[1+10, 2+12], [9, 12]]
  EXPECT_TRUE(dense_near(c.entry(0), from_rows<T>(2, 2, {11, 14, 9, 12}).view(), 0.0));
  // The swap matrix exchanges the rows of B.
  EXPECT_TRUE(dense_near(c.entry(1), from_rows<T>(2, 3, {4, 5, 6, 1, 2, 3}).view(), 0.0));
  // 2 * [3, -1]
  EXPECT_TRUE(dense_near(c.entry(2), from_rows<T>(1, 2, {6, -2}).view(), 0.0));

  // alpha scales, the layout follows out_layout.
  Options o;
  o.out_layout = Layout::ColMajor;
  const DenseBatch<T> c2 = bmm<T, I>(a, b.view(), o, T(-2));
  EXPECT_EQ(c2.layout(), Layout::ColMajor);
  EXPECT_TRUE(dense_near(c2.entry(0), from_rows<T>(2, 2, {-22, -28, -18, -24}).view(), 0.0));
  EXPECT_TRUE(dense_near(c2.entry(2), from_rows<T>(1, 2, {-12, 4}).view(), 0.0));
}

// Random ragged batches of every format, odd sizes, both ops, padded mixed layouts: bmm_into
// equals the loop of single-entry reference calls, whatever the thread count or kernel option
// (exactly with the reference kernels, within rounding with the dispatcher's choice).
TYPED_TEST(Bmm, RaggedMixedBatchEqualsLoopOfEntries) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(2024);
  const std::int64_t sizes[] = {0, 1, 3, 17};
  std::uniform_int_distribution<int> pick_size(0, 3), pick_fmt(0, 2);
  for (Op oa : {Op::N, Op::T}) {
    for (Op ob : {Op::N, Op::T}) {
      MixedBatch<T, I> a;
      PaddedBatch<T> b, c, want;
      for (int e = 0; e < 9; ++e) {
        const std::int64_t m = sizes[pick_size(rng)], k = sizes[pick_size(rng)],
                           n = sizes[pick_size(rng)];
        a.add(static_cast<Format>(pick_fmt(rng)), oa == Op::N ? m : k, oa == Op::N ? k : m, rng);
        b.add(ob == Op::N ? k : n, ob == Op::N ? n : k, rng);
        c.add(m, n, rng);
      }
      want = c;
      loop_reference<T, I>(want.view(), a.view(), b.cview(), T(0.75), T(-1.25), oa, ob);
      for (int threads : {0, 1, 3}) {
        for (Kernel kernel : {Kernel::Auto, Kernel::Reference}) {
          SCOPED_TRACE(::testing::Message() << "op_a=" << to_string(oa) << " op_b=" << to_string(ob)
                                            << " threads=" << threads);
          PaddedBatch<T> got = c;
          Options o{oa, ob, Layout::RowMajor, threads, kernel};
          bmm_into<T, I>(got.view(), a.view(), b.cview(), T(0.75), T(-1.25), o);
          for (std::size_t i = 0; i < got.items.size(); ++i) {
            if (kernel == Kernel::Reference) {
              // Same kernels, same order per entry: bit-identical, padding included.
              EXPECT_EQ(got.items[i].storage, want.items[i].storage) << "entry " << i;
            } else {
              // Auto picks optimized kernels, which round differently; the padding stays.
              EXPECT_TRUE(dense_near(got.items[i].view, want.items[i].view, tolerance<T>(17)))
                  << "entry " << i;
              for (std::size_t k = 0; k < got.items[i].storage.size(); ++k) {
                if (want.items[i].storage[k] == T(kSentinel)) {
                  EXPECT_EQ(got.items[i].storage[k], T(kSentinel)) << "entry " << i;
                }
              }
            }
          }
        }
      }
    }
  }
}

TYPED_TEST(Bmm, BroadcastOneAManyBAndManyAOneB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(5);
  // One shared graph, four feature matrices.
  const auto graph = CsrBatch<T, I>::from_list({test::random_csr<T, I>(17, 17, 0.2, rng)});
  std::vector<DenseMatrix<T>> feats;
  for (int i = 0; i < 4; ++i) feats.push_back(test::random_dense<T>(17, 1 + 2 * i, rng));
  const auto b_many = DenseBatch<T>::from_list(feats);
  const DenseBatch<T> c1 = bmm<T, I>(BatchView<T, I>(graph), b_many.view());
  ASSERT_EQ(c1.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    DenseMatrix<T> one(17, feats[i].cols());
    kernels::reference::csr_dense<T, I>(Op::N, Op::N, T(1), graph.entry(0), feats[i].view(), T(0),
                                        one.view());
    EXPECT_TRUE(dense_near(c1.entry(i), one.view(), tolerance<T>(17))) << "entry " << i;
  }
  // Many COO user-item blocks, one embedding table.
  std::vector<CooMatrix<T, I>> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(test::random_coo<T, I>(1 + 4 * i, 9, 10, 3, rng));
  const auto a_many = CooBatch<T, I>::from_list(blocks);
  const auto table = test::random_dense<T>(9, 5, rng);
  const auto b_one = DenseBatchView<const T>::single(table.view());
  const DenseBatch<T> c2 = bmm<T, I>(BatchView<T, I>(a_many), b_one);
  ASSERT_EQ(c2.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    DenseMatrix<T> one(blocks[i].rows(), 5);
    kernels::reference::coo_dense<T, I>(Op::N, Op::N, T(1), blocks[i].view(), table.view(), T(0),
                                        one.view());
    EXPECT_TRUE(dense_near(c2.entry(i), one.view(), tolerance<T>(9))) << "entry " << i;
  }
}

TYPED_TEST(Bmm, EmptyBatchAndEmptyEntries) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // The empty batch, alone and against a single partner.
  const CsrBatch<T, I> none;
  const DenseBatch<T> no_b;
  EXPECT_EQ((bmm<T, I>(none, no_b).size()), 0u);
  const DenseBatch<T> one_b({3}, {2});
  EXPECT_EQ((bmm<T, I>(BatchView<T, I>(none), one_b.view()).size()), 0u);
  DenseBatch<T> no_c;
  bmm_into<T, I>(no_c, none, no_b, T(1), T(0));

  // 0 rows, 0 cols and K = 0 entries next to an ordinary one; K = 0 leaves beta * C.
  const auto a = CsrBatch<T, I>::from_list(
      {CsrMatrix<T, I>(0, 3), CsrMatrix<T, I>(2, 0), CsrMatrix<T, I>(2, 3), hand_csr<T, I>()});
  auto b = DenseBatch<T>::from_list({from_rows<T>(3, 2, {1, 1, 1, 1, 1, 1}), DenseMatrix<T>(0, 2),
                                     DenseMatrix<T>(3, 0), from_rows<T>(3, 1, {1, 1, 1})});
  DenseBatch<T> c({0, 2, 2, 2}, {2, 2, 0, 1});
  fill(c.values(), 4.0);
  bmm_into<T, I>(c, a, b, T(1), T(0.5));
  EXPECT_TRUE(dense_near(c.entry(1), from_rows<T>(2, 2, {2, 2, 2, 2}).view(), 0.0));
  // [[1,0,2],[0,3,0]] * [1,1,1]^T + 0.5 * 4
  EXPECT_TRUE(dense_near(c.entry(3), from_rows<T>(2, 1, {5, 5}).view(), 0.0));
}

TYPED_TEST(Bmm, SingleEntryConveniences) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>()});
  const auto b = DenseBatch<T>::from_list({from_rows<T>(3, 2, {1, 2, 3, 4, 5, 6})});
  const auto want = from_rows<T>(2, 2, {11, 14, 9, 12});
  EXPECT_TRUE(dense_near(bmm(a, b).entry(0), want.view(), 0.0));
  const auto coo =
      CooBatch<T, I>::from_list({CooMatrix<T, I>(2, 3, {1, 0, 0}, {1, 2, 0}, {3, 2, 1})});
  EXPECT_TRUE(dense_near(bmm(coo, b).entry(0), want.view(), 0.0));
  const auto dense = DenseBatch<T>::from_list({from_rows<T>(2, 3, {1, 0, 2, 0, 3, 0})});
  EXPECT_TRUE(dense_near(bmm(dense, b).entry(0), want.view(), 0.0));

  // bmm_into overloads with beta: 2 * C0 + product.
  DenseBatch<T> c = DenseBatch<T>::uniform(1, 2, 2, Layout::ColMajor);
  fill(c.values(), 1.0);
  bmm_into(c, a, b, T(1), T(2));
  EXPECT_TRUE(dense_near(c.entry(0), from_rows<T>(2, 2, {13, 16, 11, 14}).view(), 0.0));
  bmm_into(c, coo, b, T(1), T(0));
  EXPECT_TRUE(dense_near(c.entry(0), want.view(), 0.0));
  bmm_into(c, dense, b, T(-1), T(1));
  EXPECT_TRUE(dense_near(c.entry(0), from_rows<T>(2, 2, {0, 0, 0, 0}).view(), 0.0));
}

TYPED_TEST(Bmm, BetaZeroIgnoresNaNInC) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>(), hand_csr<T, I>()});
  const auto b = DenseBatch<T>::from_list(
      {from_rows<T>(3, 2, {1, 2, 3, 4, 5, 6}), from_rows<T>(3, 2, {1, 2, 3, 4, 5, 6})});
  DenseBatch<T> c = DenseBatch<T>::uniform(2, 2, 2);
  fill(c.values(), std::numeric_limits<double>::quiet_NaN());
  bmm_into(c, a, b, T(1), T(0));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(dense_near(c.entry(i), from_rows<T>(2, 2, {11, 14, 9, 12}).view(), 0.0));
  }
}

TYPED_TEST(Bmm, AlphaZeroOnlyScalesC) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>(), hand_csr<T, I>()});
  DenseBatch<T> b = DenseBatch<T>::uniform(2, 3, 2);
  fill(b.values(), std::numeric_limits<double>::quiet_NaN());
  b.values()[0] = std::numeric_limits<T>::infinity();
  DenseBatch<T> c = DenseBatch<T>::uniform(2, 2, 2, Layout::ColMajor);
  fill(c.values(), 3.0);
  bmm_into(c, a, b, T(0), T(-2));
  EXPECT_TRUE(all_equal(c.values(), -6.0));
  fill(c.values(), std::numeric_limits<double>::quiet_NaN());
  bmm_into(c, a, b, T(0), T(0));
  EXPECT_TRUE(all_equal(c.values(), 0.0));
}

// The result lands in the caller's own memory, wrapped without copying.
TYPED_TEST(Bmm, WrapsUserBuffers) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>(), hand_csr<T, I>()});
  // B as a user's [2, 3, 2] array; entry 1 is entry 0 doubled.
  const std::vector<T> b_buf = {1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12};
  const auto b = DenseBatchView<const T>::uniform(b_buf.data(), 2, 3, 2);
  {
    // C as a [2, 2, 2] array with a gap of 3 values between entries that must stay untouched.
    std::vector<T> c_buf(2 * 4 + 3, T(kSentinel));
    const auto c = DenseBatchView<T>::uniform(c_buf.data(), 2, 2, 2, Layout::RowMajor, 7);
    bmm_into<T, I>(c, BatchView<T, I>(a), b, T(1), T(0));
    const std::vector<T> want = {11, 14, 9,  12, T(kSentinel), T(kSentinel), T(kSentinel),
                                 22, 28, 18, 24};
    EXPECT_EQ(c_buf, want);
  }
  {
    // Ragged column-major user buffers, one per entry.
    std::vector<T> c0(4, T(kSentinel)), c1(4, T(kSentinel));
    const auto c =
        DenseBatchView<T>::ragged({c0.data(), c1.data()}, {2, 2}, {2, 2}, Layout::ColMajor);
    bmm_into<T, I>(c, BatchView<T, I>(a), b, T(1), T(0));
    EXPECT_EQ(c0, (std::vector<T>{11, 9, 14, 12}));
    EXPECT_EQ(c1, (std::vector<T>{22, 18, 28, 24}));
  }
}

// Disjoint sub-blocks of one buffer share an address range but no element: allowed.
TYPED_TEST(Bmm, DisjointSubBlocksOfOneBufferAreAccepted) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  // One row-major 3x4 buffer [B | C]: B = columns 0-1, C = columns 2-3, both with ld 4.
  std::vector<T> buf = {1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0};
  const auto c = DenseBatchView<T>::single(DenseView<T>(buf.data() + 2, 2, 2, Layout::RowMajor, 4));
  const auto b =
      DenseBatchView<const T>::single(DenseView<const T>(buf.data(), 3, 2, Layout::RowMajor, 4));
  // A(2x3) * B(3x2) lands in rows 0-1 of the right half.
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>()});
  bmm_into<T, I>(c, BatchView<T, I>(a), b, T(1), T(0));
  EXPECT_EQ(buf, (std::vector<T>{1, 2, 11, 14, 3, 4, 9, 12, 5, 6, 0, 0}));
}

// Every rejected call leaves C exactly as it was.
TYPED_TEST(Bmm, ErrorsNameTheProblemAndLeaveCUntouched) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a2 = CsrBatch<T, I>::from_list({hand_csr<T, I>(), hand_csr<T, I>()});
  const BatchView<T, I> av(a2);
  const DenseBatch<T> b2({3, 3}, {2, 2});
  DenseBatch<T> c2 = DenseBatch<T>::uniform(2, 2, 2);
  fill(c2.values(), kSentinel);
  const auto untouched = [&] { return all_equal(c2.values(), kSentinel); };

  {
    const DenseBatch<T> b3({3, 3, 3}, {2, 2, 2});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b3.view(), T(1), T(0)), ShapeError,
                           "batch sizes do not broadcast: A has 2 entries, B has 3");
    EXPECT_TRUE(untouched());
  }
  {
    const DenseBatch<T> b1({3}, {2});
    DenseBatch<T> c3 = DenseBatch<T>::uniform(3, 2, 2);
    fill(c3.values(), kSentinel);
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c3.view(), av, b2.view(), T(1), T(0)), ShapeError,
                           "C has 3 entries but op(A) * op(B) has 2");
    EXPECT_TRUE(all_equal(c3.values(), kSentinel));
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c3.view(), av, b1.view(), T(1), T(0)), ShapeError,
                           "C has 3 entries but op(A) * op(B) has 2");
  }
  {
    DenseBatch<T> c_bad({2, 2}, {2, 3});
    fill(c_bad.values(), kSentinel);
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c_bad.view(), av, b2.view(), T(1), T(1)), ShapeError,
                           "entry 1: C is 2x3 but op(A) * op(B) is 2x2");
    EXPECT_TRUE(all_equal(c_bad.values(), kSentinel));
  }
  {
    const DenseBatch<T> b_bad({3, 4}, {2, 2});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b_bad.view(), T(1), T(0)), ShapeError,
                           "entry 1: op(A) is 2x3 but op(B) is 4x2 (inner dimensions 3 != 4)");
    EXPECT_TRUE(untouched());
    Options o;
    o.op_b = Op::T;
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b2.view(), T(1), T(0), o), ShapeError,
                           "entry 0: op(A) is 2x3 but op(B) is 2x3 (inner dimensions 3 != 2)");
    EXPECT_TRUE(untouched());
  }
  // Malformed sparse entries, built as raw views because the containers refuse them.
  {
    const std::vector<I> rp = {0, 2, 3}, bad_ci = {0, 5, 1}, unsorted_ci = {2, 0, 1};
    const std::vector<T> vals = {1, 2, 3};
    BatchView<T, I> a;
    a.push_back(a2.entry(0));
    a.push_back(CsrView<T, I>{2, 3, rp.data(), bad_ci.data(), vals.data()});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), a, b2.view(), T(1), T(0)), FormatError,
                           "CSR entry 1: row 0: column index 5 >= cols 3");
    EXPECT_TRUE(untouched());
    BatchView<T, I> u;
    u.push_back(CsrView<T, I>{2, 3, rp.data(), unsorted_ci.data(), vals.data()});
    u.push_back(a2.entry(1));
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), u, b2.view(), T(1), T(0)), FormatError,
                           "CSR entry 0: row 0: column indices not strictly increasing");
    EXPECT_TRUE(untouched());
    const std::vector<I> ri = {0, 7}, ci = {0, 1};
    BatchView<T, I> co;
    co.push_back(CooView<T, I>{2, 3, 2, ri.data(), ci.data(), vals.data()});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), co, b2.view(), T(1), T(0)), FormatError,
                           "COO entry 0: position 1: row index 7 out of range");
    EXPECT_TRUE(untouched());
  }
  // Malformed dense views of A, B and C.
  {
    const std::vector<T> data(6, T(1));
    BatchView<T, I> a;
    a.push_back(DenseView<const T>(data.data(), 2, 3, Layout::RowMajor, 2));
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), a, b2.view(), T(1), T(0)), FormatError,
                           "A entry 0: leading dimension 2 < 3");
    EXPECT_TRUE(untouched());
    const DenseBatchView<const T> b_null(
        {b2.entry(0), DenseView<const T>(nullptr, 3, 2, Layout::RowMajor)});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b_null, T(1), T(0)), FormatError,
                           "B entry 1: null data pointer");
    EXPECT_TRUE(untouched());
    const DenseBatchView<T> c_ld(
        {c2.entry(0), DenseView<T>(c2.entry(1).data, 2, 2, Layout::ColMajor, 1)});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c_ld, av, b2.view(), T(1), T(0)), FormatError,
                           "C entry 1: leading dimension 1 < 2");
    EXPECT_TRUE(untouched());
  }
  // Options out of range.
  {
    Options o;
    o.threads = -1;
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b2.view(), T(1), T(0), o), InvalidArgument,
                           "options.threads is -1");
    EXPECT_TRUE(untouched());
    SPBMM_EXPECT_THROW_MSG(bmm<T>(av, b2.view(), o), InvalidArgument, "options.threads is -1");
    o.threads = 0;
    o.kernel = static_cast<Kernel>(9);
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c2.view(), av, b2.view(), T(1), T(0), o), InvalidArgument,
                           "options.kernel has unknown value 9");
    EXPECT_TRUE(untouched());
  }
}

// C may not share memory with A, B or another C entry.
TYPED_TEST(Bmm, AliasingIsRejectedBeforeWriting) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto a = CsrBatch<T, I>::from_list({hand_csr<T, I>()});
  {
    // C is B's memory (in place on a square product).
    DenseBatch<T> sq = DenseBatch<T>::uniform(1, 3, 3);
    fill(sq.values(), kSentinel);
    const auto a_sq =
        CsrBatch<T, I>::from_list({CsrMatrix<T, I>(3, 3, {0, 1, 2, 3}, {0, 1, 2}, {1, 1, 1})});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(sq.view(), BatchView<T, I>(a_sq), sq.view(), T(1), T(0)),
                           InvalidArgument, "C entry 0 overlaps B entry 0 in memory");
    EXPECT_TRUE(all_equal(sq.values(), kSentinel));
  }
  {
    // C overlaps a dense A entry: C is the second row of A's buffer viewed as 1x2.
    std::vector<T> buf = {1, 2, 3, 4, 5, 6};
    const std::vector<T> before = buf;
    BatchView<T, I> ad;
    ad.push_back(DenseView<const T>(buf.data(), 2, 3));
    ad.push_back(DenseView<const T>(buf.data(), 2, 3));
    const DenseBatch<T> b({3, 3}, {1, 1});
    DenseBatch<T> own = DenseBatch<T>::uniform(1, 2, 1);
    const DenseBatchView<T> c({own.entry(0), DenseView<T>(buf.data() + 4, 2, 1)});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c, ad, b.view(), T(1), T(0)), InvalidArgument,
                           "C entry 1 overlaps A entry 0 in memory");
    EXPECT_EQ(buf, before);
  }
  {
    // C is laid over the values of a CSR entry.
    auto csr = hand_csr<T, I>();
    const CsrView<T, I> v = csr.view();
    BatchView<T, I> as;
    as.push_back(v);
    const DenseBatch<T> b({3}, {1});
    const auto c = DenseBatchView<T>::single(DenseView<T>(csr.values().data(), 2, 1));
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c, as, b.view(), T(1), T(0)), InvalidArgument,
                           "C entry 0 overlaps A entry 0 in memory");
    EXPECT_EQ(csr.values(), (std::vector<T>{1, 2, 3}));
  }
  {
    // Two C entries share a value.
    std::vector<T> buf(6, T(kSentinel));
    const auto a2 = CsrBatch<T, I>::from_list({hand_csr<T, I>(), hand_csr<T, I>()});
    const DenseBatch<T> b({3, 3}, {2, 2});
    const DenseBatchView<T> c({DenseView<T>(buf.data(), 2, 2), DenseView<T>(buf.data() + 2, 2, 2)});
    SPBMM_EXPECT_THROW_MSG(bmm_into<T>(c, BatchView<T, I>(a2), b.view(), T(1), T(0)),
                           InvalidArgument, "C entry 0 overlaps C entry 1 in memory");
    EXPECT_TRUE(all_equal(buf, kSentinel));
  }
}

// ---- inputs found by fuzzing (tests/fuzz/regressions/validate) ----

// A valid CSR A of 1 x 2^62 (64-bit indices) with op(A) = T and B of 1 x 0: the product is an
// empty 2^62 x 0 C, but the dispatcher keeps a count per row of op(A), and 2^62 of them threw
// std::length_error out of bmm. It is a LimitError naming the entry now.
TEST(BmmFuzz, OpARowsBeyondAnyCountArrayIsLimitError) {
  const std::int64_t huge = std::int64_t{1} << 62;
  const CsrMatrix<float, std::int64_t> a(1, huge, {0, 1}, {huge - 1}, {1.0f});
  Options o;
  o.op_a = Op::T;
  const DenseView<const float> b(nullptr, 1, 0);
  DenseBatch<float> c = DenseBatch<float>::uniform(1, huge, 0);
  SPBMM_EXPECT_THROW_MSG(
      (bmm_into<float, std::int64_t>(c.view(), BatchView<float, std::int64_t>({a.view()}),
                                     DenseBatchView<const float>::single(b), 1.0f, 0.0f, o)),
      LimitError,
      "entry 0: op(A) has 4611686018427387904 rows, more than the dispatcher "
      "can keep a count for");
}

}  // namespace
}  // namespace spbmm

namespace spbmm {
namespace {

// A call that runs once stops counting a dense entry's nonzeros as soon as the dense kernel is
// sure to win; its choices must be those of the exact count, for full, sparse and empty entries.
TEST(BmmDenseCount, ChoicesMatchTheExactCount) {
  using T = float;
  using I = std::int32_t;
  const MachineModel m = test::small_machine();
  std::mt19937_64 rng(41);
  std::uniform_real_distribution<T> u(-1, 1);
  std::uniform_real_distribution<double> p(0, 1);
  // Shares of nonzero values: full, a few sparse levels around where the choice turns, one
  // nonzero, none; row- and column-major.
  const std::vector<double> shares = {1.0, 0.5, 0.2, 0.05, 0.01, 0.002, -1.0, 0.0};
  std::vector<std::vector<T>> store;
  std::vector<MatrixView<T, I>> views;
  for (const Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    for (const double share : shares) {
      const std::int64_t rows = 300, cols = 200;
      std::vector<T> v(static_cast<std::size_t>(rows * cols), T(0));
      for (T& x : v) x = p(rng) < share ? u(rng) : T(0);
      if (share < 0) v[v.size() / 2] = T(1);
      store.push_back(std::move(v));
      views.push_back(DenseView<const T>(store.back().data(), rows, cols, layout));
    }
  }
  const BatchView<T, I> a(views);
  for (const Op op_a : {Op::N, Op::T}) {
    const std::vector<std::int64_t> n(views.size(), 64);
    PlanOptions po;
    po.op_a = op_a;
    po.threads = 2;
    po.machine = &m;
    po.policy.expected_calls = 1;
    dispatch::Engine<T, I> exact;
    exact.build(a, n, po);
    dispatch::Engine<T, I> quick;
    quick.count_dense_always = false;
    quick.build(a, n, po);
    bool any_sparse = false, any_dense = false;
    for (std::size_t i = 0; i < views.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(quick.choices[i].kernel, exact.choices[i].kernel);
      any_sparse = any_sparse || exact.choices[i].kernel == Kernel::Sparse;
      any_dense = any_dense || exact.choices[i].kernel == Kernel::Dense;
    }
    // Both outcomes occur, so the comparison covers the turn.
    EXPECT_TRUE(any_sparse);
    EXPECT_TRUE(any_dense);
  }
}

}  // namespace
}  // namespace spbmm
