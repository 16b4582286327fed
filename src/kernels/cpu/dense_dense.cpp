// cpu::dense_dense and the dense batch path: the register-blocked kernel (its generic path here,
// the AVX2/FMA and AVX-512 ones in simd_avx2.cpp and simd_avx512.cpp, chosen by a dispatch table),
// BLAS for large products, and the one-entry-per-thread or all-threads-per-entry batch schedule.
#include "kernels/cpu/dense_dense.hpp"

#include "kernels/cpu/dense_detail.hpp"
#include "kernels/cpu/isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#define SPBMM_DENSE_X86 1
#include <immintrin.h>
#else
#define SPBMM_DENSE_X86 0
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

#include "kernels/kernels.hpp"
#include "spbmm/config.hpp"

#if SPBMM_HAVE_BLAS
#include <cblas.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace spbmm::kernels::cpu {
namespace {

using detail::DenseKernels;
using detail::kKc;
using detail::pack_b;
using detail::Problem;
using std::int64_t;

bool in_parallel() noexcept {
#ifdef _OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

int default_threads() noexcept {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Strides of op(X)(i, j) for a stored X.
template <class T>
void op_strides(const DenseView<const T>& x, Op op, int64_t& rs, int64_t& cs) {
  const bool row_major = x.layout == Layout::RowMajor;
  // Stored (i, j) is at i * ld + j (row-major) or i + j * ld (column-major).
  int64_t srs = row_major ? x.ld : 1;
  int64_t scs = row_major ? 1 : x.ld;
  if (op == Op::T) std::swap(srs, scs);
  rs = srs;
  cs = scs;
}

template <class T>
Problem<T> make_problem(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                        const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  const int64_t k = (op_a == Op::N) ? a.cols : a.rows;
  Problem<T> p{c.rows, c.cols, k, a.data, 0, 0, b.data, 0, 0, c.data, c.ld, alpha, beta};
  op_strides(a, op_a, p.a_rs, p.a_cs);
  op_strides(b, op_b, p.b_rs, p.b_cs);
  if (c.layout == Layout::ColMajor) {
    // C^T = op(B)^T op(A)^T is row-major in C's storage.
    Problem<T> t{c.cols, c.rows, k,      b.data, p.b_cs, p.b_rs, a.data,
                 p.a_cs, p.a_rs, c.data, c.ld,   alpha,  beta};
    return t;
  }
  return p;
}

// C = beta * C over the whole of C (the product is empty or alpha is zero); beta == 0 writes zeros
// without reading C.
template <class T>
void scale_c(const Problem<T>& p) {
  if (p.beta == T(1)) return;
  for (int64_t i = 0; i < p.m; ++i) {
    T* row = p.c + i * p.c_rs;
    if (p.beta == T(0)) {
      std::fill(row, row + p.n, T(0));
    } else {
      for (int64_t j = 0; j < p.n; ++j) row[j] *= p.beta;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Generic (any ISA): the same blocking with the B panel always packed (zero-padded), so the
// fixed-width inner loop vectorizes with the baseline ISA and never reads past a row.

constexpr int kGenericNr = 8;
constexpr int kMr = 6;

template <class T, int MR>
void tile_generic(int64_t kc, const T* a, int64_t a_rs, int64_t a_cs, const T* b, T* c,
                  int64_t c_rs, int nr, T alpha, T beta) {
  T acc[MR][kGenericNr] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* bp = b + p * kGenericNr;
    for (int r = 0; r < MR; ++r) {
      const T av = a[r * a_rs + p * a_cs];
      for (int j = 0; j < kGenericNr; ++j) acc[r][j] += av * bp[j];
    }
  }
  for (int r = 0; r < MR; ++r) {
    T* cr = c + r * c_rs;
    for (int j = 0; j < nr; ++j) {
      cr[j] = beta == T(0) ? alpha * acc[r][j] : alpha * acc[r][j] + beta * cr[j];
    }
  }
}

template <class T>
void gemm_generic(const Problem<T>& p, int64_t j_begin, int64_t j_end) {
  alignas(32) T buf[kKc * kGenericNr];
  using Fn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, T*, int64_t, int, T, T);
  static constexpr Fn kFns[kMr] = {&tile_generic<T, 1>, &tile_generic<T, 2>, &tile_generic<T, 3>,
                                   &tile_generic<T, 4>, &tile_generic<T, 5>, &tile_generic<T, 6>};
  for (int64_t kb = 0; kb < p.k; kb += kKc) {
    const int64_t kc = std::min(kKc, p.k - kb);
    const T beta = kb == 0 ? p.beta : T(1);
    for (int64_t jp = j_begin; jp < j_end; ++jp) {
      const int64_t jb = jp * kGenericNr;
      const int nr = static_cast<int>(std::min<int64_t>(kGenericNr, p.n - jb));
      pack_b(p.b + kb * p.b_rs + jb * p.b_cs, p.b_rs, p.b_cs, kc, nr, kGenericNr, buf);
      for (int64_t ib = 0; ib < p.m; ib += kMr) {
        const int mr = static_cast<int>(std::min<int64_t>(kMr, p.m - ib));
        kFns[mr - 1](kc, p.a + ib * p.a_rs + kb * p.a_cs, p.a_rs, p.a_cs, buf,
                     p.c + ib * p.c_rs + jb, p.c_rs, nr, p.alpha, beta);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------

std::atomic<bool> g_blas_enabled{true};

// C of at least this many elements is zeroed ahead of a beta == 0 product (see gemm_panels); a
// 16x16 C (W2) gained nothing from it.
constexpr int64_t kPretouchMinSize = 1024;

template <class T>
constexpr DenseKernels<T> kGenericDenseKernels{&gemm_generic<T>, &gemm_generic<T>, kGenericNr,
                                               nullptr, nullptr};

// The tables indexed by Isa. Without x86 every entry is the portable path (active_isa() is
// Generic there).
template <class T>
constexpr std::array<const DenseKernels<T>*, kIsaCount> kDenseTables = {
#if SPBMM_DENSE_X86
    &kGenericDenseKernels<T>, &detail::IsaDenseKernels<Isa::Avx2Fma, T>::kTable,
    &detail::IsaDenseKernels<Isa::Avx512, T>::kTable};
#else
    &kGenericDenseKernels<T>, &kGenericDenseKernels<T>, &kGenericDenseKernels<T>};
#endif

template <class T>
const DenseKernels<T>& dense_kernels(Isa isa) noexcept {
  return *kDenseTables<T>[static_cast<std::size_t>(isa)];
}

// The smallest m*k*n sent to BLAS on each path, indexed by Isa.
constexpr std::array<int64_t, kIsaCount> kBlasMinVolume = {kDenseBlasMinVolume, kDenseBlasMinVolume,
                                                           kDenseBlasMinVolumeAvx512};

// The register-blocked product over column panels [j_begin, j_end) of w columns.
template <class T>
void gemm_panels(const Problem<T>& p, const DenseKernels<T>& kernels, int64_t j_begin,
                 int64_t j_end, int64_t w) {
  if (p.beta == T(0) && p.m * p.n >= kPretouchMinSize) {
    // The tiles write C a few rows of one column panel at a time, so when C is not cached every
    // row misses separately; zeroing it first, row after row, lets the hardware prefetchers bring
    // the lines in (measured 15% faster on W5). beta == 0 only: the kernel then never reads C.
    const int64_t j0 = j_begin * w;
    const int64_t j1 = std::min(p.n, j_end * w);
    for (int64_t i = 0; i < p.m; ++i) std::fill(p.c + i * p.c_rs + j0, p.c + i * p.c_rs + j1, T(0));
  }
  (p.a_cs == 1 ? kernels.panels_row_a : kernels.panels_col_a)(p, j_begin, j_end);
}

// The register-blocked product; with threads > 1 the column panels are split between threads, so
// each thread owns whole columns of C and needs no synchronization between K chunks.
template <class T>
void gemm_blocked(const Problem<T>& p, int threads) {
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  const int64_t w = kernels.panel_width;
  const int64_t panels = (p.n + w - 1) / w;
#ifdef _OPENMP
  if (threads > 1 && panels > 1 && !in_parallel()) {
    const int t = static_cast<int>(std::min<int64_t>(threads, panels));
#pragma omp parallel num_threads(t)
    {
      const int64_t id = omp_get_thread_num();
      const int64_t nt = omp_get_num_threads();
      gemm_panels(p, kernels, panels * id / nt, panels * (id + 1) / nt, w);
    }
    return;
  }
#else
  (void)threads;
#endif
  gemm_panels(p, kernels, 0, panels, w);
}

#if SPBMM_HAVE_BLAS
CBLAS_TRANSPOSE blas_trans(Layout stored, Layout order, Op op) {
  // A matrix stored in the other layout is its own transpose in this one.
  const bool t = (op == Op::T) != (stored != order);
  return t ? CblasTrans : CblasNoTrans;
}

template <class T>
void blas_gemm(Op op_a, Op op_b, T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
               T beta, const DenseView<T>& c, int64_t k) {
  const CBLAS_ORDER order = c.layout == Layout::RowMajor ? CblasRowMajor : CblasColMajor;
  const Layout ord = c.layout;
  const auto m = static_cast<blasint>(c.rows);
  const auto n = static_cast<blasint>(c.cols);
  const auto kk = static_cast<blasint>(k);
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(order, blas_trans(a.layout, ord, op_a), blas_trans(b.layout, ord, op_b), m, n, kk,
                alpha, a.data, static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), beta,
                c.data, static_cast<blasint>(c.ld));
  } else {
    cblas_dgemm(order, blas_trans(a.layout, ord, op_a), blas_trans(b.layout, ord, op_b), m, n, kk,
                alpha, a.data, static_cast<blasint>(a.ld), b.data, static_cast<blasint>(b.ld), beta,
                c.data, static_cast<blasint>(c.ld));
  }
}

bool blas_int_ok(int64_t x) { return x <= static_cast<int64_t>(INT_MAX); }
#endif

// Asks for a matrix (up to 128 KiB of it) to be brought into L2, so that the next entry of a batch
// streams in while this one computes (W5: 6-8% faster on the AVX-512 path, fp32 and fp64).
template <class T>
void prefetch_view(const DenseView<const T>& x) {
  const int64_t outer = x.layout == Layout::RowMajor ? x.rows : x.cols;
  const int64_t inner = x.layout == Layout::RowMajor ? x.cols : x.rows;
  if (outer == 0 || inner == 0 ||
      outer * x.ld * static_cast<int64_t>(sizeof(T)) > (int64_t{1} << 17))
    return;
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = x.data + o * x.ld;
    for (int64_t i = 0; i < inner; i += kLine) __builtin_prefetch(row + i, 0, 2);
    __builtin_prefetch(row + inner - 1, 0, 2);
  }
}

// A batch whose outputs take at least this many bytes writes them with non-temporal stores where
// the small-product path runs with beta == 0: such outputs leave the caches anyway, and the
// stores save reading every line of C in before overwriting it. W2 (20 MB of C) ran 1.2x faster
// on a 2-core Intel Xeon; outputs below the size of a usual L3 stay cached for their reader.
constexpr double kStreamMinBytes = 16.0 * (1 << 20);

// Entries of fewer multiply-adds than kPrefetchMinVolume have the operands of the entry this many
// places ahead prefetched into L1. Their A and B are 1 KB each in W2: the hardware prefetchers
// stop at every 4 KiB page, that is every few entries. W2 ran 5% faster with 4 than without
// (2 and 8 were in between; prefetching into L2 only was slower than none).
constexpr std::size_t kSmallPrefetchAhead = 4;

// Non-temporal stores are weakly ordered: a thread fences its own once its products are done,
// before anyone else may read C.
void fence_streams(bool streamed) {
#if SPBMM_DENSE_X86
  if (streamed) _mm_sfence();
#else
  (void)streamed;
#endif
}

// Asks for every line of a small matrix to be brought into L1.
template <class T>
void prefetch_lines(const DenseView<const T>& x) {
  const int64_t outer = x.layout == Layout::RowMajor ? x.rows : x.cols;
  const int64_t inner = x.layout == Layout::RowMajor ? x.cols : x.rows;
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = x.data + o * x.ld;
    for (int64_t i = 0; i < inner; i += kLine) __builtin_prefetch(row + i, 0, 3);
    __builtin_prefetch(row + inner - 1, 0, 3);
  }
}

// The smallest entry (m*k*n) whose operands are prefetched ahead of it.
constexpr double kPrefetchMinVolume = 32.0 * 32 * 32;

// m*k*n in floating point: the product of three int64 dimensions may not fit in one.
double volume(int64_t m, int64_t n, int64_t k) {
  return static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
}

}  // namespace

void detail::set_dense_blas_enabled(bool on) noexcept {
  g_blas_enabled.store(on, std::memory_order_relaxed);
}

bool dense_uses_blas(std::int64_t m, std::int64_t n, std::int64_t k) noexcept {
#if SPBMM_HAVE_BLAS
  const int64_t min_volume = kBlasMinVolume[static_cast<std::size_t>(active_isa())];
  return g_blas_enabled.load(std::memory_order_relaxed) &&
         volume(m, n, k) >= static_cast<double>(min_volume) && blas_int_ok(m) && blas_int_ok(n) &&
         blas_int_ok(k);
#else
  (void)m;
  (void)n;
  (void)k;
  return false;
#endif
}

BlasThreadsScope::BlasThreadsScope(int threads) noexcept {
#if SPBMM_HAVE_BLAS
  saved_ = openblas_get_num_threads();
  if (threads > 0 && threads != saved_) openblas_set_num_threads(threads);
#else
  (void)threads;
#endif
}

BlasThreadsScope::~BlasThreadsScope() {
#if SPBMM_HAVE_BLAS
  if (openblas_get_num_threads() != saved_) openblas_set_num_threads(saved_);
#endif
}

namespace {
// One product (see dense_dense_threads); `stream_c` lets the small-product path write C with
// non-temporal stores (a batch whose outputs will not stay in cache).
template <Value T>
void dense_entry(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads,
                 bool stream_c) {
  if (c.rows == 0 || c.cols == 0) return;
  const Problem<T> p = make_problem(op_a, op_b, alpha, a, b, beta, c);
  // As in BLAS, alpha == 0 does not form the product, so NaN in A or B does not reach C.
  if (p.k == 0 || alpha == T(0)) {
    scale_c(p);
    return;
  }
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  if (kernels.direct != nullptr && kernels.direct(p, stream_c)) return;
  const bool nested = in_parallel();
  if (nested) threads = 1;
#if SPBMM_HAVE_BLAS
  if (dense_uses_blas(p.m, p.n, p.k)) {
    if (!nested) {
      const BlasThreadsScope scope(threads);
      blas_gemm(op_a, op_b, alpha, a, b, beta, c, p.k);
      return;
    }
    // The BLAS thread count is process-wide and cannot be changed safely from here; a
    // multi-threaded BLAS call from every thread of a team would oversubscribe the cores.
    if (openblas_get_num_threads() == 1) {
      blas_gemm(op_a, op_b, alpha, a, b, beta, c, p.k);
      return;
    }
  }
#endif
  gemm_blocked(p, volume(p.m, p.n, p.k) >= static_cast<double>(kDenseSplitMinVolume) ? threads : 1);
}

}  // namespace

template <Value T>
void dense_dense_threads(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads) {
  dense_entry(op_a, op_b, alpha, a, b, beta, c, threads, false);
}

template <Value T>
bool dense_register_product(std::int64_t n, std::int64_t k) noexcept {
  const DenseKernels<T>& kernels = dense_kernels<T>(active_isa());
  return kernels.fits_registers != nullptr && kernels.fits_registers(n, k);
}

template <Value T>
void dense_dense_blocked(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                         const DenseView<const T>& b, T beta, const DenseView<T>& c, int threads) {
  if (c.rows == 0 || c.cols == 0) return;
  const Problem<T> p = make_problem(op_a, op_b, alpha, a, b, beta, c);
  if (p.k == 0 || alpha == T(0)) {
    scale_c(p);
    return;
  }
  gemm_blocked(p, in_parallel() ? 1 : threads);
}

namespace {

// Rows of one chunk of a stacked A^T B: one generated kernel's inner dimension. On W11's weight
// gradient (128 x 503232 by 503232 x 128, 2 threads, Intel Xeon, kernels alone) chunks of 256
// rows took 76-99 ms, 512 71-72 ms, 1024 74-78 ms.
constexpr int64_t kAtBChunk = 512;
// A stacked A^T B keeps at most this many partial sums of m x n, each over whole chunks (at least
// kAtBPieceChunks of them): few enough to sum cheaply, enough to share among threads.
constexpr int64_t kAtBMaxPieces = 64;
constexpr int64_t kAtBPieceChunks = 16;

}  // namespace

template <Value T>
void stacked_at_b(T alpha, const DenseView<const T>& a, const DenseView<const T>& b,
                  const DenseView<T>& c, int threads) {
  const int64_t k = a.rows, m = a.cols, n = b.cols;
  if (m == 0 || n == 0 || k == 0 || alpha == T(0)) return;
  if (threads <= 0) threads = default_threads();
  if (in_parallel()) threads = 1;
  const int64_t chunk = std::min(kAtBChunk, k);
  const int64_t rest = k % chunk;
  SmallGemm full, tail;
  const bool row_major =
      a.layout == Layout::RowMajor && b.layout == Layout::RowMajor && c.layout == Layout::RowMajor;
  if (row_major) {
    full = make_at_b_gemm<T>(m, n, chunk, a.ld, b.ld, n);
    if (rest > 0) tail = make_at_b_gemm<T>(m, n, rest, a.ld, b.ld, n);
  }
  if (full.fn == nullptr || (rest > 0 && tail.fn == nullptr)) {
    dense_dense_blocked<T>(Op::T, Op::N, alpha, a, b, T(1), c, threads);
    return;
  }
  // Pieces of whole chunks, fixed by k alone: each is summed by one thread in chunk order, and the
  // pieces are added in their order, so no bit depends on the thread count.
  const int64_t chunks = (k + chunk - 1) / chunk;
  const int64_t per_piece = std::max(kAtBPieceChunks, (chunks + kAtBMaxPieces - 1) / kAtBMaxPieces);
  const int64_t pieces = (chunks + per_piece - 1) / per_piece;
  const int64_t area = m * n;
  std::vector<T> part(static_cast<std::size_t>(pieces * area));
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
#endif
  for (int64_t p = 0; p < pieces; ++p) {
    T* q = part.data() + p * area;
    std::fill(q, q + area, T(0));
    const int64_t end = std::min(chunks, (p + 1) * per_piece);
    for (int64_t ch = p * per_piece; ch < end; ++ch) {
      const int64_t r = ch * chunk;
      run_small_gemm<T>(r + chunk <= k ? full : tail, a.data + r * a.ld, b.data + r * b.ld, q);
    }
  }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
  for (int64_t i = 0; i < m; ++i) {
    T acc[kSmallGemmMaxNK];
    const T* row = part.data() + i * n;
    std::copy(row, row + n, acc);
    for (int64_t p = 1; p < pieces; ++p) {
      const T* q = row + p * area;
      for (int64_t j = 0; j < n; ++j) acc[j] += q[j];
    }
    T* ci = c.data + i * c.ld;
    for (int64_t j = 0; j < n; ++j) ci[j] += alpha * acc[j];
  }
}

namespace {

// Rows of one chunk when a tall product with a generated kernel is split over threads: 512 rows
// of 128 floats pass the streaming cut-off (kSmallGemmStreamMinBytes).
constexpr int64_t kTallChunkRows = 512;

// C = A B for a product `g` fits, split over threads in fixed chunks of rows, each on a kernel
// generated for the chunk's height. False (nothing written) when no such kernel can be made.
template <Value T>
bool tall_on_generated(const SmallGemm& g, const DenseView<const T>& a, const DenseView<const T>& b,
                       const DenseView<T>& c, int threads, bool stream) {
  const int64_t m = c.rows;
  const int64_t rows = std::min(kTallChunkRows, m);
  const int64_t rest = m % rows;
  const SmallGemm full = make_small_gemm<T>(rows, g.n, g.k, g.lda, g.ldb, g.ldc);
  const SmallGemm tail =
      rest > 0 ? make_small_gemm<T>(rest, g.n, g.k, g.lda, g.ldb, g.ldc) : SmallGemm{};
  if (full.fn == nullptr || (rest > 0 && tail.fn == nullptr)) return false;
  const int64_t chunks = (m + rows - 1) / rows;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
    for (int64_t ch = 0; ch < chunks; ++ch) {
      const int64_t r = ch * rows;
      const SmallGemm& k = r + rows <= m ? full : tail;
      T* cr = c.data + r * c.ld;
      run_small_gemm<T>(k, a.data + r * a.ld, b.data, cr, stream && k.streams(cr));
    }
    fence_streams(stream);
  }
  return true;
}

// C = beta C, with beta == 0 overwriting (NaN in C does not survive), as BLAS does.
template <Value T>
void scale_view(T beta, const DenseView<T>& c) {
  if (beta == T(1)) return;
  const bool row_major = c.layout == Layout::RowMajor;
  const int64_t outer = row_major ? c.rows : c.cols;
  const int64_t inner = row_major ? c.cols : c.rows;
  for (int64_t o = 0; o < outer; ++o) {
    T* line = c.data + o * c.ld;
    for (int64_t j = 0; j < inner; ++j) line[j] = beta == T(0) ? T(0) : beta * line[j];
  }
}

}  // namespace

template <Value T>
void dense_batch(Op op_a, Op op_b, T alpha, const std::vector<DenseView<const T>>& a,
                 const std::vector<DenseView<const T>>& b, T beta,
                 const std::vector<DenseView<T>>& c, int threads,
                 const std::vector<SmallGemm>* small) {
  const std::size_t count = c.size();
  if (count == 0) return;
  const auto a_at = [&](std::size_t i) -> const DenseView<const T>& {
    return a.size() == 1 ? a[0] : a[i];
  };
  const auto b_at = [&](std::size_t i) -> const DenseView<const T>& {
    return b.size() == 1 ? b[0] : b[i];
  };
  const auto vol = [&](std::size_t i) {
    const DenseView<const T>& ai = a_at(i);
    return volume(c[i].rows, c[i].cols, op_a == Op::N ? ai.cols : ai.rows);
  };
  if (small != nullptr && small->size() != a.size()) small = nullptr;
  // One B^T shared by every product (a layer's W^T in its input gradient) is transposed once, so
  // that the generated kernels, made for B as stored with op N, serve it (W11's dX: 104 ms with
  // op_b = T on the blocked kernel, 64-65 ms so).
  std::vector<T> packed;
  std::vector<DenseView<const T>> b_packed;
  if (small != nullptr && op_b == Op::T && b.size() == 1 && !in_parallel()) {
    const DenseView<const T>& bt = b[0];
    // op(B) = B^T is bt.cols x bt.rows.
    packed.resize(static_cast<std::size_t>(bt.rows * bt.cols));
    for (int64_t r = 0; r < bt.cols; ++r) {
      for (int64_t j = 0; j < bt.rows; ++j)
        packed[static_cast<std::size_t>(r * bt.rows + j)] = bt(j, r);
    }
    b_packed.push_back(DenseView<const T>(packed.data(), bt.cols, bt.rows));
    dense_batch<T>(op_a, Op::N, alpha, a, b_packed, beta, c, threads, small);
    return;
  }
  // One product: its generated kernel where there is one that fits, else the kernels below.
  const auto product = [&](std::size_t i, int inner_threads, bool stream) {
    const std::size_t e = a.size() == 1 ? 0 : i;
    const bool splits = inner_threads > 1 && vol(i) >= kDenseSplitMinVolume;
    if (small != nullptr && (*small)[e].fits(op_a, op_b, alpha, a_at(i), b_at(i), beta, c[i])) {
      const SmallGemm& g = (*small)[e];
      if (!splits) {
        run_small_gemm<T>(g, a_at(i).data, b_at(i).data, c[i].data, stream && g.streams(c[i].data));
        return;
      }
      // A tall product worth splitting, in chunks of rows (one product of 503232 x 128 x 128
      // with B^T: 145 ms on the blocked kernel's threads, 66 ms so).
      if (tall_on_generated<T>(g, a_at(i), b_at(i), c[i], inner_threads, stream)) return;
    }
    // One long A^T B (k x m by k x n, m and n small) worth splitting: as a stacked weight
    // gradient, in chunks of rows on generated kernels (503232 rows of 128, 2 threads: 83 ms on
    // the blocked kernel, 73 ms so).
    if (splits && op_a == Op::T && op_b == Op::N && small_gemm_built()) {
      const DenseView<const T>& ai = a_at(i);
      const DenseView<const T>& bi = b_at(i);
      if (ai.layout == Layout::RowMajor && bi.layout == Layout::RowMajor &&
          c[i].layout == Layout::RowMajor && c[i].rows <= kSmallGemmMaxNK &&
          c[i].cols <= kSmallGemmMaxNK) {
        scale_view(beta, c[i]);
        stacked_at_b<T>(alpha, ai, bi, c[i], inner_threads);
        return;
      }
    }
    dense_entry(op_a, op_b, alpha, a_at(i), b_at(i), beta, c[i], inner_threads, stream);
  };
  if (in_parallel()) {
    // The caller already spreads work over threads; the BLAS thread count is left alone, since it
    // is process-wide (dense_dense_threads avoids a multi-threaded BLAS here).
    for (std::size_t i = 0; i < count; ++i) product(i, 1, false);
    return;
  }
  if (threads <= 0) threads = default_threads();
  // Outputs that together exceed the caches go out through non-temporal stores where the small
  // path can (beta == 0): reading their lines in before overwriting them would only add traffic.
  double c_bytes = 0;
  for (std::size_t i = 0; i < count; ++i) {
    c_bytes += static_cast<double>(c[i].rows) * static_cast<double>(c[i].cols) * sizeof(T);
  }
  const bool stream_c = c_bytes >= kStreamMinBytes;
  // Prefetches the operands of entry i + 1 while entry i computes. Not for tiny entries: W2 (16^3)
  // was 24% slower with it; the hardware prefetchers already follow its consecutive entries.
  const auto prefetch_after = [&](std::size_t i) {
    if (i + 1 < count && vol(i + 1) >= kPrefetchMinVolume) {
      if (a.size() != 1) prefetch_view(a[i + 1]);
      if (b.size() != 1) prefetch_view(b[i + 1]);
    }
  };
  const auto prefetch_small_ahead = [&](std::size_t i) {
    const std::size_t j = i + kSmallPrefetchAhead;
    if (j < count && vol(j) < kPrefetchMinVolume) {
      if (a.size() != 1) prefetch_lines(a[j]);
      if (b.size() != 1) prefetch_lines(b[j]);
    }
  };
  // dense_dense_threads sets the BLAS thread count itself around the products it hands to BLAS.
  if (threads == 1 || count == 1) {
    for (std::size_t i = 0; i < count; ++i) {
      prefetch_after(i);
      prefetch_small_ahead(i);
      product(i, threads, stream_c);
    }
    fence_streams(stream_c);
    return;
  }

  double total = 0;
  for (std::size_t i = 0; i < count; ++i) total += vol(i);
  // An entry bigger than a thread's share would leave the other threads idle at the end of an
  // entry-parallel loop, so it is split instead (when it is big enough to split well).
  const auto split = [&](std::size_t i) {
    const double v = vol(i);
    return v >= static_cast<double>(kDenseSplitMinVolume) && v * threads > total;
  };
  bool any_split = false;
  for (std::size_t i = 0; i < count && !any_split; ++i) any_split = split(i);
  if (any_split) {
    for (std::size_t i = 0; i < count; ++i) {
      if (split(i)) product(i, threads, false);
    }
  }

  // Guided: each thread starts on a long run of consecutive entries, which the hardware prefetchers
  // stream (W2 ran 2.4x faster than with dynamic chunks of 16 entries, and 1.2x faster than with
  // dynamic chunks of 2^20 multiply-adds), and the shrinking chunks still balance a ragged batch.
  // The smallest chunk holds about 2^16 multiply-adds, so tiny entries do not contend on the
  // counter.
  const double avg = std::max(1.0, total / static_cast<double>(count));
  const int chunk = static_cast<int>(std::clamp(65536.0 / avg, 1.0, 64.0));
  // Entries that go to BLAS inside the loop need it on one thread. Only then is the count
  // touched: each change wakes OpenBLAS's own thread pool, whose spinning threads would compete
  // with this loop's threads for the cores.
  bool any_blas = false;
  for (std::size_t i = 0; i < count && !any_blas; ++i) {
    const DenseView<const T>& ai = a_at(i);
    const std::int64_t k = op_a == Op::N ? ai.cols : ai.rows;
    any_blas = !(any_split && split(i)) && dense_uses_blas(c[i].rows, c[i].cols, k);
  }
  std::optional<BlasThreadsScope> scope;
  if (any_blas) scope.emplace(1);
  const auto body = [&](std::int64_t i) {
    const auto u = static_cast<std::size_t>(i);
    if (any_split && split(u)) return;
    prefetch_after(u);
    prefetch_small_ahead(u);
    product(u, 1, stream_c);
  };
  // Entries that are each big enough to split gain nothing from runs of consecutive entries, and
  // guided's long first runs leave a ragged tail: one at a time (W11's X W, 512 entries of about
  // 1000 x 128 x 128 on generated kernels: 67 against 70 ms, 2 threads, Intel Xeon).
  const bool one_by_one = avg >= static_cast<double>(kDenseSplitMinVolume);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
  {
    if (one_by_one) {
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) body(i);
    } else {
#ifdef _OPENMP
#pragma omp for schedule(guided, chunk) nowait
#endif
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(count); ++i) body(i);
    }
    fence_streams(stream_c);
  }
  (void)chunk;
}

template <Value T>
void dense_dense(Op op_a, Op op_b, T alpha, const DenseView<const T>& a,
                 const DenseView<const T>& b, T beta, const DenseView<T>& c) {
  dense_dense_threads(op_a, op_b, alpha, a, b, beta, c, in_parallel() ? 1 : default_threads());
}

#define SPBMM_INSTANTIATE_DENSE(T)                                                                 \
  template void dense_dense<T>(Op, Op, T, const DenseView<const T>&, const DenseView<const T>&, T, \
                               const DenseView<T>&);                                               \
  template void dense_dense_threads<T>(Op, Op, T, const DenseView<const T>&,                       \
                                       const DenseView<const T>&, T, const DenseView<T>&, int);    \
  template bool dense_register_product<T>(std::int64_t, std::int64_t) noexcept;                    \
  template void dense_dense_blocked<T>(Op, Op, T, const DenseView<const T>&,                       \
                                       const DenseView<const T>&, T, const DenseView<T>&, int);    \
  template void stacked_at_b<T>(T, const DenseView<const T>&, const DenseView<const T>&,           \
                                const DenseView<T>&, int);                                         \
  template void dense_batch<T>(                                                                    \
      Op, Op, T, const std::vector<DenseView<const T>>&, const std::vector<DenseView<const T>>&,   \
      T, const std::vector<DenseView<T>>&, int, const std::vector<SmallGemm>*);

SPBMM_INSTANTIATE_DENSE(float)
SPBMM_INSTANTIATE_DENSE(double)
#undef SPBMM_INSTANTIATE_DENSE

}  // namespace spbmm::kernels::cpu
