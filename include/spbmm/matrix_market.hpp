// Matrix Market (.mtx) reading and writing for single matrices and ragged batches.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/types.hpp"

namespace spbmm {

// The four banner tokens of "%%MatrixMarket object format field symmetry".
enum class MmObject : std::uint8_t { Matrix, Vector };
enum class MmFormat : std::uint8_t { Coordinate, Array };
// UnsignedInteger is "unsigned-integer", which scipy and fast_matrix_market write for unsigned
// integer arrays.
enum class MmField : std::uint8_t { Real, Double, Integer, Pattern, Complex, UnsignedInteger };
enum class MmSymmetry : std::uint8_t { General, Symmetric, SkewSymmetric, Hermitian };

// Lower-case spellings as they appear in a banner ("skew-symmetric", ...).
const char* to_string(MmObject object) noexcept;
const char* to_string(MmFormat format) noexcept;
const char* to_string(MmField field) noexcept;
const char* to_string(MmSymmetry symmetry) noexcept;

// What the banner and the size line of a file say.
struct MatrixMarketHeader {
  MmObject object = MmObject::Matrix;
  MmFormat format = MmFormat::Coordinate;
  MmField field = MmField::Real;
  MmSymmetry symmetry = MmSymmetry::General;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  // Stored entries: the size line's nnz (coordinate), or the number of values the array body
  // holds (rows * cols, or one triangle for symmetric and skew-symmetric arrays).
  std::int64_t nnz = 0;
  std::string banner;            // the banner line as written (line ending and trailing blanks cut)
  std::int64_t banner_line = 1;  // 1-based line numbers in the file
  std::int64_t size_line = 0;
  // Comment lines between banner and size line: the text after the first '%', exactly (blanks
  // included; only the line ending is cut), so that "% text" gives " text" and "%%GraphBLAS"
  // gives "%GraphBLAS". MmWriteOptions::comments takes the same form.
  std::vector<std::string> comments;
};

struct MmReadOptions {
  // Symmetric and skew-symmetric files: true adds the mirror of every off-diagonal entry
  // ((j,i,v), or (j,i,-v) for skew); false returns the stored entries exactly as stored.
  bool expand_symmetry = true;
  // Threads for parsing; 0 uses the OpenMP default (1 when called from inside a parallel region);
  // negative is an InvalidArgument.
  int threads = 0;
  // read_matrix_market_dense of a coordinate file: bytes the dense result may take (see
  // dense_limit() in convert.hpp); 0: the process-wide dense_limit(). LimitError beyond it,
  // before the body is read. (An array file holds every value, so its size bounds its result.)
  std::uint64_t dense_limit = 0;
};

// Leniencies every reader shares: banner words in any letter case, a banner with a single '%'
// (NetworkRepository), blank lines or a UTF-8 byte order mark before it, comment and blank lines
// anywhere after it, CRLF or bare CR line endings, tabs, repeated and trailing blanks, a missing
// final newline.
//
// Reads the banner and size line only; checks their syntax and the token combinations
// (array+pattern and pattern+skew-symmetric are rejected). Complex files are described, not
// rejected. A hermitian file with real, integer or pattern values is described as hermitian and
// read as symmetric (the conjugate of a real value is itself), as fast_matrix_market reads it.
// Throws IoError when the file cannot be opened and ParseError("file:line: problem") for a
// malformed header.
MatrixMarketHeader read_matrix_market_header(const std::string& path);

// Reads a coordinate or array file. Entries keep the file's order (mirrors of a symmetric file
// follow all stored entries, in the same order). Duplicate triplets stay separate triplets here
// (COO means their sum); the CSR and dense readers sum them in file order. Array files yield their
// nonzero values (NaN counts as nonzero) in column-major order. Rows or cols (or the expanded nnz)
// that do not fit I raise LimitError; every syntax or range problem raises ParseError naming the
// file and line ("file:line: problem"). Values: fields "integer" and "unsigned-integer" are read
// as integers, exactly within 64 bits and as the nearest T beyond (LAGraph writes uint64 values
// with field "integer"), then converted to T; a negative value in an "unsigned-integer" file is
// an error. Real literals that overflow T (e.g. 1e999, or 1e39 for float) are an error, those
// that underflow read as the nearest value (as strtod does); inf, -inf and nan are
// accepted. Complex files: ParseError "complex values are not supported". Vector
// objects: ParseError "... not supported". Pattern entries are 1 (a value column, if present, is
// ignored). IoError when the file cannot be opened.
template <Value T, Index I>
CooMatrix<T, I> read_matrix_market_coo(const std::string& path, const MmReadOptions& options = {});

// As read_matrix_market_coo, then canonical CSR (columns sorted, duplicates summed in file order,
// explicit zeros kept), built with a counting sort.
template <Value T, Index I>
CsrMatrix<T, I> read_matrix_market_csr(const std::string& path, const MmReadOptions& options = {});

// Reads an array file (or a coordinate file, summing duplicates) into a dense matrix.
template <Value T>
DenseMatrix<T> read_matrix_market_dense(const std::string& path, Layout layout = Layout::RowMajor,
                                        const MmReadOptions& options = {});

// The *.mtx files (any letter case of the extension) directly inside `dir`, sorted by name.
// IoError when `dir` is not a readable directory.
std::vector<std::string> list_matrix_market_files(const std::string& dir);

// Ragged batches: entry i is paths[i]. Any error names the file it comes from.
template <Value T, Index I>
CsrBatch<T, I> read_matrix_market_csr_batch(const std::vector<std::string>& paths,
                                            const MmReadOptions& options = {});
template <Value T, Index I>
CooBatch<T, I> read_matrix_market_coo_batch(const std::vector<std::string>& paths,
                                            const MmReadOptions& options = {});
// The same for every *.mtx file in `dir`, in name order.
template <Value T, Index I>
CsrBatch<T, I> read_matrix_market_csr_dir(const std::string& dir,
                                          const MmReadOptions& options = {});
template <Value T, Index I>
CooBatch<T, I> read_matrix_market_coo_dir(const std::string& dir,
                                          const MmReadOptions& options = {});

struct MmWriteOptions {
  // Coordinate or array; unset means coordinate for sparse input and array for dense input.
  std::optional<MmFormat> format;
  // Real (the default; Double is written as "real"), Integer, UnsignedInteger or Pattern
  // (coordinate only; values are not written). The integer fields need integer values (else
  // InvalidArgument naming the value, before anything is written) and write them exactly.
  // Integer holds -2^63 .. 2^63-1 and UnsignedInteger 0 .. 2^64-1; the double 2^63 (2^64), which
  // is what 2^63-1 (2^64-1) reads as, is written as that maximum. One rule for integers beyond
  // the range (which the reader accepts): the file is written with field real instead, so every
  // value reads back as the same double, in spbmm and in readers whose integers are 64 bits.
  MmField field = MmField::Real;
  // General, or a symmetry the caller asserts: only the lower triangle (row >= col; row > col for
  // skew-symmetric) is written and the rest is assumed to mirror it. Not verified. Hermitian is
  // rejected (complex values are not supported).
  MmSymmetry symmetry = MmSymmetry::General;
  // Significant digits for values; 0 writes the shortest text that reads back to the same value.
  int precision = 0;
  // Comment lines written after the banner as '%' followed by the text exactly (start it with a
  // blank for "% text"); the form MatrixMarketHeader::comments has, so comments pass through
  // unchanged. A text with newlines becomes several lines.
  std::vector<std::string> comments;
  // Threads for formatting; 0 uses the OpenMP default; negative is an InvalidArgument.
  int threads = 0;
  // Sparse data written as an array is first copied to dense: bytes that copy may take (see
  // dense_limit() in convert.hpp); 0: the process-wide dense_limit(). LimitError beyond it.
  std::uint64_t dense_limit = 0;
};

// Writes one matrix (1-based indices; banner and size line per the specification). Duplicate COO
// triplets are written as they are. The matrix is validated first (FormatError as validate()
// reports it; nothing is written). The file is written whole or not at all: the text goes to a
// temporary file in the same directory, which is closed and renamed over `path` only when
// complete; on any failure the temporary is removed and an existing file at `path` is
// left untouched. (A `path` that exists and is not a regular file, such as /dev/stdout, is
// written in place.) IoError naming the path and the reason when the file cannot be written;
// InvalidArgument for an option the data cannot honour (e.g. a non-integer value with field
// Integer).
template <Value T, Index I>
void write_matrix_market(const std::string& path, const CsrView<T, I>& a,
                         const MmWriteOptions& options = {});
template <Value T, Index I>
void write_matrix_market(const std::string& path, const CooView<T, I>& a,
                         const MmWriteOptions& options = {});
template <Value T>
void write_matrix_market(const std::string& path, const DenseView<const T>& a,
                         const MmWriteOptions& options = {});

// Writes entry i of a batch to dir/names[i], or dir/entry_00000.mtx, entry_00001.mtx, ... when
// `names` is empty (otherwise names.size() must equal the batch size). Creates `dir` if needed.
// Every entry is written to a temporary first and the temporaries are renamed into place only
// when all are complete, so a failure replaces none of the files. Returns the paths written.
template <Value T, Index I>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const CsrBatch<T, I>& a,
                                                 const MmWriteOptions& options = {},
                                                 const std::vector<std::string>& names = {});
template <Value T, Index I>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const CooBatch<T, I>& a,
                                                 const MmWriteOptions& options = {},
                                                 const std::vector<std::string>& names = {});
// Dense entries (written as arrays unless options.format says coordinate).
template <Value T>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const DenseBatch<T>& a,
                                                 const MmWriteOptions& options = {},
                                                 const std::vector<std::string>& names = {});

}  // namespace spbmm
