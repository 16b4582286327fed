// The extension module spbmm._spbmm; the package spbmm (python/spbmm) is its Python face.
#include "common.hpp"

PYBIND11_MODULE(_spbmm, m) {
  m.doc() = "spbmm's C++ library: batched sparse and dense matrix products.";
  spbmm::python::init_errors(m);
  spbmm::python::init_config(m);
  spbmm::python::init_bmm(m);
  spbmm::python::init_io(m);
  spbmm::python::init_training(m);
  spbmm::python::init_reorder(m);
}
