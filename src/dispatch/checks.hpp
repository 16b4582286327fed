// Up-front checks shared by bmm_into and Plan::execute: options, broadcasting, shapes, aliasing.
#pragma once

#include <cstddef>
#include <cstdint>
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

// Format checks come before shape checks so that shape messages never quote nonsense such as
// negative sizes.
template <Value T, Index I>
void validate_a(const BatchView<T, I>& a) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto entry = static_cast<std::int64_t>(i);
    std::visit(
        Overloaded{
            [&](const DenseView<const T>& v) { validate(v, detail::cat("A entry ", i).c_str()); },
            [&](const CsrView<T, I>& v) { validate(v, entry); },
            [&](const CooView<T, I>& v) { validate(v, entry); },
        },
        a[i]);
  }
}

template <Value T>
void validate_b(const DenseBatchView<const T>& b) {
  for (std::size_t i = 0; i < b.size(); ++i) validate(b[i], detail::cat("B entry ", i).c_str());
}

template <Value T, Index I>
void add_regions(std::vector<Region>& out, const MatrixView<T, I>& m, std::size_t i) {
  const auto add = [&](std::optional<Extent> e) {
    if (e) out.push_back({*e, 'A', i});
  };
  std::visit(Overloaded{
                 [&](const DenseView<const T>& v) { add(dense_extent(v)); },
                 [&](const CsrView<T, I>& v) {
                   const std::int64_t rp = v.row_ptr != nullptr ? v.rows + 1 : 0;
                   add(contiguous_extent(v.row_ptr, rp, sizeof(I)));
                   add(contiguous_extent(v.col_idx, v.nnz(), sizeof(I)));
                   add(contiguous_extent(v.values, v.nnz(), sizeof(T)));
                 },
                 [&](const CooView<T, I>& v) {
                   add(contiguous_extent(v.row_idx, v.nnz, sizeof(I)));
                   add(contiguous_extent(v.col_idx, v.nnz, sizeof(I)));
                   add(contiguous_extent(v.values, v.nnz, sizeof(T)));
                 },
             },
             m);
}

// Entries run in parallel and C is read when beta != 0, so any shared byte between an output
// and an input (or another output) would make the result depend on the schedule.
template <Value T, Index I>
void check_no_aliasing(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                       const DenseBatchView<const T>& b) {
  std::vector<Region> regions;
  for (std::size_t i = 0; i < a.size(); ++i) add_regions<T, I>(regions, a[i], i);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (auto e = dense_extent(b[i])) regions.push_back({*e, 'B', i});
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (auto e = dense_extent(c[i])) regions.push_back({*e, 'C', i});
  }
  if (const auto hit = find_output_overlap(std::move(regions))) {
    const auto& [out, other] = *hit;
    throw InvalidArgument(detail::cat("C entry ", out.entry, " overlaps ", other.operand, " entry ",
                                      other.entry,
                                      " in memory; C must not alias A, B or another entry of C"));
  }
}

// Everything bmm_into checks about B and C once A is known to be well formed.
template <Value T, Index I>
void check_b_and_c(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                   const DenseBatchView<const T>& b, const Options& options) {
  using detail::cat;
  broadcast_size(a.size(), b.size());
  validate_b(b);
  const std::vector<Shape> shapes = shapes_of(a, b, options);
  if (c.size() != shapes.size()) {
    throw ShapeError(cat("C has ", c.size(), " entries but op(A) * op(B) has ", shapes.size()));
  }
  for (std::size_t i = 0; i < c.size(); ++i) {
    validate(DenseView<const T>(c[i]), cat("C entry ", i).c_str());
    if (c[i].rows != shapes[i].rows || c[i].cols != shapes[i].cols) {
      throw ShapeError(cat("entry ", i, ": C is ", shape_str({c[i].rows, c[i].cols}),
                           " but op(A) * op(B) is ", shape_str(shapes[i])));
    }
  }
  check_no_aliasing(c, a, b);
}

}  // namespace spbmm::dispatch
