// Tests for the SuiteSparse interop: CHOLMOD views and exports, GraphBLAS round trips, and
// cross-checks against CHOLMOD on the real Matrix Market files.
#include "spbmm/interop/suitesparse.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/kernels.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm::interop {
namespace {

using test::AllPairs;

// Test-local oracles, so these tests do not lean on the converters under test elsewhere.
template <class T, class I>
DenseMatrix<T> dense_of(const CsrView<T, I>& a) {
  DenseMatrix<T> d(a.rows, a.cols);
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (I k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) d(r, a.col_idx[k]) += a.values[k];
  }
  return d;
}

template <class T>
DenseMatrix<T> transposed(const DenseMatrix<T>& a) {
  DenseMatrix<T> t(a.cols(), a.rows());
  for (std::int64_t i = 0; i < a.rows(); ++i) {
    for (std::int64_t j = 0; j < a.cols(); ++j) t(j, i) = a(i, j);
  }
  return t;
}

template <class T, class I>
::testing::AssertionResult same_csr(const CsrView<T, I>& got, const CsrView<T, I>& want) {
  if (got.rows != want.rows || got.cols != want.cols || got.nnz() != want.nnz()) {
    return ::testing::AssertionFailure()
           << "shape/nnz " << got.rows << "x" << got.cols << "/" << got.nnz() << " vs " << want.rows
           << "x" << want.cols << "/" << want.nnz();
  }
  for (std::int64_t r = 0; r <= got.rows && got.rows > 0; ++r) {
    if (got.row_ptr[r] != want.row_ptr[r]) {
      return ::testing::AssertionFailure() << "row_ptr[" << r << "] differs";
    }
  }
  for (std::int64_t k = 0; k < got.nnz(); ++k) {
    if (got.col_idx[k] != want.col_idx[k] || got.values[k] != want.values[k]) {
      return ::testing::AssertionFailure() << "entry " << k << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

#if SPBMM_HAVE_CHOLMOD

template <class I>
constexpr bool kLong = std::is_same_v<I, std::int64_t>;

// A started cholmod_common whose itype fits I; quiet, since tests provoke failures.
template <class I>
class Common {
 public:
  Common() {
    if constexpr (kLong<I>) {
      cholmod_l_start(&c_);
    } else {
      cholmod_start(&c_);
    }
    c_.print = 0;
  }
  ~Common() {
    if constexpr (kLong<I>) {
      cholmod_l_finish(&c_);
    } else {
      cholmod_finish(&c_);
    }
  }
  Common(const Common&) = delete;
  Common& operator=(const Common&) = delete;
  cholmod_common& get() { return c_; }
  cholmod_common* operator->() { return &c_; }

 private:
  cholmod_common c_{};
};

template <class I>
struct SparseFree {
  cholmod_common* c;
  void operator()(cholmod_sparse* s) const {
    if constexpr (kLong<I>) {
      cholmod_l_free_sparse(&s, c);
    } else {
      cholmod_free_sparse(&s, c);
    }
  }
};
template <class I>
using SparsePtr = std::unique_ptr<cholmod_sparse, SparseFree<I>>;

template <class I>
struct DenseFree {
  cholmod_common* c;
  void operator()(cholmod_dense* d) const {
    if constexpr (kLong<I>) {
      cholmod_l_free_dense(&d, c);
    } else {
      cholmod_free_dense(&d, c);
    }
  }
};
template <class I>
using DensePtr = std::unique_ptr<cholmod_dense, DenseFree<I>>;

template <class I>
SparsePtr<I> own(cholmod_sparse* s, Common<I>& c) {
  return SparsePtr<I>(s, SparseFree<I>{&c.get()});
}
template <class I>
DensePtr<I> own(cholmod_dense* d, Common<I>& c) {
  return DensePtr<I>(d, DenseFree<I>{&c.get()});
}

template <class P>
class CholmodSparse : public ::testing::Test {};
TYPED_TEST_SUITE(CholmodSparse, AllPairs);

TYPED_TEST(CholmodSparse, ExportOfTransposeViewsBackExactlyWithoutCopying) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(21);
  const auto a = test::random_csr<T, I>(9, 6, 0.4, rng);
  Common<I> c;
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    SPBMM_EXPECT_THROW_MSG(to_cholmod_sparse_of_transpose(a.view(), c.get()), InvalidArgument,
                           "stores double values only");
    SPBMM_EXPECT_THROW_MSG(to_cholmod_sparse(a.view(), c.get()), InvalidArgument,
                           "stores double values only");
  } else {
    auto s = own(to_cholmod_sparse_of_transpose(a.view(), c.get()), c);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->nrow, 6u);
    EXPECT_EQ(s->ncol, 9u);
    EXPECT_EQ(s->stype, 0);
    EXPECT_TRUE(s->packed);
    EXPECT_TRUE(s->sorted);
    const CsrView<T, I> v = csr_of_transpose<T, I>(*s);
    EXPECT_EQ(static_cast<const void*>(v.row_ptr), s->p);
    EXPECT_EQ(static_cast<const void*>(v.col_idx), s->i);
    EXPECT_EQ(static_cast<const void*>(v.values), s->x);
    EXPECT_TRUE(same_csr(v, a.view()));
  }
}

TYPED_TEST(CholmodSparse, ExportIsTheCscOfTheMatrix) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    GTEST_SKIP() << "CHOLMOD " << CHOLMOD_MAIN_VERSION << " stores double values only";
  } else {
    std::mt19937_64 rng(22);
    const auto a = test::random_csr<T, I>(7, 12, 0.3, rng);
    Common<I> c;
    auto s = own(to_cholmod_sparse(a.view(), c.get()), c);
    EXPECT_EQ(s->nrow, 7u);
    EXPECT_EQ(s->ncol, 12u);
    if constexpr (kLong<I>) {
      EXPECT_TRUE(cholmod_l_check_sparse(s.get(), &c.get()));
    } else {
      EXPECT_TRUE(cholmod_check_sparse(s.get(), &c.get()));
    }
    const auto at = csr_of_transpose<T, I>(*s);
    EXPECT_TRUE(test::dense_near(dense_of(at).view(), transposed(dense_of(a.view())).view(), 0));
    validate(at);
  }
}

TYPED_TEST(CholmodSparse, EmptyShapesRoundTrip) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    GTEST_SKIP() << "CHOLMOD " << CHOLMOD_MAIN_VERSION << " stores double values only";
  } else {
    Common<I> c;
    const CsrMatrix<T, I> zero_rows(0, 5);
    auto s = own(to_cholmod_sparse_of_transpose(zero_rows.view(), c.get()), c);
    EXPECT_EQ((csr_of_transpose<T, I>(*s)).rows, 0);
    auto s2 = own(to_cholmod_sparse(zero_rows.view(), c.get()), c);
    EXPECT_EQ((csr_of_transpose<T, I>(*s2)).rows, 5);
    EXPECT_EQ((csr_of_transpose<T, I>(*s2)).nnz(), 0);
    const CsrMatrix<T, I> no_entries(4, 3);
    auto s3 = own(to_cholmod_sparse(no_entries.view(), c.get()), c);
    const auto v = csr_of_transpose<T, I>(*s3);
    EXPECT_EQ(v.rows, 3);
    EXPECT_EQ(v.cols, 4);
    EXPECT_EQ(v.nnz(), 0);
  }
}

TYPED_TEST(CholmodSparse, BrokenPromisesAreRejected) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(23);
  const auto a = test::random_csr<double, I>(5, 5, 0.5, rng);
  Common<I> c;
  auto s = own(to_cholmod_sparse(a.view(), c.get()), c);
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument,
                           "stores double values only");
  } else if constexpr (std::is_same_v<T, float>) {
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument, "not float");
  } else {
    using Other = std::conditional_t<kLong<I>, std::int32_t, std::int64_t>;
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, Other>(*s)), InvalidArgument, "itype");
    Common<Other> other;
    SPBMM_EXPECT_THROW_MSG(to_cholmod_sparse(a.view(), other.get()), InvalidArgument,
                           kLong<I> ? "cholmod_l_start" : "cholmod_start");

    s->stype = -1;
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument,
                           "expand it first with cholmod_copy");
    s->stype = 0;
    s->sorted = 0;
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument, "cholmod_sort");
    s->sorted = 1;
    s->packed = 0;
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument, "not packed");
    s->packed = 1;
    s->xtype = CHOLMOD_PATTERN;
    SPBMM_EXPECT_THROW_MSG((csr_of_transpose<T, I>(*s)), InvalidArgument, "not real");
    s->xtype = CHOLMOD_REAL;
    EXPECT_NO_THROW((csr_of_transpose<T, I>(*s)));

    // Invalid CSR never reaches CHOLMOD.
    std::vector<I> rp = {0, 2, 1};
    std::vector<I> ci = {0, 1};
    std::vector<T> vals = {1, 2};
    const CsrView<T, I> bad{2, 2, rp.data(), ci.data(), vals.data()};
    EXPECT_THROW(to_cholmod_sparse(bad, c.get()), FormatError);
    EXPECT_THROW(to_cholmod_sparse_of_transpose(bad, c.get()), FormatError);
  }
}

TYPED_TEST(CholmodSparse, ProductAgreesWithCholmodSdmult) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  if constexpr (!std::is_same_v<T, double>) {
    GTEST_SKIP() << "cholmod_sdmult is checked in double";
  } else {
    std::mt19937_64 rng(24);
    const auto a = test::random_csr<T, I>(20, 15, 0.25, rng);
    const auto x = test::random_dense<T>(15, 4, rng, Layout::RowMajor);
    const auto xt = test::random_dense<T>(20, 4, rng, Layout::ColMajor);
    Common<I> c;
    auto s = own(to_cholmod_sparse(a.view(), c.get()), c);
    auto cx = own(to_cholmod_dense(x.view(), c.get()), c);
    auto cxt = own(to_cholmod_dense(xt.view(), c.get()), c);
    double alpha[2] = {1.0, 0.0};
    double beta[2] = {0.0, 0.0};
    DensePtr<I> y(nullptr, DenseFree<I>{&c.get()});
    DensePtr<I> yt(nullptr, DenseFree<I>{&c.get()});
    if constexpr (kLong<I>) {
      y.reset(cholmod_l_zeros(20, 4, CHOLMOD_REAL, &c.get()));
      yt.reset(cholmod_l_zeros(15, 4, CHOLMOD_REAL, &c.get()));
      ASSERT_TRUE(cholmod_l_sdmult(s.get(), 0, alpha, beta, cx.get(), y.get(), &c.get()));
      ASSERT_TRUE(cholmod_l_sdmult(s.get(), 1, alpha, beta, cxt.get(), yt.get(), &c.get()));
    } else {
      y.reset(cholmod_zeros(20, 4, CHOLMOD_REAL, &c.get()));
      yt.reset(cholmod_zeros(15, 4, CHOLMOD_REAL, &c.get()));
      ASSERT_TRUE(cholmod_sdmult(s.get(), 0, alpha, beta, cx.get(), y.get(), &c.get()));
      ASSERT_TRUE(cholmod_sdmult(s.get(), 1, alpha, beta, cxt.get(), yt.get(), &c.get()));
    }
    DenseMatrix<T> want(20, 4);
    kernels::reference::csr_dense<T, I>(Op::N, Op::N, 1.0, a.view(), x.view(), 0.0, want.view());
    EXPECT_TRUE(test::dense_near(dense_view<T>(*static_cast<const cholmod_dense*>(y.get())),
                                 want.view(), test::tolerance<T>(15)));
    DenseMatrix<T> want_t(15, 4);
    kernels::reference::csr_dense<T, I>(Op::T, Op::N, 1.0, a.view(), xt.view(), 0.0, want_t.view());
    EXPECT_TRUE(test::dense_near(dense_view<T>(*yt), want_t.view(), test::tolerance<T>(20)));
  }
}

template <class T>
class CholmodDense : public ::testing::Test {};
using Values = ::testing::Types<float, double>;
TYPED_TEST_SUITE(CholmodDense, Values);

TYPED_TEST(CholmodDense, ViewKeepsTheLeadingDimension) {
  using T = TypeParam;
  Common<std::int32_t> c;
  auto d = own(cholmod_allocate_dense(4, 3, 7, CHOLMOD_REAL, &c.get()), c);
  ASSERT_NE(d, nullptr);
  auto* x = static_cast<double*>(d->x);
  for (int k = 0; k < 21; ++k) x[k] = k;
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    SPBMM_EXPECT_THROW_MSG(dense_view<T>(*d), InvalidArgument, "stores double values only");
  } else {
    const DenseView<T> v = dense_view<T>(*d);
    EXPECT_EQ(static_cast<void*>(v.data), d->x);
    EXPECT_EQ(v.rows, 4);
    EXPECT_EQ(v.cols, 3);
    EXPECT_EQ(v.ld, 7);
    EXPECT_EQ(v.layout, Layout::ColMajor);
    EXPECT_EQ(v(3, 2), T(3 + 2 * 7));
    v(1, 1) = T(-1);
    EXPECT_EQ(x[1 + 7], -1.0);
    const cholmod_dense& cd = *d;
    const DenseView<const T> cv = dense_view<T>(cd);
    EXPECT_EQ(cv(1, 1), T(-1));
    validate(cv, "cholmod dense");
  }
}

TYPED_TEST(CholmodDense, ExportCopiesEitherLayoutBothIndexTypes) {
  using T = TypeParam;
  std::mt19937_64 rng(31);
  if constexpr (std::is_same_v<T, float> && !kCholmodHasSingle) {
    Common<std::int32_t> c;
    const auto a = test::random_dense<T>(3, 2, rng);
    SPBMM_EXPECT_THROW_MSG(to_cholmod_dense(a.view(), c.get()), InvalidArgument,
                           "stores double values only");
  } else {
    for (const Layout layout : {Layout::RowMajor, Layout::ColMajor}) {
      const auto a = test::random_dense<T>(5, 4, rng, layout);
      Common<std::int32_t> c;
      auto d = own(to_cholmod_dense(a.view(), c.get()), c);
      EXPECT_EQ(d->nrow, 5u);
      EXPECT_EQ(d->ncol, 4u);
      EXPECT_EQ(d->d, 5u);
      EXPECT_TRUE(test::dense_near(dense_view<T>(*d), a.view(), 0));
      Common<std::int64_t> cl;
      auto dl = own(to_cholmod_dense(a.view(), cl.get()), cl);
      EXPECT_TRUE(test::dense_near(dense_view<T>(*dl), a.view(), 0));
    }
    Common<std::int32_t> c;
    const DenseMatrix<T> empty(0, 3);
    auto d = own(to_cholmod_dense(empty.view(), c.get()), c);
    EXPECT_EQ(dense_view<T>(*d).rows, 0);
    validate(dense_view<T>(*d), "empty cholmod dense");
  }
}

TEST(CholmodErrors, FailedAllocationThrowsTheStatusQuietly) {
  Common<std::int32_t> c;
  c->print = 3;  // CHOLMOD would print its error at this level
  const double one = 1.0;
  const std::int64_t huge = std::int64_t{1} << 30;
  const DenseView<const double> big(&one, huge, huge, Layout::ColMajor);
  ::testing::internal::CaptureStdout();
  try {
    cholmod_dense* d = to_cholmod_dense(big, c.get());
    cholmod_free_dense(&d, &c.get());
    ADD_FAILURE() << "a 2^30 x 2^30 dense matrix was allocated";
  } catch (const SuiteSparseError& e) {
    EXPECT_EQ(e.library(), "CHOLMOD");
    EXPECT_LT(e.code(), 0);
    EXPECT_NE(std::string(e.what()).find("cholmod_allocate_dense failed: status"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(c->print, 3);
}

#endif  // SPBMM_HAVE_CHOLMOD

#if SPBMM_HAVE_GRAPHBLAS

// GraphBLAS needs GrB_init once per process before any call.
class GraphBlasEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_EQ(GrB_init(GrB_NONBLOCKING), GrB_SUCCESS); }
  void TearDown() override { GrB_finalize(); }
};
[[maybe_unused]] ::testing::Environment* const kGraphBlasEnv =
    ::testing::AddGlobalTestEnvironment(new GraphBlasEnvironment);

struct GrbFree {
  void operator()(GrB_Matrix m) const { GrB_Matrix_free(&m); }
};
using GrbPtr = std::unique_ptr<std::remove_pointer_t<GrB_Matrix>, GrbFree>;

template <class P>
class GraphBlas : public ::testing::Test {};
TYPED_TEST_SUITE(GraphBlas, AllPairs);

TYPED_TEST(GraphBlas, RoundTripIsExact) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(41);
  for (const auto& shape : {std::pair<int, int>{17, 9}, {1, 30}, {0, 4}, {6, 0}, {5, 5}}) {
    const auto a = test::random_csr<T, I>(shape.first, shape.second, 0.3, rng);
    GrbPtr g(to_graphblas(a.view()));
    GrB_Index nrows = 0;
    GrB_Index nvals = 0;
    ASSERT_EQ(GrB_Matrix_nrows(&nrows, g.get()), GrB_SUCCESS);
    ASSERT_EQ(GrB_Matrix_nvals(&nvals, g.get()), GrB_SUCCESS);
    EXPECT_EQ(nrows, static_cast<GrB_Index>(a.rows()));
    EXPECT_EQ(nvals, static_cast<GrB_Index>(a.nnz()));
    const auto back = from_graphblas<T, I>(g.get());
    EXPECT_TRUE(same_csr(back.view(), a.view())) << shape.first << "x" << shape.second;
  }
}

TYPED_TEST(GraphBlas, ColumnFormatAndAnyInsertOrderComeBackCanonical) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  std::mt19937_64 rng(42);
  const auto a = test::random_csr<T, I>(12, 8, 0.35, rng);
  const auto d = dense_of(a.view());
  GrB_Matrix raw = nullptr;
  ASSERT_EQ(GrB_Matrix_new(&raw, GrB_FP64, 12, 8), GrB_SUCCESS);
  GrbPtr g(raw);
  ASSERT_EQ(GxB_Matrix_Option_set(g.get(), GxB_FORMAT, GxB_BY_COL), GrB_SUCCESS);
  std::vector<std::pair<int, int>> pos;
  for (int r = 0; r < 12; ++r) {
    for (I k = a.row_ptr()[r]; k < a.row_ptr()[r + 1]; ++k) pos.emplace_back(r, a.col_idx()[k]);
  }
  std::shuffle(pos.begin(), pos.end(), rng);
  for (const auto& [r, col] : pos) {
    ASSERT_EQ(GrB_Matrix_setElement_FP64(g.get(), static_cast<double>(d(r, col)),
                                         static_cast<GrB_Index>(r), static_cast<GrB_Index>(col)),
              GrB_SUCCESS);
  }
  const auto back = from_graphblas<T, I>(g.get());
  validate(back.view());
  EXPECT_TRUE(same_csr(back.view(), a.view()));
}

TYPED_TEST(GraphBlas, IntegerMatricesAreTypecast) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  GrB_Matrix raw = nullptr;
  ASSERT_EQ(GrB_Matrix_new(&raw, GrB_INT32, 3, 3), GrB_SUCCESS);
  GrbPtr g(raw);
  ASSERT_EQ(GrB_Matrix_setElement_INT32(g.get(), -7, 2, 0), GrB_SUCCESS);
  ASSERT_EQ(GrB_Matrix_setElement_INT32(g.get(), 5, 0, 1), GrB_SUCCESS);
  const auto m = from_graphblas<T, I>(g.get());
  EXPECT_EQ(m.nnz(), 2);
  EXPECT_EQ(m.row_ptr(), (std::vector<I>{0, 1, 1, 2}));
  EXPECT_EQ(m.col_idx(), (std::vector<I>{1, 0}));
  EXPECT_EQ(m.values(), (std::vector<T>{T(5), T(-7)}));
}

TYPED_TEST(GraphBlas, FailuresCarryTheStatus) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  SPBMM_EXPECT_THROW_MSG((from_graphblas<T, I>(nullptr)), InvalidArgument, "null");

  struct Pair2 {
    double a, b;
  };
  GrB_Type udt = nullptr;
  ASSERT_EQ(GrB_Type_new(&udt, sizeof(Pair2)), GrB_SUCCESS);
  GrB_Matrix raw = nullptr;
  ASSERT_EQ(GrB_Matrix_new(&raw, udt, 2, 2), GrB_SUCCESS);
  GrbPtr g(raw);
  try {
    from_graphblas<T, I>(g.get());
    ADD_FAILURE() << "a user-defined type was accepted";
  } catch (const SuiteSparseError& e) {
    EXPECT_EQ(e.library(), "GraphBLAS");
    EXPECT_EQ(e.code(), static_cast<int>(GrB_DOMAIN_MISMATCH));
    EXPECT_NE(std::string(e.what()).find("GrB_DOMAIN_MISMATCH"), std::string::npos) << e.what();
  }
  g.reset();
  GrB_Type_free(&udt);

  if constexpr (std::is_same_v<I, std::int32_t>) {
    GrB_Matrix huge = nullptr;
    ASSERT_EQ(GrB_Matrix_new(&huge, GrB_FP64, GrB_Index{1} << 40, 3), GrB_SUCCESS);
    GrbPtr h(huge);
    SPBMM_EXPECT_THROW_MSG((from_graphblas<T, I>(h.get())), LimitError,
                           "does not fit int32_t indices");
  }

  std::vector<I> rp = {0, 1, 2};
  std::vector<I> ci = {3, 0};
  std::vector<T> vals = {1, 2};
  EXPECT_THROW(to_graphblas(CsrView<T, I>{2, 2, rp.data(), ci.data(), vals.data()}), FormatError);
}

#endif  // SPBMM_HAVE_GRAPHBLAS

#if SPBMM_HAVE_CHOLMOD

// The real/ folder of the data_dir build option, or "" when it is not set up.
std::string real_dir() {
  const std::string root = test::data_dir();
  if (root.empty()) return {};
  return root + "/real";
}

std::vector<std::string> real_files() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(real_dir())) {
    if (e.is_regular_file() && e.path().extension() == ".mtx") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Reads a file with CHOLMOD and, when symmetric, expands it to both triangles (stype 0).
// Returns null for files CHOLMOD reads as complex (spbmm holds real values only).
template <class I>
SparsePtr<I> cholmod_read_unsymmetric(const std::string& path, Common<I>& c) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    ADD_FAILURE() << "cannot open " << path;
    return SparsePtr<I>(nullptr, SparseFree<I>{&c.get()});
  }
  cholmod_sparse* raw = nullptr;
  if constexpr (kLong<I>) {
    raw = cholmod_l_read_sparse(f, &c.get());
  } else {
    raw = cholmod_read_sparse(f, &c.get());
  }
  std::fclose(f);
  auto a = own(raw, c);
  if (a == nullptr) {
    ADD_FAILURE() << "cholmod_read_sparse failed on " << path << " (status " << c->status << ")";
    return a;
  }
  if (a->xtype != CHOLMOD_REAL) return SparsePtr<I>(nullptr, SparseFree<I>{&c.get()});
  if (a->stype != 0) {
    if constexpr (kLong<I>) {
      a = own(cholmod_l_copy(a.get(), 0, 1, &c.get()), c);
    } else {
      a = own(cholmod_copy(a.get(), 0, 1, &c.get()), c);
    }
    EXPECT_NE(a, nullptr) << "cholmod_copy failed on " << path;
  }
  return a;
}

// |got - want| <= rtol * sum_k |a_ik x_kj| + tiny: the rounding bound of a sum, robust to
// cancellation where a plain relative test is not.
template <class T>
::testing::AssertionResult product_near(const DenseView<const T>& got,
                                        const DenseView<const T>& want,
                                        const DenseView<const T>& bound, double rtol) {
  for (std::int64_t i = 0; i < want.rows; ++i) {
    for (std::int64_t j = 0; j < want.cols; ++j) {
      const double g = got(i, j);
      const double w = want(i, j);
      if (!(std::fabs(g - w) <= rtol * bound(i, j) + 1e-300)) {
        return ::testing::AssertionFailure() << "at (" << i << ", " << j << "): got " << g
                                             << ", want " << w << ", bound " << rtol * bound(i, j);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// A = the file's matrix; X and Y random. Checks A*X and A^T*Y against cholmod_sdmult.
template <class I>
void check_products(const cholmod_sparse& a_const, Common<I>& c, std::mt19937_64& rng,
                    const std::string& name) {
  using T = double;
  auto* a = const_cast<cholmod_sparse*>(&a_const);  // CHOLMOD's API is not const-correct
  const auto at = csr_of_transpose<T, I>(a_const);  // CSR of A^T
  const std::int64_t m = static_cast<std::int64_t>(a->nrow);
  const std::int64_t n = static_cast<std::int64_t>(a->ncol);
  constexpr std::int64_t k = 2;
  const auto x = test::random_dense<T>(n, k, rng, Layout::ColMajor);
  const auto y = test::random_dense<T>(m, k, rng, Layout::ColMajor);
  auto cx = own(to_cholmod_dense(x.view(), c.get()), c);
  auto cy = own(to_cholmod_dense(y.view(), c.get()), c);
  auto ax = own(to_cholmod_dense<T>(DenseMatrix<T>(m, k, Layout::ColMajor).view(), c.get()), c);
  auto aty = own(to_cholmod_dense<T>(DenseMatrix<T>(n, k, Layout::ColMajor).view(), c.get()), c);
  double alpha[2] = {1.0, 0.0};
  double beta[2] = {0.0, 0.0};
  if constexpr (kLong<I>) {
    ASSERT_TRUE(cholmod_l_sdmult(a, 0, alpha, beta, cx.get(), ax.get(), &c.get())) << name;
    ASSERT_TRUE(cholmod_l_sdmult(a, 1, alpha, beta, cy.get(), aty.get(), &c.get())) << name;
  } else {
    ASSERT_TRUE(cholmod_sdmult(a, 0, alpha, beta, cx.get(), ax.get(), &c.get())) << name;
    ASSERT_TRUE(cholmod_sdmult(a, 1, alpha, beta, cy.get(), aty.get(), &c.get())) << name;
  }
  // |A| and |X| give the rounding bound of each dot product.
  std::vector<T> abs_vals(at.values, at.values + at.nnz());
  for (auto& v : abs_vals) v = std::fabs(v);
  const CsrView<T, I> abs_at{at.rows, at.cols, at.row_ptr, at.col_idx, abs_vals.data()};
  auto abs_of = [](DenseMatrix<T> d) {
    for (auto& v : d.values()) v = std::fabs(v);
    return d;
  };
  const auto abs_x = abs_of(x);
  const auto abs_y = abs_of(y);
  const double rtol = 4.0 * test::tolerance<T>(std::max<std::int64_t>(m, n));

  DenseMatrix<T> want(m, k, Layout::ColMajor);
  DenseMatrix<T> bound(m, k, Layout::ColMajor);
  kernels::reference::csr_dense<T, I>(Op::T, Op::N, 1.0, at, x.view(), 0.0, want.view());
  kernels::reference::csr_dense<T, I>(Op::T, Op::N, 1.0, abs_at, abs_x.view(), 0.0, bound.view());
  EXPECT_TRUE(product_near<T>(dense_view<T>(*static_cast<const cholmod_dense*>(ax.get())),
                              want.view(), bound.view(), rtol))
      << name << ": A*X";

  DenseMatrix<T> want_t(n, k, Layout::ColMajor);
  DenseMatrix<T> bound_t(n, k, Layout::ColMajor);
  kernels::reference::csr_dense<T, I>(Op::N, Op::N, 1.0, at, y.view(), 0.0, want_t.view());
  kernels::reference::csr_dense<T, I>(Op::N, Op::N, 1.0, abs_at, abs_y.view(), 0.0, bound_t.view());
  EXPECT_TRUE(product_near<T>(dense_view<T>(*static_cast<const cholmod_dense*>(aty.get())),
                              want_t.view(), bound_t.view(), rtol))
      << name << ": A^T*Y";
}

TEST(RealData, ReferenceProductMatchesCholmodSdmult) {
  if (test::data_dir().empty()) {
    GTEST_SKIP() << "SPBMM_DATA_DIR is empty: configure with -Ddata_dir=<folder with real/>";
  }
  if (!std::filesystem::is_directory(real_dir())) {
    GTEST_SKIP() << "no real/ folder under SPBMM_DATA_DIR=" << test::data_dir();
  }
  std::mt19937_64 rng(51);
  int checked = 0;
  for (const auto& path : real_files()) {
    const std::string name = std::filesystem::path(path).filename().string();
    Common<std::int32_t> c;
    auto a = cholmod_read_unsymmetric(path, c);
    if (a == nullptr) continue;
    check_products(*a, c, rng, name);
    // The int64 path on the smaller files (it reads the same text again).
    if (std::filesystem::file_size(path) < 100000) {
      Common<std::int64_t> cl;
      auto al = cholmod_read_unsymmetric(path, cl);
      if (al != nullptr) check_products(*al, cl, rng, name + " (int64)");
    }
    ++checked;
  }
  RecordProperty("files_checked", checked);
  EXPECT_GT(checked, 0);
}

TEST(RealData, MatrixMarketReaderMatchesCholmodEntryByEntry) {
  if (test::data_dir().empty()) {
    GTEST_SKIP() << "SPBMM_DATA_DIR is empty: configure with -Ddata_dir=<folder with real/>";
  }
  if (!std::filesystem::is_directory(real_dir())) {
    GTEST_SKIP() << "no real/ folder under SPBMM_DATA_DIR=" << test::data_dir();
  }
  int compared = 0;
  for (const auto& path : real_files()) {
    const std::string name = std::filesystem::path(path).filename().string();
    const MatrixMarketHeader header = read_matrix_market_header(path);
    if (header.field == MmField::Complex) continue;  // spbmm holds real values only
    Common<std::int32_t> c;
    auto a = cholmod_read_unsymmetric(path, c);
    if (a == nullptr) continue;
    const auto mine = read_matrix_market_csr<double, std::int32_t>(path);
    // CHOLMOD's CSC of A is the CSR of A^T: export spbmm's CSR as CSC and compare the arrays.
    auto ours = own(to_cholmod_sparse(mine.view(), c.get()), c);
    ASSERT_EQ(ours->nrow, a->nrow) << name;
    ASSERT_EQ(ours->ncol, a->ncol) << name;
    const auto want = csr_of_transpose<double, std::int32_t>(*a);
    const auto got = csr_of_transpose<double, std::int32_t>(*ours);
    ASSERT_EQ(got.nnz(), want.nnz()) << name;
    bool same_pattern = std::equal(got.row_ptr, got.row_ptr + got.rows + 1, want.row_ptr) &&
                        std::equal(got.col_idx, got.col_idx + got.nnz(), want.col_idx);
    EXPECT_TRUE(same_pattern) << name << ": the sparsity patterns differ";
    // CHOLMOD makes up values for symmetric pattern files (-1 off the diagonal), so pattern
    // files are compared by structure only.
    if (same_pattern && header.field != MmField::Pattern) {
      std::int64_t mismatches = 0;
      std::int64_t first = -1;
      for (std::int64_t k = 0; k < got.nnz(); ++k) {
        const double g = got.values[k];
        const double w = want.values[k];
        // Duplicates may be summed in another order: allow a few ulps.
        if (!(g == w || std::fabs(g - w) <= 4e-16 * std::max(std::fabs(g), std::fabs(w)))) {
          if (first < 0) first = k;
          ++mismatches;
        }
      }
      EXPECT_EQ(mismatches, 0) << name << ": first differing value at position " << first << ": "
                               << got.values[std::max<std::int64_t>(first, 0)] << " vs "
                               << want.values[std::max<std::int64_t>(first, 0)];
    }
    ++compared;
  }
  RecordProperty("files_compared", compared);
  EXPECT_GT(compared, 0);
}

#endif  // SPBMM_HAVE_CHOLMOD

}  // namespace
}  // namespace spbmm::interop
