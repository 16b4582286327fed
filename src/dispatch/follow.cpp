// Derived forms of A with their maps back to A's values, and the refresh and compare passes.
#include "dispatch/follow.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <utility>
#include <variant>

#include "dispatch/checks.hpp"

namespace spbmm::dispatch {
namespace {

// Calls f(row, col, k) for every stored value k of a sparse entry, row and col in op(A).
template <Value T, Index I, class F>
void for_each_stored(const MatrixView<T, I>& m, Op op, F&& f) {
  if (const auto* v = std::get_if<CsrView<T, I>>(&m)) {
    for (std::int64_t r = 0; r < v->rows; ++r) {
      for (auto k = static_cast<std::int64_t>(v->row_ptr[r]); k < v->row_ptr[r + 1]; ++k) {
        const auto c = static_cast<std::int64_t>(v->col_idx[k]);
        if (op == Op::N) {
          f(r, c, k);
        } else {
          f(c, r, k);
        }
      }
    }
  } else if (const auto* v = std::get_if<CooView<T, I>>(&m)) {
    for (std::int64_t k = 0; k < v->nnz; ++k) {
      const auto r = static_cast<std::int64_t>(v->row_idx[k]);
      const auto c = static_cast<std::int64_t>(v->col_idx[k]);
      if (op == Op::N) {
        f(r, c, k);
      } else {
        f(c, r, k);
      }
    }
  }
}

template <Value T, Index I>
Shape op_shape_of(const MatrixView<T, I>& m, Op op) {
  const Shape s = stored_shape(m);
  return op_shape(s.rows, s.cols, op);
}

// The CSR pattern of op(A) (row pointers and columns) with the slot map: stored values bucketed
// by row in input order, each row sorted by column (stable), equal columns folded.
template <Value T, Index I>
void pattern_following(const MatrixView<T, I>& m, Op op, std::vector<I>& row_ptr,
                       std::vector<I>& col_idx, SlotMap& slots) {
  const Shape s = op_shape_of(m, op);
  std::int64_t nnz = 0;
  (void)sparse_values(m, nnz);
  const auto rows = static_cast<std::size_t>(s.rows);
  std::vector<std::int64_t> start(rows + 1, 0);
  for_each_stored(m, op, [&](std::int64_t r, std::int64_t, std::int64_t) {
    ++start[static_cast<std::size_t>(r) + 1];
  });
  for (std::size_t r = 0; r < rows; ++r) start[r + 1] += start[r];
  std::vector<std::pair<std::int64_t, std::int64_t>> bucket(static_cast<std::size_t>(nnz));
  {
    std::vector<std::int64_t> next(start.begin(), start.end() - 1);
    for_each_stored(m, op, [&](std::int64_t r, std::int64_t c, std::int64_t k) {
      bucket[static_cast<std::size_t>(next[static_cast<std::size_t>(r)]++)] = {c, k};
    });
  }
  slots.assign(static_cast<std::size_t>(nnz), 0);
  row_ptr.assign(rows + 1, I(0));
  col_idx.clear();
  col_idx.reserve(static_cast<std::size_t>(nnz));
  const auto by_col = [](const auto& x, const auto& y) { return x.first < y.first; };
  std::int64_t written = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const auto b = bucket.begin() + start[r];
    const auto e = bucket.begin() + start[r + 1];
    if (!std::is_sorted(b, e, by_col)) std::stable_sort(b, e, by_col);
    const std::int64_t row_start = written;
    for (auto it = b; it != e; ++it) {
      if (written > row_start && col_idx.back() == static_cast<I>(it->first)) {
        slots[static_cast<std::size_t>(it->second)] = ~(written - 1);
      } else {
        col_idx.push_back(static_cast<I>(it->first));
        slots[static_cast<std::size_t>(it->second)] = written++;
      }
    }
    row_ptr[r + 1] = static_cast<I>(written);
  }
}

// Whether to_csr keeps a dense element (as its drop test with tolerance 0 does).
template <Value T>
bool kept(T x) {
  return !(std::abs(x) <= T(0));
}

}  // namespace

template <Value T, Index I>
const T* sparse_values(const MatrixView<T, I>& m, std::int64_t& count) {
  if (const auto* v = std::get_if<CsrView<T, I>>(&m)) {
    count = v->nnz();
    return v->values;
  }
  if (const auto* v = std::get_if<CooView<T, I>>(&m)) {
    count = v->nnz;
    return v->values;
  }
  count = 0;
  return nullptr;
}

template <Value T>
void scatter_values(const T* source, const SlotMap& slots, T* derived) {
  const std::size_t n = slots.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::int64_t d = slots[k];
    if (d >= 0) {
      derived[d] = source[k];
    } else {
      derived[~d] += source[k];
    }
  }
}

template <Value T, Index I>
CsrMatrix<T, I> csr_following(const MatrixView<T, I>& m, Op op, SlotMap& slots) {
  std::vector<I> row_ptr;
  std::vector<I> col_idx;
  pattern_following(m, op, row_ptr, col_idx, slots);
  std::vector<T> values(col_idx.size());
  std::int64_t count = 0;
  const T* source = sparse_values(m, count);
  if (count > 0) scatter_values(source, slots, values.data());
  const Shape s = op_shape_of(m, op);
  return CsrMatrix<T, I>(s.rows, s.cols, std::move(row_ptr), std::move(col_idx), std::move(values));
}

template <Value T, Index I>
DenseMatrix<T> dense_following(const MatrixView<T, I>& m, Op op, SlotMap& slots) {
  std::vector<I> row_ptr;
  std::vector<I> col_idx;
  pattern_following(m, op, row_ptr, col_idx, slots);
  const Shape s = op_shape_of(m, op);
  // Slots of the CSR pattern become offsets of row-major elements.
  std::vector<std::int64_t> offset(col_idx.size());
  for (std::int64_t r = 0; r < s.rows; ++r) {
    for (auto k = static_cast<std::int64_t>(row_ptr[r]); k < row_ptr[r + 1]; ++k) {
      offset[static_cast<std::size_t>(k)] = r * s.cols + static_cast<std::int64_t>(col_idx[k]);
    }
  }
  for (std::int64_t& d : slots) d = d >= 0 ? offset[static_cast<std::size_t>(d)] : ~offset[~d];
  DenseMatrix<T> out(s.rows, s.cols, Layout::RowMajor);
  std::int64_t count = 0;
  const T* source = sparse_values(m, count);
  if (count > 0) scatter_values(source, slots, out.values().data());
  return out;
}

template <Value T, Index I>
DenseMatch compare_dense(const DenseView<const T>& op_a, const CsrView<T, I>& csr) {
  bool same = true;
  for (std::int64_t r = 0; r < op_a.rows; ++r) {
    auto k = static_cast<std::int64_t>(csr.row_ptr[r]);
    const auto end = static_cast<std::int64_t>(csr.row_ptr[r + 1]);
    for (std::int64_t c = 0; c < op_a.cols; ++c) {
      const T x = op_a(r, c);
      if (!kept(x)) continue;
      if (k == end || csr.col_idx[k] != static_cast<I>(c)) return DenseMatch::NewPattern;
      // Bitwise, so that a NaN that stays a NaN is no change and -0 against 0 is one.
      same = same && std::memcmp(&x, csr.values + k, sizeof(T)) == 0;
      ++k;
    }
    if (k != end) return DenseMatch::NewPattern;
  }
  return same ? DenseMatch::Same : DenseMatch::NewValues;
}

template <Value T, Index I>
bool refill_from_dense(const DenseView<const T>& op_a, CsrMatrix<T, I>& csr) {
  if (compare_dense(op_a, csr.view()) == DenseMatch::NewPattern) return false;
  T* values = csr.values().data();
  std::int64_t k = 0;
  for (std::int64_t r = 0; r < op_a.rows; ++r) {
    for (std::int64_t c = 0; c < op_a.cols; ++c) {
      const T x = op_a(r, c);
      if (kept(x)) values[k++] = x;
    }
  }
  return true;
}

#define SPBMM_INSTANTIATE(T, I)                                                       \
  template const T* sparse_values(const MatrixView<T, I>&, std::int64_t&);            \
  template CsrMatrix<T, I> csr_following(const MatrixView<T, I>&, Op, SlotMap&);      \
  template DenseMatrix<T> dense_following(const MatrixView<T, I>&, Op, SlotMap&);     \
  template DenseMatch compare_dense(const DenseView<const T>&, const CsrView<T, I>&); \
  template bool refill_from_dense(const DenseView<const T>&, CsrMatrix<T, I>&);

template void scatter_values(const float*, const SlotMap&, float*);
template void scatter_values(const double*, const SlotMap&, double*);
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

}  // namespace spbmm::dispatch
