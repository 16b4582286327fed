// Node orders: reverse Cuthill-McKee over a graph's pattern (spbmm/reorder.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"
#include "spbmm/reorder.hpp"

namespace spbmm::python {

namespace {

// The order of a CSR pattern given as NumPy index arrays of one integer type.
template <Index I>
py::array_t<I> order_of(std::int64_t rows, std::int64_t cols, const py::array& indptr_in,
                        const py::array& indices_in) {
  using Arr = py::array_t<I, py::array::c_style | py::array::forcecast>;
  const Arr indptr = Arr::ensure(indptr_in);
  const Arr indices = Arr::ensure(indices_in);
  if (!indptr || !indices || indptr.ndim() != 1 || indices.ndim() != 1) {
    throw InvalidArgument("rcm_order: indptr and indices must be 1-D integer arrays");
  }
  if (rows < 0 || indptr.size() != rows + 1) {
    throw InvalidArgument("rcm_order: indptr has " + std::to_string(indptr.size()) +
                          " elements; expected rows + 1 = " + std::to_string(rows + 1));
  }
  // The pattern is read up to indptr[rows]: it must name exactly the indices given.
  if (static_cast<std::int64_t>(indptr.data()[rows]) != static_cast<std::int64_t>(indices.size())) {
    throw InvalidArgument("rcm_order: indptr[rows] is " +
                          std::to_string(static_cast<std::int64_t>(indptr.data()[rows])) +
                          " but there are " + std::to_string(indices.size()) + " indices");
  }
  std::vector<I> order;
  {
    py::gil_scoped_release release;
    // The order reads the pattern alone; the view's values are never read.
    const std::vector<float> values(static_cast<std::size_t>(indices.size()));
    const CsrView<float, I> a{rows, cols, indptr.data(), indices.data(), values.data()};
    order = rcm_order(a);
  }
  return adopt_vector(std::move(order));
}

}  // namespace

void init_reorder(py::module_& m) {
  m.def(
      "rcm_order",
      [](std::int64_t rows, std::int64_t cols, const py::array& indptr,
         const py::array& indices) -> py::object {
        if (indptr.dtype().itemsize() == 8 || indices.dtype().itemsize() == 8) {
          return order_of<std::int64_t>(rows, cols, indptr, indices);
        }
        return order_of<std::int32_t>(rows, cols, indptr, indices);
      },
      py::arg("rows"), py::arg("cols"), py::arg("indptr"), py::arg("indices"),
      "Reverse Cuthill-McKee node order of a square CSR pattern; see spbmm.rcm_order.");
}

}  // namespace spbmm::python
