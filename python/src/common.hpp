// What every binding file shares: type dispatch, NumPy arrays as spbmm views and C++ storage as
// NumPy arrays, and the module's init functions (one per area).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "spbmm/spbmm.hpp"

namespace spbmm::python {

namespace py = pybind11;

// The kinds of an A entry as spbmm/_inputs.py prepares them (a tuple whose first item is the kind):
//   (kEntryDense, array2d)
//   (kEntryCsr, rows, cols, indptr, indices, data)
//   (kEntryCoo, rows, cols, row, col, data)
inline constexpr int kEntryDense = 0;
inline constexpr int kEntryCsr = 1;
inline constexpr int kEntryCoo = 2;

// Calls f.template operator()<T, I>() for a value type code ('f': float, 'd': double) and an
// index width in bytes (4 or 8): the four instantiations the library provides.
template <class F>
decltype(auto) dispatch(char value, int index_bytes, F&& f) {
  if (value == 'f' && index_bytes == 4) return f.template operator()<float, std::int32_t>();
  if (value == 'f' && index_bytes == 8) return f.template operator()<float, std::int64_t>();
  if (value == 'd' && index_bytes == 4) return f.template operator()<double, std::int32_t>();
  if (value == 'd' && index_bytes == 8) return f.template operator()<double, std::int64_t>();
  throw InvalidArgument(std::string("unsupported types: value '") + value + "', index of " +
                        std::to_string(index_bytes) + " bytes (float32/float64 values, " +
                        "int32/int64 indices)");
}

template <class T>
const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  if constexpr (std::is_same_v<T, double>) return "float64";
  if constexpr (std::is_same_v<T, std::int32_t>) return "int32";
  return "int64";
}

Op parse_op(const std::string& text, const char* name);
Kernel parse_kernel(const std::string& text);

// A 2-D NumPy array of T (T may be const) as a view: row- or column-major with unit stride along
// one axis and any leading dimension, so slices and transposes are wrapped without a copy.
// InvalidArgument naming `what` for another dtype, rank or stride pattern; a mutable view needs a
// writeable array.
template <class T>
DenseView<T> dense_view(const py::handle& obj, const std::string& what) {
  using V = std::remove_const_t<T>;
  if (!py::isinstance<py::array_t<V, 0>>(obj)) {
    throw InvalidArgument(what + ": expected a NumPy array of " + dtype_name<V>());
  }
  const auto a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 2) {
    throw InvalidArgument(what + ": expected a 2-D array, got " + std::to_string(a.ndim()) +
                          " dimensions");
  }
  if constexpr (!std::is_const_v<T>) {
    if (!a.writeable()) throw InvalidArgument(what + ": the array is read-only");
  }
  T* data = static_cast<V*>(const_cast<void*>(a.data()));
  const std::int64_t r = a.shape(0);
  const std::int64_t c = a.shape(1);
  if (r == 0 || c == 0) return DenseView<T>(data, r, c);
  const std::int64_t sz = sizeof(V);
  const std::int64_t s0 = a.strides(0);
  const std::int64_t s1 = a.strides(1);
  // A stride along an axis of length 1 is never used, so numpy may set it to anything.
  if ((s1 == sz || c == 1) && (r == 1 || (s0 > 0 && s0 % sz == 0 && s0 / sz >= c))) {
    return DenseView<T>(data, r, c, Layout::RowMajor, r == 1 ? c : s0 / sz);
  }
  if ((s0 == sz || r == 1) && (c == 1 || (s1 > 0 && s1 % sz == 0 && s1 / sz >= r))) {
    return DenseView<T>(data, r, c, Layout::ColMajor, c == 1 ? r : s1 / sz);
  }
  throw InvalidArgument(what + ": strides (" + std::to_string(s0) + ", " + std::to_string(s1) +
                        ") have no unit-stride axis");
}

// The data of a 1-D contiguous NumPy array of X holding `length` elements.
template <class X>
const X* vector_data(const py::handle& obj, std::int64_t length, const std::string& what) {
  if (!py::isinstance<py::array_t<X, 0>>(obj)) {
    throw InvalidArgument(what + ": expected a NumPy array of " + dtype_name<X>());
  }
  const auto a = py::reinterpret_borrow<py::array>(obj);
  if (a.ndim() != 1) throw InvalidArgument(what + ": expected a 1-D array");
  if (a.shape(0) > 1 && a.strides(0) != static_cast<py::ssize_t>(sizeof(X))) {
    throw InvalidArgument(what + ": expected a contiguous array");
  }
  if (a.shape(0) < length) {
    throw FormatError(what + ": holds " + std::to_string(a.shape(0)) + " values, needs " +
                      std::to_string(length));
  }
  return static_cast<const X*>(a.data());
}

// One prepared A entry (see kEntryDense) as the view the library takes. Array lengths are
// checked here (the library cannot see them); everything else is the library's validation.
template <Value T, Index I>
MatrixView<T, I> entry_view(const py::handle& obj, const std::string& what) {
  const auto t = py::reinterpret_borrow<py::tuple>(obj);
  const int kind = t[0].cast<int>();
  if (kind == kEntryDense) return dense_view<const T>(t[1], what);
  if (kind != kEntryCsr && kind != kEntryCoo) {
    throw InvalidArgument(what + ": unknown entry kind " + std::to_string(kind));
  }
  const auto rows = t[1].cast<std::int64_t>();
  const auto cols = t[2].cast<std::int64_t>();
  if (rows < 0 || cols < 0) {
    throw FormatError(what + ": negative shape " + std::to_string(rows) + "x" +
                      std::to_string(cols));
  }
  if (kind == kEntryCsr) {
    const auto rp_len = py::len(t[3]);
    if (static_cast<std::int64_t>(rp_len) != rows + 1) {
      throw FormatError(what + ": " + std::to_string(rp_len) + " row pointers for " +
                        std::to_string(rows) + " rows (expected rows + 1)");
    }
    const I* row_ptr = vector_data<I>(t[3], rows + 1, what + " row pointers");
    const std::int64_t nnz = row_ptr[rows];
    if (nnz < 0) throw FormatError(what + ": last row pointer " + std::to_string(nnz) + " < 0");
    const I* col_idx = vector_data<I>(t[4], nnz, what + " column indices");
    const T* values = vector_data<T>(t[5], nnz, what + " values");
    return CsrView<T, I>{rows, cols, row_ptr, col_idx, values};
  }
  const auto nnz = static_cast<std::int64_t>(py::len(t[5]));
  const I* row_idx = vector_data<I>(t[3], nnz, what + " row indices");
  const I* col_idx = vector_data<I>(t[4], nnz, what + " column indices");
  const T* values = vector_data<T>(t[5], nnz, what + " values");
  if (static_cast<std::int64_t>(py::len(t[3])) != nnz ||
      static_cast<std::int64_t>(py::len(t[4])) != nnz) {
    throw FormatError(what + ": row, column and value arrays differ in length");
  }
  return CooView<T, I>{rows, cols, nnz, row_idx, col_idx, values};
}

template <Value T, Index I>
BatchView<T, I> batch_view(const py::sequence& entries) {
  std::vector<MatrixView<T, I>> views;
  views.reserve(py::len(entries));
  for (std::size_t i = 0; i < py::len(entries); ++i) {
    views.push_back(entry_view<T, I>(entries[i], "A entry " + std::to_string(i)));
  }
  return BatchView<T, I>(std::move(views));
}

// A list of 2-D arrays as a dense batch; "B entry i" / "out entry i" in messages.
template <class T>
DenseBatchView<T> dense_batch(const py::sequence& arrays, const char* operand) {
  std::vector<DenseView<T>> views;
  views.reserve(py::len(arrays));
  for (std::size_t i = 0; i < py::len(arrays); ++i) {
    views.push_back(dense_view<T>(arrays[i], std::string(operand) + " entry " + std::to_string(i)));
  }
  return DenseBatchView<T>(std::move(views));
}

// Moves `storage` to the heap and returns a NumPy array over `data` (shape and strides in
// elements) that keeps it alive: C++ results reach Python without a copy.
template <class X, class Storage>
py::array_t<X> adopt(std::shared_ptr<Storage> owner, const X* data, std::vector<py::ssize_t> shape,
                     std::vector<py::ssize_t> strides) {
  for (auto& s : strides) s *= static_cast<py::ssize_t>(sizeof(X));
  auto* holder = new std::shared_ptr<Storage>(std::move(owner));
  py::capsule base(holder, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array_t<X>(std::move(shape), std::move(strides), data, base);
}

// A vector as a 1-D NumPy array without copying.
template <class X>
py::array_t<X> adopt_vector(std::vector<X>&& v) {
  auto owner = std::make_shared<std::vector<X>>(std::move(v));
  const auto n = static_cast<py::ssize_t>(owner->size());
  const X* data = owner->data();
  return adopt<X>(std::move(owner), data, {n}, {1});
}

// A new zero-filled row-major 2-D NumPy array over the library's 64-byte aligned storage (so that
// C is written with streaming stores, as in the library's own results).
template <Value T>
py::array_t<T> aligned_zeros(std::int64_t rows, std::int64_t cols) {
  auto owner = std::make_shared<DenseMatrix<T>>(rows, cols);
  const T* data = owner->values().data();
  return adopt<T>(std::move(owner), data, {rows, cols}, {cols, 1});
}

// A new 1-D NumPy array of n values (uninitialized) over 64-byte aligned storage.
template <Value T>
py::array_t<T> aligned_vector(std::int64_t n) {
  auto owner = std::make_shared<AlignedVector<T>>(static_cast<std::size_t>(n));
  const T* data = owner->data();
  return adopt<T>(std::move(owner), data, {n}, {1});
}

// Every entry of a dense batch as a 2-D NumPy array over the batch's one buffer.
template <Value T>
py::list adopt_batch(DenseBatch<T>&& batch) {
  auto owner = std::make_shared<DenseBatch<T>>(std::move(batch));
  py::list out;
  for (std::size_t i = 0; i < owner->size(); ++i) {
    const DenseView<const T> e = std::as_const(*owner).entry(i);
    const bool row = e.layout == Layout::RowMajor;
    out.append(adopt<T>(owner, e.data, {e.rows, e.cols},
                        {row ? e.ld : py::ssize_t{1}, row ? py::ssize_t{1} : e.ld}));
  }
  return out;
}

// One init function per area; module.cpp calls them all.
void init_errors(py::module_& m);
void init_config(py::module_& m);
void init_bmm(py::module_& m);
void init_reorder(py::module_& m);
void init_io(py::module_& m);
void init_training(py::module_& m);

}  // namespace spbmm::python
