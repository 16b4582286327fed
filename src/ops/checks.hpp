// Up-front checks of the training products (sddmm, spmm_reduce): options, formats, and the
// memory sharing between outputs and operands, all before anything is written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/checks.hpp"
#include "dispatch/overlap.hpp"
#include "spbmm/bmm.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/training.hpp"

namespace spbmm::ops {

using detail::cat;

inline std::string shape_str(std::int64_t rows, std::int64_t cols) { return cat(rows, "x", cols); }

// The size of a batched SDDMM, as its CPU and GPU estimates see it (sums over the entries).
struct SddmmWork {
  double nnz = 0;             // stored entries of A
  double rows = 0;            // rows of A
  double products = 0;        // sum of nnz_i * k_i
  double dense_elements = 0;  // elements of X and Y
  int value_bytes = 4;
  int index_bytes = 4;
};
struct SddmmEstimate {
  double cpu = 0;  // seconds on the CPU kernel with `threads` threads
  double gpu = 0;  // seconds on the device with host operands (infinite without its figures)
};
// Pure; sddmm.cpp.
SddmmEstimate estimate_sddmm(const SddmmWork& work, const MachineModel& machine, int threads);

// `op` names the function in messages ("sddmm"); gpu: the product has a device kernel.
inline void check_options(const TrainingOptions& o, const char* op, bool gpu = false) {
  switch (o.kernel) {
    case Kernel::Auto:
    case Kernel::Sparse:
    case Kernel::Reference:
      break;
    case Kernel::Gpu:
      if (gpu) break;
      [[fallthrough]];
    case Kernel::Dense:
    case Kernel::Eigen:
    case Kernel::Mkl:
      throw InvalidArgument(cat(op, ": options.kernel is ", to_string(o.kernel),
                                "; this product runs the kernels Auto, Sparse", gpu ? ", Gpu" : "",
                                " or Reference"));
    default:
      throw InvalidArgument(
          cat(op, ": options.kernel has unknown value ", static_cast<int>(o.kernel)));
  }
  if (o.threads < 0) {
    throw InvalidArgument(cat(op, ": options.threads is ", o.threads,
                              "; expected 0 (the runtime's default) or a positive count"));
  }
}

// A dense operand's format (any element type): shape, leading dimension, data, layout value.
template <class T>
void check_dense(const DenseView<T>& v, const std::string& what) {
  if (v.layout != Layout::RowMajor && v.layout != Layout::ColMajor) {
    throw InvalidArgument(cat(what, ": layout has unknown value ", static_cast<int>(v.layout)));
  }
  if (v.rows < 0 || v.cols < 0) {
    throw FormatError(cat(what, ": negative shape ", v.rows, "x", v.cols));
  }
  const std::int64_t need =
      std::max<std::int64_t>(1, v.layout == Layout::RowMajor ? v.cols : v.rows);
  if (v.ld < need) {
    throw FormatError(cat(what, ": leading dimension ", v.ld, " < ", need, " for a ",
                          to_string(v.layout), " ", v.rows, "x", v.cols, " matrix"));
  }
  if (v.data == nullptr && !v.empty()) {
    throw FormatError(cat(what, ": null data pointer for a ", v.rows, "x", v.cols, " matrix"));
  }
  if (!v.empty()) {
    const std::int64_t major = v.layout == Layout::RowMajor ? v.rows : v.cols;
    detail::checked_mul(major, v.ld, what.c_str());
  }
}

// Validates every A entry: CSR and COO as their constructors would; a dense entry has no
// pattern to follow (InvalidArgument). The checks read every index, which costs as much as a
// fair part of the product itself, so a large batch is checked on `threads` threads (0: the
// runtime's default); the error reported is still the one of the first bad entry.
template <Value T, Index I>
void validate_sparse_a(const BatchView<T, I>& a, const char* op, int threads = 0) {
  const auto check = [&](std::size_t i) {
    const auto entry = static_cast<std::int64_t>(i);
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) {
      validate(*c, entry);
    } else if (const auto* o = std::get_if<CooView<T, I>>(&a[i])) {
      validate(*o, entry);
    } else {
      throw InvalidArgument(cat(op, ": A entry ", i,
                                " is dense; this product follows the stored entries of a CSR or "
                                "COO entry"));
    }
  };
  double work = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (const auto* c = std::get_if<CsrView<T, I>>(&a[i])) {
      work += static_cast<double>(c->rows) + static_cast<double>(c->row_ptr ? c->nnz() : 0);
    } else if (const auto* o = std::get_if<CooView<T, I>>(&a[i])) {
      work += static_cast<double>(o->nnz);
    }
  }
#ifdef _OPENMP
  // Below this many indices a parallel region costs more than it saves.
  constexpr double kMinParallel = 1e5;
  if (a.size() > 1 && work >= kMinParallel && !omp_in_parallel() && threads != 1) {
    const int team = threads > 0 ? threads : omp_get_max_threads();
    std::vector<std::exception_ptr> errors(a.size());
    const auto n = static_cast<std::int64_t>(a.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
    for (std::int64_t i = 0; i < n; ++i) {
      try {
        check(static_cast<std::size_t>(i));
      } catch (...) {
        errors[static_cast<std::size_t>(i)] = std::current_exception();
      }
    }
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    return;
  }
#endif
  (void)work;
  for (std::size_t i = 0; i < a.size(); ++i) check(i);
}

template <Value T, Index I>
std::int64_t rows_of(const MatrixView<T, I>& m) {
  return std::visit([](const auto& v) { return v.rows; }, m);
}
template <Value T, Index I>
std::int64_t cols_of(const MatrixView<T, I>& m) {
  return std::visit([](const auto& v) { return v.cols; }, m);
}
template <Value T, Index I>
std::int64_t nnz_of(const MatrixView<T, I>& m) {
  if (const auto* c = std::get_if<CsrView<T, I>>(&m)) return c->nnz();
  if (const auto* o = std::get_if<CooView<T, I>>(&m)) return o->nnz;
  return 0;
}

// The memory of every operand and output, and the check that no output shares a byte with
// anything else. Region::operand is one of: 'A' (any array of A), 'X', 'Y', 'B' (inputs) and
// 'C' (an output; entry numbers from `kArgBase` on name arg outputs).
class Regions {
 public:
  static constexpr std::size_t kArgBase = std::size_t{1} << 40;

  void add(std::optional<dispatch::Extent> e, char operand, std::size_t entry) {
    if (e) regions_.push_back({*e, operand, entry});
  }
  template <class U>
  void add_dense(const DenseView<U>& v, char operand, std::size_t entry) {
    add(dispatch::dense_extent(v), operand, entry);
  }
  // A's row pointers and indices, and its values unless `skip_values` (an in-place output).
  template <Value T, Index I>
  void add_a(const MatrixView<T, I>& m, std::size_t entry, bool skip_values) {
    if (const auto* c = std::get_if<CsrView<T, I>>(&m)) {
      const std::int64_t rp = c->row_ptr != nullptr ? c->rows + 1 : 0;
      add(dispatch::contiguous_extent(c->row_ptr, rp, sizeof(I)), 'A', entry);
      add(dispatch::contiguous_extent(c->col_idx, c->nnz(), sizeof(I)), 'A', entry);
      if (!skip_values) {
        add(dispatch::contiguous_extent(c->values, c->nnz(), sizeof(T)), 'A', entry);
      }
    } else if (const auto* o = std::get_if<CooView<T, I>>(&m)) {
      add(dispatch::contiguous_extent(o->row_idx, o->nnz, sizeof(I)), 'A', entry);
      add(dispatch::contiguous_extent(o->col_idx, o->nnz, sizeof(I)), 'A', entry);
      if (!skip_values) {
        add(dispatch::contiguous_extent(o->values, o->nnz, sizeof(T)), 'A', entry);
      }
    }
  }

  // InvalidArgument naming the first output that shares memory with another region.
  // `out_name` names the outputs ("output" or "C"); `in_place` adds a hint for SDDMM.
  void check(const char* op, const char* out_name, const char* hint) {
    const auto hit = dispatch::find_output_overlap(std::move(regions_));
    if (!hit) return;
    const auto& [out, other] = *hit;
    throw InvalidArgument(cat(op, ": ", name(out, out_name), " overlaps ", name(other, out_name),
                              " in memory; ", hint));
  }

 private:
  static std::string name(const dispatch::Region& r, const char* out_name) {
    if (r.operand != 'C') return cat(r.operand, " entry ", r.entry);
    if (r.entry >= kArgBase) return cat("arg entry ", r.entry - kArgBase);
    return cat(out_name, " entry ", r.entry);
  }

  std::vector<dispatch::Region> regions_;
};

}  // namespace spbmm::ops
