// The MKL plugin (libspbmm_mkl.so): inspector-executor SpMM handles and gemm, behind the table of
// plugin.hpp. It links MKL and not libspbmm, and throws nothing across the table.
#include <dlfcn.h>
#include <mkl.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/mkl/plugin.hpp"
#include "spbmm/config.hpp"

namespace spbmm::kernels::mkl::plugin {

struct SparseHandle {
  sparse_matrix_t a = nullptr;
  matrix_descr descr{};
  bool f64 = false;
  int threads = 1;
  std::int32_t rows = 0;
  std::int32_t nnz = 0;
  // The caller's arrays: MKL's create_csr takes them without copying.
  std::int32_t* row_ptr = nullptr;
  std::int32_t* col_idx = nullptr;
};

namespace {

void say(char* error, const std::string& text) {
  if (error == nullptr) return;
  std::snprintf(error, kErrorBytes, "%s", text.c_str());
}

const char* status_name(sparse_status_t s) {
  switch (s) {
    case SPARSE_STATUS_SUCCESS:
      return "SPARSE_STATUS_SUCCESS";
    case SPARSE_STATUS_NOT_INITIALIZED:
      return "SPARSE_STATUS_NOT_INITIALIZED";
    case SPARSE_STATUS_ALLOC_FAILED:
      return "SPARSE_STATUS_ALLOC_FAILED (out of memory)";
    case SPARSE_STATUS_INVALID_VALUE:
      return "SPARSE_STATUS_INVALID_VALUE";
    case SPARSE_STATUS_EXECUTION_FAILED:
      return "SPARSE_STATUS_EXECUTION_FAILED";
    case SPARSE_STATUS_INTERNAL_ERROR:
      return "SPARSE_STATUS_INTERNAL_ERROR";
    case SPARSE_STATUS_NOT_SUPPORTED:
      return "SPARSE_STATUS_NOT_SUPPORTED";
  }
  return "unknown sparse_status_t";
}

bool ok(sparse_status_t s, const char* call, char* error) {
  if (s == SPARSE_STATUS_SUCCESS) return true;
  say(error, std::string(call) + " failed: " + status_name(s));
  return false;
}

// MKL's thread count for this thread while a call runs (mkl_set_num_threads_local), put back
// afterwards: spbmm's own thread count stays as the caller left it.
class LocalThreads {
 public:
  explicit LocalThreads(int threads) : saved_(mkl_set_num_threads_local(threads)) {}
  ~LocalThreads() { mkl_set_num_threads_local(saved_); }
  LocalThreads(const LocalThreads&) = delete;
  LocalThreads& operator=(const LocalThreads&) = delete;

 private:
  int saved_;
};

// cblas_?gemm of MKL's own library. libspbmm has OpenBLAS loaded, which defines the same names,
// and a plain call from here would bind to whichever the process loaded first; the library that
// defines mkl_sparse_s_mm (MKL's interface library) is asked for them by name instead.
// (Everything else this file calls exists in MKL alone.)
struct Gemm {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&cblas_dgemm) dgemm = nullptr;
  decltype(&cblas_sgemm_batch) sgemm_batch = nullptr;
  decltype(&cblas_dgemm_batch) dgemm_batch = nullptr;
  std::string library;  // where they were found
  std::string problem;  // why not, when they were not
};

Gemm find_gemm() {
  Gemm g;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&mkl_sparse_s_mm), &info) == 0 || info.dli_fname == nullptr) {
    g.problem = "the library that holds mkl_sparse_s_mm could not be found";
    return g;
  }
  void* mkl = dlopen(info.dli_fname, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (mkl == nullptr) {
    g.problem = std::string("dlopen(") + info.dli_fname + ") failed";
    return g;
  }
  g.sgemm = reinterpret_cast<decltype(&cblas_sgemm)>(dlsym(mkl, "cblas_sgemm"));
  g.dgemm = reinterpret_cast<decltype(&cblas_dgemm)>(dlsym(mkl, "cblas_dgemm"));
  g.sgemm_batch = reinterpret_cast<decltype(&cblas_sgemm_batch)>(dlsym(mkl, "cblas_sgemm_batch"));
  g.dgemm_batch = reinterpret_cast<decltype(&cblas_dgemm_batch)>(dlsym(mkl, "cblas_dgemm_batch"));
  Dl_info where{};
  if (g.sgemm == nullptr || g.dgemm == nullptr || g.sgemm_batch == nullptr ||
      g.dgemm_batch == nullptr || dladdr(reinterpret_cast<void*>(g.sgemm), &where) == 0 ||
      where.dli_fname == nullptr) {
    g.problem = std::string("cblas_?gemm and cblas_?gemm_batch not found in ") + info.dli_fname;
    g.sgemm = nullptr;
    g.dgemm = nullptr;
    return g;
  }
  g.library = where.dli_fname;
  return g;
}

const Gemm& gemm_fns() {
  static const Gemm g = find_gemm();
  return g;
}

const char* mkl_version() {
  static const std::string v = [] {
    char buf[198] = {};
    mkl_get_version_string(buf, sizeof(buf));
    return std::string(buf);
  }();
  return v.c_str();
}

const char* gemm_library() {
  const Gemm& g = gemm_fns();
  return g.sgemm != nullptr ? g.library.c_str() : g.problem.c_str();
}

int sparse_create(SparseHandle** out, int f64, std::int32_t rows, std::int32_t cols,
                  const std::int32_t* row_ptr, const std::int32_t* col_idx, const void* values,
                  std::int32_t n, int row_major, int calls, int threads, char* error) {
  *out = nullptr;
  auto* h = new (std::nothrow) SparseHandle;
  if (h == nullptr) {
    say(error, "out of memory");
    return 1;
  }
  h->f64 = f64 != 0;
  h->threads = threads < 1 ? 1 : threads;
  h->rows = rows;
  h->nnz = row_ptr[rows];
  h->descr.type = SPARSE_MATRIX_TYPE_GENERAL;
  h->descr.mode = SPARSE_FILL_MODE_FULL;
  h->descr.diag = SPARSE_DIAG_NON_UNIT;
  // MKL takes non-const pointers but does not write through them (no set_value is called here).
  h->row_ptr = const_cast<std::int32_t*>(row_ptr);
  h->col_idx = const_cast<std::int32_t*>(col_idx);
  const sparse_status_t s =
      h->f64 ? mkl_sparse_d_create_csr(&h->a, SPARSE_INDEX_BASE_ZERO, rows, cols, h->row_ptr,
                                       h->row_ptr + 1, h->col_idx,
                                       static_cast<double*>(const_cast<void*>(values)))
             : mkl_sparse_s_create_csr(&h->a, SPARSE_INDEX_BASE_ZERO, rows, cols, h->row_ptr,
                                       h->row_ptr + 1, h->col_idx,
                                       static_cast<float*>(const_cast<void*>(values)));
  if (!ok(s, h->f64 ? "mkl_sparse_d_create_csr" : "mkl_sparse_s_create_csr", error)) {
    delete h;
    return 1;
  }
  const sparse_layout_t layout =
      row_major != 0 ? SPARSE_LAYOUT_ROW_MAJOR : SPARSE_LAYOUT_COLUMN_MAJOR;
  // The hint only steers the optimization: MKL may decline it (SPARSE_STATUS_NOT_SUPPORTED for
  // some shapes) and the handle still multiplies correctly.
  const sparse_status_t hint = mkl_sparse_set_mm_hint(
      h->a, SPARSE_OPERATION_NON_TRANSPOSE, h->descr, layout, n > 0 ? n : 1, calls > 0 ? calls : 1);
  if (hint != SPARSE_STATUS_SUCCESS && hint != SPARSE_STATUS_NOT_SUPPORTED) {
    ok(hint, "mkl_sparse_set_mm_hint", error);
    mkl_sparse_destroy(h->a);
    delete h;
    return 1;
  }
  sparse_status_t opt;
  {
    // The count the products will run with: a handle optimized for more threads than a product
    // then runs with leaves part of C unwritten, and MKL reports success.
    LocalThreads scope(h->threads);
    opt = mkl_sparse_optimize(h->a);
  }
  if (!ok(opt, "mkl_sparse_optimize", error)) {
    mkl_sparse_destroy(h->a);
    delete h;
    return 1;
  }
  *out = h;
  return 0;
}

int sparse_update(SparseHandle* h, const void* values, char* error) {
  // All values at once (no index lists): MKL refreshes its optimized copy from them.
  const sparse_status_t s =
      h->f64 ? mkl_sparse_d_update_values(h->a, h->nnz, nullptr, nullptr,
                                          static_cast<double*>(const_cast<void*>(values)))
             : mkl_sparse_s_update_values(h->a, h->nnz, nullptr, nullptr,
                                          static_cast<float*>(const_cast<void*>(values)));
  return ok(s, h->f64 ? "mkl_sparse_d_update_values" : "mkl_sparse_s_update_values", error) ? 0 : 1;
}

void sparse_destroy(SparseHandle* h) {
  if (h == nullptr) return;
  if (h->a != nullptr) mkl_sparse_destroy(h->a);
  delete h;
}

int sparse_threads(const SparseHandle* h) { return h->threads; }

int sparse_mm(const SparseHandle* h, const void* alpha, const void* b, std::int32_t ldb,
              const void* beta, void* c, std::int32_t ldc, std::int32_t n, int row_major,
              char* error) {
  const sparse_layout_t layout =
      row_major != 0 ? SPARSE_LAYOUT_ROW_MAJOR : SPARSE_LAYOUT_COLUMN_MAJOR;
  LocalThreads scope(h->threads);
  const sparse_status_t s =
      h->f64 ? mkl_sparse_d_mm(SPARSE_OPERATION_NON_TRANSPOSE, *static_cast<const double*>(alpha),
                               h->a, h->descr, layout, static_cast<const double*>(b), n, ldb,
                               *static_cast<const double*>(beta), static_cast<double*>(c), ldc)
             : mkl_sparse_s_mm(SPARSE_OPERATION_NON_TRANSPOSE, *static_cast<const float*>(alpha),
                               h->a, h->descr, layout, static_cast<const float*>(b), n, ldb,
                               *static_cast<const float*>(beta), static_cast<float*>(c), ldc);
  return ok(s, h->f64 ? "mkl_sparse_d_mm" : "mkl_sparse_s_mm", error) ? 0 : 1;
}

int gemm(int f64, int threads, int row_major, int trans_a, int trans_b, std::int32_t m,
         std::int32_t n, std::int32_t k, const void* alpha, const void* a, std::int32_t lda,
         const void* b, std::int32_t ldb, const void* beta, void* c, std::int32_t ldc,
         char* error) {
  const Gemm& g = gemm_fns();
  if (g.sgemm == nullptr) {
    say(error, "MKL's gemm is not available: " + g.problem);
    return 1;
  }
  const CBLAS_LAYOUT layout = row_major != 0 ? CblasRowMajor : CblasColMajor;
  const CBLAS_TRANSPOSE ta = trans_a != 0 ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b != 0 ? CblasTrans : CblasNoTrans;
  LocalThreads scope(threads < 1 ? 1 : threads);
  if (f64 != 0) {
    g.dgemm(layout, ta, tb, m, n, k, *static_cast<const double*>(alpha),
            static_cast<const double*>(a), lda, static_cast<const double*>(b), ldb,
            *static_cast<const double*>(beta), static_cast<double*>(c), ldc);
  } else {
    g.sgemm(layout, ta, tb, m, n, k, *static_cast<const float*>(alpha),
            static_cast<const float*>(a), lda, static_cast<const float*>(b), ldb,
            *static_cast<const float*>(beta), static_cast<float*>(c), ldc);
  }
  return 0;
}

template <class T>
void run_batch(const Gemm& g, int row_major, std::int32_t count, const int* trans_a,
               const int* trans_b, const std::int32_t* m, const std::int32_t* n,
               const std::int32_t* k, T alpha, const void* const* a, const std::int32_t* lda,
               const void* const* b, const std::int32_t* ldb, T beta, void* const* c,
               const std::int32_t* ldc) {
  // MKL takes its arguments per group: one group of one product each, in arrays reused by the
  // calling thread.
  thread_local std::vector<CBLAS_TRANSPOSE> ta, tb;
  thread_local std::vector<MKL_INT> sizes;
  thread_local std::vector<T> alphas, betas;
  const auto count_u = static_cast<std::size_t>(count);
  ta.resize(count_u);
  tb.resize(count_u);
  sizes.assign(count_u, 1);
  alphas.assign(count_u, alpha);
  betas.assign(count_u, beta);
  for (std::size_t i = 0; i < count_u; ++i) {
    ta[i] = trans_a[i] != 0 ? CblasTrans : CblasNoTrans;
    tb[i] = trans_b[i] != 0 ? CblasTrans : CblasNoTrans;
  }
  const CBLAS_LAYOUT layout = row_major != 0 ? CblasRowMajor : CblasColMajor;
  if constexpr (std::is_same_v<T, double>) {
    g.dgemm_batch(layout, ta.data(), tb.data(), m, n, k, alphas.data(),
                  reinterpret_cast<const double**>(const_cast<const void**>(a)), lda,
                  reinterpret_cast<const double**>(const_cast<const void**>(b)), ldb, betas.data(),
                  reinterpret_cast<double**>(const_cast<void**>(c)), ldc, count, sizes.data());
  } else {
    g.sgemm_batch(layout, ta.data(), tb.data(), m, n, k, alphas.data(),
                  reinterpret_cast<const float**>(const_cast<const void**>(a)), lda,
                  reinterpret_cast<const float**>(const_cast<const void**>(b)), ldb, betas.data(),
                  reinterpret_cast<float**>(const_cast<void**>(c)), ldc, count, sizes.data());
  }
}

int gemm_batch(int f64, int threads, int row_major, std::int32_t count, const int* trans_a,
               const int* trans_b, const std::int32_t* m, const std::int32_t* n,
               const std::int32_t* k, const void* alpha, const void* const* a,
               const std::int32_t* lda, const void* const* b, const std::int32_t* ldb,
               const void* beta, void* const* c, const std::int32_t* ldc, char* error) {
  const Gemm& g = gemm_fns();
  if (g.sgemm_batch == nullptr) {
    say(error, "MKL's gemm_batch is not available: " + g.problem);
    return 1;
  }
  if (count <= 0) return 0;
  LocalThreads scope(threads < 1 ? 1 : threads);
  if (f64 != 0) {
    run_batch<double>(g, row_major, count, trans_a, trans_b, m, n, k,
                      *static_cast<const double*>(alpha), a, lda, b, ldb,
                      *static_cast<const double*>(beta), c, ldc);
  } else {
    run_batch<float>(g, row_major, count, trans_a, trans_b, m, n, k,
                     *static_cast<const float*>(alpha), a, lda, b, ldb,
                     *static_cast<const float*>(beta), c, ldc);
  }
  return 0;
}

constexpr Backend kBackend = {
    kPluginAbi,     SPBMM_VERSION,  mkl_version, gemm_library, sparse_create, sparse_update,
    sparse_destroy, sparse_threads, sparse_mm,   gemm,         gemm_batch,
};

}  // namespace
}  // namespace spbmm::kernels::mkl::plugin

extern "C" __attribute__((visibility("default"))) const spbmm::kernels::mkl::plugin::Backend*
spbmm_mkl_backend(unsigned abi) {
  return abi == spbmm::kernels::mkl::plugin::kPluginAbi ? &spbmm::kernels::mkl::plugin::kBackend
                                                        : nullptr;
}
