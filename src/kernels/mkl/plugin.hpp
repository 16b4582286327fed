// The table of functions the MKL plugin (libspbmm_mkl.so) hands to libspbmm when it is opened.
//
// libspbmm links OpenBLAS, whose cblas_* symbols MKL defines too, so MKL is never linked into
// libspbmm: the plugin links MKL alone (not libspbmm), is opened with dlopen on first use, and
// calls only MKL's own entry points (mkl_sparse_*, and gemm looked up in MKL's own library, see
// mkl_plugin.cpp). The table is plain data and functions that never throw: errors come back as a
// status and a message. Both sides are built from the same tree; kPluginAbi and the version
// string guard against a stale plugin.
#pragma once

#include <cstddef>
#include <cstdint>

namespace spbmm::kernels::mkl::plugin {

// Raised whenever this table changes shape.
inline constexpr unsigned kPluginAbi = 2;

// The file name libspbmm looks for next to itself (and then on the loader's search path).
inline constexpr const char* kPluginName = "libspbmm_mkl.so";
// `const Backend* spbmm_mkl_backend(unsigned abi)`: null when `abi` is not the plugin's own.
inline constexpr const char* kEntryPoint = "spbmm_mkl_backend";

// Room for the message a failing call writes (NUL-terminated, cut to fit).
inline constexpr std::size_t kErrorBytes = 256;

// An inspector-executor handle of one CSR matrix, with the thread count it was optimized for.
struct SparseHandle;

// Every int-returning function returns 0 on success, else non-zero with a message in `error`.
// `f64`: double values (else float). MKL's LP64 interface: every size is a 32-bit int, which the
// caller has checked. Values pointed to by `alpha` and `beta` have the type of the values.
struct Backend {
  unsigned abi;
  const char* version;  // SPBMM_VERSION of the build that made the plugin
  // "Intel(R) oneAPI Math Kernel Library Version ..." and the file MKL's gemm was found in.
  const char* (*mkl_version)();
  const char* (*gemm_library)();

  // Creates the handle over the caller's arrays (which must outlive it), hints `calls` products
  // with `n` columns in the given layout and optimizes it with `threads` MKL threads: the count
  // every sparse_mm on it must use.
  int (*sparse_create)(SparseHandle** out, int f64, std::int32_t rows, std::int32_t cols,
                       const std::int32_t* row_ptr, const std::int32_t* col_idx, const void* values,
                       std::int32_t n, int row_major, int calls, int threads, char* error);
  // Gives the handle the current values (the same pattern, the same arrays).
  int (*sparse_update)(SparseHandle* h, const void* values, char* error);
  void (*sparse_destroy)(SparseHandle* h);
  // The threads the handle was optimized for.
  int (*sparse_threads)(const SparseHandle* h);
  // C = alpha A B + beta C for B (cols x n) and C (rows x n), both in one layout.
  int (*sparse_mm)(const SparseHandle* h, const void* alpha, const void* b, std::int32_t ldb,
                   const void* beta, void* c, std::int32_t ldc, std::int32_t n, int row_major,
                   char* error);
  // C = alpha op(A) op(B) + beta C, as cblas_?gemm, with `threads` MKL threads.
  int (*gemm)(int f64, int threads, int row_major, int trans_a, int trans_b, std::int32_t m,
              std::int32_t n, std::int32_t k, const void* alpha, const void* a, std::int32_t lda,
              const void* b, std::int32_t ldb, const void* beta, void* c, std::int32_t ldc,
              char* error);
  // `count` products C_i = alpha op(A_i) op(B_i) + beta C_i in one cblas_?gemm_batch call (one
  // group per product), with `threads` MKL threads; the arrays hold one element per product.
  int (*gemm_batch)(int f64, int threads, int row_major, std::int32_t count, const int* trans_a,
                    const int* trans_b, const std::int32_t* m, const std::int32_t* n,
                    const std::int32_t* k, const void* alpha, const void* const* a,
                    const std::int32_t* lda, const void* const* b, const std::int32_t* ldb,
                    const void* beta, void* const* c, const std::int32_t* ldc, char* error);
};

}  // namespace spbmm::kernels::mkl::plugin
