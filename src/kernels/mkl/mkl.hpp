// The MKL backend as libspbmm sees it: whether the plugin loaded (and why not), inspector-executor
// handles of CSR matrices, and gemm. Everything reaches MKL through the plugin (plugin.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm::kernels::mkl {

// Whether the MKL plugin is built in and loads (opened on the first call, once per process).
bool available() noexcept;
// "Intel(R) oneAPI Math Kernel Library Version ... (gemm from PATH)" when it loaded, else one
// line saying why not: not built (which options build it), or the library that failed to load.
const std::string& status() noexcept;
// Throws, prefixed by `context`, when the plugin is not available: NotCompiled when the build has
// no MKL backend, IoError when the plugin or MKL's libraries could not be loaded.
void require(const std::string& context);
// Whether this build holds the MKL backend (SPBMM_HAVE_MKL); opens nothing.
bool built() noexcept;

// Products with more rows, columns or stored entries than this do not fit MKL's LP64 interface.
inline constexpr std::int64_t kMaxIndex = 2147483647;

// One CSR matrix's inspector-executor handle, optimized once for products with `threads` MKL
// threads: every multiply() runs with that count. It views the matrix's values (which must stay
// where they are); 64-bit indices are copied to 32-bit ones.
class SparseHandle {
 public:
  // LimitError when the matrix does not fit 32-bit indices; IoError / NotCompiled as require();
  // Error with MKL's status text when MKL refuses it. `n` and `calls` are the hint.
  template <Value T, Index I>
  static std::unique_ptr<SparseHandle> create(const CsrView<T, I>& a, std::int64_t n, int calls,
                                              int threads);
  ~SparseHandle();
  SparseHandle(const SparseHandle&) = delete;
  SparseHandle& operator=(const SparseHandle&) = delete;

  int threads() const noexcept { return threads_; }
  // Gives MKL the current values of the matrix (same pattern, same arrays).
  template <Value T>
  void update(const T* values);
  // C = alpha A op(B) + beta C. op(B) in a layout other than C's is copied into C's first (MKL's
  // SpMM takes both in one layout). With beta == 0, C is not read.
  template <Value T>
  void multiply(Op op_b, T alpha, const DenseView<const T>& b, T beta, const DenseView<T>& c) const;

 private:
  SparseHandle() = default;
  void* handle_ = nullptr;  // plugin::SparseHandle
  int threads_ = 1;
  bool f64_ = false;
  // What the handle was made from, to make it again should MKL refuse to update its values.
  std::int32_t rows_ = 0, cols_ = 0, hint_n_ = 1;
  int calls_ = 1;
  const std::int32_t* row_ptr_ = nullptr;
  const std::int32_t* col_idx_ = nullptr;
  std::vector<std::int32_t> row_ptr32_, col_idx32_;  // 32-bit copies of 64-bit indices
};

// C = alpha op(A) op(B) + beta C with MKL's gemm and `threads` MKL threads; any layouts.
template <Value T>
void gemm(Op op_a, Op op_b, T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
          T beta, const DenseView<T>& c, int threads);

// C_p = alpha op(A_p) op(B_p) + beta C_p for every product p in one cblas_?gemm_batch call with
// `threads` MKL threads; a batch of one A or one B is used with every product. Products whose C
// has another layout than c[0]'s, and empty ones, run one by one after it.
template <Value T>
void gemm_batch(Op op_a, Op op_b, T alpha, std::span<const DenseView<const T>> a,
                std::span<const DenseView<const T>> b, T beta, std::span<const DenseView<T>> c,
                int threads);

}  // namespace spbmm::kernels::mkl
