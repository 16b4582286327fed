// Products: bmm over a prepared batch, and Plan (analyse once, execute many times).
#include <algorithm>
#include <cctype>
#include <optional>
#include <variant>

#include "common.hpp"

namespace spbmm::python {

Op parse_op(const std::string& text, const char* name) {
  if (text == "N" || text == "n") return Op::N;
  if (text == "T" || text == "t") return Op::T;
  throw InvalidArgument(std::string(name) + " must be 'N' or 'T', not '" + text + "'");
}

Kernel parse_kernel(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (t == "auto") return Kernel::Auto;
  if (t == "reference") return Kernel::Reference;
  if (t == "sparse") return Kernel::Sparse;
  if (t == "dense") return Kernel::Dense;
  if (t == "eigen") return Kernel::Eigen;
  if (t == "gpu") return Kernel::Gpu;
  if (t == "mkl") return Kernel::Mkl;
  throw InvalidArgument(
      "kernel must be one of auto, reference, sparse, dense, eigen, gpu, mkl, not '" + text + "'");
}

namespace {

Options make_options(const std::string& op_a, const std::string& op_b, int threads,
                     const std::string& kernel) {
  Options o;
  o.op_a = parse_op(op_a, "op_a");
  o.op_b = parse_op(op_b, "op_b");
  o.threads = threads;
  o.kernel = parse_kernel(kernel);
  return o;
}

// bmm(entries, b, out, alpha, beta, ...): with out None returns a new list of arrays (one buffer
// behind them), else writes out in place and returns None. The GIL is released while computing;
// the argument lists keep every viewed array alive meanwhile.
py::object bmm(const py::sequence& entries, const py::sequence& b, const py::object& out,
               double alpha, double beta, char value, int index_bytes, const std::string& op_a,
               const std::string& op_b, int threads, const std::string& kernel) {
  const Options options = make_options(op_a, op_b, threads, kernel);
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    const BatchView<T, I> a = batch_view<T, I>(entries);
    const DenseBatchView<const T> bv = dense_batch<const T>(b, "B");
    if (out.is_none()) {
      std::optional<DenseBatch<T>> c;
      {
        py::gil_scoped_release release;
        c = spbmm::bmm<T, I>(a, bv, options, static_cast<T>(alpha));
      }
      return adopt_batch(std::move(*c));
    }
    const DenseBatchView<T> cv = dense_batch<T>(out, "out");
    {
      py::gil_scoped_release release;
      bmm_into<T, I>(cv, a, bv, static_cast<T>(alpha), static_cast<T>(beta), options);
    }
    return py::none();
  });
}

// C's shape for a batch sum: that of the first product (execute_sum checks the others).
template <Value T, Index I>
Shape sum_shape(const BatchView<T, I>& a, const DenseBatchView<const T>& b, Op op_a, Op op_b) {
  if (a.empty() || b.size() == 0) {
    throw InvalidArgument("a batch sum of an empty batch needs out (C's shape)");
  }
  Options o;
  o.op_a = op_a;
  o.op_b = op_b;
  return result_shapes<T, I>(a, b, o).front();
}

// bmm_sum(...): C = alpha sum_i op(A_i) op(B_i) + beta C into out, or into a new array (out None).
py::object bmm_sum(const py::sequence& entries, const py::sequence& b, const py::object& out,
                   double alpha, double beta, char value, int index_bytes, const std::string& op_a,
                   const std::string& op_b, int threads, const std::string& kernel) {
  const Options options = make_options(op_a, op_b, threads, kernel);
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    const BatchView<T, I> a = batch_view<T, I>(entries);
    const DenseBatchView<const T> bv = dense_batch<const T>(b, "B");
    py::object c = out;
    if (c.is_none()) {
      const Shape shape = sum_shape<T, I>(a, bv, options.op_a, options.op_b);
      c = aligned_zeros<T>(shape.rows, shape.cols);
    }
    const DenseView<T> cv = dense_view<T>(c, "out");
    {
      py::gil_scoped_release release;
      bmm_sum_into<T, I>(cv, a, bv, static_cast<T>(alpha), static_cast<T>(beta), options);
    }
    return c;
  });
}

// multiply(...): one matrix, C = alpha op(A) op(B) + beta C into out, or a new array (out None).
py::object multiply(const py::handle& entry, const py::handle& b, const py::object& out,
                    double alpha, double beta, char value, int index_bytes, const std::string& op_a,
                    const std::string& op_b, int threads, const std::string& kernel) {
  const Options options = make_options(op_a, op_b, threads, kernel);
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    const MatrixView<T, I> a = entry_view<T, I>(entry, "A");
    const DenseView<const T> bv = dense_view<const T>(b, "B");
    if (out.is_none()) {
      std::optional<DenseMatrix<T>> c;
      {
        py::gil_scoped_release release;
        c = spbmm::multiply<T, I>(a, bv, options, static_cast<T>(alpha));
      }
      auto owner = std::make_shared<DenseMatrix<T>>(std::move(*c));
      const DenseView<const T> e = std::as_const(*owner).view();
      const bool row = e.layout == Layout::RowMajor;
      return adopt<T>(owner, e.data, {e.rows, e.cols},
                      {row ? e.ld : py::ssize_t{1}, row ? py::ssize_t{1} : e.ld});
    }
    const DenseView<T> cv = dense_view<T>(out, "out");
    {
      py::gil_scoped_release release;
      multiply_into<T, I>(cv, a, bv, static_cast<T>(alpha), static_cast<T>(beta), options);
    }
    return out;
  });
}

// A Plan of any of the four instantiations, with the Python objects whose buffers it views.
class PyPlan {
  using Variant = std::variant<Plan<float, std::int32_t>, Plan<float, std::int64_t>,
                               Plan<double, std::int32_t>, Plan<double, std::int64_t>>;

  // f(plan) on the held plan; f may take `const Plan<T, I>&` to name the types.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit([&](const auto& plan) -> decltype(auto) { return f(plan); }, *plan_);
  }

 public:
  PyPlan(const py::sequence& entries, const py::object& n, char value, int index_bytes,
         const std::string& op_a, const std::string& op_b, int threads, const std::string& kernel,
         bool both_ops, bool constant_values, py::object keep)
      : value_(value), index_bytes_(index_bytes), keep_(std::move(keep)) {
    PlanOptions o;
    o.op_a = parse_op(op_a, "op_a");
    o.op_b = parse_op(op_b, "op_b");
    o.threads = threads;
    o.policy.force = parse_kernel(kernel);
    o.both_ops = both_ops;
    o.constant_values = constant_values;
    op_a_ = o.op_a;
    op_b_ = o.op_b;
    keep_entries_ = entries;
    dispatch(value, index_bytes, [&]<class T, class I>() {
      const BatchView<T, I> a = batch_view<T, I>(entries);
      if (py::isinstance<py::int_>(n)) {
        const auto cols = n.cast<std::int64_t>();
        py::gil_scoped_release release;
        plan_ = std::make_unique<Variant>(std::in_place_type<Plan<T, I>>, a, cols, o);
      } else {
        const auto cols = n.cast<std::vector<std::int64_t>>();
        py::gil_scoped_release release;
        plan_ = std::make_unique<Variant>(std::in_place_type<Plan<T, I>>, a, cols, o);
      }
    });
  }

  // op_a: "" for the plan's own op, else "N" or "T" (the other op is prepared on first use).
  py::object execute(const py::sequence& b, const py::object& out, double alpha, double beta,
                     const std::string& op_a) const {
    const Op op = op_a.empty() ? op_a_ : parse_op(op_a, "op_a");
    return visit([&]<class T, class I>(const Plan<T, I>& plan) -> py::object {
      const DenseBatchView<const T> bv = dense_batch<const T>(b, "B");
      if (out.is_none()) {
        std::optional<DenseBatch<T>> c;
        {
          py::gil_scoped_release release;
          c = plan.execute(bv, op, static_cast<T>(alpha));
        }
        return adopt_batch(std::move(*c));
      }
      const DenseBatchView<T> cv = dense_batch<T>(out, "out");
      {
        py::gil_scoped_release release;
        plan.execute(cv, bv, static_cast<T>(alpha), static_cast<T>(beta), op);
      }
      return py::none();
    });
  }

  // C = alpha sum_i op(A_i) op(B_i) + beta C into out, or into a new array (out None).
  py::object execute_sum(const py::sequence& b, const py::object& out, double alpha, double beta,
                         const std::string& op_a) const {
    const Op op = op_a.empty() ? op_a_ : parse_op(op_a, "op_a");
    return visit([&]<class T, class I>(const Plan<T, I>& plan) -> py::object {
      const DenseBatchView<const T> bv = dense_batch<const T>(b, "B");
      py::object c = out;
      if (c.is_none()) {
        const BatchView<T, I> a = batch_view<T, I>(keep_entries_);
        const Shape shape = sum_shape<T, I>(a, bv, op, op_b_);
        c = aligned_zeros<T>(shape.rows, shape.cols);
      }
      const DenseView<T> cv = dense_view<T>(c, "out");
      {
        py::gil_scoped_release release;
        plan.execute_sum(cv, bv, static_cast<T>(alpha), static_cast<T>(beta), op);
      }
      return c;
    });
  }

  std::string explain() const {
    return visit([](const auto& plan) { return plan.explain(); });
  }
  std::size_t size() const {
    return visit([](const auto& plan) { return plan.size(); });
  }
  py::list choices() const {
    return visit([](const auto& plan) {
      py::list out;
      const auto& stats = plan.stats();
      const auto& choices = plan.choices();
      for (std::size_t i = 0; i < choices.size(); ++i) {
        py::dict d;
        d["entry"] = i;
        d["format"] = to_string(stats[i].format);
        d["shape"] = py::make_tuple(stats[i].rows, stats[i].cols);
        d["n"] = stats[i].n;
        d["nnz"] = stats[i].nnz;
        d["density"] = stats[i].density;
        d["kernel"] = to_string(choices[i].kernel);
        d["estimated_seconds"] = choices[i].estimated_seconds;
        d["reason"] = choices[i].reason;
        out.append(d);
      }
      return out;
    });
  }
  char value() const { return value_; }
  int index_bytes() const { return index_bytes_; }
  const py::object& keep() const { return keep_; }

 private:
  std::unique_ptr<Variant> plan_;
  char value_;
  int index_bytes_;
  Op op_a_ = Op::N;
  Op op_b_ = Op::N;
  py::object keep_;          // the caller's A (the objects the prepared entries came from)
  py::object keep_entries_;  // the prepared entries: the arrays the plan's views point into
};

}  // namespace

void init_bmm(py::module_& m) {
  m.def("bmm", &bmm, py::arg("entries"), py::arg("b"), py::arg("out"), py::arg("alpha"),
        py::arg("beta"), py::arg("value"), py::arg("index_bytes"), py::arg("op_a"), py::arg("op_b"),
        py::arg("threads"), py::arg("kernel"),
        "C_i = alpha op(A_i) op(B_i) (+ beta C_i into out) over prepared entries; see spbmm.bmm.");
  m.def("bmm_sum", &bmm_sum, py::arg("entries"), py::arg("b"), py::arg("out"), py::arg("alpha"),
        py::arg("beta"), py::arg("value"), py::arg("index_bytes"), py::arg("op_a"), py::arg("op_b"),
        py::arg("threads"), py::arg("kernel"),
        "C = alpha sum_i op(A_i) op(B_i) + beta C over prepared entries; see spbmm.bmm_sum.");
  m.def("multiply", &multiply, py::arg("entry"), py::arg("b"), py::arg("out"), py::arg("alpha"),
        py::arg("beta"), py::arg("value"), py::arg("index_bytes"), py::arg("op_a"), py::arg("op_b"),
        py::arg("threads"), py::arg("kernel"),
        "C = alpha op(A) op(B) (+ beta C into out) for one prepared entry; see spbmm.multiply.");

  py::class_<PyPlan>(m, "Plan")
      .def(py::init<const py::sequence&, const py::object&, char, int, const std::string&,
                    const std::string&, int, const std::string&, bool, bool, py::object>(),
           py::arg("entries"), py::arg("n"), py::arg("value"), py::arg("index_bytes"),
           py::arg("op_a"), py::arg("op_b"), py::arg("threads"), py::arg("kernel"),
           py::arg("both_ops"), py::arg("constant_values"), py::arg("keep"))
      .def("execute", &PyPlan::execute, py::arg("b"), py::arg("out"), py::arg("alpha"),
           py::arg("beta"), py::arg("op_a"))
      .def("execute_sum", &PyPlan::execute_sum, py::arg("b"), py::arg("out"), py::arg("alpha"),
           py::arg("beta"), py::arg("op_a"))
      .def("explain", &PyPlan::explain)
      .def("choices", &PyPlan::choices)
      .def("__len__", &PyPlan::size)
      .def_property_readonly("value", &PyPlan::value)
      .def_property_readonly("index_bytes", &PyPlan::index_bytes)
      .def_property_readonly("keep", &PyPlan::keep);
}

}  // namespace spbmm::python
