// Names of the basic enums, for messages and explain() tables.
#include "spbmm/types.hpp"

namespace spbmm {

const char* to_string(Layout layout) noexcept {
  return layout == Layout::RowMajor ? "row-major" : "column-major";
}

const char* to_string(Op op) noexcept { return op == Op::N ? "N" : "T"; }

const char* to_string(Format format) noexcept {
  switch (format) {
    case Format::Dense:
      return "dense";
    case Format::Csr:
      return "CSR";
    case Format::Coo:
      return "COO";
  }
  return "?";
}

}  // namespace spbmm
