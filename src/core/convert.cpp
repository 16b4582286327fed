// Format converters between COO, CSR and dense, for single matrices and batches.
#include "spbmm/convert.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "core/checks.hpp"
#include "core/coo_to_csr.hpp"
#include "spbmm/error.hpp"

namespace spbmm {

using detail::cat;
using detail::fits;

namespace {

std::atomic<std::uint64_t> g_dense_limit{kDefaultDenseLimit};

}  // namespace

std::uint64_t dense_limit() noexcept { return g_dense_limit.load(std::memory_order_relaxed); }

std::uint64_t set_dense_limit(std::uint64_t bytes) noexcept {
  return g_dense_limit.exchange(bytes != 0 ? bytes : kDefaultDenseLimit, std::memory_order_relaxed);
}

namespace detail {

std::uint64_t resolve_dense_limit(std::uint64_t limit) noexcept {
  return limit != 0 ? limit : dense_limit();
}

std::uint64_t check_dense_limit(std::int64_t rows, std::int64_t cols, std::size_t value_bytes,
                                std::uint64_t limit, const std::string& prefix, const char* hint) {
  std::uint64_t elems = 0;
  std::uint64_t bytes = 0;
  const bool overflow = __builtin_mul_overflow(static_cast<std::uint64_t>(rows),
                                               static_cast<std::uint64_t>(cols), &elems) ||
                        __builtin_mul_overflow(elems, value_bytes, &bytes);
  if (overflow || bytes > limit) {
    const char* type = value_bytes == 8 ? "double" : "float";
    throw LimitError(cat(prefix, "a dense ", rows, "x", cols, " ", type, " copy needs ",
                         overflow ? std::string("more than 2^64") : cat(bytes),
                         " bytes, more than the dense conversion limit of ", limit,
                         " bytes (raise it with ", hint, ")"));
  }
  return bytes;
}

}  // namespace detail

namespace {

constexpr const char* kToDenseHint = "to_dense's limit argument or spbmm::set_dense_limit";

// "COO -> CSR: " for a lone matrix, "COO -> CSR entry 3: " inside a batch.
std::string ctx(const char* conversion, std::int64_t entry) {
  return entry >= 0 ? cat(conversion, " entry ", entry, ": ") : cat(conversion, ": ");
}

template <class I>
void require_fits(std::int64_t v, const char* name, const char* conversion, std::int64_t entry) {
  if (!fits<I>(v)) {
    throw LimitError(
        cat(ctx(conversion, entry), name, " ", v, " does not fit a ", sizeof(I) * 8, "-bit index"));
  }
}

template <class I>
void require_shape_fits(std::int64_t rows, std::int64_t cols, const char* conversion,
                        std::int64_t entry) {
  if (!fits<I>(rows) || !fits<I>(cols)) {
    throw LimitError(cat(ctx(conversion, entry), "shape ", rows, "x", cols, " does not fit a ",
                         sizeof(I) * 8, "-bit index"));
  }
}

// Dense conversions check the size of their result against the limit before anything is read
// or allocated, and return its bytes. Negative shapes are left to validation, which reports them
// as malformed rather than as too large.
std::uint64_t check_dense_size(std::int64_t rows, std::int64_t cols, std::size_t value_bytes,
                               std::uint64_t limit, const char* conversion, std::int64_t entry) {
  if (rows < 0 || cols < 0) return 0;
  return detail::check_dense_limit(rows, cols, value_bytes, limit, ctx(conversion, entry),
                                   kToDenseHint);
}

template <Index I>
std::size_t sz(I v) {
  return static_cast<std::size_t>(v);
}

// Short rows are sorted in place; a stable insertion sort beats std::stable_sort there because it
// allocates nothing and is linear on the (common) already-sorted row.
constexpr std::ptrdiff_t kInsertionSortMax = 32;

// Sorts [first, last) of the parallel arrays (ci, v) by column, keeping equal columns in their
// current order. `buf` is scratch reused across rows.
template <Value T, Index I>
void stable_sort_row(I* ci, T* v, std::ptrdiff_t n, std::vector<std::pair<I, T>>& buf) {
  if (n <= kInsertionSortMax) {
    for (std::ptrdiff_t k = 1; k < n; ++k) {
      const I c = ci[k];
      const T x = v[k];
      std::ptrdiff_t j = k;
      for (; j > 0 && ci[j - 1] > c; --j) {
        ci[j] = ci[j - 1];
        v[j] = v[j - 1];
      }
      ci[j] = c;
      v[j] = x;
    }
    return;
  }
  buf.resize(static_cast<std::size_t>(n));
  for (std::ptrdiff_t k = 0; k < n; ++k) buf[static_cast<std::size_t>(k)] = {ci[k], v[k]};
  std::stable_sort(buf.begin(), buf.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::ptrdiff_t k = 0; k < n; ++k) {
    ci[k] = buf[static_cast<std::size_t>(k)].first;
    v[k] = buf[static_cast<std::size_t>(k)].second;
  }
}

// Appends the canonical CSR of a validated COO matrix: rows + 1 row pointers starting at 0 to rp,
// and the merged entries to ci / v. nnz must fit I.
template <Value T, Index I>
void coo_to_csr_into(const CooView<T, I>& a, std::vector<I>& rp, std::vector<I>& ci,
                     std::vector<T>& v) {
  const std::size_t rbase = rp.size();
  const std::size_t base = ci.size();
  const auto nnz = static_cast<std::size_t>(a.nnz);
  rp.resize(rbase + static_cast<std::size_t>(a.rows) + 1, I(0));
  ci.resize(base + nnz);
  v.resize(base + nnz);
  I* p = rp.data() + rbase;
  detail::bucket_by_row(a.rows, a.row_idx, a.col_idx, a.values, nnz, /*mirror=*/false,
                        /*skew=*/false, p, ci.data() + base, v.data() + base);
  const std::size_t kept =
      detail::sort_rows_and_sum_duplicates(a.rows, p, ci.data() + base, v.data() + base, 1);
  ci.resize(base + kept);
  v.resize(base + kept);
}

// Appends the row-major COO triplets of a validated CSR matrix.
template <Value T, Index I>
void csr_to_coo_into(const CsrView<T, I>& a, std::vector<I>& ri, std::vector<I>& ci,
                     std::vector<T>& v) {
  const auto nnz = static_cast<std::size_t>(a.nnz());
  for (std::int64_t r = 0; r < a.rows; ++r) {
    ri.insert(ri.end(), sz(a.row_ptr[r + 1] - a.row_ptr[r]), static_cast<I>(r));
  }
  if (nnz > 0) {
    ci.insert(ci.end(), a.col_idx, a.col_idx + nnz);
    v.insert(v.end(), a.values, a.values + nnz);
  }
}

template <Value T, Index I>
void csr_scatter(const CsrView<T, I>& a, const DenseView<T>& out) {
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (I k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) out(r, a.col_idx[k]) = a.values[k];
  }
}

template <Value T, Index I>
void coo_scatter(const CooView<T, I>& a, const DenseView<T>& out) {
  for (std::int64_t k = 0; k < a.nnz; ++k) out(a.row_idx[k], a.col_idx[k]) += a.values[k];
}

// |x| > tol, with NaN kept (the comparison is written so that NaN falls on the keep side).
template <Value T>
bool keep(T x, T tol) {
  return !(std::abs(x) <= tol);
}

// First pass of dense -> CSR: writes the rows + 1 row pointers of `a` to p and returns the entry
// count, or throws LimitError when it does not fit I.
template <Index I, Value T>
std::int64_t dense_count(const DenseView<const T>& a, T tol, I* p, std::int64_t entry) {
  const auto rows = static_cast<std::size_t>(a.rows);
  std::fill(p, p + rows + 1, I(0));
  // An empty matrix may have a null data pointer, which must not be offset.
  if (a.rows == 0 || a.cols == 0) return 0;
  if (a.layout == Layout::RowMajor) {
    for (std::int64_t i = 0; i < a.rows; ++i) {
      const T* row = a.data + i * a.ld;
      I n = 0;
      for (std::int64_t j = 0; j < a.cols; ++j) n += keep(row[j], tol) ? 1 : 0;
      p[i + 1] = n;
    }
  } else {
    for (std::int64_t j = 0; j < a.cols; ++j) {
      const T* col = a.data + j * a.ld;
      for (std::int64_t i = 0; i < a.rows; ++i) p[i + 1] += keep(col[i], tol) ? 1 : 0;
    }
  }
  std::int64_t total = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    total += static_cast<std::int64_t>(p[r + 1]);
    require_fits<I>(total, "nnz", "dense -> CSR", entry);
    p[r + 1] = static_cast<I>(total);
  }
  return total;
}

// Second pass: fills the entries the row pointers p promise, column indices increasing per row.
template <Index I, Value T>
void dense_fill(const DenseView<const T>& a, T tol, const I* p, I* ci, T* v) {
  if (a.rows == 0 || a.cols == 0) return;
  if (a.layout == Layout::RowMajor) {
    for (std::int64_t i = 0; i < a.rows; ++i) {
      const T* row = a.data + i * a.ld;
      std::size_t w = sz(p[i]);
      for (std::int64_t j = 0; j < a.cols; ++j) {
        if (keep(row[j], tol)) {
          ci[w] = static_cast<I>(j);
          v[w++] = row[j];
        }
      }
    }
  } else {
    // Walking columns in order keeps each row's column indices increasing.
    std::vector<I> next(p, p + a.rows);
    for (std::int64_t j = 0; j < a.cols; ++j) {
      const T* col = a.data + j * a.ld;
      for (std::int64_t i = 0; i < a.rows; ++i) {
        if (keep(col[i], tol)) {
          const std::size_t w = sz(next[static_cast<std::size_t>(i)]++);
          ci[w] = static_cast<I>(j);
          v[w] = col[i];
        }
      }
    }
  }
}

template <Value T>
void check_drop_tol(T drop_tol) {
  if (std::isnan(drop_tol)) throw InvalidArgument("dense -> CSR: drop tolerance is NaN");
}

// Appends the cols + 1 row pointers of A^T to rp and calls place(k, p, r) for each stored entry
// k of A (in row r), which lands at position p of A^T. Rows are visited in order, so every row
// of A^T receives increasing column indices: the result is canonical.
template <Value T, Index I, class Place>
void transpose_pattern(const CsrView<T, I>& a, std::vector<I>& rp, Place place) {
  const std::size_t rbase = rp.size();
  const auto cols = static_cast<std::size_t>(a.cols);
  const auto nnz = static_cast<std::size_t>(a.nnz());
  rp.resize(rbase + cols + 1, I(0));
  I* p = rp.data() + rbase;
  for (std::size_t k = 0; k < nnz; ++k) ++p[sz(a.col_idx[k]) + 1];
  for (std::size_t c = 0; c < cols; ++c) p[c + 1] += p[c];
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (I k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) {
      place(sz(k), sz(p[sz(a.col_idx[k])]++), static_cast<I>(r));
    }
  }
  for (std::size_t c = cols; c > 0; --c) p[c] = p[c - 1];
  p[0] = 0;
}

template <Value T, Index I>
void transpose_into(const CsrView<T, I>& a, std::vector<I>& rp, std::vector<I>& ci,
                    std::vector<T>& v) {
  const std::size_t base = ci.size();
  const auto nnz = static_cast<std::size_t>(a.nnz());
  ci.resize(base + nnz);
  v.resize(base + nnz);
  I* c = ci.data() + base;
  T* x = v.data() + base;
  transpose_pattern(a, rp, [&](std::size_t k, std::size_t p, I r) {
    c[p] = r;
    x[p] = a.values[k];
  });
}

}  // namespace

// ---- single matrices ----

template <Value T, Index I>
CsrMatrix<T, I> to_csr(const CooView<T, I>& a) {
  // Checked before validation so an oversized view is rejected without reading its arrays.
  if (a.nnz >= 0) require_fits<I>(a.nnz, "nnz", "COO -> CSR", -1);
  validate(a);
  std::vector<I> rp, ci;
  std::vector<T> v;
  rp.reserve(static_cast<std::size_t>(a.rows) + 1);
  ci.reserve(static_cast<std::size_t>(a.nnz));
  v.reserve(static_cast<std::size_t>(a.nnz));
  coo_to_csr_into(a, rp, ci, v);
  return CsrMatrix<T, I>(a.rows, a.cols, std::move(rp), std::move(ci), std::move(v));
}

template <Value T, Index I>
CooMatrix<T, I> to_coo(const CsrView<T, I>& a) {
  validate(a);
  const auto nnz = static_cast<std::size_t>(a.nnz());
  std::vector<I> ri, ci;
  std::vector<T> v;
  ri.reserve(nnz);
  ci.reserve(nnz);
  v.reserve(nnz);
  csr_to_coo_into(a, ri, ci, v);
  return CooMatrix<T, I>(a.rows, a.cols, std::move(ri), std::move(ci), std::move(v));
}

template <Value T, Index I>
DenseMatrix<T> to_dense(const CsrView<T, I>& a, Layout layout, std::uint64_t limit) {
  check_dense_size(a.rows, a.cols, sizeof(T), detail::resolve_dense_limit(limit), "CSR -> dense",
                   -1);
  validate(a);
  DenseMatrix<T> out(a.rows, a.cols, layout);
  csr_scatter(a, out.view());
  return out;
}

template <Value T, Index I>
DenseMatrix<T> to_dense(const CooView<T, I>& a, Layout layout, std::uint64_t limit) {
  check_dense_size(a.rows, a.cols, sizeof(T), detail::resolve_dense_limit(limit), "COO -> dense",
                   -1);
  validate(a);
  DenseMatrix<T> out(a.rows, a.cols, layout);
  coo_scatter(a, out.view());
  return out;
}

template <Index I, Value T>
CsrMatrix<T, I> to_csr(DenseView<const T> a, T drop_tol) {
  check_drop_tol(drop_tol);
  validate(a, "dense -> CSR");
  require_shape_fits<I>(a.rows, a.cols, "dense -> CSR", -1);
  std::vector<I> rp(static_cast<std::size_t>(a.rows) + 1);
  const auto nnz = static_cast<std::size_t>(dense_count(a, drop_tol, rp.data(), -1));
  std::vector<I> ci(nnz);
  std::vector<T> v(nnz);
  dense_fill(a, drop_tol, rp.data(), ci.data(), v.data());
  return CsrMatrix<T, I>(a.rows, a.cols, std::move(rp), std::move(ci), std::move(v));
}

template <Value T, Index I>
CsrMatrix<T, I> transpose(const CsrView<T, I>& a) {
  validate(a);
  const auto nnz = static_cast<std::size_t>(a.nnz());
  std::vector<I> rp, ci;
  std::vector<T> v;
  rp.reserve(static_cast<std::size_t>(a.cols) + 1);
  ci.reserve(nnz);
  v.reserve(nnz);
  transpose_into(a, rp, ci, v);
  return CsrMatrix<T, I>(a.cols, a.rows, std::move(rp), std::move(ci), std::move(v));
}

// ---- batches (their constructors validated every entry already) ----

template <Value T, Index I>
CsrBatch<T, I> to_csr(const CooBatch<T, I>& a) {
  const std::size_t n = a.size();
  std::vector<std::int64_t> rows(n), cols(n);
  std::size_t rp_total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    require_fits<I>(a.nnz(i), "nnz", "COO -> CSR", static_cast<std::int64_t>(i));
    rows[i] = a.rows(i);
    cols[i] = a.cols(i);
    rp_total += static_cast<std::size_t>(a.rows(i)) + 1;
  }
  std::vector<I> rp, ci;
  std::vector<T> v;
  rp.reserve(rp_total);
  ci.reserve(static_cast<std::size_t>(a.total_nnz()));
  v.reserve(static_cast<std::size_t>(a.total_nnz()));
  for (std::size_t i = 0; i < n; ++i) coo_to_csr_into(a.entry(i), rp, ci, v);
  return CsrBatch<T, I>(std::move(rows), std::move(cols), std::move(rp), std::move(ci),
                        std::move(v));
}

template <Value T, Index I>
CooBatch<T, I> to_coo(const CsrBatch<T, I>& a) {
  const std::size_t n = a.size();
  const auto total = static_cast<std::size_t>(a.total_nnz());
  std::vector<std::int64_t> rows(n), cols(n), offsets(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i) {
    rows[i] = a.rows(i);
    cols[i] = a.cols(i);
    offsets[i + 1] = offsets[i] + a.nnz(i);
  }
  std::vector<I> ri, ci;
  std::vector<T> v;
  ri.reserve(total);
  ci.reserve(total);
  v.reserve(total);
  for (std::size_t i = 0; i < n; ++i) csr_to_coo_into(a.entry(i), ri, ci, v);
  return CooBatch<T, I>(std::move(rows), std::move(cols), std::move(offsets), std::move(ri),
                        std::move(ci), std::move(v));
}

namespace {

// A zero-filled dense batch with the shapes of `a`, after checking each entry's size and their
// total against the limit.
template <Value T, class Batch>
DenseBatch<T> dense_like(const Batch& a, Layout layout, std::uint64_t limit,
                         const char* conversion) {
  limit = detail::resolve_dense_limit(limit);
  std::vector<std::int64_t> rows(a.size()), cols(a.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    rows[i] = a.rows(i);
    cols[i] = a.cols(i);
    const std::uint64_t bytes = check_dense_size(rows[i], cols[i], sizeof(T), limit, conversion,
                                                 static_cast<std::int64_t>(i));
    if (bytes > limit - total) {
      throw LimitError(cat(conversion, ": the dense copies of entries 0 to ", i, " need ",
                           total + bytes, " bytes in all, more than the dense conversion limit of ",
                           limit, " bytes (raise it with ", kToDenseHint, ")"));
    }
    total += bytes;
  }
  return DenseBatch<T>(std::move(rows), std::move(cols), layout);
}

}  // namespace

template <Value T, Index I>
DenseBatch<T> to_dense(const CsrBatch<T, I>& a, Layout layout, std::uint64_t limit) {
  DenseBatch<T> out = dense_like<T>(a, layout, limit, "CSR -> dense");
  for (std::size_t i = 0; i < a.size(); ++i) csr_scatter(a.entry(i), out.entry(i));
  return out;
}

template <Value T, Index I>
DenseBatch<T> to_dense(const CooBatch<T, I>& a, Layout layout, std::uint64_t limit) {
  DenseBatch<T> out = dense_like<T>(a, layout, limit, "COO -> dense");
  for (std::size_t i = 0; i < a.size(); ++i) coo_scatter(a.entry(i), out.entry(i));
  return out;
}

template <Index I, Value T>
CsrBatch<T, I> to_csr(const DenseBatch<T>& a, T drop_tol) {
  check_drop_tol(drop_tol);
  const std::size_t n = a.size();
  std::vector<std::int64_t> rows(n), cols(n);
  std::size_t rp_total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    rows[i] = a.rows(i);
    cols[i] = a.cols(i);
    require_shape_fits<I>(rows[i], cols[i], "dense -> CSR", static_cast<std::int64_t>(i));
    rp_total += static_cast<std::size_t>(rows[i]) + 1;
  }
  // Count every entry first so the index and value arrays are allocated once, at their exact size.
  std::vector<I> rp(rp_total);
  std::vector<std::size_t> nnz_off(n + 1, 0);
  std::size_t rp_off = 0;
  for (std::size_t i = 0; i < n; ++i) {
    nnz_off[i + 1] =
        nnz_off[i] + static_cast<std::size_t>(dense_count(a.entry(i), drop_tol, rp.data() + rp_off,
                                                          static_cast<std::int64_t>(i)));
    rp_off += static_cast<std::size_t>(rows[i]) + 1;
  }
  std::vector<I> ci(nnz_off[n]);
  std::vector<T> v(nnz_off[n]);
  rp_off = 0;
  for (std::size_t i = 0; i < n; ++i) {
    dense_fill(a.entry(i), drop_tol, rp.data() + rp_off, ci.data() + nnz_off[i],
               v.data() + nnz_off[i]);
    rp_off += static_cast<std::size_t>(rows[i]) + 1;
  }
  return CsrBatch<T, I>(std::move(rows), std::move(cols), std::move(rp), std::move(ci),
                        std::move(v));
}

template <Value T, Index I>
CsrBatch<T, I> transpose(const CsrBatch<T, I>& a) {
  const std::size_t n = a.size();
  if (a.is_shared_pattern() && n > 0) {
    // One transposed pattern and one permutation serve every entry's values.
    const CsrView<T, I> e0 = a.entry(0);
    const auto nnz = static_cast<std::size_t>(e0.nnz());
    std::vector<I> rp, ci(nnz);
    std::vector<std::size_t> perm(nnz);
    rp.reserve(static_cast<std::size_t>(e0.cols) + 1);
    transpose_pattern(e0, rp, [&](std::size_t k, std::size_t p, I r) {
      ci[p] = r;
      perm[p] = k;
    });
    std::vector<T> v(a.values().size());
    for (std::size_t i = 0; i < n; ++i) {
      const T* src = a.values().data() + i * nnz;
      T* dst = v.data() + i * nnz;
      for (std::size_t p = 0; p < nnz; ++p) dst[p] = src[perm[p]];
    }
    return CsrBatch<T, I>::shared_pattern(n, e0.cols, e0.rows, std::move(rp), std::move(ci),
                                          std::move(v));
  }
  std::vector<std::int64_t> rows(n), cols(n);
  std::size_t rp_total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    rows[i] = a.cols(i);
    cols[i] = a.rows(i);
    rp_total += static_cast<std::size_t>(a.cols(i)) + 1;
  }
  std::vector<I> rp, ci;
  std::vector<T> v;
  rp.reserve(rp_total);
  ci.reserve(static_cast<std::size_t>(a.total_nnz()));
  v.reserve(static_cast<std::size_t>(a.total_nnz()));
  for (std::size_t i = 0; i < n; ++i) transpose_into(a.entry(i), rp, ci, v);
  return CsrBatch<T, I>(std::move(rows), std::move(cols), std::move(rp), std::move(ci),
                        std::move(v));
}

namespace detail {

template <Value T, Index I>
void bucket_by_row(std::int64_t rows, const I* r, const I* c, const T* v, std::size_t n,
                   bool mirror, bool skew, I* p, I* ci, T* x) {
  const auto urows = static_cast<std::size_t>(rows);
  if (mirror) {
    for (std::size_t k = 0; k < n; ++k) {
      ++p[sz(r[k]) + 1];
      if (r[k] != c[k]) ++p[sz(c[k]) + 1];
    }
  } else {
    for (std::size_t k = 0; k < n; ++k) ++p[sz(r[k]) + 1];
  }
  for (std::size_t i = 0; i < urows; ++i) p[i + 1] += p[i];
  // p[i] serves as row i's cursor and ends at p[i + 1]'s value; shifted back afterwards.
  for (std::size_t k = 0; k < n; ++k) {
    const I rk = r[k], ck = c[k];
    const std::size_t d = sz(p[sz(rk)]++);
    ci[d] = ck;
    x[d] = v[k];
    if (mirror && rk != ck) {
      const std::size_t e = sz(p[sz(ck)]++);
      ci[e] = rk;
      x[e] = skew ? -v[k] : v[k];
    }
  }
  for (std::size_t i = urows; i > 0; --i) p[i] = p[i - 1];
  p[0] = 0;
}

template <Value T, Index I>
std::size_t sort_rows_and_sum_duplicates(std::int64_t rows, I* p, I* ci, T* x, int threads) {
  (void)threads;  // unused without OpenMP
  const auto urows = static_cast<std::size_t>(rows);
  const std::size_t total = sz(p[urows]);
  // kept[i]: row i's length once sorted and summed, written in place at the row's start.
  std::vector<I> kept(urows, I(0));
  bool any_dup = false, no_memory = false;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads) if (threads > 1 && total > 100000) \
    reduction(||                                                             \
              : any_dup, no_memory)
#endif
  {
    std::vector<std::pair<I, T>> buf;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 256)
#endif
    for (std::int64_t i = 0; i < rows; ++i) {
      const std::size_t b = sz(p[i]);
      const std::size_t e = sz(p[i + 1]);
      bool sorted = true, strict = true;
      for (std::size_t k = b + 1; k < e && sorted; ++k) {
        sorted = ci[k - 1] <= ci[k];
        strict = strict && ci[k - 1] < ci[k];
      }
      if (sorted && strict) {
        kept[static_cast<std::size_t>(i)] = static_cast<I>(e - b);
        continue;
      }
      if (!sorted) {
        try {  // nothing may leave a parallel region by exception
          stable_sort_row(ci + b, x + b, static_cast<std::ptrdiff_t>(e - b), buf);
        } catch (const std::bad_alloc&) {
          no_memory = true;
          continue;
        }
      }
      std::size_t w = b;
      for (std::size_t k = b; k < e; ++k) {
        if (w > b && ci[w - 1] == ci[k]) {
          x[w - 1] += x[k];
          any_dup = true;
        } else {
          ci[w] = ci[k];
          x[w] = x[k];
          ++w;
        }
      }
      kept[static_cast<std::size_t>(i)] = static_cast<I>(w - b);
    }
  }
  if (no_memory) throw std::bad_alloc();
  if (!any_dup) return total;
  std::size_t w = 0;
  for (std::size_t i = 0; i < urows; ++i) {
    const std::size_t b = sz(p[i]);
    const std::size_t len = sz(kept[i]);
    if (w != b) {
      std::copy(ci + b, ci + b + len, ci + w);
      std::copy(x + b, x + b + len, x + w);
    }
    p[i] = static_cast<I>(w);
    w += len;
  }
  p[urows] = static_cast<I>(w);
  return w;
}

}  // namespace detail

#define SPBMM_INSTANTIATE(T, I)                                                  \
  template CsrMatrix<T, I> to_csr(const CooView<T, I>&);                         \
  template CooMatrix<T, I> to_coo(const CsrView<T, I>&);                         \
  template DenseMatrix<T> to_dense(const CsrView<T, I>&, Layout, std::uint64_t); \
  template DenseMatrix<T> to_dense(const CooView<T, I>&, Layout, std::uint64_t); \
  template CsrMatrix<T, I> to_csr<I, T>(DenseView<const T>, T);                  \
  template CsrMatrix<T, I> transpose(const CsrView<T, I>&);                      \
  template CsrBatch<T, I> to_csr(const CooBatch<T, I>&);                         \
  template CooBatch<T, I> to_coo(const CsrBatch<T, I>&);                         \
  template DenseBatch<T> to_dense(const CsrBatch<T, I>&, Layout, std::uint64_t); \
  template DenseBatch<T> to_dense(const CooBatch<T, I>&, Layout, std::uint64_t); \
  template CsrBatch<T, I> to_csr<I, T>(const DenseBatch<T>&, T);                 \
  template CsrBatch<T, I> transpose(const CsrBatch<T, I>&);

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

#define SPBMM_INSTANTIATE_STAGES(T, I)                                                  \
  template void detail::bucket_by_row<T, I>(std::int64_t, const I*, const I*, const T*, \
                                            std::size_t, bool, bool, I*, I*, T*);       \
  template std::size_t detail::sort_rows_and_sum_duplicates<T, I>(std::int64_t, I*, I*, T*, int);
SPBMM_INSTANTIATE_STAGES(float, std::int32_t)
SPBMM_INSTANTIATE_STAGES(float, std::int64_t)
SPBMM_INSTANTIATE_STAGES(double, std::int32_t)
SPBMM_INSTANTIATE_STAGES(double, std::int64_t)
#undef SPBMM_INSTANTIATE_STAGES

}  // namespace spbmm
