// libspbmm's side of the MKL backend: opens the plugin (libspbmm_mkl.so) on first use, says why
// when it cannot, and wraps its table in spbmm's types and errors.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/checks.hpp"
#include "kernels/mkl/mkl.hpp"
#include "kernels/mkl/plugin.hpp"
#include "spbmm/config.hpp"
#include "spbmm/error.hpp"

#if SPBMM_HAVE_MKL
#include <dlfcn.h>

#include "kernels/plugin_path.hpp"
#endif

namespace spbmm::kernels::mkl {
namespace {

using detail::cat;

struct Loaded {
  const plugin::Backend* backend = nullptr;  // null: not usable (status says why)
  std::string status;
};

#if SPBMM_HAVE_MKL
using kernels::dl_error;

Loaded load() {
  Loaded l;
  const std::string path = kernels::plugin_path(plugin::kPluginName, "SPBMM_MKL_PLUGIN",
                                                reinterpret_cast<const void*>(&available));
  // RTLD_LOCAL: MKL's symbols stay out of the process's global scope, where OpenBLAS's
  // cblas_* (libspbmm's BLAS) and the caller's own stay as they were.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    l.status =
        cat("MKL backend not loaded: ", path,
            " could not be opened (are Intel MKL's libraries on the library path?): ", dl_error());
    return l;
  }
  using Entry = const plugin::Backend* (*)(unsigned);
  auto entry = reinterpret_cast<Entry>(dlsym(handle, plugin::kEntryPoint));
  if (entry == nullptr) {
    l.status = cat("MKL backend not loaded: ", path, " is not spbmm's MKL backend: ", dl_error());
    return l;
  }
  const plugin::Backend* b = entry(plugin::kPluginAbi);
  if (b == nullptr || b->abi != plugin::kPluginAbi || std::strcmp(b->version, SPBMM_VERSION) != 0) {
    l.status = cat("MKL backend not loaded: ", path, " belongs to another spbmm build (version ",
                   b != nullptr ? b->version : "?", ", expected ", SPBMM_VERSION, ")");
    return l;
  }
  // One 1x1 product proves that gemm was found in MKL's own library.
  const float one = 1, zero = 0, a = 2, x = 3;
  float y = -1;
  char error[plugin::kErrorBytes] = {};
  if (b->gemm(0, 1, 1, 0, 0, 1, 1, 1, &one, &a, 1, &x, 1, &zero, &y, 1, error) != 0 || y != 6) {
    l.status = cat("MKL backend not loaded: its gemm failed a 1x1 check: ",
                   error[0] != '\0' ? error : "wrong result");
    return l;
  }
  // The plugin stays open for the life of the process: plans keep its handles.
  l.backend = b;
  l.status = cat(b->mkl_version(), " (gemm from ", b->gemm_library(), ")");
  return l;
}
#else
Loaded load() {
  Loaded l;
  l.status =
      "MKL backend not built in (configure with -Dmkl=enabled where Intel MKL's pkg-config files "
      "are found: -Dmkl_pkgconfig_dir=DIR or PKG_CONFIG_PATH)";
  return l;
}
#endif

const Loaded& loaded() noexcept {
  static const Loaded l = load();  // thread-safe once
  return l;
}

const plugin::Backend& backend() {
  require("MKL backend");
  return *loaded().backend;
}

[[noreturn]] void fail(const char* call, const char* error) {
  throw Error(cat("MKL: ", call, ": ", error));
}

std::int32_t fit(std::int64_t v, const char* what) {
  if (v < 0 || v > kMaxIndex) {
    throw LimitError(cat("Kernel::Mkl: ", what, " is ", v,
                         "; MKL's 32-bit (LP64) interface takes at most ", kMaxIndex));
  }
  return static_cast<std::int32_t>(v);
}

template <Value T>
constexpr int is_f64() {
  return std::is_same_v<T, double> ? 1 : 0;
}

}  // namespace

bool built() noexcept { return SPBMM_HAVE_MKL != 0; }
bool available() noexcept { return loaded().backend != nullptr; }
const std::string& status() noexcept { return loaded().status; }

void require(const std::string& context) {
  if (available()) return;
  if (!built()) throw NotCompiled(cat(context, ": ", status()));
  throw IoError(cat(context, ": ", status()));
}

template <Value T, Index I>
std::unique_ptr<SparseHandle> SparseHandle::create(const CsrView<T, I>& a, std::int64_t n,
                                                   int calls, int threads) {
  const plugin::Backend& b = backend();
  std::unique_ptr<SparseHandle> h(new SparseHandle);
  const std::int32_t rows = fit(a.rows, "the rows of A");
  const std::int32_t cols = fit(a.cols, "the columns of A");
  fit(a.nnz(), "the stored entries of A");
  const std::int32_t width = fit(std::min<std::int64_t>(n, kMaxIndex), "n");
  if constexpr (sizeof(I) == 4) {
    h->row_ptr_ = reinterpret_cast<const std::int32_t*>(a.row_ptr);
    h->col_idx_ = reinterpret_cast<const std::int32_t*>(a.col_idx);
  } else {
    h->row_ptr32_.assign(a.row_ptr, a.row_ptr + a.rows + 1);
    h->col_idx32_.assign(a.col_idx, a.col_idx + a.nnz());
    h->row_ptr_ = h->row_ptr32_.data();
    h->col_idx_ = h->col_idx32_.data();
  }
  h->threads_ = std::max(threads, 1);
  h->f64_ = is_f64<T>() != 0;
  h->rows_ = rows;
  h->cols_ = cols;
  h->hint_n_ = std::max<std::int32_t>(width, 1);
  h->calls_ = std::max(calls, 1);
  char error[plugin::kErrorBytes] = {};
  plugin::SparseHandle* out = nullptr;
  if (b.sparse_create(&out, is_f64<T>(), rows, cols, h->row_ptr_, h->col_idx_, a.values, h->hint_n_,
                      1, h->calls_, h->threads_, error) != 0) {
    fail("creating an inspector-executor handle", error);
  }
  h->handle_ = out;
  return h;
}

SparseHandle::~SparseHandle() {
  if (handle_ != nullptr)
    loaded().backend->sparse_destroy(static_cast<plugin::SparseHandle*>(handle_));
}

template <Value T>
void SparseHandle::update(const T* values) {
  const plugin::Backend& b = backend();
  char error[plugin::kErrorBytes] = {};
  if (b.sparse_update(static_cast<plugin::SparseHandle*>(handle_), values, error) == 0) return;
  // MKL may decline to update an optimized handle: a new one over the same arrays replaces it
  // (the old one stays should that fail too).
  char again[plugin::kErrorBytes] = {};
  plugin::SparseHandle* fresh = nullptr;
  if (b.sparse_create(&fresh, f64_ ? 1 : 0, rows_, cols_, row_ptr_, col_idx_, values, hint_n_, 1,
                      calls_, threads_, again) != 0) {
    fail("updating a handle's values", cat(error, "; making it again: ", again).c_str());
  }
  b.sparse_destroy(static_cast<plugin::SparseHandle*>(handle_));
  handle_ = fresh;
}

template <Value T>
void SparseHandle::multiply(Op op_b, T alpha, const DenseView<const T>& b, T beta,
                            const DenseView<T>& c) const {
  if (c.rows == 0 || c.cols == 0) return;
  // op(B) as a view with op N: the transpose is the same memory read in the other layout.
  DenseView<const T> ob = b;
  if (op_b == Op::T) {
    ob = DenseView<const T>(b.data, b.cols, b.rows,
                            b.layout == Layout::RowMajor ? Layout::ColMajor : Layout::RowMajor,
                            b.ld);
  }
  // MKL's SpMM reads B in C's layout: another layout is copied (per thread, reused) first.
  thread_local std::vector<T> copy;
  if (ob.layout != c.layout) {
    const bool row_major = c.layout == Layout::RowMajor;
    const std::int64_t ld = row_major ? ob.cols : ob.rows;
    copy.resize(static_cast<std::size_t>(ob.rows * ob.cols));
    for (std::int64_t i = 0; i < ob.rows; ++i) {
      for (std::int64_t j = 0; j < ob.cols; ++j) {
        copy[static_cast<std::size_t>(row_major ? i * ld + j : j * ld + i)] = ob(i, j);
      }
    }
    ob = DenseView<const T>(copy.data(), ob.rows, ob.cols, c.layout, std::max<std::int64_t>(ld, 1));
  }
  const bool row_major = c.layout == Layout::RowMajor;
  const std::int32_t n = fit(c.cols, "the columns of C");
  const std::int32_t ldb = fit(std::max<std::int64_t>(ob.ld, 1), "B's leading dimension");
  const std::int32_t ldc = fit(std::max<std::int64_t>(c.ld, 1), "C's leading dimension");
  char error[plugin::kErrorBytes] = {};
  if (backend().sparse_mm(static_cast<const plugin::SparseHandle*>(handle_), &alpha, ob.data, ldb,
                          &beta, c.data, ldc, n, row_major ? 1 : 0, error) != 0) {
    fail("the sparse product", error);
  }
}

template <Value T>
void gemm(Op op_a, Op op_b, T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
          T beta, const DenseView<T>& c, int threads) {
  if (c.rows == 0 || c.cols == 0) return;
  const plugin::Backend& be = backend();
  // One layout for all three (C's): an operand stored the other way is its transpose.
  const bool row_major = c.layout == Layout::RowMajor;
  const bool ta = (op_a == Op::T) != (a.layout != c.layout);
  const bool tb = (op_b == Op::T) != (b.layout != c.layout);
  const std::int32_t m = fit(c.rows, "the rows of C");
  const std::int32_t n = fit(c.cols, "the columns of C");
  const std::int32_t k = fit(op_a == Op::N ? a.cols : a.rows, "the inner dimension");
  const std::int32_t lda = fit(std::max<std::int64_t>(a.ld, 1), "A's leading dimension");
  const std::int32_t ldb = fit(std::max<std::int64_t>(b.ld, 1), "B's leading dimension");
  const std::int32_t ldc = fit(std::max<std::int64_t>(c.ld, 1), "C's leading dimension");
  char error[plugin::kErrorBytes] = {};
  if (be.gemm(is_f64<T>(), threads, row_major ? 1 : 0, ta ? 1 : 0, tb ? 1 : 0, m, n, k, &alpha,
              a.data, lda, b.data, ldb, &beta, c.data, ldc, error) != 0) {
    fail("gemm", error);
  }
}

template <Value T>
void gemm_batch(Op op_a, Op op_b, T alpha, std::span<const DenseView<const T>> a,
                std::span<const DenseView<const T>> b, T beta, std::span<const DenseView<T>> c,
                int threads) {
  if (c.empty()) return;
  const plugin::Backend& be = backend();
  const Layout layout = c[0].layout;
  // The arguments, one per product, in arrays reused by the calling thread.
  thread_local std::vector<int> ta, tb;
  thread_local std::vector<std::int32_t> m, n, k, lda, ldb, ldc;
  thread_local std::vector<const void*> pa, pb;
  thread_local std::vector<void*> pc;
  for (auto* v : {&ta, &tb}) v->clear();
  for (auto* v : {&m, &n, &k, &lda, &ldb, &ldc}) v->clear();
  pa.clear();
  pb.clear();
  pc.clear();
  std::vector<std::size_t> apart;
  for (std::size_t p = 0; p < c.size(); ++p) {
    const DenseView<const T>& ap = a[a.size() == 1 ? 0 : p];
    const DenseView<const T>& bp = b[b.size() == 1 ? 0 : p];
    const DenseView<T>& cp = c[p];
    const std::int64_t inner = op_a == Op::N ? ap.cols : ap.rows;
    if (cp.rows == 0 || cp.cols == 0) continue;
    if (cp.layout != layout || inner == 0) {
      apart.push_back(p);
      continue;
    }
    ta.push_back((op_a == Op::T) != (ap.layout != layout) ? 1 : 0);
    tb.push_back((op_b == Op::T) != (bp.layout != layout) ? 1 : 0);
    m.push_back(fit(cp.rows, "the rows of C"));
    n.push_back(fit(cp.cols, "the columns of C"));
    k.push_back(fit(inner, "the inner dimension"));
    lda.push_back(fit(std::max<std::int64_t>(ap.ld, 1), "A's leading dimension"));
    ldb.push_back(fit(std::max<std::int64_t>(bp.ld, 1), "B's leading dimension"));
    ldc.push_back(fit(std::max<std::int64_t>(cp.ld, 1), "C's leading dimension"));
    pa.push_back(ap.data);
    pb.push_back(bp.data);
    pc.push_back(cp.data);
  }
  char error[plugin::kErrorBytes] = {};
  const auto count = fit(static_cast<std::int64_t>(pc.size()), "the products of a batch");
  if (count > 0 &&
      be.gemm_batch(is_f64<T>(), threads, layout == Layout::RowMajor ? 1 : 0, count, ta.data(),
                    tb.data(), m.data(), n.data(), k.data(), &alpha, pa.data(), lda.data(),
                    pb.data(), ldb.data(), &beta, pc.data(), ldc.data(), error) != 0) {
    fail("gemm_batch", error);
  }
  for (const std::size_t p : apart) {
    const DenseView<T>& cp = c[p];
    const DenseView<const T>& ap = a[a.size() == 1 ? 0 : p];
    if ((op_a == Op::N ? ap.cols : ap.rows) == 0) {
      for (std::int64_t i = 0; i < cp.rows; ++i) {
        for (std::int64_t j = 0; j < cp.cols; ++j) cp(i, j) = beta == T(0) ? T(0) : beta * cp(i, j);
      }
      continue;
    }
    gemm<T>(op_a, op_b, alpha, ap, b[b.size() == 1 ? 0 : p], beta, cp, threads);
  }
}

#define SPBMM_INSTANTIATE(T, I)                                                           \
  template std::unique_ptr<SparseHandle> SparseHandle::create<T, I>(const CsrView<T, I>&, \
                                                                    std::int64_t, int, int);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE
template void SparseHandle::update<float>(const float*);
template void SparseHandle::update<double>(const double*);
template void SparseHandle::multiply<float>(Op, float, const DenseView<const float>&, float,
                                            const DenseView<float>&) const;
template void SparseHandle::multiply<double>(Op, double, const DenseView<const double>&, double,
                                             const DenseView<double>&) const;
template void gemm<float>(Op, Op, float, const DenseView<const float>&,
                          const DenseView<const float>&, float, const DenseView<float>&, int);
template void gemm<double>(Op, Op, double, const DenseView<const double>&,
                           const DenseView<const double>&, double, const DenseView<double>&, int);
template void gemm_batch<float>(Op, Op, float, std::span<const DenseView<const float>>,
                                std::span<const DenseView<const float>>, float,
                                std::span<const DenseView<float>>, int);
template void gemm_batch<double>(Op, Op, double, std::span<const DenseView<const double>>,
                                 std::span<const DenseView<const double>>, double,
                                 std::span<const DenseView<double>>, int);

}  // namespace spbmm::kernels::mkl
