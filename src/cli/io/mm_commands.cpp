// `spbmm info` and `spbmm convert`: describe and rewrite Matrix Market files.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

namespace spbmm::cli {

namespace {

constexpr const char* kInfoHelp =
    "usage: spbmm info FILE...\n"
    "\n"
    "Describes each Matrix Market file: its banner, shape, stored entries, nnz after expanding\n"
    "symmetry and summing duplicates, density, symmetry, and the min/mean/max row length.\n"
    "Exit status: 0 when every file reads, 1 when one does not, 2 for bad usage.\n"
    "\n"
    "example: spbmm info data/mm/coord_real_general.mtx matrices/*.mtx\n";

constexpr const char* kConvertHelp =
    "usage: spbmm convert IN OUT [--expand-symmetry] [--to coordinate|array]\n"
    "\n"
    "Rewrites the Matrix Market file IN as OUT with 1-based indices and the shortest text that\n"
    "reads back to the same double values. The field (real, integer, pattern) and comments are\n"
    "kept. A symmetric or skew-symmetric file stays so (entries stored above the diagonal are\n"
    "moved below it) unless --expand-symmetry writes the full matrix as general. --to picks the\n"
    "output format (default: that of IN); array output writes every value, coordinate output\n"
    "from an array file writes the nonzero values.\n"
    "Exit status: 0 on success, 1 for bad input, 2 for bad usage.\n"
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
  if (h.field == MmField::Complex) {
    throw ParseError(path, h.banner_line, "complex values are not supported");
  }
  const CsrMatrix<double, std::int64_t> m = read_matrix_market_csr<double, std::int64_t>(path);
  const std::int64_t nnz = m.nnz();
  const double cells = static_cast<double>(m.rows()) * static_cast<double>(m.cols());
  std::printf("  nnz:        %lld (symmetry expanded, duplicates summed%s)\n",
              static_cast<long long>(nnz),
              h.format == MmFormat::Array ? ", zeros of the array dropped" : "");
  std::printf("  density:    %.6g\n", cells > 0 ? static_cast<double>(nnz) / cells : 0.0);
  if (m.rows() > 0) {
    std::int64_t lo = INT64_MAX, hi = 0;
    const auto& rp = m.row_ptr();
    for (std::int64_t i = 0; i < m.rows(); ++i) {
      const std::int64_t len =
          rp[static_cast<std::size_t>(i) + 1] - rp[static_cast<std::size_t>(i)];
      lo = std::min(lo, len);
      hi = std::max(hi, len);
    }
    std::printf("  row length: min %lld, mean %.3f, max %lld\n", static_cast<long long>(lo),
                static_cast<double>(nnz) / static_cast<double>(m.rows()),
                static_cast<long long>(hi));
  } else {
    std::printf("  row length: (no rows)\n");
  }
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
    const int s = guarded("info", [&] { return info_one(files[i]); });
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
    const MatrixMarketHeader h = read_matrix_market_header(in);
    if (h.field == MmField::Complex) {
      throw ParseError(in, h.banner_line, "complex values are not supported");
    }
    const MmFormat out_format = to.value_or(h.format);
    MmWriteOptions wo;
    wo.format = out_format;
    wo.field = h.field == MmField::Double ? MmField::Real : h.field;
    if (out_format == MmFormat::Array && wo.field == MmField::Pattern) wo.field = MmField::Real;
    wo.symmetry = expand ? MmSymmetry::General : h.symmetry;
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
