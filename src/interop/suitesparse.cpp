// CHOLMOD and GraphBLAS interop: views on CHOLMOD storage, copies into CHOLMOD and GraphBLAS, and
// GraphBLAS matrices into CsrMatrix.
#include "spbmm/interop/suitesparse.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace spbmm::interop {

namespace {

template <class T>
const char* value_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}
template <class I>
const char* index_name() {
  return std::is_same_v<I, std::int32_t> ? "int32_t" : "int64_t";
}

}  // namespace

#if SPBMM_HAVE_CHOLMOD

namespace {

static_assert(sizeof(SuiteSparse_long) == sizeof(std::int64_t),
              "CHOLMOD_LONG indices must be 64-bit for the int64_t interop");

const char* cholmod_status_name(int status) {
  switch (status) {
    case CHOLMOD_OK:
      return "CHOLMOD_OK";
    case CHOLMOD_NOT_INSTALLED:
      return "CHOLMOD_NOT_INSTALLED";
    case CHOLMOD_OUT_OF_MEMORY:
      return "CHOLMOD_OUT_OF_MEMORY";
    case CHOLMOD_TOO_LARGE:
      return "CHOLMOD_TOO_LARGE";
    case CHOLMOD_INVALID:
      return "CHOLMOD_INVALID";
    case CHOLMOD_GPU_PROBLEM:
      return "CHOLMOD_GPU_PROBLEM";
    case CHOLMOD_NOT_POSDEF:
      return "CHOLMOD_NOT_POSDEF";
    case CHOLMOD_DSMALL:
      return "CHOLMOD_DSMALL";
    default:
      return "unknown status";
  }
}

// Keeps CHOLMOD quiet for the duration of a call: the library reports through exceptions only.
class QuietCommon {
 public:
  explicit QuietCommon(cholmod_common& c) : c_(c), print_(c.print) { c_.print = 0; }
  ~QuietCommon() { c_.print = print_; }
  QuietCommon(const QuietCommon&) = delete;
  QuietCommon& operator=(const QuietCommon&) = delete;

 private:
  cholmod_common& c_;
  int print_;
};

[[noreturn]] void throw_cholmod(const char* call, const cholmod_common& c) {
  // A failed allocation may leave status at OK when CHOLMOD itself did not get to set it.
  const int status = c.status != CHOLMOD_OK ? c.status : CHOLMOD_INVALID;
  throw SuiteSparseError("CHOLMOD", status,
                         std::string("CHOLMOD ") + call + " failed: status " +
                             std::to_string(status) + " (" + cholmod_status_name(status) + ")");
}

template <class T>
constexpr int cholmod_dtype() {
  return std::is_same_v<T, float> ? CHOLMOD_SINGLE : CHOLMOD_DOUBLE;
}
template <class I>
constexpr int cholmod_itype() {
  return std::is_same_v<I, std::int32_t> ? CHOLMOD_INT : CHOLMOD_LONG;
}
const char* itype_name(int itype) {
  return itype == CHOLMOD_INT ? "CHOLMOD_INT" : itype == CHOLMOD_LONG ? "CHOLMOD_LONG" : "other";
}

// The xtype argument of the allocators: CHOLMOD 5 folds the value type into it.
template <class T>
int alloc_xtype() {
#if CHOLMOD_MAIN_VERSION >= 5
  return CHOLMOD_REAL + cholmod_dtype<T>();
#else
  return CHOLMOD_REAL;
#endif
}

template <class T>
void check_value_type(const char* fn, int xtype, int dtype) {
  if (xtype != CHOLMOD_REAL) {
    throw InvalidArgument(std::string("spbmm::interop::") + fn +
                          ": the CHOLMOD matrix is not real (xtype " + std::to_string(xtype) +
                          "); spbmm holds real float or double values only");
  }
  if (!kCholmodHasSingle && std::is_same_v<T, float>) {
    throw InvalidArgument(
        std::string("spbmm::interop::") + fn + ": CHOLMOD " + std::to_string(CHOLMOD_MAIN_VERSION) +
        "." + std::to_string(CHOLMOD_SUB_VERSION) + " stores double values only; use T = double");
  }
  if (dtype != cholmod_dtype<T>()) {
    throw InvalidArgument(std::string("spbmm::interop::") + fn + ": the CHOLMOD matrix holds " +
                          (dtype == CHOLMOD_SINGLE ? "float" : "double") + " values, not " +
                          value_name<T>());
  }
}

template <class I>
void check_common(const char* fn, const cholmod_common& c) {
  if (c.itype != cholmod_itype<I>()) {
    throw InvalidArgument(std::string("spbmm::interop::") + fn + ": the cholmod_common has itype " +
                          itype_name(c.itype) + " but " + index_name<I>() + " indices need " +
                          itype_name(cholmod_itype<I>()) + " (start it with " +
                          (std::is_same_v<I, std::int32_t> ? "cholmod_start" : "cholmod_l_start") +
                          ")");
  }
}

template <class T, class I>
cholmod_sparse* allocate_sparse(std::int64_t nrow, std::int64_t ncol, std::int64_t nnz,
                                cholmod_common& c) {
  const QuietCommon quiet(c);
  const auto nz = static_cast<std::size_t>(std::max<std::int64_t>(nnz, 1));
  cholmod_sparse* s = nullptr;
  if constexpr (std::is_same_v<I, std::int32_t>) {
    s = cholmod_allocate_sparse(static_cast<std::size_t>(nrow), static_cast<std::size_t>(ncol), nz,
                                1, 1, 0, alloc_xtype<T>(), &c);
    if (s == nullptr) throw_cholmod("cholmod_allocate_sparse", c);
  } else {
    s = cholmod_l_allocate_sparse(static_cast<std::size_t>(nrow), static_cast<std::size_t>(ncol),
                                  nz, 1, 1, 0, alloc_xtype<T>(), &c);
    if (s == nullptr) throw_cholmod("cholmod_l_allocate_sparse", c);
  }
  return s;
}

}  // namespace

template <Value T, Index I>
CsrView<T, I> csr_of_transpose(const cholmod_sparse& a) {
  constexpr const char* fn = "csr_of_transpose";
  check_value_type<T>(fn, a.xtype, a.dtype);
  if (a.itype != cholmod_itype<I>()) {
    throw InvalidArgument(std::string("spbmm::interop::csr_of_transpose: the CHOLMOD matrix has "
                                      "itype ") +
                          itype_name(a.itype) + " but " + index_name<I>() + " indices need " +
                          itype_name(cholmod_itype<I>()));
  }
  if (a.stype != 0) {
    throw InvalidArgument(
        "spbmm::interop::csr_of_transpose: the CHOLMOD matrix is symmetric (stype " +
        std::to_string(a.stype) +
        ") and stores one triangle only; expand it first with cholmod_copy(A, 0, 1, common)");
  }
  if (!a.packed) {
    throw InvalidArgument(
        "spbmm::interop::csr_of_transpose: the CHOLMOD matrix is not packed (it has nz[]); pack "
        "it first with cholmod_pack_sparse");
  }
  if (!a.sorted) {
    throw InvalidArgument(
        "spbmm::interop::csr_of_transpose: the CHOLMOD matrix has unsorted columns; sort it "
        "first with cholmod_sort");
  }
  const auto rows = static_cast<std::int64_t>(a.ncol);
  const auto cols = static_cast<std::int64_t>(a.nrow);
  return {rows, cols, static_cast<const I*>(a.p), static_cast<const I*>(a.i),
          static_cast<const T*>(a.x)};
}

template <Value T>
DenseView<T> dense_view(cholmod_dense& a) {
  check_value_type<T>("dense_view", a.xtype, a.dtype);
  return DenseView<T>(static_cast<T*>(a.x), static_cast<std::int64_t>(a.nrow),
                      static_cast<std::int64_t>(a.ncol), Layout::ColMajor,
                      std::max<std::int64_t>(static_cast<std::int64_t>(a.d), 1));
}

template <Value T>
DenseView<const T> dense_view(const cholmod_dense& a) {
  check_value_type<T>("dense_view", a.xtype, a.dtype);
  return DenseView<const T>(static_cast<const T*>(a.x), static_cast<std::int64_t>(a.nrow),
                            static_cast<std::int64_t>(a.ncol), Layout::ColMajor,
                            std::max<std::int64_t>(static_cast<std::int64_t>(a.d), 1));
}

template <Value T, Index I>
cholmod_sparse* to_cholmod_sparse(const CsrView<T, I>& a, cholmod_common& common) {
  check_common<I>("to_cholmod_sparse", common);
  if (!kCholmodHasSingle && std::is_same_v<T, float>) {
    check_value_type<T>("to_cholmod_sparse", CHOLMOD_REAL, CHOLMOD_SINGLE);
  }
  validate(a);
  const std::int64_t nnz = a.nnz();
  cholmod_sparse* s = allocate_sparse<T, I>(a.rows, a.cols, nnz, common);
  // CSC of A by a counting sort over columns; scanning rows in order keeps each column sorted.
  auto* p = static_cast<I*>(s->p);
  auto* ri = static_cast<I*>(s->i);
  auto* x = static_cast<T*>(s->x);
  std::fill(p, p + a.cols + 1, I(0));
  for (std::int64_t k = 0; k < nnz; ++k) ++p[a.col_idx[k] + 1];
  std::partial_sum(p, p + a.cols + 1, p);
  std::vector<I> next(p, p + a.cols);
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (I k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      const I dst = next[static_cast<std::size_t>(a.col_idx[k])]++;
      ri[dst] = static_cast<I>(r);
      x[dst] = a.values[k];
    }
  }
  return s;
}

template <Value T, Index I>
cholmod_sparse* to_cholmod_sparse_of_transpose(const CsrView<T, I>& a, cholmod_common& common) {
  check_common<I>("to_cholmod_sparse_of_transpose", common);
  if (!kCholmodHasSingle && std::is_same_v<T, float>) {
    check_value_type<T>("to_cholmod_sparse_of_transpose", CHOLMOD_REAL, CHOLMOD_SINGLE);
  }
  validate(a);
  const std::int64_t nnz = a.nnz();
  cholmod_sparse* s = allocate_sparse<T, I>(a.cols, a.rows, nnz, common);
  auto* p = static_cast<I*>(s->p);
  if (a.rows > 0) {
    std::copy(a.row_ptr, a.row_ptr + a.rows + 1, p);
  } else {
    p[0] = 0;
  }
  std::copy(a.col_idx, a.col_idx + nnz, static_cast<I*>(s->i));
  std::copy(a.values, a.values + nnz, static_cast<T*>(s->x));
  return s;
}

template <Value T>
cholmod_dense* to_cholmod_dense(DenseView<const T> a, cholmod_common& common) {
  if (!kCholmodHasSingle && std::is_same_v<T, float>) {
    check_value_type<T>("to_cholmod_dense", CHOLMOD_REAL, CHOLMOD_SINGLE);
  }
  if (common.itype != CHOLMOD_INT && common.itype != CHOLMOD_LONG) {
    throw InvalidArgument(
        "spbmm::interop::to_cholmod_dense: the cholmod_common has an unknown "
        "itype; start it with cholmod_start or cholmod_l_start");
  }
  validate(a, "spbmm::interop::to_cholmod_dense argument");
  const auto nrow = static_cast<std::size_t>(a.rows);
  const auto ncol = static_cast<std::size_t>(a.cols);
  const auto d = std::max<std::size_t>(nrow, 1);
  cholmod_dense* out = nullptr;
  {
    const QuietCommon quiet(common);
    if (common.itype == CHOLMOD_INT) {
      out = cholmod_allocate_dense(nrow, ncol, d, alloc_xtype<T>(), &common);
      if (out == nullptr) throw_cholmod("cholmod_allocate_dense", common);
    } else {
      out = cholmod_l_allocate_dense(nrow, ncol, d, alloc_xtype<T>(), &common);
      if (out == nullptr) throw_cholmod("cholmod_l_allocate_dense", common);
    }
  }
  auto* x = static_cast<T*>(out->x);
  for (std::int64_t j = 0; j < a.cols; ++j) {
    for (std::int64_t i = 0; i < a.rows; ++i) {
      x[static_cast<std::size_t>(i) + static_cast<std::size_t>(j) * d] = a(i, j);
    }
  }
  return out;
}

#define SPBMM_INSTANTIATE_CHOLMOD(T, I)                                                    \
  template CsrView<T, I> csr_of_transpose<T, I>(const cholmod_sparse&);                    \
  template cholmod_sparse* to_cholmod_sparse<T, I>(const CsrView<T, I>&, cholmod_common&); \
  template cholmod_sparse* to_cholmod_sparse_of_transpose<T, I>(const CsrView<T, I>&,      \
                                                                cholmod_common&);
SPBMM_INSTANTIATE_CHOLMOD(float, std::int32_t)
SPBMM_INSTANTIATE_CHOLMOD(float, std::int64_t)
SPBMM_INSTANTIATE_CHOLMOD(double, std::int32_t)
SPBMM_INSTANTIATE_CHOLMOD(double, std::int64_t)
#undef SPBMM_INSTANTIATE_CHOLMOD

template DenseView<float> dense_view<float>(cholmod_dense&);
template DenseView<double> dense_view<double>(cholmod_dense&);
template DenseView<const float> dense_view<float>(const cholmod_dense&);
template DenseView<const double> dense_view<double>(const cholmod_dense&);
template cholmod_dense* to_cholmod_dense<float>(DenseView<const float>, cholmod_common&);
template cholmod_dense* to_cholmod_dense<double>(DenseView<const double>, cholmod_common&);

#endif  // SPBMM_HAVE_CHOLMOD

#if SPBMM_HAVE_GRAPHBLAS

namespace {

const char* grb_info_name(GrB_Info info) {
  switch (info) {
    case GrB_SUCCESS:
      return "GrB_SUCCESS";
    case GrB_NO_VALUE:
      return "GrB_NO_VALUE";
    case GrB_UNINITIALIZED_OBJECT:
      return "GrB_UNINITIALIZED_OBJECT";
    case GrB_NULL_POINTER:
      return "GrB_NULL_POINTER";
    case GrB_INVALID_VALUE:
      return "GrB_INVALID_VALUE";
    case GrB_INVALID_INDEX:
      return "GrB_INVALID_INDEX";
    case GrB_DOMAIN_MISMATCH:
      return "GrB_DOMAIN_MISMATCH";
    case GrB_DIMENSION_MISMATCH:
      return "GrB_DIMENSION_MISMATCH";
    case GrB_OUTPUT_NOT_EMPTY:
      return "GrB_OUTPUT_NOT_EMPTY";
    case GrB_NOT_IMPLEMENTED:
      return "GrB_NOT_IMPLEMENTED";
    case GrB_PANIC:
      return "GrB_PANIC";
    case GrB_OUT_OF_MEMORY:
      return "GrB_OUT_OF_MEMORY";
    case GrB_INSUFFICIENT_SPACE:
      return "GrB_INSUFFICIENT_SPACE";
    case GrB_INVALID_OBJECT:
      return "GrB_INVALID_OBJECT";
    case GrB_INDEX_OUT_OF_BOUNDS:
      return "GrB_INDEX_OUT_OF_BOUNDS";
    case GrB_EMPTY_OBJECT:
      return "GrB_EMPTY_OBJECT";
    default:
      return "unknown GrB_Info";
  }
}

// Throws SuiteSparseError for any status but GrB_SUCCESS, with GraphBLAS's own explanation of
// the last failure on `m` when it has one.
void grb_check(GrB_Info info, const char* call, GrB_Matrix m = nullptr) {
  if (info == GrB_SUCCESS) return;
  std::string what = std::string("GraphBLAS ") + call + " failed: status " +
                     std::to_string(static_cast<int>(info)) + " (" + grb_info_name(info) + ")";
  const char* detail = nullptr;
  if (m != nullptr && GrB_Matrix_error(&detail, m) == GrB_SUCCESS && detail != nullptr &&
      detail[0] != '\0') {
    what += std::string(": ") + detail;
  }
  throw SuiteSparseError("GraphBLAS", static_cast<int>(info), what);
}

}  // namespace

template <Value T, Index I>
CsrMatrix<T, I> from_graphblas(GrB_Matrix a) {
  if (a == nullptr) {
    throw InvalidArgument("spbmm::interop::from_graphblas: the GrB_Matrix is null");
  }
  GrB_Index nrows = 0;
  GrB_Index ncols = 0;
  GrB_Index nvals = 0;
  grb_check(GrB_Matrix_nrows(&nrows, a), "GrB_Matrix_nrows", a);
  grb_check(GrB_Matrix_ncols(&ncols, a), "GrB_Matrix_ncols", a);
  grb_check(GrB_Matrix_nvals(&nvals, a), "GrB_Matrix_nvals", a);
  constexpr auto kMax = static_cast<GrB_Index>(std::numeric_limits<I>::max());
  if (nrows > kMax || ncols > kMax || nvals > kMax) {
    throw LimitError("spbmm::interop::from_graphblas: the " + std::to_string(nrows) + "x" +
                     std::to_string(ncols) + " GrB_Matrix with " + std::to_string(nvals) +
                     " entries does not fit " + index_name<I>() + " indices");
  }
  const auto n = static_cast<std::size_t>(nvals);
  std::vector<GrB_Index> ti(n);
  std::vector<GrB_Index> tj(n);
  std::vector<T> tx(n);
  GrB_Index got = nvals;
  if constexpr (std::is_same_v<T, double>) {
    grb_check(GrB_Matrix_extractTuples_FP64(ti.data(), tj.data(), tx.data(), &got, a),
              "GrB_Matrix_extractTuples_FP64", a);
  } else {
    grb_check(GrB_Matrix_extractTuples_FP32(ti.data(), tj.data(), tx.data(), &got, a),
              "GrB_Matrix_extractTuples_FP32", a);
  }
  // GraphBLAS may hand the tuples back in any order: bucket by row, then sort each row.
  const auto rows = static_cast<std::size_t>(nrows);
  std::vector<I> row_ptr(rows + 1, I(0));
  for (std::size_t k = 0; k < got; ++k) ++row_ptr[static_cast<std::size_t>(ti[k]) + 1];
  std::partial_sum(row_ptr.begin(), row_ptr.end(), row_ptr.begin());
  std::vector<I> next(row_ptr.begin(), row_ptr.end() - 1);
  std::vector<std::size_t> order(static_cast<std::size_t>(got));
  for (std::size_t k = 0; k < got; ++k) {
    order[static_cast<std::size_t>(next[static_cast<std::size_t>(ti[k])]++)] = k;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    auto first = order.begin() + row_ptr[r];
    auto last = order.begin() + row_ptr[r + 1];
    if (!std::is_sorted(first, last, [&](std::size_t x, std::size_t y) { return tj[x] < tj[y]; })) {
      std::sort(first, last, [&](std::size_t x, std::size_t y) { return tj[x] < tj[y]; });
    }
  }
  std::vector<I> col_idx(order.size());
  std::vector<T> values(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    col_idx[k] = static_cast<I>(tj[order[k]]);
    values[k] = tx[order[k]];
  }
  return CsrMatrix<T, I>(static_cast<std::int64_t>(nrows), static_cast<std::int64_t>(ncols),
                         std::move(row_ptr), std::move(col_idx), std::move(values));
}

template <Value T, Index I>
GrB_Matrix to_graphblas(const CsrView<T, I>& a) {
  validate(a);
  const std::int64_t nnz = a.nnz();
  std::vector<GrB_Index> ti(static_cast<std::size_t>(nnz));
  std::vector<GrB_Index> tj(static_cast<std::size_t>(nnz));
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (I k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      ti[static_cast<std::size_t>(k)] = static_cast<GrB_Index>(r);
      tj[static_cast<std::size_t>(k)] = static_cast<GrB_Index>(a.col_idx[k]);
    }
  }
  GrB_Matrix m = nullptr;
  const GrB_Type type = std::is_same_v<T, double> ? GrB_FP64 : GrB_FP32;
  grb_check(
      GrB_Matrix_new(&m, type, static_cast<GrB_Index>(a.rows), static_cast<GrB_Index>(a.cols)),
      "GrB_Matrix_new");
  try {
    if (nnz > 0) {
      if constexpr (std::is_same_v<T, double>) {
        grb_check(GrB_Matrix_build_FP64(m, ti.data(), tj.data(), a.values,
                                        static_cast<GrB_Index>(nnz), GrB_PLUS_FP64),
                  "GrB_Matrix_build_FP64", m);
      } else {
        grb_check(GrB_Matrix_build_FP32(m, ti.data(), tj.data(), a.values,
                                        static_cast<GrB_Index>(nnz), GrB_PLUS_FP32),
                  "GrB_Matrix_build_FP32", m);
      }
    }
    grb_check(GrB_Matrix_wait(m, GrB_MATERIALIZE), "GrB_Matrix_wait", m);
  } catch (...) {
    GrB_Matrix_free(&m);
    throw;
  }
  return m;
}

#define SPBMM_INSTANTIATE_GRAPHBLAS(T, I)                    \
  template CsrMatrix<T, I> from_graphblas<T, I>(GrB_Matrix); \
  template GrB_Matrix to_graphblas<T, I>(const CsrView<T, I>&);
SPBMM_INSTANTIATE_GRAPHBLAS(float, std::int32_t)
SPBMM_INSTANTIATE_GRAPHBLAS(float, std::int64_t)
SPBMM_INSTANTIATE_GRAPHBLAS(double, std::int32_t)
SPBMM_INSTANTIATE_GRAPHBLAS(double, std::int64_t)
#undef SPBMM_INSTANTIATE_GRAPHBLAS

#endif  // SPBMM_HAVE_GRAPHBLAS

}  // namespace spbmm::interop
