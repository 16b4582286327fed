// GPU backend against the reference kernels: every SpMM path and the cuBLAS paths (needs a device).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kernels/kernels.hpp"
#include "spbmm/error.hpp"
#include "spbmm/gpu.hpp"
#include "test_util.hpp"

namespace {

namespace gpu = spbmm::gpu;
namespace ref = spbmm::kernels::reference;
using spbmm::CsrBatch;
using spbmm::CsrMatrix;
using spbmm::DenseBatch;
using spbmm::DenseMatrix;
using spbmm::DenseView;
using spbmm::Layout;
using spbmm::Op;

// A CSR matrix with exactly `nnz` nonzeros at distinct random positions.
template <class T, class I>
CsrMatrix<T, I> fixed_nnz_csr(std::int64_t rows, std::int64_t cols, std::int64_t nnz,
                              std::mt19937_64& rng) {
  std::set<std::int64_t> pos;
  std::uniform_int_distribution<std::int64_t> d(0, rows * cols - 1);
  while (static_cast<std::int64_t>(pos.size()) < nnz) pos.insert(d(rng));
  std::vector<I> rp(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<I> ci;
  std::vector<T> v;
  for (std::int64_t p : pos) {
    ++rp[static_cast<std::size_t>(p / cols) + 1];
    ci.push_back(static_cast<I>(p % cols));
    v.push_back(spbmm::test::random_value<T>(rng));
  }
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) rp[r + 1] += rp[r];
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(v));
}

// `count` matrices with base's row pointers (nonzeros per row) but other columns and values.
template <class T, class I>
std::vector<CsrMatrix<T, I>> same_row_pattern(const CsrMatrix<T, I>& base, int count,
                                              std::mt19937_64& rng) {
  std::vector<CsrMatrix<T, I>> out;
  for (int i = 0; i < count; ++i) {
    std::vector<I> ci;
    std::vector<T> v;
    for (std::int64_t r = 0; r < base.rows(); ++r) {
      std::vector<I> cols;
      for (auto p = base.row_ptr()[static_cast<std::size_t>(r)];
           p < base.row_ptr()[static_cast<std::size_t>(r) + 1]; ++p) {
        cols.push_back(
            static_cast<I>((base.col_idx()[static_cast<std::size_t>(p)] + 3 * i) % base.cols()));
      }
      std::sort(cols.begin(), cols.end());
      for (I c : cols) {
        ci.push_back(c);
        v.push_back(spbmm::test::random_value<T>(rng));
      }
    }
    out.emplace_back(base.rows(), base.cols(), base.row_ptr(), std::move(ci), std::move(v));
  }
  return out;
}

template <class T>
DenseMatrix<T> filled(std::int64_t rows, std::int64_t cols, T value, Layout layout) {
  DenseMatrix<T> m(rows, cols, layout);
  for (auto& x : m.values()) x = value;
  return m;
}

// One batched product: A entries, B entries, initial C, and what to call.
template <class T, class I>
struct Case {
  std::vector<CsrMatrix<T, I>> a;
  std::vector<DenseMatrix<T>> b;
  std::vector<DenseMatrix<T>> c;
  gpu::Options options;
  T alpha = T(1.5);
  T beta = T(-0.5);
  Layout layout = Layout::RowMajor;

  std::size_t n() const { return std::max(a.size(), b.size()); }
  const CsrMatrix<T, I>& a_at(std::size_t i) const { return a[a.size() == 1 ? 0 : i]; }
  const DenseMatrix<T>& b_at(std::size_t i) const { return b[b.size() == 1 ? 0 : i]; }

  // op(A_i) is m x k. B gets b_count entries (0: one per A entry) with op(B) = k x n_cols; C gets
  // one m x n_cols entry per product, with random values.
  void make_dense(std::int64_t n_cols, std::mt19937_64& rng, std::size_t b_count = 0) {
    if (b_count == 0) b_count = a.size();
    const std::size_t count = std::max(a.size(), b_count);
    b.clear();
    c.clear();
    for (std::size_t i = 0; i < b_count; ++i) {
      const auto& ai = a[a.size() == 1 ? 0 : i];
      const std::int64_t k = options.op_a == Op::N ? ai.cols() : ai.rows();
      b.push_back(options.op_b == Op::N ? spbmm::test::random_dense<T>(k, n_cols, rng, layout)
                                        : spbmm::test::random_dense<T>(n_cols, k, rng, layout));
    }
    for (std::size_t i = 0; i < count; ++i) {
      const auto& ai = a[a.size() == 1 ? 0 : i];
      const std::int64_t m = options.op_a == Op::N ? ai.rows() : ai.cols();
      c.push_back(spbmm::test::random_dense<T>(m, n_cols, rng, layout));
    }
  }

  std::vector<DenseMatrix<T>> expected() const {
    std::vector<DenseMatrix<T>> out = c;
    for (std::size_t i = 0; i < n(); ++i) {
      ref::csr_dense<T, I>(options.op_a, options.op_b, alpha, a_at(i).view(), b_at(i).view(), beta,
                           out[i].view());
    }
    return out;
  }

  std::int64_t max_k() const {
    std::int64_t k = 1;
    for (const auto& m : a) k = std::max({k, m.rows(), m.cols()});
    return k;
  }
};

template <class T>
::testing::AssertionResult batch_near(const DenseBatch<T>& got,
                                      const std::vector<DenseMatrix<T>>& want, double tol) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << got.size() << " entries, want " << want.size();
  }
  for (std::size_t i = 0; i < want.size(); ++i) {
    auto r = spbmm::test::dense_near(got.entry(i), want[i].view(), tol);
    if (!r) return ::testing::AssertionFailure() << "entry " << i << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

// Runs a case on device-resident operands; returns what the executor reports.
template <class T, class I>
gpu::Report run_device(gpu::Executor& ex, const Case<T, I>& k, DenseBatch<T>* out = nullptr) {
  const gpu::DeviceCsrBatch<T, I> a(CsrBatch<T, I>::from_list(k.a));
  const gpu::DeviceDenseBatch<T> b(DenseBatch<T>::from_list(k.b, k.layout));
  const gpu::DeviceDenseBatch<T> c(DenseBatch<T>::from_list(k.c, k.layout));
  ex.spmm(a, b.view(), c.view(), k.alpha, k.beta, k.options);
  ex.synchronize();
  const DenseBatch<T> got = c.download();
  EXPECT_TRUE(batch_near(got, k.expected(), spbmm::test::tolerance<T>(k.max_k())))
      << ex.last_report().str();
  if (out != nullptr) *out = got;
  std::cout << "  [" << ex.last_report().str() << "]\n";
  return ex.last_report();
}

// The message of the ShapeError `f` throws, or "" when it throws none.
template <class F>
std::string shape_error_of(const F& f) {
  try {
    f();
  } catch (const spbmm::ShapeError& e) {
    return e.what();
  }
  return "";
}

template <class P>
class GpuSpmm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gpu::available()) GTEST_SKIP() << gpu::status();
    executor_ = std::make_unique<gpu::Executor>();
  }
  gpu::Executor& ex() { return *executor_; }
  std::unique_ptr<gpu::Executor> executor_;
  std::mt19937_64 rng_{42};
};
TYPED_TEST_SUITE(GpuSpmm, spbmm::test::AllPairs);

TYPED_TEST(GpuSpmm, UniformRunsAsOneBlockDiagonalSpmm) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      SCOPED_TRACE(std::string("op_a ") + spbmm::to_string(op_a) + " op_b " +
                   spbmm::to_string(op_b));
      Case<T, I> k;
      k.options.op_a = op_a;
      k.options.op_b = op_b;
      for (int i = 0; i < 6; ++i) k.a.push_back(fixed_nnz_csr<T, I>(37, 23, 90, this->rng_));
      k.make_dense(9, this->rng_);
      const auto r = run_device(this->ex(), k);
      EXPECT_EQ(r.choice.path, op_b == Op::N ? gpu::Path::BlockDiagonal : gpu::Path::PerEntry);
    }
  }
}

// cuSPARSE's strided-batch SpMM, reachable only through Options::allow_strided_batch and only for
// A entries with the same row pointers: every op, both layouts, checked against the reference.
TYPED_TEST(GpuSpmm, StridedBatchOptInSameRowPattern) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    for (Op op_a : {Op::N, Op::T}) {
      for (Op op_b : {Op::N, Op::T}) {
        SCOPED_TRACE(std::string("op_a ") + spbmm::to_string(op_a) + " op_b " +
                     spbmm::to_string(op_b) + " " + spbmm::to_string(layout));
        Case<T, I> k;
        k.layout = layout;
        k.options.op_a = op_a;
        k.options.op_b = op_b;
        k.options.allow_strided_batch = true;
        k.a = same_row_pattern(fixed_nnz_csr<T, I>(37, 23, 90, this->rng_), 6, this->rng_);
        k.make_dense(9, this->rng_);
        const auto r = run_device(this->ex(), k);
        EXPECT_EQ(r.choice.path, gpu::Path::StridedBatch) << r.str();
      }
    }
  }
}

// The broadcast modes: one A (or one B) with the batch's count and a batch stride of 0.
TYPED_TEST(GpuSpmm, StridedBatchOptInBroadcast) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> shared_a;
  shared_a.options.allow_strided_batch = true;
  shared_a.a.push_back(spbmm::test::random_csr<T, I>(30, 20, 0.2, this->rng_));
  shared_a.make_dense(8, this->rng_, 5);
  EXPECT_EQ(run_device(this->ex(), shared_a).choice.path, gpu::Path::StridedBatch);
  Case<T, I> shared_b;  // a shared B: Stacked comes first unless forced
  shared_b.options.allow_strided_batch = true;
  shared_b.options.force = gpu::Path::StridedBatch;
  shared_b.a = same_row_pattern(fixed_nnz_csr<T, I>(12, 16, 40, this->rng_), 4, this->rng_);
  shared_b.make_dense(5, this->rng_, 1);
  EXPECT_EQ(run_device(this->ex(), shared_b).choice.path, gpu::Path::StridedBatch);
}

// Uniform nnz with different nonzeros per row never takes the strided call, even when allowed.
TYPED_TEST(GpuSpmm, StridedBatchOptInNeedsTheSameRowPattern) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  k.options.allow_strided_batch = true;
  for (int i = 0; i < 6; ++i) k.a.push_back(fixed_nnz_csr<T, I>(37, 23, 90, this->rng_));
  k.make_dense(9, this->rng_);
  const auto r = run_device(this->ex(), k);
  EXPECT_EQ(r.choice.path, gpu::Path::BlockDiagonal) << r.str();
}

// DeviceDenseBatch::download right after spmm, without Executor::synchronize, sees the product.
TYPED_TEST(GpuSpmm, DownloadAfterSpmmSeesTheProduct) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  for (std::int64_t m : {300, 120, 450}) {
    k.a.push_back(spbmm::test::random_csr<T, I>(m, 200, 0.05, this->rng_));
  }
  k.make_dense(64, this->rng_);
  const gpu::DeviceCsrBatch<T, I> a(CsrBatch<T, I>::from_list(k.a));
  const gpu::DeviceDenseBatch<T> b(DenseBatch<T>::from_list(k.b, k.layout));
  const gpu::DeviceDenseBatch<T> c(DenseBatch<T>::from_list(k.c, k.layout));
  this->ex().spmm(a, b.view(), c.view(), k.alpha, k.beta, k.options);
  EXPECT_TRUE(batch_near(c.download(), k.expected(), spbmm::test::tolerance<T>(k.max_k())));
}

TYPED_TEST(GpuSpmm, SharedABroadcastsOverB) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Op op_a : {Op::N, Op::T}) {
    Case<T, I> k;
    k.options.op_a = op_a;
    k.a.push_back(spbmm::test::random_csr<T, I>(30, 20, 0.2, this->rng_));
    k.make_dense(8, this->rng_, 5);  // five B entries share the one A
    ASSERT_EQ(k.b.size(), 5u);
    EXPECT_EQ(run_device(this->ex(), k).choice.path, gpu::Path::PerEntry);
  }
}

TYPED_TEST(GpuSpmm, SharedBStacksTheAEntries) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  for (std::int64_t r : {12, 1, 30, 7, 0}) {
    k.a.push_back(spbmm::test::random_csr<T, I>(r, 16, 0.3, this->rng_));
  }
  k.make_dense(5, this->rng_, 1);  // one B shared by every A entry
  EXPECT_EQ(run_device(this->ex(), k).choice.path, gpu::Path::Stacked);
  k.options.op_a = Op::T;  // A_i^T differ in rows: per entry
  k.a.clear();
  for (std::int64_t r : {12, 1, 30})
    k.a.push_back(spbmm::test::random_csr<T, I>(16, r, 0.3, this->rng_));
  k.make_dense(5, this->rng_, 1);
  run_device(this->ex(), k);
}

TYPED_TEST(GpuSpmm, RaggedIsOneBlockDiagonalSpmm) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      SCOPED_TRACE(std::string("op_a ") + spbmm::to_string(op_a) + " op_b " +
                   spbmm::to_string(op_b));
      Case<T, I> k;
      k.options.op_a = op_a;
      k.options.op_b = op_b;
      std::uniform_int_distribution<std::int64_t> dim(1, 60);
      for (int i = 0; i < 9; ++i) {
        k.a.push_back(
            spbmm::test::random_csr<T, I>(dim(this->rng_), dim(this->rng_), 0.1, this->rng_));
      }
      k.make_dense(7, this->rng_);
      const auto r = run_device(this->ex(), k);
      EXPECT_EQ(r.choice.path, op_b == Op::N ? gpu::Path::BlockDiagonal : gpu::Path::PerEntry);
      if (op_b == Op::N) {
        EXPECT_EQ(r.calls, 1);
      }
    }
  }
}

TYPED_TEST(GpuSpmm, EmptyEntriesOnEveryPath) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (gpu::Path force : {gpu::Path::Auto, gpu::Path::PerEntry}) {
    Case<T, I> k;
    k.options.force = force;
    k.a.push_back(spbmm::test::random_csr<T, I>(0, 5, 0.5, this->rng_));  // no rows
    k.a.push_back(spbmm::test::random_csr<T, I>(6, 0, 0.5, this->rng_));  // no columns
    k.a.push_back(CsrMatrix<T, I>(4, 5));                                 // no nonzeros
    k.a.push_back(spbmm::test::random_csr<T, I>(8, 9, 0.3, this->rng_));
    k.make_dense(3, this->rng_);
    const auto r = run_device(this->ex(), k);
    EXPECT_EQ(r.choice.path, force == gpu::Path::Auto ? gpu::Path::BlockDiagonal : force);
  }
  Case<T, I> none;  // nothing to form at all
  none.a.push_back(CsrMatrix<T, I>(4, 5));
  none.a.push_back(CsrMatrix<T, I>(4, 5));
  none.make_dense(3, this->rng_);
  EXPECT_EQ(run_device(this->ex(), none).choice.path, gpu::Path::Empty);
  Case<T, I> zero_n;
  zero_n.a.push_back(spbmm::test::random_csr<T, I>(4, 5, 0.5, this->rng_));
  zero_n.make_dense(0, this->rng_);
  run_device(this->ex(), zero_n);
}

TYPED_TEST(GpuSpmm, ColumnMajorOperands) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  k.layout = Layout::ColMajor;
  for (int i = 0; i < 4; ++i) k.a.push_back(fixed_nnz_csr<T, I>(21, 17, 40, this->rng_));
  k.make_dense(6, this->rng_);
  const auto r = run_device(this->ex(), k);
  EXPECT_EQ(r.choice.path, gpu::Path::PerEntry);  // column-major B and C do not stack
  EXPECT_EQ(r.choice.algorithm, gpu::SpmmAlgorithm::CsrAlg1);
  Case<T, I> ragged;
  ragged.layout = Layout::ColMajor;
  ragged.options.op_b = Op::T;
  for (std::int64_t m : {5, 11, 2})
    ragged.a.push_back(spbmm::test::random_csr<T, I>(m, m + 3, 0.3, this->rng_));
  ragged.make_dense(4, this->rng_);
  EXPECT_EQ(run_device(this->ex(), ragged).choice.path, gpu::Path::PerEntry);
}

TYPED_TEST(GpuSpmm, DeterministicRunsAgreeBitwise) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  k.options.deterministic = true;
  std::uniform_int_distribution<std::int64_t> dim(20, 200);
  for (int i = 0; i < 6; ++i) {
    k.a.push_back(
        spbmm::test::random_csr<T, I>(dim(this->rng_), dim(this->rng_), 0.05, this->rng_));
  }
  k.make_dense(16, this->rng_);
  DenseBatch<T> first, second;
  const auto r = run_device(this->ex(), k, &first);
  run_device(this->ex(), k, &second);
  if (r.choice.deterministic) {
    EXPECT_EQ(std::memcmp(first.values().data(), second.values().data(),
                          first.values().size() * sizeof(T)),
              0);
  }
}

TYPED_TEST(GpuSpmm, BetaZeroNeverReadsC) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (gpu::Path force : {gpu::Path::Auto, gpu::Path::PerEntry}) {
    Case<T, I> k;
    k.options.force = force;
    k.beta = T(0);
    for (std::int64_t m : {10, 3, 25})
      k.a.push_back(spbmm::test::random_csr<T, I>(m, 12, 0.3, this->rng_));
    k.a.push_back(CsrMatrix<T, I>(4, 12));
    k.make_dense(5, this->rng_);
    for (auto& c : k.c) {
      for (auto& x : c.values()) x = std::numeric_limits<T>::quiet_NaN();
    }
    run_device(this->ex(), k);
  }
}

// The single-entry path and the column-major operands (CSR_ALG1) must not read C either.
TYPED_TEST(GpuSpmm, BetaZeroNeverReadsCOneEntryAndColumnMajor) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  for (Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
    Case<T, I> k;
    k.beta = T(0);
    k.layout = layout;
    k.a.push_back(spbmm::test::random_csr<T, I>(17, 9, 0.3, this->rng_));
    k.make_dense(6, this->rng_);
    for (auto& c : k.c) {
      for (auto& x : c.values()) x = std::numeric_limits<T>::quiet_NaN();
    }
    run_device(this->ex(), k);
  }
}

TYPED_TEST(GpuSpmm, AlphaZeroOnlyScalesC) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  k.alpha = T(0);
  k.beta = T(2);
  for (int i = 0; i < 3; ++i) k.a.push_back(spbmm::test::random_csr<T, I>(8, 6, 0.4, this->rng_));
  k.make_dense(4, this->rng_);
  EXPECT_EQ(run_device(this->ex(), k).choice.path, gpu::Path::Empty);
}

TYPED_TEST(GpuSpmm, CooWithDuplicatesMatchesCooReference) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::vector<spbmm::CooMatrix<T, I>> coo;
  for (std::int64_t m : {9, 14, 5})
    coo.push_back(spbmm::test::random_coo<T, I>(m, 11, 30, 8, this->rng_));
  const auto batch = spbmm::CooBatch<T, I>::from_list(coo);
  const gpu::DeviceCsrBatch<T, I> a(batch);
  std::vector<DenseMatrix<T>> bs, want;
  for (const auto& m : coo) {
    bs.push_back(spbmm::test::random_dense<T>(11, 6, this->rng_));
    want.push_back(spbmm::test::random_dense<T>(m.rows(), 6, this->rng_));
  }
  const gpu::DeviceDenseBatch<T> b(DenseBatch<T>::from_list(bs));
  const gpu::DeviceDenseBatch<T> c(DenseBatch<T>::from_list(want));
  for (std::size_t i = 0; i < coo.size(); ++i) {
    ref::coo_dense<T, I>(Op::N, Op::N, T(1.25), coo[i].view(), bs[i].view(), T(0.5),
                         want[i].view());
  }
  this->ex().spmm(a, b.view(), c.view(), 1.25, 0.5);
  this->ex().synchronize();
  EXPECT_EQ(this->ex().last_report().choice.path, gpu::Path::BlockDiagonal);
  EXPECT_TRUE(batch_near(c.download(), want, spbmm::test::tolerance<T>(40)))
      << this->ex().last_report().str();
}

TYPED_TEST(GpuSpmm, SingleMatrixUpload) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const auto m = spbmm::test::random_csr<T, I>(300, 200, 0.02, this->rng_);
  const gpu::DeviceCsrBatch<T, I> a(m.view());
  const auto b = spbmm::test::random_dense<T>(200, 32, this->rng_);
  DenseMatrix<T> want(300, 32);
  ref::csr_dense<T, I>(Op::N, Op::N, T(1), m.view(), b.view(), T(0), want.view());
  const auto got = gpu::bmm(this->ex(), a, DenseBatch<T>::from_list({b}));
  EXPECT_EQ(this->ex().last_report().choice.path, gpu::Path::Single);
  EXPECT_TRUE(batch_near(got, {want}, spbmm::test::tolerance<T>(200)));
}

TYPED_TEST(GpuSpmm, HostOperandsWithStridedViews) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::vector<CsrMatrix<T, I>> a;
  for (std::int64_t m : {7, 19, 4, 11})
    a.push_back(spbmm::test::random_csr<T, I>(m, 13, 0.3, this->rng_));
  const auto batch = CsrBatch<T, I>::from_list(a);
  // C entries live inside a wider host buffer (ld 9 for 5 columns); B entries are column-major.
  std::vector<T> c_buf(4 * 19 * 9, T(0.25));
  std::vector<DenseView<T>> c_views;
  std::vector<DenseMatrix<T>> bs, want;
  std::int64_t off = 0;
  for (const auto& m : a) {
    c_views.emplace_back(c_buf.data() + off, m.rows(), 5, Layout::RowMajor, 9);
    off += m.rows() * 9;
    bs.push_back(spbmm::test::random_dense<T>(13, 5, this->rng_, Layout::ColMajor));
    want.push_back(filled<T>(m.rows(), 5, T(0.25), Layout::RowMajor));
    ref::csr_dense<T, I>(Op::N, Op::N, T(2), m.view(), bs.back().view(), T(3), want.back().view());
  }
  std::vector<DenseView<const T>> b_views;
  for (const auto& m : bs) b_views.push_back(m.view());
  gpu::bmm_into(this->ex(), batch, spbmm::DenseBatchView<T>(c_views),
                spbmm::DenseBatchView<const T>(b_views), 2, 3);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(spbmm::test::dense_near(DenseView<const T>(c_views[i]), want[i].view(),
                                        spbmm::test::tolerance<T>(13)));
  }
  // The padding between rows is untouched.
  EXPECT_EQ(c_buf[5], T(0.25));
}

TYPED_TEST(GpuSpmm, CallerDevicePointers) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  Case<T, I> k;
  for (int i = 0; i < 3; ++i) k.a.push_back(fixed_nnz_csr<T, I>(10, 8, 20, this->rng_));
  k.make_dense(4, this->rng_);
  // The caller's own allocations, with a gap between entries (stride 40 > 8 * 4).
  gpu::DeviceBuffer b_mem(3 * 40 * sizeof(T));
  gpu::DeviceBuffer c_mem(3 * 48 * sizeof(T));
  for (std::size_t i = 0; i < 3; ++i) {
    b_mem.upload(k.b[i].values().data(), 32 * sizeof(T), i * 40 * sizeof(T));
    c_mem.upload(k.c[i].values().data(), 40 * sizeof(T), i * 48 * sizeof(T));
  }
  const auto b =
      gpu::DeviceDenseBatchView<T>::uniform(b_mem.as<T>(), 3, 8, 4, Layout::RowMajor, 40);
  const auto c =
      gpu::DeviceDenseBatchView<T>::uniform(c_mem.as<T>(), 3, 10, 4, Layout::RowMajor, 48);
  const gpu::DeviceCsrBatch<T, I> a(CsrBatch<T, I>::from_list(k.a));
  this->ex().spmm(a, b, c, k.alpha, k.beta);
  this->ex().synchronize();
  // The gap between entries keeps B and C from stacking: one SpMM per entry.
  EXPECT_EQ(this->ex().last_report().choice.path, gpu::Path::PerEntry);
  const auto want = k.expected();
  for (std::size_t i = 0; i < 3; ++i) {
    DenseMatrix<T> got(10, 4);
    c_mem.download(got.values().data(), 40 * sizeof(T), i * 48 * sizeof(T));
    EXPECT_TRUE(spbmm::test::dense_near(got.view(), want[i].view(), spbmm::test::tolerance<T>(10)));
  }
}

TYPED_TEST(GpuSpmm, ShapeErrorsBeforeAnyWork) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  const gpu::DeviceCsrBatch<T, I> a(spbmm::test::random_csr<T, I>(5, 7, 0.5, this->rng_).view());
  const auto b = gpu::DeviceDenseBatch<T>::uniform(1, 6, 2);
  const auto c = gpu::DeviceDenseBatch<T>::uniform(1, 5, 2);
  const auto c3 = gpu::DeviceDenseBatch<T>::uniform(3, 5, 2);
  gpu::Executor& ex = this->ex();
  const auto inner = [&] { ex.spmm(a, b.view(), c.view(), 1, 0); };
  const auto count = [&] { ex.spmm(a, b.view(), c3.view(), 1, 0); };
  EXPECT_NE(shape_error_of(inner).find("entry 0: op(A) is 5x7 but op(B) is 6x2"),
            std::string::npos);
  EXPECT_NE(shape_error_of(count).find("C has 3 entries"), std::string::npos);
}

TEST(GpuSpmmLarge, StridedBatchOptInBeyondTheCusparseLimitIsSplit) {
  if (!gpu::available()) GTEST_SKIP() << gpu::status();
  gpu::Executor ex;
  const std::size_t n = 70000;
  std::vector<std::int32_t> rp, ci;
  std::vector<float> v;
  std::mt19937_64 rng(5);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int32_t x : {0, 1, 2}) rp.push_back(x);
    for (std::int32_t x : {1, 0}) ci.push_back(x);
    v.push_back(spbmm::test::random_value<float>(rng));
    v.push_back(spbmm::test::random_value<float>(rng));
  }
  const CsrBatch<float, std::int32_t> a(std::vector<std::int64_t>(n, 2),
                                        std::vector<std::int64_t>(n, 2), rp, ci, v);
  auto hb = DenseBatch<float>::uniform(n, 2, 3);
  for (auto& x : hb.values()) x = spbmm::test::random_value<float>(rng);
  const gpu::DeviceCsrBatch<float, std::int32_t> da(a);
  const gpu::DeviceDenseBatch<float> b(hb);
  const auto c = gpu::DeviceDenseBatch<float>::uniform(n, 2, 3);
  gpu::Options allow;
  allow.allow_strided_batch = true;
  ex.spmm(da, b.view(), c.view(), 1, 0, allow);
  const auto got = c.download();
  EXPECT_EQ(ex.last_report().choice.path, gpu::Path::StridedBatch) << ex.last_report().str();
  EXPECT_EQ(ex.last_report().calls, 2);
  for (std::size_t i = 0; i < n; i += 997) {
    DenseMatrix<float> want(2, 3);
    ref::csr_dense<float, std::int32_t>(Op::N, Op::N, 1.0f, a.entry(i), hb.entry(i), 0.0f,
                                        want.view());
    ASSERT_TRUE(spbmm::test::dense_near(got.entry(i), want.view(), 1e-6)) << "entry " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// cuBLAS

template <class T>
class GpuGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!gpu::available()) GTEST_SKIP() << gpu::status();
    executor_ = std::make_unique<gpu::Executor>();
  }
  std::unique_ptr<gpu::Executor> executor_;
  std::mt19937_64 rng_{9};
};
using Values = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GpuGemm, Values);

// Runs dense a x b on the device and on the reference; layouts per operand.
template <class T>
void check_gemm(gpu::Executor& ex, const std::vector<DenseMatrix<T>>& a,
                const std::vector<DenseMatrix<T>>& b, std::vector<DenseMatrix<T>> c, Op op_a,
                Op op_b, T alpha, T beta, gpu::Path expect) {
  const std::size_t n = std::max(a.size(), b.size());
  std::vector<DenseMatrix<T>> want = c;
  std::int64_t kmax = 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& ai = a[a.size() == 1 ? 0 : i];
    kmax = std::max({kmax, ai.rows(), ai.cols()});
    ref::dense_dense<T>(op_a, op_b, alpha, ai.view(), b[b.size() == 1 ? 0 : i].view(), beta,
                        want[i].view());
  }
  const gpu::DeviceDenseBatch<T> da(DenseBatch<T>::from_list(a, a[0].layout()));
  const gpu::DeviceDenseBatch<T> db(DenseBatch<T>::from_list(b, b[0].layout()));
  const gpu::DeviceDenseBatch<T> dc(DenseBatch<T>::from_list(c, c[0].layout()));
  gpu::Options o;
  o.op_a = op_a;
  o.op_b = op_b;
  ex.gemm(da.view(), db.view(), dc.view(), alpha, beta, o);
  EXPECT_EQ(ex.last_report().choice.path, expect) << ex.last_report().str();
  EXPECT_TRUE(batch_near(dc.download(), want, spbmm::test::tolerance<T>(kmax)));
  // The same through host operands.
  auto hc = DenseBatch<T>::from_list(c, c[0].layout());
  const auto ha = DenseBatch<T>::from_list(a, a[0].layout());
  const auto hb = DenseBatch<T>::from_list(b, b[0].layout());
  gpu::gemm_into(ex, hc.view(), ha.view(), hb.view(), alpha, beta, o);
  EXPECT_TRUE(batch_near(hc, want, spbmm::test::tolerance<T>(kmax)));
}

TYPED_TEST(GpuGemm, UniformStridedEveryOpAndLayout) {
  using T = TypeParam;
  for (Op op_a : {Op::N, Op::T}) {
    for (Op op_b : {Op::N, Op::T}) {
      for (Layout la : {Layout::RowMajor, Layout::ColMajor}) {
        for (Layout lc : {Layout::RowMajor, Layout::ColMajor}) {
          SCOPED_TRACE(std::string(spbmm::to_string(op_a)) + spbmm::to_string(op_b) + " " +
                       spbmm::to_string(la) + " " + spbmm::to_string(lc));
          std::vector<DenseMatrix<T>> a, b, c;
          for (int i = 0; i < 4; ++i) {
            a.push_back(op_a == Op::N ? spbmm::test::random_dense<T>(7, 5, this->rng_, la)
                                      : spbmm::test::random_dense<T>(5, 7, this->rng_, la));
            b.push_back(op_b == Op::N ? spbmm::test::random_dense<T>(5, 3, this->rng_, la)
                                      : spbmm::test::random_dense<T>(3, 5, this->rng_, la));
            c.push_back(spbmm::test::random_dense<T>(7, 3, this->rng_, lc));
          }
          check_gemm<T>(*this->executor_, a, b, c, op_a, op_b, T(1.5), T(-0.5),
                        gpu::Path::StridedBatch);
        }
      }
    }
  }
}

TYPED_TEST(GpuGemm, BroadcastAndRagged) {
  using T = TypeParam;
  std::vector<DenseMatrix<T>> a, b, c;
  a.push_back(spbmm::test::random_dense<T>(6, 4, this->rng_));
  for (int i = 0; i < 3; ++i) {
    b.push_back(spbmm::test::random_dense<T>(4, 5, this->rng_));
    c.push_back(spbmm::test::random_dense<T>(6, 5, this->rng_));
  }
  check_gemm<T>(*this->executor_, a, b, c, Op::N, Op::N, T(1), T(1), gpu::Path::StridedBatch);
  a.clear();
  b.clear();
  c.clear();
  for (std::int64_t m : {3, 9, 1, 0}) {
    a.push_back(spbmm::test::random_dense<T>(m, m + 2, this->rng_));
    b.push_back(spbmm::test::random_dense<T>(4, m + 2, this->rng_));
    c.push_back(spbmm::test::random_dense<T>(m, 4, this->rng_));
  }
  check_gemm<T>(*this->executor_, a, b, c, Op::N, Op::T, T(2), T(0), gpu::Path::PerEntry);
}

// ---------------------------------------------------------------------------------------------
// Device facts

TEST(GpuDevice, StatusAndBandwidth) {
  if (!gpu::available()) GTEST_SKIP() << gpu::status();
  EXPECT_NE(gpu::status().find("CUDA device 0"), std::string::npos) << gpu::status();
  std::cout << "  [" << gpu::status() << "]\n";
  gpu::Executor ex;
  const gpu::Bandwidth saved = gpu::bandwidth();
  const gpu::Bandwidth b = ex.measure_bandwidth(std::size_t{16} << 20);
  std::cout << "  [pinned H2D " << b.h2d_bytes_per_s / 1e9 << " GB/s, D2H "
            << b.d2h_bytes_per_s / 1e9 << " GB/s, latency " << b.latency_s * 1e6 << " us]\n";
  EXPECT_TRUE(b.measured);
  EXPECT_GT(b.h2d_bytes_per_s, 1e8);
  EXPECT_GT(b.d2h_bytes_per_s, 1e8);
  EXPECT_TRUE(gpu::bandwidth().measured);
  gpu::set_bandwidth(saved);
}

}  // namespace
