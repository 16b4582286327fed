// Sparse containers: CSR/COO validation, owning matrices and ragged batches.
#include "spbmm/sparse.hpp"

#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/checks.hpp"
#include "spbmm/error.hpp"

namespace spbmm {

using detail::cat;
using detail::fits;
using detail::where;

namespace {

template <class I>
void check_shape(const char* kind, std::int64_t entry, std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < 0) {
    throw FormatError(cat(where(kind, entry), "negative shape ", rows, "x", cols));
  }
  if (!fits<I>(rows) || !fits<I>(cols)) {
    throw FormatError(cat(where(kind, entry), "shape ", rows, "x", cols, " does not fit a ",
                          sizeof(I) * 8, "-bit index"));
  }
}

// A batch count that per-entry arrays (batch + 1 offsets among them) can hold. Beyond it, e.g. a
// negative count cast to std::size_t, LimitError rather than std::length_error from a vector, or
// a batch + 1 that wraps to 0.
void check_batch_count(const char* what, std::size_t batch) {
  const std::size_t most = std::vector<std::int64_t>().max_size() - 1;
  if (batch > most) {
    throw LimitError(
        cat(what, ": batch of ", batch, " entries exceeds the largest possible (", most, ")"));
  }
}

// For a large matrix, whether it is valid, checked by all threads (row pointers first, so that
// the column pass reads only within them). A no names nothing: the serial checks that follow
// then find the first problem and say where it is.
template <Value T, Index I>
bool valid_csr_parallel(const CsrView<T, I>& m) {
#ifdef _OPENMP
  const std::int64_t rows = m.rows;
  if (rows < (1 << 14) || static_cast<std::int64_t>(m.row_ptr[rows]) < (1 << 18) ||
      omp_in_parallel() || omp_get_max_threads() < 2) {
    return false;
  }
  if (m.col_idx == nullptr || m.values == nullptr) return false;
  bool ok = true;
#pragma omp parallel for schedule(static) reduction(&& : ok)
  for (std::int64_t r = 0; r < rows; ++r) ok = ok && m.row_ptr[r + 1] >= m.row_ptr[r];
  if (!ok) return false;
  const I cols = static_cast<I>(m.cols);
#pragma omp parallel for schedule(dynamic, 4096) reduction(&& : ok)
  for (std::int64_t r = 0; r < rows; ++r) {
    const I p0 = m.row_ptr[r], p1 = m.row_ptr[r + 1];
    bool row_ok = true;
    for (I k = p0; k < p1; ++k) {
      const I c = m.col_idx[k];
      row_ok = row_ok && c >= 0 && c < cols && (k == p0 || c > m.col_idx[k - 1]);
    }
    ok = ok && row_ok;
  }
  return ok;
#else
  (void)m;
  return false;
#endif
}

}  // namespace

template <Value T, Index I>
void validate(const CsrView<T, I>& m, std::int64_t entry) {
  check_shape<I>("CSR", entry, m.rows, m.cols);
  if (m.rows == 0) return;
  const auto w = [&] { return where("CSR", entry); };
  if (m.row_ptr == nullptr) throw FormatError(cat(w(), "null row_ptr for ", m.rows, " rows"));
  if (m.row_ptr[0] != 0) throw FormatError(cat(w(), "row_ptr[0] is ", m.row_ptr[0], ", not 0"));
  if (valid_csr_parallel(m)) return;
  for (std::int64_t r = 0; r < m.rows; ++r) {
    if (m.row_ptr[r + 1] < m.row_ptr[r]) {
      throw FormatError(cat(w(), "row ", r, ": row_ptr decreases (row_ptr[", r + 1,
                            "] = ", m.row_ptr[r + 1], " < row_ptr[", r, "] = ", m.row_ptr[r], ")"));
    }
  }
  if (m.nnz() > 0 && (m.col_idx == nullptr || m.values == nullptr)) {
    throw FormatError(cat(w(), "null col_idx or values for ", m.nnz(), " stored entries"));
  }
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (I k = m.row_ptr[r]; k < m.row_ptr[r + 1]; ++k) {
      const I c = m.col_idx[k];
      if (c < 0) throw FormatError(cat(w(), "row ", r, ": negative column index ", c));
      if (c >= m.cols) {
        throw FormatError(cat(w(), "row ", r, ": column index ", c, " >= cols ", m.cols));
      }
      if (k > m.row_ptr[r] && c <= m.col_idx[k - 1]) {
        throw FormatError(cat(w(), "row ", r, ": column indices not strictly increasing (", c,
                              " after ", m.col_idx[k - 1], ")"));
      }
    }
  }
}

template <Value T, Index I>
void validate(const CooView<T, I>& m, std::int64_t entry) {
  check_shape<I>("COO", entry, m.rows, m.cols);
  const auto w = [&] { return where("COO", entry); };
  if (m.nnz < 0) throw FormatError(cat(w(), "negative nnz ", m.nnz));
  if (!fits<I>(m.nnz)) {
    throw FormatError(cat(w(), "nnz ", m.nnz, " does not fit a ", sizeof(I) * 8, "-bit index"));
  }
  if (m.nnz == 0) return;
  if (m.row_idx == nullptr || m.col_idx == nullptr || m.values == nullptr) {
    throw FormatError(cat(w(), "null index or value array for ", m.nnz, " stored entries"));
  }
  for (std::int64_t k = 0; k < m.nnz; ++k) {
    if (m.row_idx[k] < 0 || m.row_idx[k] >= m.rows) {
      throw FormatError(cat(w(), "position ", k, ": row index ", m.row_idx[k], " out of range [0, ",
                            m.rows, ")"));
    }
    if (m.col_idx[k] < 0 || m.col_idx[k] >= m.cols) {
      throw FormatError(cat(w(), "position ", k, ": column index ", m.col_idx[k],
                            " out of range [0, ", m.cols, ")"));
    }
  }
}

// ---- CsrMatrix ----

template <Value T, Index I>
CsrMatrix<T, I>::CsrMatrix(std::int64_t rows, std::int64_t cols) : rows_(rows), cols_(cols) {
  check_shape<I>("CSR", -1, rows, cols);
  if (static_cast<std::uint64_t>(rows) >= row_ptr_.max_size()) {
    throw LimitError(
        cat("CSR matrix: ", rows, " rows need more row pointers than a vector can hold"));
  }
  row_ptr_.assign(static_cast<std::size_t>(rows) + 1, I(0));
}

template <Value T, Index I>
CsrMatrix<T, I>::CsrMatrix(std::int64_t rows, std::int64_t cols, std::vector<I> row_ptr,
                           std::vector<I> col_idx, std::vector<T> values)
    : rows_(rows),
      cols_(cols),
      row_ptr_(std::move(row_ptr)),
      col_idx_(std::move(col_idx)),
      values_(std::move(values)) {
  check_shape<I>("CSR", -1, rows, cols);
  if (rows == 0 && row_ptr_.empty()) row_ptr_.assign(1, I(0));
  // rows may be 2^63 - 1 with 64-bit indices: rows + 1 is formed unsigned.
  const std::uint64_t want = static_cast<std::uint64_t>(rows) + 1;
  if (row_ptr_.size() != want) {
    throw FormatError(
        cat("CSR matrix: row_ptr has ", row_ptr_.size(), " entries, expected rows + 1 = ", want));
  }
  // validate() skips row_ptr for a 0-row view, so a stray row_ptr[0] must be caught here.
  if (row_ptr_.front() != 0) {
    throw FormatError(cat("CSR matrix: row_ptr[0] is ", row_ptr_.front(), ", not 0"));
  }
  if (col_idx_.size() != values_.size()) {
    throw FormatError(
        cat("CSR matrix: ", col_idx_.size(), " column indices but ", values_.size(), " values"));
  }
  if (static_cast<std::int64_t>(row_ptr_.back()) != static_cast<std::int64_t>(col_idx_.size())) {
    throw FormatError(cat("CSR matrix: row_ptr[rows] = ", row_ptr_.back(), " but ", col_idx_.size(),
                          " entries are stored"));
  }
  spbmm::validate(view(), -1);
}

// ---- CooMatrix ----

template <Value T, Index I>
CooMatrix<T, I>::CooMatrix(std::int64_t rows, std::int64_t cols) : rows_(rows), cols_(cols) {
  check_shape<I>("COO", -1, rows, cols);
}

template <Value T, Index I>
CooMatrix<T, I>::CooMatrix(std::int64_t rows, std::int64_t cols, std::vector<I> row_idx,
                           std::vector<I> col_idx, std::vector<T> values)
    : rows_(rows),
      cols_(cols),
      row_idx_(std::move(row_idx)),
      col_idx_(std::move(col_idx)),
      values_(std::move(values)) {
  if (row_idx_.size() != values_.size() || col_idx_.size() != values_.size()) {
    throw FormatError(cat("COO matrix: ", row_idx_.size(), " row indices, ", col_idx_.size(),
                          " column indices and ", values_.size(), " values"));
  }
  spbmm::validate(view(), -1);
}

// ---- CsrBatch ----

template <Value T, Index I>
CsrBatch<T, I>::CsrBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
                         std::vector<I> row_ptr, std::vector<I> col_idx, std::vector<T> values)
    : rows_(std::move(rows)),
      cols_(std::move(cols)),
      row_ptr_(std::move(row_ptr)),
      col_idx_(std::move(col_idx)),
      values_(std::move(values)) {
  if (rows_.size() != cols_.size()) {
    throw ShapeError(
        cat("CSR batch: ", rows_.size(), " row counts but ", cols_.size(), " column counts"));
  }
  if (col_idx_.size() != values_.size()) {
    throw ShapeError(
        cat("CSR batch: ", col_idx_.size(), " column indices but ", values_.size(), " values"));
  }
  rp_offsets_.resize(rows_.size());
  nnz_offsets_.assign(rows_.size() + 1, 0);
  std::int64_t rp = 0;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    check_shape<I>("CSR", static_cast<std::int64_t>(i), rows_[i], cols_[i]);
    rp_offsets_[i] = rp;
    if (rows_[i] >= static_cast<std::int64_t>(row_ptr_.size()) - rp) {  // rp + rows + 1 > size
      throw ShapeError(cat("CSR batch: row_ptr has ", row_ptr_.size(),
                           " entries, too few for entry ", i, " (", rows_[i],
                           " rows; each entry needs rows + 1)"));
    }
    const std::int64_t first = row_ptr_[static_cast<std::size_t>(rp)];
    const std::int64_t nnz = row_ptr_[static_cast<std::size_t>(rp + rows_[i])];
    if (first != 0) {
      throw FormatError(cat("CSR entry ", i, ": row_ptr[0] is ", first, ", not 0"));
    }
    // Compared with what remains, so that a row pointer near 2^63 cannot overflow the sum.
    const std::int64_t remain = static_cast<std::int64_t>(col_idx_.size()) - nnz_offsets_[i];
    if (nnz < 0 || nnz > remain) {
      throw ShapeError(
          cat("CSR batch: entry ", i, " claims ", nnz, " entries but only ", remain, " remain"));
    }
    nnz_offsets_[i + 1] = nnz_offsets_[i] + nnz;
    rp += rows_[i] + 1;
  }
  if (rp != static_cast<std::int64_t>(row_ptr_.size())) {
    throw ShapeError(cat("CSR batch: row_ptr has ", row_ptr_.size(), " entries, expected ", rp));
  }
  if (nnz_offsets_.back() != static_cast<std::int64_t>(values_.size())) {
    throw ShapeError(cat("CSR batch: entries hold ", nnz_offsets_.back(), " values but ",
                         values_.size(), " were given"));
  }
  validate();
}

template <Value T, Index I>
CsrBatch<T, I> CsrBatch<T, I>::shared_pattern(std::size_t batch, std::int64_t rows,
                                              std::int64_t cols, std::vector<I> row_ptr,
                                              std::vector<I> col_idx, std::vector<T> values) {
  check_batch_count("CSR batch", batch);
  const std::size_t pattern_nnz = col_idx.size();
  CsrMatrix<T, I> pattern(rows, cols, std::move(row_ptr), std::move(col_idx),
                          std::vector<T>(pattern_nnz));
  const std::int64_t nnz = pattern.nnz();
  if (static_cast<std::int64_t>(values.size()) !=
      detail::checked_mul(static_cast<std::int64_t>(batch), nnz, "CSR batch")) {
    throw ShapeError(cat("CSR batch: shared pattern with ", nnz, " entries and batch ", batch,
                         " needs ", static_cast<std::int64_t>(batch) * nnz, " values, got ",
                         values.size()));
  }
  CsrBatch out;
  out.shared_pattern_ = true;
  out.rows_.assign(batch, rows);
  out.cols_.assign(batch, cols);
  out.rp_offsets_.assign(batch, 0);
  out.nnz_offsets_.resize(batch + 1);
  for (std::size_t i = 0; i <= batch; ++i) out.nnz_offsets_[i] = static_cast<std::int64_t>(i) * nnz;
  out.row_ptr_ = pattern.row_ptr();
  out.col_idx_ = pattern.col_idx();
  out.values_ = std::move(values);
  return out;
}

template <Value T, Index I>
CsrBatch<T, I> CsrBatch<T, I>::from_list(const std::vector<CsrMatrix<T, I>>& list) {
  std::vector<std::int64_t> r, c;
  std::vector<I> rp, ci;
  std::vector<T> v;
  std::size_t rp_total = 0, nnz_total = 0;
  for (const auto& m : list) {
    rp_total += m.row_ptr().size();
    nnz_total += m.col_idx().size();
  }
  r.reserve(list.size());
  c.reserve(list.size());
  rp.reserve(rp_total);
  ci.reserve(nnz_total);
  v.reserve(nnz_total);
  for (const auto& m : list) {
    r.push_back(m.rows());
    c.push_back(m.cols());
    rp.insert(rp.end(), m.row_ptr().begin(), m.row_ptr().end());
    ci.insert(ci.end(), m.col_idx().begin(), m.col_idx().end());
    v.insert(v.end(), m.values().begin(), m.values().end());
  }
  return CsrBatch(std::move(r), std::move(c), std::move(rp), std::move(ci), std::move(v));
}

template <Value T, Index I>
std::vector<CsrMatrix<T, I>> CsrBatch<T, I>::to_list() const {
  std::vector<CsrMatrix<T, I>> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) {
    const CsrView<T, I> e = entry(i);
    const auto n = static_cast<std::size_t>(e.nnz());
    out.emplace_back(e.rows, e.cols, std::vector<I>(e.row_ptr, e.row_ptr + e.rows + 1),
                     std::vector<I>(e.col_idx, e.col_idx + n),
                     std::vector<T>(e.values, e.values + n));
  }
  return out;
}

template <Value T, Index I>
std::int64_t CsrBatch<T, I>::nnz(std::size_t i) const {
  return nnz_offsets_[i + 1] - nnz_offsets_[i];
}

template <Value T, Index I>
std::int64_t CsrBatch<T, I>::row_ptr_offset(std::size_t i) const {
  return rp_offsets_[i];
}

template <Value T, Index I>
std::int64_t CsrBatch<T, I>::nnz_offset(std::size_t i) const {
  return nnz_offsets_[i];
}

template <Value T, Index I>
bool CsrBatch<T, I>::is_uniform() const noexcept {
  for (std::size_t i = 1; i < size(); ++i) {
    if (rows_[i] != rows_[0] || cols_[i] != cols_[0]) return false;
  }
  return true;
}

template <Value T, Index I>
CsrView<T, I> CsrBatch<T, I>::entry(std::size_t i) const {
  const std::int64_t pattern_offset = shared_pattern_ ? 0 : nnz_offsets_[i];
  return {rows_[i], cols_[i], row_ptr_.data() + rp_offsets_[i], col_idx_.data() + pattern_offset,
          values_.data() + nnz_offsets_[i]};
}

template <Value T, Index I>
void CsrBatch<T, I>::validate() const {
  for (std::size_t i = 0; i < size(); ++i) {
    spbmm::validate(entry(i), static_cast<std::int64_t>(i));
  }
}

// ---- CooBatch ----

template <Value T, Index I>
CooBatch<T, I>::CooBatch(std::vector<std::int64_t> rows, std::vector<std::int64_t> cols,
                         std::vector<std::int64_t> nnz_offsets, std::vector<I> row_idx,
                         std::vector<I> col_idx, std::vector<T> values)
    : rows_(std::move(rows)),
      cols_(std::move(cols)),
      nnz_offsets_(std::move(nnz_offsets)),
      row_idx_(std::move(row_idx)),
      col_idx_(std::move(col_idx)),
      values_(std::move(values)) {
  if (rows_.size() != cols_.size()) {
    throw ShapeError(
        cat("COO batch: ", rows_.size(), " row counts but ", cols_.size(), " column counts"));
  }
  if (row_idx_.size() != values_.size() || col_idx_.size() != values_.size()) {
    throw ShapeError(cat("COO batch: ", row_idx_.size(), " row indices, ", col_idx_.size(),
                         " column indices and ", values_.size(), " values"));
  }
  if (nnz_offsets_.size() != rows_.size() + 1) {
    throw ShapeError(cat("COO batch: ", nnz_offsets_.size(), " offsets for ", rows_.size(),
                         " entries (expected entries + 1)"));
  }
  if (nnz_offsets_.front() != 0) {
    throw FormatError(cat("COO batch: first offset is ", nnz_offsets_.front(), ", not 0"));
  }
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (nnz_offsets_[i + 1] < nnz_offsets_[i]) {
      throw FormatError(cat("COO entry ", i, ": offsets decrease (", nnz_offsets_[i + 1], " < ",
                            nnz_offsets_[i], ")"));
    }
  }
  if (nnz_offsets_.back() != static_cast<std::int64_t>(values_.size())) {
    throw ShapeError(cat("COO batch: last offset is ", nnz_offsets_.back(), " but ", values_.size(),
                         " values were given"));
  }
  validate();
}

template <Value T, Index I>
CooBatch<T, I> CooBatch<T, I>::from_3d(std::size_t batch, std::int64_t rows, std::int64_t cols,
                                       const std::vector<std::int64_t>& batch_idx,
                                       const std::vector<I>& row_idx, const std::vector<I>& col_idx,
                                       const std::vector<T>& values) {
  check_batch_count("COO 3-D", batch);
  const std::size_t n = values.size();
  if (batch_idx.size() != n || row_idx.size() != n || col_idx.size() != n) {
    throw ShapeError(cat("COO 3-D: ", batch_idx.size(), " batch indices, ", row_idx.size(),
                         " row indices, ", col_idx.size(), " column indices and ", n, " values"));
  }
  std::vector<std::int64_t> offsets(batch + 1, 0);
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t b = batch_idx[k];
    if (b < 0 || b >= static_cast<std::int64_t>(batch)) {
      throw FormatError(
          cat("COO 3-D: position ", k, ": batch index ", b, " out of range [0, ", batch, ")"));
    }
    ++offsets[static_cast<std::size_t>(b) + 1];
  }
  for (std::size_t b = 0; b < batch; ++b) offsets[b + 1] += offsets[b];
  std::vector<I> ri(n), ci(n);
  std::vector<T> v(n);
  std::vector<std::int64_t> next(offsets.begin(), offsets.end() - 1);
  for (std::size_t k = 0; k < n; ++k) {  // counting sort: stable within an entry
    const auto p = static_cast<std::size_t>(next[static_cast<std::size_t>(batch_idx[k])]++);
    ri[p] = row_idx[k];
    ci[p] = col_idx[k];
    v[p] = values[k];
  }
  return CooBatch(std::vector<std::int64_t>(batch, rows), std::vector<std::int64_t>(batch, cols),
                  std::move(offsets), std::move(ri), std::move(ci), std::move(v));
}

template <Value T, Index I>
CooBatch<T, I> CooBatch<T, I>::from_list(const std::vector<CooMatrix<T, I>>& list) {
  std::vector<std::int64_t> r, c, off{0};
  std::vector<I> ri, ci;
  std::vector<T> v;
  std::size_t nnz_total = 0;
  for (const auto& m : list) nnz_total += m.values().size();
  r.reserve(list.size());
  c.reserve(list.size());
  off.reserve(list.size() + 1);
  ri.reserve(nnz_total);
  ci.reserve(nnz_total);
  v.reserve(nnz_total);
  for (const auto& m : list) {
    r.push_back(m.rows());
    c.push_back(m.cols());
    ri.insert(ri.end(), m.row_idx().begin(), m.row_idx().end());
    ci.insert(ci.end(), m.col_idx().begin(), m.col_idx().end());
    v.insert(v.end(), m.values().begin(), m.values().end());
    off.push_back(static_cast<std::int64_t>(v.size()));
  }
  return CooBatch(std::move(r), std::move(c), std::move(off), std::move(ri), std::move(ci),
                  std::move(v));
}

template <Value T, Index I>
std::vector<CooMatrix<T, I>> CooBatch<T, I>::to_list() const {
  std::vector<CooMatrix<T, I>> out;
  out.reserve(size());
  for (std::size_t i = 0; i < size(); ++i) {
    const auto b = static_cast<std::size_t>(nnz_offsets_[i]);
    const auto e = static_cast<std::size_t>(nnz_offsets_[i + 1]);
    out.emplace_back(rows_[i], cols_[i], std::vector<I>(row_idx_.begin() + b, row_idx_.begin() + e),
                     std::vector<I>(col_idx_.begin() + b, col_idx_.begin() + e),
                     std::vector<T>(values_.begin() + b, values_.begin() + e));
  }
  return out;
}

template <Value T, Index I>
bool CooBatch<T, I>::is_uniform() const noexcept {
  for (std::size_t i = 1; i < size(); ++i) {
    if (rows_[i] != rows_[0] || cols_[i] != cols_[0]) return false;
  }
  return true;
}

template <Value T, Index I>
CooView<T, I> CooBatch<T, I>::entry(std::size_t i) const {
  const std::int64_t o = nnz_offsets_[i];
  return {rows_[i], cols_[i], nnz(i), row_idx_.data() + o, col_idx_.data() + o, values_.data() + o};
}

template <Value T, Index I>
void CooBatch<T, I>::validate() const {
  for (std::size_t i = 0; i < size(); ++i) {
    spbmm::validate(entry(i), static_cast<std::int64_t>(i));
  }
}

#define SPBMM_INSTANTIATE(T, I)                               \
  template void validate(const CsrView<T, I>&, std::int64_t); \
  template void validate(const CooView<T, I>&, std::int64_t); \
  template class CsrMatrix<T, I>;                             \
  template class CooMatrix<T, I>;                             \
  template class CsrBatch<T, I>;                              \
  template class CooBatch<T, I>;

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm
