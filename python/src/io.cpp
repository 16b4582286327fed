// Matrix Market files: readers that hand their arrays to NumPy without a copy, and the writer.
#include <optional>

#include "common.hpp"

namespace spbmm::python {

namespace {

MmReadOptions read_options(bool expand_symmetry, int threads) {
  MmReadOptions o;
  o.expand_symmetry = expand_symmetry;
  o.threads = threads;
  return o;
}

// (rows, cols, indptr, indices, data) of a CSR matrix, arrays taken over from C++.
template <Value T, Index I>
py::tuple csr_tuple(CsrMatrix<T, I>&& m) {
  const std::int64_t rows = m.rows();
  const std::int64_t cols = m.cols();
  auto owner = std::make_shared<CsrMatrix<T, I>>(std::move(m));
  const auto n = [](const auto& v) { return static_cast<py::ssize_t>(v.size()); };
  // A 0-row matrix may come with no row pointers; scipy wants rows + 1 of them.
  py::array_t<I> indptr = owner->row_ptr().empty() ? py::array_t<I>(py::ssize_t{rows + 1})
                                                   : adopt<I>(owner, owner->row_ptr().data(),
                                                              {n(owner->row_ptr())}, {1});
  if (owner->row_ptr().empty()) std::fill_n(indptr.mutable_data(), rows + 1, I(0));
  return py::make_tuple(rows, cols, indptr,
                        adopt<I>(owner, owner->col_idx().data(), {n(owner->col_idx())}, {1}),
                        adopt<T>(owner, owner->values().data(), {n(owner->values())}, {1}));
}

template <Value T, Index I>
py::tuple coo_tuple(CooMatrix<T, I>&& m) {
  const std::int64_t rows = m.rows();
  const std::int64_t cols = m.cols();
  auto owner = std::make_shared<CooMatrix<T, I>>(std::move(m));
  const auto n = static_cast<py::ssize_t>(owner->nnz());
  return py::make_tuple(rows, cols, adopt<I>(owner, owner->row_idx().data(), {n}, {1}),
                        adopt<I>(owner, owner->col_idx().data(), {n}, {1}),
                        adopt<T>(owner, owner->values().data(), {n}, {1}));
}

py::object read(const std::string& path, const std::string& format, char value, int index_bytes,
                bool expand_symmetry, int threads) {
  const MmReadOptions o = read_options(expand_symmetry, threads);
  return dispatch(value, index_bytes, [&]<class T, class I>() -> py::object {
    if (format == "csr") {
      std::optional<CsrMatrix<T, I>> m;
      {
        py::gil_scoped_release release;
        m = read_matrix_market_csr<T, I>(path, o);
      }
      return csr_tuple(std::move(*m));
    }
    if (format == "coo") {
      std::optional<CooMatrix<T, I>> m;
      {
        py::gil_scoped_release release;
        m = read_matrix_market_coo<T, I>(path, o);
      }
      return coo_tuple(std::move(*m));
    }
    if (format == "dense") {
      std::optional<DenseMatrix<T>> m;
      {
        py::gil_scoped_release release;
        m = read_matrix_market_dense<T>(path, Layout::RowMajor, o);
      }
      auto owner = std::make_shared<DenseMatrix<T>>(std::move(*m));
      const py::ssize_t r = owner->rows();
      const py::ssize_t c = owner->cols();
      return adopt<T>(owner, owner->values().data(), {r, c}, {c, 1});
    }
    throw InvalidArgument("format must be 'csr', 'coo' or 'dense', not '" + format + "'");
  });
}

// The files of a batch as CSR tuples whose arrays are views of the batch's concatenated arrays.
py::list read_csr_batch(const std::vector<std::string>& paths, char value, int index_bytes,
                        bool expand_symmetry, int threads) {
  const MmReadOptions o = read_options(expand_symmetry, threads);
  return dispatch(value, index_bytes, [&]<class T, class I>() {
    std::shared_ptr<CsrBatch<T, I>> owner;
    {
      py::gil_scoped_release release;
      owner = std::make_shared<CsrBatch<T, I>>(read_matrix_market_csr_batch<T, I>(paths, o));
    }
    py::list out;
    for (std::size_t i = 0; i < owner->size(); ++i) {
      const py::ssize_t rows = owner->rows(i);
      const py::ssize_t nnz = owner->nnz(i);
      const I* rp = owner->row_ptr().data() + owner->row_ptr_offset(i);
      const std::int64_t at = owner->nnz_offset(i);
      out.append(py::make_tuple(rows, owner->cols(i), adopt<I>(owner, rp, {rows + 1}, {1}),
                                adopt<I>(owner, owner->col_idx().data() + at, {nnz}, {1}),
                                adopt<T>(owner, owner->values().data() + at, {nnz}, {1})));
    }
    return out;
  });
}

py::dict header(const std::string& path) {
  const MatrixMarketHeader h = read_matrix_market_header(path);
  py::dict d;
  d["object"] = to_string(h.object);
  d["format"] = to_string(h.format);
  d["field"] = to_string(h.field);
  d["symmetry"] = to_string(h.symmetry);
  d["rows"] = h.rows;
  d["cols"] = h.cols;
  d["nnz"] = h.nnz;
  d["banner"] = h.banner;
  d["comments"] = h.comments;
  return d;
}

MmField parse_field(const std::string& s) {
  if (s == "real") return MmField::Real;
  if (s == "integer") return MmField::Integer;
  if (s == "pattern") return MmField::Pattern;
  throw InvalidArgument("field must be 'real', 'integer' or 'pattern', not '" + s + "'");
}

MmSymmetry parse_symmetry(const std::string& s) {
  if (s == "general") return MmSymmetry::General;
  if (s == "symmetric") return MmSymmetry::Symmetric;
  if (s == "skew-symmetric") return MmSymmetry::SkewSymmetric;
  throw InvalidArgument("symmetry must be 'general', 'symmetric' or 'skew-symmetric', not '" + s +
                        "'");
}

// Writes one prepared entry (the tuple spbmm/_inputs.py makes for an A entry).
void write(const std::string& path, const py::object& entry, char value, int index_bytes,
           const std::string& format, const std::string& field, const std::string& symmetry,
           int precision, const std::vector<std::string>& comments, int threads) {
  MmWriteOptions o;
  if (format == "coordinate") {
    o.format = MmFormat::Coordinate;
  } else if (format == "array") {
    o.format = MmFormat::Array;
  } else if (!format.empty()) {
    throw InvalidArgument("format must be 'coordinate' or 'array', not '" + format + "'");
  }
  o.field = parse_field(field);
  o.symmetry = parse_symmetry(symmetry);
  o.precision = precision;
  o.comments = comments;
  o.threads = threads;
  dispatch(value, index_bytes, [&]<class T, class I>() {
    const MatrixView<T, I> m = entry_view<T, I>(entry, "matrix");
    py::gil_scoped_release release;
    std::visit([&](const auto& v) { write_matrix_market(path, v, o); }, m);
  });
}

}  // namespace

void init_io(py::module_& m) {
  m.def("read", &read, py::arg("path"), py::arg("format"), py::arg("value"), py::arg("index_bytes"),
        py::arg("expand_symmetry"), py::arg("threads"));
  m.def("read_csr_batch", &read_csr_batch, py::arg("paths"), py::arg("value"),
        py::arg("index_bytes"), py::arg("expand_symmetry"), py::arg("threads"));
  m.def("read_header", &header, py::arg("path"));
  m.def("list_matrix_market_files", &list_matrix_market_files, py::arg("directory"));
  m.def("write", &write, py::arg("path"), py::arg("entry"), py::arg("value"),
        py::arg("index_bytes"), py::arg("format"), py::arg("field"), py::arg("symmetry"),
        py::arg("precision"), py::arg("comments"), py::arg("threads"));
}

}  // namespace spbmm::python
