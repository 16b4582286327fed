// `spbmm info` and `spbmm convert`: describe and rewrite Matrix Market files.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "io/atomic_file.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

namespace spbmm::cli {

namespace {

constexpr const char* kInfoHelp =
    "usage: spbmm info FILE|DIR...\n"
    "\n"
    "Describes each Matrix Market file: its banner, shape, stored entries, nnz after expanding\n"
    "symmetry and summing duplicates, density, symmetry, and the min/mean/max row length.\n"
    "Memory follows the entries, not the shape: a file declaring far more rows than entries\n"
    "(say 2^40 x 2^40 with 3 entries) is described from its entries alone.\n"
    "A directory is described as the batch its .mtx files form (sorted by name, as `spbmm\n"
    "multiply DIR` reads them): a line per entry, then the number of entries, the total nnz,\n"
    "and the range of rows, columns, nnz and density over the entries.\n"
    "Exit status: 0 when every file reads, 1 when one does not, 2 for bad usage.\n"
    "\n"
    "example: spbmm info data/mm/coord_real_general.mtx matrices/*.mtx\n"
    "example: spbmm info data/demo\n";

constexpr const char* kConvertHelp =
    "usage: spbmm convert IN OUT [--expand-symmetry] [--to coordinate|array]\n"
    "\n"
    "Rewrites the Matrix Market file IN as OUT with 1-based indices and the shortest text that\n"
    "reads back to the same double values. The field (real, integer, unsigned-integer, pattern)\n"
    "is kept, and so are the comment lines before the size line, exactly as written. A\n"
    "symmetric or skew-symmetric file stays so (entries stored above the diagonal are moved\n"
    "below it) unless --expand-symmetry writes the full matrix as general; a hermitian file with\n"
    "real values is written as symmetric. --to picks the output format (default: that of IN);\n"
    "array output writes every value, coordinate output from an array file writes the nonzero\n"
    "values.\n"
    "OUT is checked before IN is read, and written whole or not at all: the text goes to a\n"
    "temporary file beside OUT that replaces it only when complete, so a failure leaves no\n"
    "partial file and an existing OUT untouched (IN and OUT may be the same file).\n"
    "Exit status: 0 on success, 1 for bad input or an OUT that cannot be written, 2 for bad\n"
    "usage.\n"
    "\n"
    "example: spbmm convert bcsstk13.mtx bcsstk13_full.mtx --expand-symmetry\n";

// Runs fn and turns an exception into one line on stderr and an exit status.
template <class Fn>
int guarded(const char* cmd, Fn&& fn) {
  try {
    return fn();
  } catch (const Error& e) {
    std::fprintf(stderr, "spbmm %s: %s\n", cmd, e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "spbmm %s: out of memory\n", cmd);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spbmm %s: %s\n", cmd, e.what());
    return 1;
  }
}

int usage_error(const char* cmd, const std::string& msg) {
  std::fprintf(stderr, "spbmm %s: %s (see spbmm %s --help)\n", cmd, msg.c_str(), cmd);
  return 2;
}

// What `info` reports of one file.
struct FileStats {
  MatrixMarketHeader header;
  std::int64_t nnz = 0;  // symmetry expanded, duplicates summed
  std::int64_t min_row = 0, max_row = 0;

  double density() const {
    const double cells = static_cast<double>(header.rows) * static_cast<double>(header.cols);
    return cells > 0 ? static_cast<double>(nnz) / cells : 0.0;
  }
};

// The same in one pass when the triplets are strictly sorted by (row, column), as the files
// written from CSR are: row lengths are then the runs of equal rows. False when they are not.
template <class I>
bool sorted_stats(const I* r, const I* c, std::size_t n, std::int64_t rows, FileStats& st) {
  for (std::size_t k = 1; k < n; ++k) {
    if (r[k] < r[k - 1] || (r[k] == r[k - 1] && c[k] <= c[k - 1])) return false;
  }
  std::int64_t rows_seen = 0, min_len = INT64_MAX, max_len = 0;
  for (std::size_t k = 0; k < n;) {
    std::size_t e = k + 1;
    while (e < n && r[e] == r[k]) ++e;
    const auto len = static_cast<std::int64_t>(e - k);
    min_len = std::min(min_len, len);
    max_len = std::max(max_len, len);
    ++rows_seen;
    k = e;
  }
  st.nnz = static_cast<std::int64_t>(n);
  if (rows > 0) {
    st.min_row = rows_seen < rows ? 0 : min_len;
    st.max_row = max_len;
  }
  return true;
}

// nnz and row-length range from the pattern of the triplets alone: the column indices are
// bucketed by row (a counting sort), then each row's distinct columns are counted. No CSR and no
// values are built: `info` prints counts, and every byte a fresh process touches costs it a page
// fault.
template <class I>
void pattern_stats(const CooMatrix<double, I>& m, FileStats& st) {
  const auto rows = static_cast<std::size_t>(m.rows());
  const std::size_t n = m.row_idx().size();
  const I* r = m.row_idx().data();
  const I* c = m.col_idx().data();
  if (sorted_stats(r, c, n, m.rows(), st)) return;
  std::vector<I> start(rows + 1, I(0));
  for (std::size_t k = 0; k < n; ++k) ++start[static_cast<std::size_t>(r[k]) + 1];
  for (std::size_t i = 0; i < rows; ++i) start[i + 1] += start[i];
  std::vector<I> cols(n);
  {
    std::vector<I> next(start.begin(), start.end() - 1);
    for (std::size_t k = 0; k < n; ++k) cols[static_cast<std::size_t>(next[r[k]]++)] = c[k];
  }
  std::int64_t nnz = 0, min_len = INT64_MAX, max_len = 0;
  const auto nrows = static_cast<std::int64_t>(rows);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1024) reduction(+ : nnz) reduction(min : min_len) \
    reduction(max : max_len) if (n > 100000)
#endif
  for (std::int64_t i = 0; i < nrows; ++i) {
    I* b = cols.data() + start[static_cast<std::size_t>(i)];
    I* e = cols.data() + start[static_cast<std::size_t>(i) + 1];
    bool strictly_sorted = true;
    for (I* p = b; p + 1 < e && strictly_sorted; ++p) strictly_sorted = p[0] < p[1];
    if (!strictly_sorted) {
      std::sort(b, e);
      e = std::unique(b, e);
    }
    const auto len = static_cast<std::int64_t>(e - b);
    nnz += len;
    min_len = std::min(min_len, len);
    max_len = std::max(max_len, len);
  }
  st.nnz = nnz;
  if (rows > 0) {
    st.min_row = min_len;
    st.max_row = max_len;
  }
}

// The same from the COO triplets sorted by position: memory follows the entries alone, for a
// file whose rows far outnumber its entries (a 2^40 x 2^40 matrix with 3 entries).
void coo_stats(const std::string& path, FileStats& st) {
  const CooMatrix<double, std::int64_t> m = read_matrix_market_coo<double, std::int64_t>(path);
  std::vector<std::pair<std::int64_t, std::int64_t>> pos(m.row_idx().size());
  for (std::size_t k = 0; k < pos.size(); ++k) pos[k] = {m.row_idx()[k], m.col_idx()[k]};
  std::sort(pos.begin(), pos.end());
  pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
  st.nnz = static_cast<std::int64_t>(pos.size());
  std::int64_t rows_seen = 0, min_len = INT64_MAX, max_len = 0;
  for (std::size_t k = 0; k < pos.size();) {
    std::size_t e = k;
    while (e < pos.size() && pos[e].first == pos[k].first) ++e;
    const auto len = static_cast<std::int64_t>(e - k);
    min_len = std::min(min_len, len);
    max_len = std::max(max_len, len);
    ++rows_seen;
    k = e;
  }
  if (m.rows() > 0) {
    st.min_row = rows_seen < m.rows() ? 0 : min_len;
    st.max_row = max_len;
  }
}

// `header` is the file's header, already read by the caller.
FileStats file_stats(const std::string& path, MatrixMarketHeader header) {
  FileStats st;
  st.header = std::move(header);
  const MatrixMarketHeader& h = st.header;
  if (h.field == MmField::Complex) {
    throw ParseError(path, h.banner_line, "complex values are not supported");
  }
  // At most 2 nnz per stored entry (mirrors); rows beyond four times that are mostly empty.
  const bool rows_outnumber_entries =
      h.format == MmFormat::Coordinate && h.rows > (std::int64_t{1} << 20) && h.rows / 4 > h.nnz;
  // 32-bit indices when the header allows them: half the index memory to write and sort.
  const bool narrow = h.rows < INT32_MAX && h.cols < INT32_MAX && h.nnz < INT32_MAX / 2;
  if (rows_outnumber_entries) {
    coo_stats(path, st);
  } else if (narrow) {
    pattern_stats(read_matrix_market_coo<double, std::int32_t>(path), st);
  } else {
    pattern_stats(read_matrix_market_coo<double, std::int64_t>(path), st);
  }
  return st;
}

int info_one(const std::string& path) {
  const MatrixMarketHeader h = read_matrix_market_header(path);
  std::printf("%s\n", path.c_str());
  std::printf("  banner:     %s\n", h.banner.c_str());
  std::printf("  shape:      %lld x %lld\n", static_cast<long long>(h.rows),
              static_cast<long long>(h.cols));
  std::printf("  stored:     %lld %s\n", static_cast<long long>(h.nnz),
              h.format == MmFormat::Coordinate ? "entries (size line)" : "values (array)");
  std::printf("  symmetry:   %s\n", to_string(h.symmetry));
  std::fflush(stdout);
  const FileStats st = file_stats(path, h);
  std::printf("  nnz:        %lld (symmetry expanded, duplicates summed%s)\n",
              static_cast<long long>(st.nnz),
              h.format == MmFormat::Array ? ", zeros of the array dropped" : "");
  std::printf("  density:    %.6g\n", st.density());
  if (h.rows > 0) {
    std::printf("  row length: min %lld, mean %.3f, max %lld\n", static_cast<long long>(st.min_row),
                static_cast<double>(st.nnz) / static_cast<double>(h.rows),
                static_cast<long long>(st.max_row));
  } else {
    std::printf("  row length: (no rows)\n");
  }
  return 0;
}

// A directory as the batch `multiply` would read: one line per entry, then the ranges.
int info_dir(const std::string& dir) {
  const std::vector<std::string> files = list_matrix_market_files(dir);
  if (files.empty()) throw IoError("no .mtx files in directory '" + dir + "'");
  std::vector<FileStats> stats;
  stats.reserve(files.size());
  {
    Progress reading("reading " + std::to_string(files.size()) + " files from " + dir, false);
    for (const auto& f : files) stats.push_back(file_stats(f, read_matrix_market_header(f)));
  }
  std::printf("%s: a batch of %zu %s\n", dir.c_str(), files.size(),
              files.size() == 1 ? "entry" : "entries");
  std::printf("  %-5s %-32s %-10s %-9s %19s %12s %10s\n", "entry", "file", "format", "symmetry",
              "shape", "nnz", "density");
  std::int64_t total = 0, dense_files = 0;
  std::int64_t rows_lo = INT64_MAX, rows_hi = 0, cols_lo = INT64_MAX, cols_hi = 0;
  std::int64_t nnz_lo = INT64_MAX, nnz_hi = 0;
  double dens_lo = 1e300, dens_hi = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const FileStats& st = stats[i];
    const MatrixMarketHeader& h = st.header;
    char shape[48];
    std::snprintf(shape, sizeof shape, "%lld x %lld", static_cast<long long>(h.rows),
                  static_cast<long long>(h.cols));
    std::printf("  %-5zu %-32s %-10s %-9s %19s %12lld %10.4g\n", i,
                std::filesystem::path(files[i]).filename().string().c_str(), to_string(h.format),
                to_string(h.symmetry), shape, static_cast<long long>(st.nnz), st.density());
    total += st.nnz;
    dense_files += h.format == MmFormat::Array;
    rows_lo = std::min(rows_lo, h.rows);
    rows_hi = std::max(rows_hi, h.rows);
    cols_lo = std::min(cols_lo, h.cols);
    cols_hi = std::max(cols_hi, h.cols);
    nnz_lo = std::min(nnz_lo, st.nnz);
    nnz_hi = std::max(nnz_hi, st.nnz);
    dens_lo = std::min(dens_lo, st.density());
    dens_hi = std::max(dens_hi, st.density());
  }
  const auto ll = [](std::int64_t x) { return static_cast<long long>(x); };
  std::printf("  entries:    %zu (%lld coordinate, %lld array)\n", files.size(),
              ll(static_cast<std::int64_t>(files.size()) - dense_files), ll(dense_files));
  std::printf("  total nnz:  %lld\n", ll(total));
  std::printf("  rows:       %lld .. %lld\n", ll(rows_lo), ll(rows_hi));
  std::printf("  columns:    %lld .. %lld\n", ll(cols_lo), ll(cols_hi));
  std::printf("  nnz:        %lld .. %lld per entry\n", ll(nnz_lo), ll(nnz_hi));
  std::printf("  density:    %.4g .. %.4g\n", dens_lo, dens_hi);
  return 0;
}

// Moves entries stored above the diagonal below it (negated for skew-symmetric) so that a writer
// that keeps the lower triangle loses nothing.
CooMatrix<double, std::int64_t> to_lower(const CooMatrix<double, std::int64_t>& a, bool skew) {
  std::vector<std::int64_t> r(a.row_idx()), c(a.col_idx());
  std::vector<double> v(a.values());
  for (std::size_t k = 0; k < v.size(); ++k) {
    if (r[k] < c[k]) {
      std::swap(r[k], c[k]);
      if (skew) v[k] = -v[k];
    }
  }
  return CooMatrix<double, std::int64_t>(a.rows(), a.cols(), std::move(r), std::move(c),
                                         std::move(v));
}

}  // namespace

int cmd_info(int argc, char** argv) {
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kInfoHelp, stdout);
      return 0;
    }
    if (a.size() > 1 && a[0] == '-') return usage_error("info", "unknown option '" + a + "'");
    files.push_back(a);
  }
  if (files.empty()) return usage_error("info", "no files given");
  int status = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i > 0) std::printf("\n");
    const int s = guarded("info", [&] {
      std::error_code ec;
      return std::filesystem::is_directory(files[i], ec) ? info_dir(files[i]) : info_one(files[i]);
    });
    std::fflush(stdout);
    status = std::max(status, s);
  }
  return status;
}

int cmd_convert(int argc, char** argv) {
  std::vector<std::string> pos;
  bool expand = false;
  std::optional<MmFormat> to;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kConvertHelp, stdout);
      return 0;
    }
    if (a == "--expand-symmetry") {
      expand = true;
    } else if (a == "--to" || a.rfind("--to=", 0) == 0) {
      std::string v;
      if (a == "--to") {
        if (i + 1 >= argc) return usage_error("convert", "--to needs a value: coordinate or array");
        v = argv[++i];
      } else {
        v = a.substr(5);
      }
      if (v == "coordinate") {
        to = MmFormat::Coordinate;
      } else if (v == "array") {
        to = MmFormat::Array;
      } else {
        return usage_error("convert", "--to must be coordinate or array, not '" + v + "'");
      }
    } else if (a.size() > 1 && a[0] == '-') {
      return usage_error("convert", "unknown option '" + a + "'");
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() != 2) {
    return usage_error("convert", pos.size() < 2 ? "expected IN and OUT files"
                                                 : "too many arguments: expected IN and OUT");
  }
  const std::string in = pos[0], out = pos[1];
  return guarded("convert", [&] {
    detail::check_output_file(out);  // before any work
    const MatrixMarketHeader h = read_matrix_market_header(in);
    if (h.field == MmField::Complex) {
      throw ParseError(in, h.banner_line, "complex values are not supported");
    }
    const MmFormat out_format = to.value_or(h.format);
    MmWriteOptions wo;
    wo.format = out_format;
    wo.field = h.field == MmField::Double ? MmField::Real : h.field;
    if (out_format == MmFormat::Array && wo.field == MmField::Pattern) wo.field = MmField::Real;
    // Hermitian with real values is symmetric, and is written so (the writer's hermitian needs
    // complex values).
    wo.symmetry = expand                                ? MmSymmetry::General
                  : h.symmetry == MmSymmetry::Hermitian ? MmSymmetry::Symmetric
                                                        : h.symmetry;
    wo.comments = h.comments;
    MmReadOptions ro;
    ro.expand_symmetry = expand;
    if (h.format == MmFormat::Array && out_format == MmFormat::Array) {
      const DenseMatrix<double> d = read_matrix_market_dense<double>(in, Layout::ColMajor, ro);
      write_matrix_market<double>(out, d.view(), wo);
      return 0;
    }
    CooMatrix<double, std::int64_t> a = read_matrix_market_coo<double, std::int64_t>(in, ro);
    if (wo.symmetry != MmSymmetry::General) {
      a = to_lower(a, wo.symmetry == MmSymmetry::SkewSymmetric);
    }
    write_matrix_market<double, std::int64_t>(out, a.view(), wo);
    return 0;
  });
}

}  // namespace spbmm::cli
