// The products a training step needs besides bmm: batched SDDMM and SpMM with reduce.
#include <algorithm>
#include <cctype>
#include <optional>

#include "common.hpp"

namespace spbmm::python {

namespace {

TrainingOptions make_training_options(int threads, const std::string& kernel) {
  TrainingOptions o;
  o.threads = threads;
  o.kernel = parse_kernel(kernel);
  return o;
}

Reduce parse_reduce(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (t == "sum") return Reduce::Sum;
  if (t == "mean") return Reduce::Mean;
  if (t == "max" || t == "amax") return Reduce::Max;
  if (t == "min" || t == "amin") return Reduce::Min;
  throw InvalidArgument("reduce must be one of sum, mean, max, min, not '" + text + "'");
}

// A 1-D writable contiguous NumPy array of T as a span ("out entry i" in messages).
template <Value T>
std::span<T> value_span(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::array_t<T, 0>>(obj)) {
    throw InvalidArgument(what + ": expected a NumPy array of " + dtype_name<T>());
  }
  const auto a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 1) throw InvalidArgument(what + ": expected a 1-D array");
  if (a.shape(0) > 1 && a.strides(0) != static_cast<py::ssize_t>(sizeof(T))) {
    throw InvalidArgument(what + ": expected a contiguous array");
  }
  if (!a.writeable()) throw InvalidArgument(what + ": the array is read-only");
  return {static_cast<T*>(const_cast<void*>(a.data())), static_cast<std::size_t>(a.shape(0))};
}

// The stored entries of one A entry (0 for a dense one, which sddmm_into rejects by name).
template <Value T, Index I>
std::int64_t stored(const MatrixView<T, I>& m) {
  if (const auto* csr = std::get_if<CsrView<T, I>>(&m)) return csr->nnz();
  if (const auto* coo = std::get_if<CooView<T, I>>(&m)) return coo->nnz;
  return 0;
}

// sddmm(entries, x, y, out, ...): out_i[p] = alpha X_i(r,:) . Y_i(c,:) + beta A_i.values[p]; a new
// list of 1-D arrays (out None) or written into out (a list of 1-D arrays, maybe A's values).
py::object sddmm(const py::sequence& entries, const py::sequence& x, const py::sequence& y,
                 const py::object& out, double alpha, double beta, char value, int index_bytes,
                 int threads, const std::string& kernel) {
  const TrainingOptions options = make_training_options(threads, kernel);
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    const BatchView<T, I> a = batch_view<T, I>(entries);
    const DenseBatchView<const T> xv = dense_batch<const T>(x, "X");
    const DenseBatchView<const T> yv = dense_batch<const T>(y, "Y");
    py::list arrays;
    if (out.is_none()) {
      for (std::size_t i = 0; i < a.size(); ++i) {
        arrays.append(aligned_vector<T>(stored(a[i])));
      }
    } else {
      arrays = py::list(out);
    }
    std::vector<std::span<T>> spans;
    spans.reserve(py::len(arrays));
    for (std::size_t i = 0; i < py::len(arrays); ++i) {
      spans.push_back(value_span<T>(arrays[i], "out entry " + std::to_string(i)));
    }
    {
      py::gil_scoped_release release;
      sddmm_into<T, I>(spans, a, xv, yv, static_cast<T>(alpha), static_cast<T>(beta), options);
    }
    return out.is_none() ? py::object(arrays) : out;
  });
}

// spmm_reduce(entries, b, out, arg, reduce, with_arg, ...): C (a new list, or out) and, with
// with_arg, the arg indices (a new list, or arg); returns (c, arg or None).
py::object spmm_reduce(const py::sequence& entries, const py::sequence& b, const py::object& out,
                       const py::object& arg, const std::string& reduce, bool with_arg, char value,
                       int index_bytes, int threads, const std::string& kernel) {
  const TrainingOptions options = make_training_options(threads, kernel);
  const Reduce r = parse_reduce(reduce);
  if (with_arg && r != Reduce::Max && r != Reduce::Min) {
    throw InvalidArgument(std::string("arg indices are given by max and min only, not by ") +
                          to_string(r));
  }
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    const BatchView<T, I> a = batch_view<T, I>(entries);
    const DenseBatchView<const T> bv = dense_batch<const T>(b, "B");
    if (out.is_none()) {
      std::optional<ReduceResult<T, I>> result;
      {
        py::gil_scoped_release release;
        result = spbmm::spmm_reduce<T, I>(a, bv, r, options);
      }
      auto owner = std::make_shared<ReduceResult<T, I>>(std::move(*result));
      py::list cs;
      py::list args;
      for (std::size_t i = 0; i < owner->c.size(); ++i) {
        const DenseView<const T> e = std::as_const(owner->c).entry(i);
        const bool row = e.layout == Layout::RowMajor;
        cs.append(adopt<T>(owner, e.data, {e.rows, e.cols},
                           {row ? e.ld : py::ssize_t{1}, row ? py::ssize_t{1} : e.ld}));
        if (with_arg) {
          const DenseView<const I> g = owner->arg_entry(i);
          args.append(adopt<I>(owner, g.data, {g.rows, g.cols}, {g.ld, py::ssize_t{1}}));
        }
      }
      return py::make_tuple(cs, with_arg ? py::object(args) : py::object(py::none()));
    }
    const DenseBatchView<T> cv = dense_batch<T>(out, "out");
    DenseBatchView<I> av;
    if (with_arg) av = dense_batch<I>(arg, "arg");
    {
      py::gil_scoped_release release;
      spmm_reduce_into<T, I>(cv, av, a, bv, r, options);
    }
    return py::make_tuple(out, with_arg ? arg : py::object(py::none()));
  });
}

}  // namespace

void init_training(py::module_& m) {
  m.def("sddmm", &sddmm, py::arg("entries"), py::arg("x"), py::arg("y"), py::arg("out"),
        py::arg("alpha"), py::arg("beta"), py::arg("value"), py::arg("index_bytes"),
        py::arg("threads"), py::arg("kernel"),
        "out_i = alpha (X_i Y_i^T) at A_i's pattern + beta A_i's values; see spbmm.sddmm.");
  m.def("spmm_reduce", &spmm_reduce, py::arg("entries"), py::arg("b"), py::arg("out"),
        py::arg("arg"), py::arg("reduce"), py::arg("with_arg"), py::arg("value"),
        py::arg("index_bytes"), py::arg("threads"), py::arg("kernel"),
        "C_i(r,:) = reduce over A_i's row r of a_rj B_i(j,:); see spbmm.spmm_reduce.");
}

}  // namespace spbmm::python
