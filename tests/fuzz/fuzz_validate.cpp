// Fuzz target: the sparse and dense validators and the validating constructors, on arrays and
// sizes decoded from the fuzz bytes (hostile sizes included). Each case is also judged by a
// plain restatement of the documented rules: validation must accept exactly the inputs those
// rules accept, reject the others with the documented error type, and never crash. An accepted
// matrix is then multiplied with the reference kernel and the optimized kernels, which must not
// read out of bounds and must agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dispatch/checks.hpp"
#include "fuzz_util.hpp"
#include "product_check.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/sparse.hpp"

namespace {

using spbmm::fuzz::Decoder;
using spbmm::fuzz::fail;

constexpr std::int64_t kMaxArray = 512;      // longest array a case builds
constexpr std::int64_t kMaxRows = 64;        // most rows a CSR case builds row pointers for
constexpr std::int64_t kMaxCount = 1 << 12;  // counts a case lets the library allocate for

template <class I>
bool fits(std::int64_t v) {
  return v >= 0 &&
         static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<I>::max());
}

// An index value: mostly near [0, bound], sometimes hostile.
template <class I>
I index_value(Decoder& d, std::int64_t bound) {
  const std::uint8_t sel = d.byte();
  if (sel < 200) {
    const std::int64_t hi = std::clamp<std::int64_t>(bound, 0, 1000);
    return static_cast<I>(d.range(-1, hi + 1));
  }
  return static_cast<I>(d.hostile());
}

// Row pointers: usually a valid non-decreasing run from 0, with occasional damage.
template <class I>
std::vector<I> row_pointers(Decoder& d, std::int64_t count, std::int64_t max_step) {
  std::vector<I> rp(static_cast<std::size_t>(count));
  std::int64_t prev = 0;
  for (std::int64_t r = 0; r < count; ++r) {
    const std::uint8_t sel = d.byte();
    std::int64_t v;
    if (r == 0) {
      v = sel < 240 ? 0 : d.hostile();
    } else if (sel < 236 && prev < std::numeric_limits<std::int64_t>::max() - max_step) {
      v = prev + d.range(0, max_step);
    } else {
      v = d.hostile();
    }
    rp[static_cast<std::size_t>(r)] = static_cast<I>(v);
    prev = static_cast<std::int64_t>(rp[static_cast<std::size_t>(r)]);
  }
  return rp;
}

// Column indices for the rows of rp: usually increasing within a row, with occasional damage.
template <class I>
std::vector<I> column_indices(Decoder& d, std::int64_t count, std::int64_t cols) {
  std::vector<I> ci(static_cast<std::size_t>(count));
  std::int64_t prev = -1;
  for (std::int64_t k = 0; k < count; ++k) {
    const std::uint8_t sel = d.byte();
    std::int64_t v;
    if (sel < 160 && prev < std::numeric_limits<std::int64_t>::max() - 3) {
      v = prev + 1 + d.range(0, 2);
      if (cols > 0 && v >= cols) v = d.range(0, 2);
    } else {
      v = static_cast<std::int64_t>(index_value<I>(d, cols));
    }
    ci[static_cast<std::size_t>(k)] = static_cast<I>(v);
    prev = static_cast<std::int64_t>(ci[static_cast<std::size_t>(k)]);
  }
  return ci;
}

template <class T>
std::vector<T> value_array(Decoder& d, std::int64_t count, bool exact) {
  std::vector<T> v(static_cast<std::size_t>(count));
  for (auto& x : v) x = static_cast<T>(exact ? d.small_value() : d.any_value());
  return v;
}

// The documented CSR rules, restated plainly.
template <class T, class I>
bool csr_rules_hold(const spbmm::CsrView<T, I>& m) {
  if (m.rows < 0 || m.cols < 0 || !fits<I>(m.rows) || !fits<I>(m.cols)) return false;
  if (m.rows == 0) return true;
  if (m.row_ptr == nullptr || m.row_ptr[0] != 0) return false;
  for (std::int64_t r = 0; r < m.rows; ++r) {
    if (m.row_ptr[r + 1] < m.row_ptr[r]) return false;
  }
  if (m.row_ptr[m.rows] > 0 && (m.col_idx == nullptr || m.values == nullptr)) return false;
  for (std::int64_t r = 0; r < m.rows; ++r) {
    for (std::int64_t k = m.row_ptr[r]; k < m.row_ptr[r + 1]; ++k) {
      const std::int64_t c = m.col_idx[k];
      if (c < 0 || c >= m.cols) return false;
      if (k > m.row_ptr[r] && c <= m.col_idx[k - 1]) return false;
    }
  }
  return true;
}

template <class T, class I>
bool coo_rules_hold(const spbmm::CooView<T, I>& m) {
  if (m.rows < 0 || m.cols < 0 || !fits<I>(m.rows) || !fits<I>(m.cols)) return false;
  if (m.nnz < 0 || !fits<I>(m.nnz)) return false;
  if (m.nnz == 0) return true;
  if (m.row_idx == nullptr || m.col_idx == nullptr || m.values == nullptr) return false;
  for (std::int64_t k = 0; k < m.nnz; ++k) {
    if (m.row_idx[k] < 0 || m.row_idx[k] >= m.rows) return false;
    if (m.col_idx[k] < 0 || m.col_idx[k] >= m.cols) return false;
  }
  return true;
}

// Runs f, which must either return normally (the inputs were accepted) or throw one of the error
// types E; any other spbmm::Error is a wrong error type. Returns whether f accepted.
template <class... E, class F>
bool accepts(F&& f, const char* what) {
  try {
    f();
    return true;
  } catch (const spbmm::Error& e) {
    if ((... || (dynamic_cast<const E*>(&e) != nullptr))) return false;
    fail(std::string(what) + ": wrong error type: " + e.what());
  }
}

void expect_verdict(bool accepted, bool rules, const char* what) {
  if (accepted != rules) {
    fail(std::string(what) +
         (accepted ? " accepted input the rules reject" : " rejected input the rules accept"));
  }
}

// Conversions of an accepted sparse matrix must accept it too and keep it valid.
template <class T, class I>
void check_conversions(const spbmm::CsrView<T, I>& m) {
  if (m.rows > kMaxCount || m.cols > kMaxCount) return;
  const auto t = spbmm::transpose(m);
  spbmm::validate(t.view());
  const auto coo = spbmm::to_coo(m);
  const auto back = spbmm::to_csr(coo.view());
  if (back.nnz() != m.nnz()) fail("CSR -> COO -> CSR changed nnz");
  for (std::int64_t k = 0; k < m.nnz(); ++k) {
    if (back.col_idx()[static_cast<std::size_t>(k)] != m.col_idx[k]) {
      fail("CSR -> COO -> CSR changed the pattern");
    }
  }
  if (m.rows * m.cols <= spbmm::fuzz::kMaxProductElements) (void)spbmm::to_dense(m);
}

template <class T, class I>
void check_conversions(const spbmm::CooView<T, I>& m) {
  if (m.rows > kMaxCount || m.cols > kMaxCount) return;
  const auto csr = spbmm::to_csr(m);
  spbmm::validate(csr.view());
  if (m.rows * m.cols <= spbmm::fuzz::kMaxProductElements) (void)spbmm::to_dense(m);
}

// validate(CsrView) on arrays sized as the view claims.
template <class T, class I>
void csr_view_case(Decoder& d, bool exact) {
  const std::int64_t rows = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t cols = d.flag() ? d.range(0, 12) : d.hostile();
  std::vector<I> rp;
  std::vector<I> ci;
  std::vector<T> vals;
  spbmm::CsrView<T, I> m{rows, cols, nullptr, nullptr, nullptr};
  if (rows >= 0 && rows <= kMaxRows && d.byte() < 240) {
    rp = row_pointers<I>(d, rows + 1, 3);
    m.row_ptr = rp.data();
  } else if (rows < 0 || !fits<I>(rows)) {
    // Validation must reject the shape before it looks at the arrays.
    rp = row_pointers<I>(d, 1, 3);
    m.row_ptr = rp.data();
  }
  const std::int64_t nnz = m.row_ptr != nullptr && rows >= 0 && rows <= kMaxRows
                               ? static_cast<std::int64_t>(rp[static_cast<std::size_t>(rows)])
                               : 0;
  if (nnz > 0 && nnz <= kMaxArray && d.byte() < 248) {
    ci = column_indices<I>(d, nnz, cols);
    vals = value_array<T>(d, nnz, exact);
    m.col_idx = ci.data();
    m.values = vals.data();
  }
  const bool rules =
      (rows < 0 || !fits<I>(rows) || rows == 0 || m.row_ptr != nullptr)
          ? (m.row_ptr == nullptr && rows > 0 && fits<I>(rows) ? false : csr_rules_hold(m))
          : false;
  const bool ok = accepts<spbmm::FormatError>([&] { spbmm::validate(m, 3); }, "validate(CSR)");
  expect_verdict(ok, rules, "validate(CSR)");
  if (!ok) return;
  check_conversions(m);
  spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(m), d, exact);
}

// validate(CooView) on arrays of exactly nnz entries (or none).
template <class T, class I>
void coo_view_case(Decoder& d, bool exact) {
  const std::int64_t rows = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t cols = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t nnz = d.flag() ? d.range(0, 24) : d.hostile();
  std::vector<I> ri, ci;
  std::vector<T> vals;
  spbmm::CooView<T, I> m{rows, cols, nnz, nullptr, nullptr, nullptr};
  if (nnz > 0 && nnz <= kMaxArray) {
    ri.resize(static_cast<std::size_t>(nnz));
    for (auto& x : ri) x = index_value<I>(d, rows);
    ci.resize(static_cast<std::size_t>(nnz));
    for (auto& x : ci) x = index_value<I>(d, cols);
    vals = value_array<T>(d, nnz, exact);
    const std::uint8_t nulls = d.byte();
    m.row_idx = nulls == 1 ? nullptr : ri.data();
    m.col_idx = nulls == 2 ? nullptr : ci.data();
    m.values = nulls == 3 ? nullptr : vals.data();
  }
  // Arrays longer than kMaxArray are not built: such a view is only legal with null arrays, and
  // then validation must reject it.
  const bool rules = coo_rules_hold(m);
  const bool ok = accepts<spbmm::FormatError>([&] { spbmm::validate(m, 5); }, "validate(COO)");
  expect_verdict(ok, rules, "validate(COO)");
  if (!ok) return;
  check_conversions(m);
  spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(m), d, exact);
}

// CsrMatrix's validating constructor on arrays whose lengths need not fit the shape.
template <class T, class I>
void csr_matrix_case(Decoder& d, bool exact) {
  const std::int64_t rows = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t cols = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t rp_len =
      (d.byte() < 200 && rows >= 0 && rows < kMaxRows) ? rows + 1 : d.range(0, kMaxRows);
  std::vector<I> rp = row_pointers<I>(d, rp_len, 3);
  std::int64_t nnz = rp.empty() ? 0 : static_cast<std::int64_t>(rp.back());
  if (d.byte() >= 200 || nnz < 0 || nnz > kMaxArray) nnz = d.range(0, 40);
  std::vector<I> ci = column_indices<I>(d, nnz, cols);
  std::vector<T> vals = value_array<T>(d, d.byte() < 240 ? nnz : d.range(0, 40), exact);
  // The constructor's rules: those of the view plus array lengths that match the shape.
  bool rules = rows >= 0 && cols >= 0 && fits<I>(rows) && fits<I>(cols);
  if (rules) {
    const bool empty_rp = rows == 0 && rp.empty();
    rules =
        (empty_rp || static_cast<std::int64_t>(rp.size()) - 1 == rows) &&
        (empty_rp || rp.front() == 0) && ci.size() == vals.size() &&
        (empty_rp ? ci.empty()
                  : static_cast<std::int64_t>(rp.back()) == static_cast<std::int64_t>(ci.size()));
    if (rules && !empty_rp) {
      rules = csr_rules_hold(spbmm::CsrView<T, I>{rows, cols, rp.data(), ci.data(), vals.data()});
    }
  }
  std::optional<spbmm::CsrMatrix<T, I>> m;
  const bool ok = accepts<spbmm::FormatError>(
      [&] { m.emplace(rows, cols, std::move(rp), std::move(ci), std::move(vals)); },
      "CsrMatrix(rows, cols, row_ptr, col_idx, values)");
  expect_verdict(ok, rules, "CsrMatrix(rows, cols, row_ptr, col_idx, values)");
  if (!ok) return;
  spbmm::validate(m->view());
  check_conversions(m->view());
  spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(m->view()), d, exact);
}

template <class T, class I>
void coo_matrix_case(Decoder& d, bool exact) {
  const std::int64_t rows = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t cols = d.flag() ? d.range(0, 12) : d.hostile();
  const std::int64_t n = d.range(0, 24);
  std::vector<I> ri(static_cast<std::size_t>(d.byte() < 230 ? n : d.range(0, 24)));
  for (auto& x : ri) x = index_value<I>(d, rows);
  std::vector<I> ci(static_cast<std::size_t>(d.byte() < 230 ? n : d.range(0, 24)));
  for (auto& x : ci) x = index_value<I>(d, cols);
  std::vector<T> vals = value_array<T>(d, n, exact);
  const bool rules =
      ri.size() == vals.size() && ci.size() == vals.size() &&
      coo_rules_hold(spbmm::CooView<T, I>{rows, cols, n, ri.data(), ci.data(), vals.data()});
  std::optional<spbmm::CooMatrix<T, I>> m;
  const bool ok = accepts<spbmm::FormatError>(
      [&] { m.emplace(rows, cols, std::move(ri), std::move(ci), std::move(vals)); },
      "CooMatrix(rows, cols, row_idx, col_idx, values)");
  expect_verdict(ok, rules, "CooMatrix(rows, cols, row_idx, col_idx, values)");
  if (!ok) return;
  check_conversions(m->view());
  spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(m->view()), d, exact);
}

// The shape-only constructors: an all-zero matrix of a hostile shape.
template <class T, class I>
void empty_matrix_case(Decoder& d) {
  const std::int64_t rows = d.hostile();
  const std::int64_t cols = d.hostile();
  const bool shape_ok = rows >= 0 && cols >= 0 && fits<I>(rows) && fits<I>(cols);
  // A legal but huge row count is a real allocation, not a finding; one whose row pointers no
  // vector can hold must be a LimitError.
  const bool impossible =
      shape_ok && static_cast<std::uint64_t>(rows) >= std::vector<I>().max_size();
  if (impossible) {
    if (accepts<spbmm::LimitError>([&] { (void)spbmm::CsrMatrix<T, I>(rows, cols); },
                                   "CsrMatrix(rows, cols)")) {
      fail("CsrMatrix(rows, cols) accepted more rows than a vector can hold");
    }
  } else if (!shape_ok || rows <= kMaxCount) {
    const bool ok = accepts<spbmm::FormatError>([&] { (void)spbmm::CsrMatrix<T, I>(rows, cols); },
                                                "CsrMatrix(rows, cols)");
    expect_verdict(ok, shape_ok, "CsrMatrix(rows, cols)");
  }
  const bool ok = accepts<spbmm::FormatError>([&] { (void)spbmm::CooMatrix<T, I>(rows, cols); },
                                              "CooMatrix(rows, cols)");
  expect_verdict(ok, shape_ok, "CooMatrix(rows, cols)");
}

// CsrBatch from concatenated arrays: accepted batches must describe entries inside the arrays.
template <class T, class I>
void csr_batch_case(Decoder& d, bool exact) {
  const std::int64_t batch = d.range(0, 4);
  std::vector<std::int64_t> rows, cols;
  std::vector<I> rp;
  std::vector<I> ci;
  std::int64_t total = 0;
  for (std::int64_t i = 0; i < batch; ++i) {
    rows.push_back(d.flag() ? d.range(0, 6) : d.hostile());
    cols.push_back(d.flag() ? d.range(0, 6) : d.hostile());
    const std::int64_t len =
        (rows.back() >= 0 && rows.back() <= 6 && d.byte() < 230) ? rows.back() + 1 : d.range(0, 8);
    std::vector<I> part = row_pointers<I>(d, len, 2);
    rp.insert(rp.end(), part.begin(), part.end());
    const std::int64_t nnz = part.empty() ? 0 : std::clamp<std::int64_t>(part.back(), 0, 20);
    std::vector<I> c = column_indices<I>(d, nnz, cols.back());
    ci.insert(ci.end(), c.begin(), c.end());
    total += nnz;
  }
  if (d.byte() >= 240) cols.push_back(1);  // mismatched counts
  if (d.byte() >= 240) ci.push_back(0);
  std::vector<T> vals = value_array<T>(d, d.byte() < 240 ? total : d.range(0, 30), exact);
  std::optional<spbmm::CsrBatch<T, I>> b;
  const bool ok = accepts<spbmm::FormatError, spbmm::ShapeError, spbmm::LimitError>(
      [&] { b.emplace(rows, cols, std::move(rp), std::move(ci), std::move(vals)); }, "CsrBatch");
  if (!ok) return;
  if (b->size() != rows.size()) fail("CsrBatch: wrong size");
  for (std::size_t i = 0; i < b->size(); ++i) {
    const auto e = b->entry(i);
    if (b->row_ptr_offset(i) + e.rows + 1 > static_cast<std::int64_t>(b->row_ptr().size()) ||
        b->nnz_offset(i) + b->nnz(i) > static_cast<std::int64_t>(b->col_idx().size()) ||
        e.nnz() != b->nnz(i)) {
      fail("CsrBatch: an accepted entry reaches outside the arrays");
    }
    if (!csr_rules_hold(e)) fail("CsrBatch: an accepted entry breaks the CSR rules");
  }
  if (b->size() > 0) {
    const std::size_t i =
        static_cast<std::size_t>(d.range(0, static_cast<std::int64_t>(b->size()) - 1));
    spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(b->entry(i)), d, exact);
  }
}

template <class T, class I>
void coo_batch_case(Decoder& d, bool exact) {
  const std::int64_t batch = d.range(0, 4);
  std::vector<std::int64_t> rows, cols, offsets{0};
  std::vector<I> ri, ci;
  for (std::int64_t i = 0; i < batch; ++i) {
    rows.push_back(d.flag() ? d.range(0, 6) : d.hostile());
    cols.push_back(d.flag() ? d.range(0, 6) : d.hostile());
    const std::int64_t nnz = d.range(0, 8);
    for (std::int64_t k = 0; k < nnz; ++k) {
      ri.push_back(index_value<I>(d, rows.back()));
      ci.push_back(index_value<I>(d, cols.back()));
    }
    const bool damage = d.byte() >= 240 || offsets.back() > kMaxCount;
    offsets.push_back(damage ? d.hostile() : offsets.back() + nnz);
  }
  if (d.byte() >= 240) offsets.front() = d.hostile();
  if (d.byte() >= 240) offsets.pop_back();
  std::vector<T> vals = value_array<T>(
      d, d.byte() < 240 ? static_cast<std::int64_t>(ri.size()) : d.range(0, 30), exact);
  std::optional<spbmm::CooBatch<T, I>> b;
  const bool ok = accepts<spbmm::FormatError, spbmm::ShapeError, spbmm::LimitError>(
      [&] { b.emplace(rows, cols, offsets, std::move(ri), std::move(ci), std::move(vals)); },
      "CooBatch");
  if (!ok) return;
  for (std::size_t i = 0; i < b->size(); ++i) {
    if (b->nnz_offset(i) < 0 || b->nnz(i) < 0 ||
        b->nnz_offset(i) + b->nnz(i) > static_cast<std::int64_t>(b->values().size())) {
      fail("CooBatch: an accepted entry reaches outside the arrays");
    }
    if (!coo_rules_hold(b->entry(i))) fail("CooBatch: an accepted entry breaks the COO rules");
  }
  if (b->size() > 0) {
    const std::size_t i =
        static_cast<std::size_t>(d.range(0, static_cast<std::int64_t>(b->size()) - 1));
    spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(b->entry(i)), d, exact);
  }
}

// A batch count that is legal but would need gigabytes is a real allocation, not a finding.
bool count_allowed(std::uint64_t n) {
  return n <= static_cast<std::uint64_t>(kMaxCount) ||
         n > static_cast<std::uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()) / 8;
}

template <class T, class I>
void from_3d_case(Decoder& d, bool exact) {
  const auto batch = static_cast<std::size_t>(d.flag() ? d.range(0, 5) : d.hostile());
  if (!count_allowed(batch)) return;
  const std::int64_t rows = d.flag() ? d.range(0, 6) : d.hostile();
  const std::int64_t cols = d.flag() ? d.range(0, 6) : d.hostile();
  const std::int64_t n = d.range(0, 16);
  std::vector<std::int64_t> bi(static_cast<std::size_t>(n));
  for (auto& x : bi) x = d.byte() < 230 ? d.range(0, 5) : d.hostile();
  std::vector<I> ri(static_cast<std::size_t>(d.byte() < 240 ? n : d.range(0, 16)));
  for (auto& x : ri) x = index_value<I>(d, rows);
  std::vector<I> ci(static_cast<std::size_t>(n));
  for (auto& x : ci) x = index_value<I>(d, cols);
  const std::vector<T> vals = value_array<T>(d, n, exact);
  std::optional<spbmm::CooBatch<T, I>> b;
  const bool ok = accepts<spbmm::FormatError, spbmm::ShapeError, spbmm::LimitError>(
      [&] { b.emplace(spbmm::CooBatch<T, I>::from_3d(batch, rows, cols, bi, ri, ci, vals)); },
      "CooBatch::from_3d");
  if (!ok) return;
  if (b->size() != batch || b->total_nnz() != n) fail("CooBatch::from_3d: wrong size or nnz");
}

template <class T, class I>
void shared_pattern_case(Decoder& d, bool exact) {
  const auto batch = static_cast<std::size_t>(d.flag() ? d.range(0, 5) : d.hostile());
  if (!count_allowed(batch)) return;
  const std::int64_t rows = d.range(0, 6);
  const std::int64_t cols = d.flag() ? d.range(0, 6) : d.hostile();
  std::vector<I> rp = row_pointers<I>(d, d.byte() < 240 ? rows + 1 : d.range(0, 8), 2);
  const std::int64_t nnz = rp.empty() ? 0 : std::clamp<std::int64_t>(rp.back(), 0, 20);
  std::vector<I> ci = column_indices<I>(d, nnz, cols);
  std::int64_t nvals = d.range(0, 40);
  if (d.byte() < 200 && batch <= 64) nvals = static_cast<std::int64_t>(batch) * nnz;
  std::vector<T> vals = value_array<T>(d, nvals, exact);
  std::optional<spbmm::CsrBatch<T, I>> b;
  const bool ok = accepts<spbmm::FormatError, spbmm::ShapeError, spbmm::LimitError>(
      [&] {
        b.emplace(spbmm::CsrBatch<T, I>::shared_pattern(batch, rows, cols, std::move(rp),
                                                        std::move(ci), std::move(vals)));
      },
      "CsrBatch::shared_pattern");
  if (!ok) return;
  if (b->size() != batch) fail("CsrBatch::shared_pattern: wrong size");
  if (b->size() > 0) {
    const std::size_t i = static_cast<std::size_t>(
        d.range(0, static_cast<std::int64_t>(std::min<std::size_t>(b->size(), 64)) - 1));
    if (!csr_rules_hold(b->entry(i))) fail("CsrBatch::shared_pattern: entry breaks the CSR rules");
    spbmm::fuzz::check_product<T, I>(spbmm::MatrixView<T, I>(b->entry(i)), d, exact);
  }
}

// validate(DenseView) and the dispatcher's quick dense_ok must agree with the rules.
template <class T>
void dense_view_case(Decoder& d) {
  spbmm::DenseView<const T> v;
  v.rows = d.flag() ? d.range(0, 8) : d.hostile();
  v.cols = d.flag() ? d.range(0, 8) : d.hostile();
  v.ld = d.flag() ? d.range(0, 10) : d.hostile();
  v.layout = d.flag() ? spbmm::Layout::ColMajor : spbmm::Layout::RowMajor;
  static const T cell = T(0);
  v.data = d.byte() < 200 ? &cell : nullptr;
  const std::int64_t minor = v.layout == spbmm::Layout::RowMajor ? v.cols : v.rows;
  const std::int64_t major = v.layout == spbmm::Layout::RowMajor ? v.rows : v.cols;
  std::int64_t product = 0;
  const bool empty = v.rows == 0 || v.cols == 0;
  const bool rules = v.rows >= 0 && v.cols >= 0 && v.ld >= std::max<std::int64_t>(1, minor) &&
                     (empty || v.data != nullptr) &&
                     (empty || !__builtin_mul_overflow(major, v.ld, &product));
  const bool ok = accepts<spbmm::FormatError, spbmm::LimitError>(
      [&] { spbmm::validate(v, "B entry 0"); }, "validate(DenseView)");
  expect_verdict(ok, rules, "validate(DenseView)");
  if (spbmm::dispatch::dense_ok(v) != ok) fail("dense_ok and validate(DenseView) disagree");
}

template <class T, class I>
void run_case(int mode, Decoder& d, bool exact) {
  switch (mode) {
    case 0:
      return csr_view_case<T, I>(d, exact);
    case 1:
      return coo_view_case<T, I>(d, exact);
    case 2:
      return csr_matrix_case<T, I>(d, exact);
    case 3:
      return coo_matrix_case<T, I>(d, exact);
    case 4:
      return csr_batch_case<T, I>(d, exact);
    case 5:
      return coo_batch_case<T, I>(d, exact);
    case 6:
      return from_3d_case<T, I>(d, exact);
    case 7:
      return shared_pattern_case<T, I>(d, exact);
    case 8:
      return empty_matrix_case<T, I>(d);
    default:
      return dense_view_case<T>(d);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Decoder d(data, size);
  const std::uint8_t sel = d.byte();
  const int mode = (sel >> 3) % 10;
  const bool exact = (sel & 4) == 0;
  switch (sel & 3) {
    case 0:
      run_case<float, std::int32_t>(mode, d, exact);
      break;
    case 1:
      run_case<float, std::int64_t>(mode, d, exact);
      break;
    case 2:
      run_case<double, std::int32_t>(mode, d, exact);
      break;
    default:
      run_case<double, std::int64_t>(mode, d, exact);
      break;
  }
  return 0;
}
