// Up-front checks shared by bmm_into and Plan::execute: options, broadcasting, shapes, aliasing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/checks.hpp"
#include "dispatch/overlap.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/error.hpp"

namespace spbmm::dispatch {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
// Clang before 17 does not deduce an aggregate's template arguments by itself.
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

inline std::string shape_str(Shape s) { return detail::cat(s.rows, "x", s.cols); }

inline Shape op_shape(std::int64_t rows, std::int64_t cols, Op op) {
  return op == Op::N ? Shape{rows, cols} : Shape{cols, rows};
}

template <Value T, Index I>
Shape stored_shape(const MatrixView<T, I>& m) {
  return std::visit([](const auto& v) { return Shape{v.rows, v.cols}; }, m);
}

inline bool known_kernel(Kernel k) {
  switch (k) {
    case Kernel::Auto:
    case Kernel::Reference:
    case Kernel::Sparse:
    case Kernel::Dense:
    case Kernel::Eigen:
    case Kernel::Gpu:
    case Kernel::Mkl:
      return true;
  }
  return false;
}

inline void check_options(const Options& o) {
  using detail::cat;
  if (o.op_a != Op::N && o.op_a != Op::T) {
    throw InvalidArgument(cat("options.op_a has unknown value ", static_cast<int>(o.op_a)));
  }
  if (o.op_b != Op::N && o.op_b != Op::T) {
    throw InvalidArgument(cat("options.op_b has unknown value ", static_cast<int>(o.op_b)));
  }
  if (o.out_layout != Layout::RowMajor && o.out_layout != Layout::ColMajor) {
    throw InvalidArgument(
        cat("options.out_layout has unknown value ", static_cast<int>(o.out_layout)));
  }
  if (!known_kernel(o.kernel)) {
    throw InvalidArgument(cat("options.kernel has unknown value ", static_cast<int>(o.kernel)));
  }
  if (o.threads < 0) {
    throw InvalidArgument(cat("options.threads is ", o.threads,
                              "; expected 0 (the runtime's default) or a positive count"));
  }
}

// Number of products, with a batch of one broadcast against the other operand.
inline std::size_t broadcast_size(std::size_t na, std::size_t nb) {
  if (na == nb || nb == 1) return na;
  if (na == 1) return nb;
  throw ShapeError(
      detail::cat("batch sizes do not broadcast: A has ", na, " entries, B has ", nb, " entries"));
}

inline std::size_t pick(std::size_t n, std::size_t i) { return n == 1 ? 0 : i; }

template <Value T, Index I>
std::vector<Shape> shapes_of(const BatchView<T, I>& a, const DenseBatchView<const T>& b,
                             const Options& o) {
  using detail::cat;
  const std::size_t n = broadcast_size(a.size(), b.size());
  std::vector<Shape> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Shape sa = stored_shape<T, I>(a[pick(a.size(), i)]);
    const Shape oa = op_shape(sa.rows, sa.cols, o.op_a);
    const auto& vb = b[pick(b.size(), i)];
    const Shape ob = op_shape(vb.rows, vb.cols, o.op_b);
    if (oa.cols != ob.rows) {
      throw ShapeError(cat("entry ", i, ": op(A) is ", shape_str(oa), " but op(B) is ",
                           shape_str(ob), " (inner dimensions ", oa.cols, " != ", ob.rows, ")"));
    }
    out[i] = {oa.rows, ob.cols};
  }
  return out;
}

// True when validate(v, ...) would accept v; lets the hot paths skip formatting an entry name
// for every valid entry (validate is still what reports a bad one).
template <class T>
bool dense_ok(const DenseView<T>& v) noexcept {
  if (v.rows < 0 || v.cols < 0) return false;
  const std::int64_t need =
      std::max<std::int64_t>(1, v.layout == Layout::RowMajor ? v.cols : v.rows);
  if (v.ld < need) return false;
  if (v.empty()) return true;
  if (v.data == nullptr) return false;
  const std::int64_t major = v.layout == Layout::RowMajor ? v.rows : v.cols;
  std::int64_t r = 0;
  return !__builtin_mul_overflow(major, v.ld, &r);
}

template <class T>
void validate_entry(const DenseView<T>& v, const char* operand, std::size_t i) {
  if (!dense_ok(v)) validate(v, detail::cat(operand, " entry ", i).c_str());
}

// Format checks come before shape checks so that shape messages never quote nonsense such as
// negative sizes.
template <Value T, Index I>
void validate_a(const BatchView<T, I>& a) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto entry = static_cast<std::int64_t>(i);
    std::visit(Overloaded{
                   [&](const DenseView<const T>& v) { validate_entry(v, "A", i); },
                   [&](const CsrView<T, I>& v) { validate(v, entry); },
                   [&](const CooView<T, I>& v) { validate(v, entry); },
               },
               a[i]);
  }
}

template <Value T>
void validate_b(const DenseBatchView<const T>& b) {
  for (std::size_t i = 0; i < b.size(); ++i) validate_entry(b[i], "B", i);
}

// Calls f(std::optional<Extent>) for each memory region of one A entry (dense data; CSR row
// pointers, column indices and values; COO indices and values).
template <Value T, Index I, class F>
void for_each_extent(const MatrixView<T, I>& m, F&& f) {
  std::visit(Overloaded{
                 [&](const DenseView<const T>& v) { f(dense_extent(v)); },
                 [&](const CsrView<T, I>& v) {
                   const std::int64_t rp = v.row_ptr != nullptr ? v.rows + 1 : 0;
                   f(contiguous_extent(v.row_ptr, rp, sizeof(I)));
                   f(contiguous_extent(v.col_idx, v.nnz(), sizeof(I)));
                   f(contiguous_extent(v.values, v.nnz(), sizeof(T)));
                 },
                 [&](const CooView<T, I>& v) {
                   f(contiguous_extent(v.row_idx, v.nnz, sizeof(I)));
                   f(contiguous_extent(v.col_idx, v.nnz, sizeof(I)));
                   f(contiguous_extent(v.values, v.nnz, sizeof(T)));
                 },
             },
             m);
}

template <Value T, Index I>
void add_regions(std::vector<Region>& out, const MatrixView<T, I>& m, std::size_t i) {
  for_each_extent<T, I>(m, [&](std::optional<Extent> e) {
    if (e) out.push_back({*e, 'A', i});
  });
}

// The regions of A, sorted by region_less: what a plan computes once.
template <Value T, Index I>
std::vector<Region> sorted_a_regions(const BatchView<T, I>& a) {
  std::vector<Region> regions;
  regions.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) add_regions<T, I>(regions, a[i], i);
  sort_regions(regions);
  return regions;
}

// Entries run in parallel and C is read when beta != 0, so any shared byte between an output
// and an input (or another output) would make the result depend on the schedule.
// a_sorted: sorted_a_regions(a) when the caller has it, else nullptr.
template <Value T, Index I>
void check_no_aliasing(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                       const DenseBatchView<const T>& b,
                       const std::vector<Region>* a_sorted = nullptr) {
  std::vector<Region> a_own;
  if (a_sorted == nullptr) {
    a_own = sorted_a_regions(a);
    a_sorted = &a_own;
  }
  // Batches are usually allocated in entry order, so B and C mostly arrive sorted already; the
  // three sorted lists are then merged in linear time.
  std::vector<Region> bc;
  bc.reserve(b.size() + c.size());
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (auto e = dense_extent(b[i])) bc.push_back({*e, 'B', i});
  }
  const auto b_end = static_cast<std::ptrdiff_t>(bc.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (auto e = dense_extent(c[i])) bc.push_back({*e, 'C', i});
  }
  const auto mid = bc.begin() + b_end;
  if (!std::is_sorted(bc.begin(), mid, region_less)) std::sort(bc.begin(), mid, region_less);
  if (!std::is_sorted(mid, bc.end(), region_less)) std::sort(mid, bc.end(), region_less);
  if (b_end > 0 && mid != bc.end() && region_less(*mid, *(mid - 1))) {
    std::inplace_merge(bc.begin(), mid, bc.end(), region_less);
  }
  // The usual case, no two regions sharing an address range at all, is proven by one walk over
  // both sorted lists; anything else (shared inputs included) takes the exact sweep.
  {
    auto x = a_sorted->begin();
    auto y = bc.begin();
    std::uintptr_t reach = 0;
    bool disjoint = true;
    while (disjoint && (x != a_sorted->end() || y != bc.end())) {
      const bool take_x = y == bc.end() || (x != a_sorted->end() && region_less(*x, *y));
      const Region& r = take_x ? *x++ : *y++;
      disjoint = r.extent.base >= reach;
      reach = std::max(reach, r.extent.end());
    }
    if (disjoint) return;
  }
  std::vector<Region> regions(a_sorted->size() + bc.size());
  std::merge(a_sorted->begin(), a_sorted->end(), bc.begin(), bc.end(), regions.begin(),
             region_less);
  if (const auto hit = find_output_overlap_sorted(std::move(regions))) {
    const auto& [out, other] = *hit;
    throw InvalidArgument(detail::cat("C entry ", out.entry, " overlaps ", other.operand, " entry ",
                                      other.entry,
                                      " in memory; C must not alias A, B or another entry of C"));
  }
}

// Everything bmm_into checks about B and C once A is known to be well formed, in this order:
// broadcasting, B's format, inner dimensions, C's entry count, C's format and shape, aliasing.
// What a plan knows about its A up front: op(A)'s shape per entry and the sorted regions of A.
struct KnownA {
  const std::vector<Shape>* op_shapes = nullptr;
  const std::vector<Region>* regions = nullptr;
  // With regions: the address range they lie in (span_of(*regions)).
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;
};

// The address range [lo, hi) of a set of regions, grown one region at a time; `sorted` stays true
// while every region starts at or after the end of all before it (so none of them overlap).
struct Span {
  std::uintptr_t lo = std::numeric_limits<std::uintptr_t>::max();
  std::uintptr_t hi = 0;
  bool sorted = true;

  void add(std::uintptr_t begin, std::uintptr_t end) noexcept {
    sorted = sorted && begin >= hi;
    lo = std::min(lo, begin);
    hi = std::max(hi, end);
  }
  bool empty() const noexcept { return lo >= hi; }
  // True when the two ranges share no byte.
  bool apart(const Span& o) const noexcept {
    return empty() || o.empty() || hi <= o.lo || o.hi <= lo;
  }
};

inline Span span_of(const std::vector<Region>& regions) {
  Span s;
  for (const Region& r : regions) s.add(r.extent.base, r.extent.end());
  return s;
}

// Adds the memory of a validated, non-empty dense view to s.
template <class T>
void add_dense(Span& s, const DenseView<T>& v) noexcept {
  const bool row_major = v.layout == Layout::RowMajor;
  const std::int64_t outer = row_major ? v.rows : v.cols;
  const std::int64_t inner = row_major ? v.cols : v.rows;
  const auto begin = reinterpret_cast<std::uintptr_t>(v.data);
  const auto bytes = ((outer - 1) * v.ld + inner) * static_cast<std::int64_t>(sizeof(T));
  s.add(begin, begin + static_cast<std::uintptr_t>(bytes));
}

// The address range of A's regions, without collecting them.
template <Value T, Index I>
Span span_of(const BatchView<T, I>& a) {
  Span s;
  const auto add = [&](std::optional<Extent> e) {
    if (e) s.add(e->base, e->end());
  };
  for (std::size_t i = 0; i < a.size(); ++i) for_each_extent<T, I>(a[i], add);
  return s;
}

// The checks of check_b_and_c in one pass over B and C, without allocating. Returns 1 when every
// check passes, 0 when one fails (the full checks then find and report the first failure), and 2
// when B and C are valid but their memory is not laid out simply enough to rule out aliasing here
// (C entries out of address order, or the address range of C meeting that of A or B).
template <Value T, Index I>
int quick_check_b_and_c(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                        const DenseBatchView<const T>& b, const Options& options,
                        const KnownA& known, std::size_t products) {
  if (c.size() != products || b.empty()) return 0;
  const bool a_one = a.size() == 1;
  const bool b_one = b.size() == 1;
  const bool op_b_n = options.op_b == Op::N;
  const Shape* a_shapes = known.op_shapes != nullptr ? known.op_shapes->data() : nullptr;
  const DenseView<const T>* bv = b.entries().data();
  const DenseView<T>* cv = c.entries().data();
  Span b_span;
  Span c_span;
  if (b_one) {
    if (!dense_ok(bv[0])) return 0;
    if (!bv[0].empty()) add_dense(b_span, bv[0]);
  }
  for (std::size_t i = 0; i < products; ++i) {
    const DenseView<const T>& vb = bv[b_one ? 0 : i];
    const DenseView<T>& vc = cv[i];
    Shape oa;
    if (a_shapes != nullptr) {
      oa = a_shapes[a_one ? 0 : i];
    } else {
      const Shape sa = stored_shape<T, I>(a[a_one ? 0 : i]);
      oa = op_shape(sa.rows, sa.cols, options.op_a);
    }
    const std::int64_t b_rows = op_b_n ? vb.rows : vb.cols;
    const std::int64_t b_cols = op_b_n ? vb.cols : vb.rows;
    const bool ok = (b_one || dense_ok(vb)) && dense_ok(vc) && oa.cols == b_rows &&
                    vc.rows == oa.rows && vc.cols == b_cols;
    if (!ok) return 0;
    if (!b_one && !vb.empty()) add_dense(b_span, vb);
    if (!vc.empty()) add_dense(c_span, vc);
  }
  if (!c_span.sorted || !b_span.apart(c_span)) return 2;
  Span a_span;
  if (known.regions != nullptr && (known.lo < known.hi || known.regions->empty())) {
    a_span.lo = known.lo;
    a_span.hi = known.hi;
  } else if (known.regions != nullptr) {
    a_span = span_of(*known.regions);
  } else {
    a_span = span_of(a);
  }
  return a_span.apart(c_span) ? 1 : 2;
}

template <Value T, Index I>
void check_b_and_c(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                   const DenseBatchView<const T>& b, const Options& options,
                   const KnownA& known = {}) {
  using detail::cat;
  const std::size_t products = broadcast_size(a.size(), b.size());
  switch (quick_check_b_and_c(c, a, b, options, known, products)) {
    case 1:
      return;
    case 2:
      check_no_aliasing(c, a, b, known.regions);
      return;
    default:
      break;
  }
  validate_b(b);
  const auto op_a_of = [&](std::size_t i) {
    if (known.op_shapes != nullptr) return (*known.op_shapes)[pick(a.size(), i)];
    const Shape sa = stored_shape<T, I>(a[pick(a.size(), i)]);
    return op_shape(sa.rows, sa.cols, options.op_a);
  };
  const auto op_b_of = [&](std::size_t i) {
    const auto& vb = b[pick(b.size(), i)];
    return op_shape(vb.rows, vb.cols, options.op_b);
  };
  for (std::size_t i = 0; i < products; ++i) {
    const Shape oa = op_a_of(i);
    const Shape ob = op_b_of(i);
    if (oa.cols != ob.rows) {
      throw ShapeError(cat("entry ", i, ": op(A) is ", shape_str(oa), " but op(B) is ",
                           shape_str(ob), " (inner dimensions ", oa.cols, " != ", ob.rows, ")"));
    }
  }
  if (c.size() != products) {
    throw ShapeError(cat("C has ", c.size(), " entries but op(A) * op(B) has ", products));
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    validate_entry(DenseView<const T>(c[i]), "C", i);
    const Shape want{op_a_of(i).rows, op_b_of(i).cols};
    if (c[i].rows != want.rows || c[i].cols != want.cols) {
      throw ShapeError(cat("entry ", i, ": C is ", shape_str({c[i].rows, c[i].cols}),
                           " but op(A) * op(B) is ", shape_str(want)));
    }
  }
  check_no_aliasing(c, a, b, known.regions);
}

// The checks of a batch sum: every product op(A_i) op(B_i) has C's shape, and C shares no
// memory with A or B.
template <Value T, Index I>
void check_sum(const DenseView<T>& c, const BatchView<T, I>& a, const DenseBatchView<const T>& b,
               const Options& options, const std::vector<Region>* a_sorted = nullptr) {
  using detail::cat;
  validate_b(b);
  validate_entry(DenseView<const T>(c), "C", 0);
  const std::vector<Shape> shapes = shapes_of(a, b, options);
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    if (shapes[i].rows != c.rows || shapes[i].cols != c.cols) {
      throw ShapeError(cat("batch sum: entry ", i, ": op(A) * op(B) is ", shape_str(shapes[i]),
                           " but C is ", shape_str({c.rows, c.cols})));
    }
  }
  check_no_aliasing(DenseBatchView<T>::single(c), a, b, a_sorted);
}

}  // namespace spbmm::dispatch
