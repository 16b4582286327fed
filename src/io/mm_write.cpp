// Matrix Market writing: banner, size line, and entries formatted in parallel into per-chunk
// buffers with std::to_chars, then written in order to a temporary that replaces the target only
// when complete.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "core/checks.hpp"
#include "io/atomic_file.hpp"
#include "io/mm_internal.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace spbmm {
namespace mm_detail {
namespace {

// Entries per formatting chunk: big enough to amortise the scheduling, small enough that the
// buffers of one round stay modest.
constexpr std::int64_t kChunkEntries = std::int64_t{1} << 16;

// How values are written.
struct ValueFormat {
  MmField field = MmField::Real;
  int precision = 0;
  std::size_t max_chars = 0;  // upper bound for one value's text
};

ValueFormat make_format(const MmWriteOptions& o) {
  ValueFormat f;
  f.field = o.field == MmField::Double ? MmField::Real : o.field;
  f.precision = std::max(0, o.precision);
  f.max_chars = 32 + static_cast<std::size_t>(f.precision);
  return f;
}

// Writes v at p; returns nullptr when an integer field is asked for a value that is not an
// integer in its range (field_for has made the field real if an integer lies beyond). Integers
// are written exactly; the one double beyond the range that is still written is 2^63 (2^64 for
// unsigned), what 2^63-1 (2^64-1) reads as, written as that maximum, which reads back as it.
template <class T>
inline char* put_value(char* p, char* end, T v, const ValueFormat& f) {
  if (f.field == MmField::Integer) {
    const double d = static_cast<double>(v);
    if (!(std::trunc(d) == d) || !(d >= -0x1p63 && d <= 0x1p63)) return nullptr;
    const std::int64_t x = d == 0x1p63 ? INT64_MAX : static_cast<std::int64_t>(d);
    return std::to_chars(p, end, x).ptr;
  }
  if (f.field == MmField::UnsignedInteger) {
    const double d = static_cast<double>(v);
    if (!(std::trunc(d) == d) || !(d >= 0 && d <= 0x1p64)) return nullptr;
    const std::uint64_t x = d == 0x1p64 ? UINT64_MAX : static_cast<std::uint64_t>(d);
    return std::to_chars(p, end, x).ptr;
  }
  if (f.precision > 0) return std::to_chars(p, end, v, std::chars_format::general, f.precision).ptr;
  return std::to_chars(p, end, v).ptr;
}

// An integer beyond the range of an integer field (the reader accepts such values, and a caller
// may hold them): the one value that makes the field give way (see field_for).
template <class T>
inline bool outside_integer_range(T v, MmField field) {
  const double d = static_cast<double>(v);
  if (!std::isfinite(d) || std::trunc(d) != d) return false;  // not an integer: an error later
  return field == MmField::UnsignedInteger ? !(d >= 0 && d <= 0x1p64)
                                           : !(d >= -0x1p63 && d <= 0x1p63);
}

// The field the values are written with: an integer field that cannot hold one of them becomes
// real, so that every value reads back as the same double, in spbmm and in readers whose
// integers are 64 bits. `each(f)` calls f on every value that will be written.
template <class Each>
MmField field_for(MmField field, const Each& each) {
  if (field != MmField::Integer && field != MmField::UnsignedInteger) return field;
  bool outside = false;
  each([&](auto v) { outside = outside || outside_integer_range(v, field); });
  return outside ? MmField::Real : field;
}

inline char* put_index(char* p, char* end, std::int64_t i) {
  return std::to_chars(p, end, i + 1).ptr;
}

// Keeps (r, c) under an asserted symmetry: the lower triangle, strictly so for skew-symmetric.
inline bool keep(std::int64_t r, std::int64_t c, MmSymmetry s) {
  return s == MmSymmetry::General || r > c || (r == c && s != MmSymmetry::SkewSymmetric);
}

void check_options(const MmWriteOptions& o, MmFormat format, std::int64_t rows, std::int64_t cols) {
  if (o.field == MmField::Complex) {
    throw InvalidArgument("Matrix Market writer: complex values are not supported");
  }
  if (o.symmetry == MmSymmetry::Hermitian) {
    throw InvalidArgument(
        "Matrix Market writer: hermitian needs complex values, which are not supported; write "
        "real values that mirror as symmetric");
  }
  if (format == MmFormat::Array && o.field == MmField::Pattern) {
    throw InvalidArgument("Matrix Market writer: an array file cannot have field pattern");
  }
  if (o.field == MmField::Pattern && o.symmetry == MmSymmetry::SkewSymmetric) {
    throw InvalidArgument("Matrix Market writer: a pattern file cannot be skew-symmetric");
  }
  if (o.symmetry != MmSymmetry::General && rows != cols) {
    throw InvalidArgument(std::string("Matrix Market writer: symmetry ") + to_string(o.symmetry) +
                          " needs a square matrix, got " + std::to_string(rows) + " x " +
                          std::to_string(cols));
  }
}

// Everything about a request that can be refused before a file is created.
void check_request(const MmWriteOptions& o, MmFormat format, std::int64_t rows, std::int64_t cols) {
  check_options(o, format, rows, cols);
  (void)thread_count(o.threads);
}

std::string header_text(MmFormat format, MmField field, const MmWriteOptions& o, std::int64_t rows,
                        std::int64_t cols, std::int64_t nnz) {
  std::string s = "%%MatrixMarket matrix ";
  s += to_string(format);
  s += ' ';
  s += to_string(field);
  s += ' ';
  s += to_string(o.symmetry);
  s += '\n';
  for (const auto& c : o.comments) {
    // '%' and the text exactly as given (the reader returns comments in the same form, so they
    // pass through unchanged); a text with newlines becomes several comment lines.
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = c.find('\n', start);
      s += '%';
      s.append(c, start, nl == std::string::npos ? std::string::npos : nl - start);
      s += '\n';
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  s += std::to_string(rows);
  s += ' ';
  s += std::to_string(cols);
  if (format == MmFormat::Coordinate) {
    s += ' ';
    s += std::to_string(nnz);
  }
  s += '\n';
  return s;
}

// A chunk's text: storage that grows without zero-filling, and the length used.
class TextBuf {
 public:
  // Room for n characters; returns the start.
  char* reserve(std::size_t n) {
    if (n > cap_) {
      data_.reset(new char[n]);  // uninitialised on purpose: it is overwritten
      cap_ = n;
    }
    len_ = 0;
    return data_.get();
  }
  void set_end(const char* p) { len_ = static_cast<std::size_t>(p - data_.get()); }
  const char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return len_; }
  double bad = 0;  // the value an integer field could not hold, when formatting failed

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0;
  std::size_t len_ = 0;
};

// Formats chunks [0, nchunks) in parallel and writes them in order: while one thread writes
// chunk c, the others format the chunks after it. `fmt(c, buf)` fills buf with chunk c's text
// and returns false when a value cannot be written.
template <class Fmt>
void write_chunks(detail::AtomicFile& out, MmField field, std::int64_t nchunks, int threads,
                  const Fmt& fmt) {
  std::vector<TextBuf> bufs(static_cast<std::size_t>(std::max(1, threads)));
  // Set inside the ordered section only, so no two threads touch them at once.
  bool bad_value = false, no_memory = false;
  double first_bad = 0;
  std::string io_error;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) ordered if (nchunks > 1)
#endif
  for (std::int64_t c = 0; c < nchunks; ++c) {
#ifdef _OPENMP
    TextBuf& buf = bufs[static_cast<std::size_t>(omp_get_thread_num())];
#else
    TextBuf& buf = bufs[0];
#endif
    bool good = false, oom = false;
    try {  // nothing may leave a parallel region by exception
      good = fmt(c, buf);
    } catch (const std::bad_alloc&) {
      oom = true;
    }
#ifdef _OPENMP
#pragma omp ordered
#endif
    {
      no_memory = no_memory || oom;
      if (!oom && !good && !bad_value) first_bad = buf.bad;
      bad_value = bad_value || (!oom && !good);
      if (!no_memory && !bad_value && io_error.empty()) {
        try {
          out.write(buf.data(), buf.size());
        } catch (const IoError& e) {
          io_error = e.what();
        }
      }
    }
  }
  if (no_memory) throw std::bad_alloc();
  if (bad_value) {
    char text[64];
    char* end = std::to_chars(text, text + sizeof text, first_bad).ptr;
    throw InvalidArgument(out.path() + ": Matrix Market writer: field " + to_string(field) +
                          " needs integer values, found " + std::string(text, end) +
                          " (nothing was written)");
  }
  if (!io_error.empty()) throw IoError(io_error);
}

// Splits [0, units) into chunks of about kChunkEntries entries, given entry counts by prefix.
template <class Prefix>
std::vector<std::int64_t> chunk_bounds(std::int64_t units, const Prefix& prefix) {
  std::vector<std::int64_t> b{0};
  std::int64_t u = 0;
  while (u < units) {
    const std::int64_t target = prefix(u) + kChunkEntries;
    // First unit boundary at or beyond the target (at least one unit per chunk).
    std::int64_t lo = u + 1, hi = units;
    while (lo < hi) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      if (prefix(mid) >= target) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    u = lo;
    b.push_back(u);
  }
  return b;
}

template <class T, class I>
void write_csr(detail::AtomicFile& out, const CsrView<T, I>& a, const MmWriteOptions& o) {
  check_options(o, MmFormat::Coordinate, a.rows, a.cols);
  const int threads = thread_count(o.threads);
  ValueFormat vf = make_format(o);
  const bool pattern = vf.field == MmField::Pattern;
  const MmSymmetry sym = o.symmetry;
  const std::int64_t rows = a.rows;
  auto prefix = [&](std::int64_t r) -> std::int64_t {
    return a.row_ptr ? static_cast<std::int64_t>(a.row_ptr[r]) : 0;
  };
  vf.field = field_for(vf.field, [&](const auto& f) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t k = prefix(r); k < prefix(r + 1); ++k) {
        if (keep(r, static_cast<std::int64_t>(a.col_idx[k]), sym)) f(a.values[k]);
      }
    }
  });
  std::int64_t nnz = a.nnz();
  if (sym != MmSymmetry::General) {
    std::int64_t kept = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) reduction(+ : kept) schedule(dynamic, 1024)
#endif
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t k = prefix(r); k < prefix(r + 1); ++k) {
        kept += keep(r, static_cast<std::int64_t>(a.col_idx[k]), sym) ? 1 : 0;
      }
    }
    nnz = kept;
  }
  out.write(header_text(MmFormat::Coordinate, vf.field, o, a.rows, a.cols, nnz));
  const auto bounds = chunk_bounds(rows, prefix);
  const std::size_t line_max = 44 + (pattern ? 0 : vf.max_chars);
  write_chunks(out, vf.field, static_cast<std::int64_t>(bounds.size()) - 1, threads,
               [&](std::int64_t c, TextBuf& buf) {
                 const std::int64_t r0 = bounds[static_cast<std::size_t>(c)];
                 const std::int64_t r1 = bounds[static_cast<std::size_t>(c) + 1];
                 const std::size_t cap =
                     static_cast<std::size_t>(prefix(r1) - prefix(r0)) * line_max;
                 char* p = buf.reserve(cap);
                 char* end = p + cap;
                 for (std::int64_t r = r0; r < r1; ++r) {
                   for (std::int64_t k = prefix(r); k < prefix(r + 1); ++k) {
                     const auto col = static_cast<std::int64_t>(a.col_idx[k]);
                     if (!keep(r, col, sym)) continue;
                     p = put_index(p, end, r);
                     *p++ = ' ';
                     p = put_index(p, end, col);
                     if (!pattern) {
                       *p++ = ' ';
                       p = put_value(p, end, a.values[k], vf);
                       if (!p) {
                         buf.bad = static_cast<double>(a.values[k]);
                         return false;
                       }
                     }
                     *p++ = '\n';
                   }
                 }
                 buf.set_end(p);
                 return true;
               });
}

template <class T, class I>
void write_coo(detail::AtomicFile& out, const CooView<T, I>& a, const MmWriteOptions& o) {
  check_options(o, MmFormat::Coordinate, a.rows, a.cols);
  const int threads = thread_count(o.threads);
  ValueFormat vf = make_format(o);
  const bool pattern = vf.field == MmField::Pattern;
  const MmSymmetry sym = o.symmetry;
  vf.field = field_for(vf.field, [&](const auto& f) {
    for (std::int64_t k = 0; k < a.nnz; ++k) {
      if (keep(static_cast<std::int64_t>(a.row_idx[k]), static_cast<std::int64_t>(a.col_idx[k]),
               sym)) {
        f(a.values[k]);
      }
    }
  });
  std::int64_t nnz = a.nnz;
  if (sym != MmSymmetry::General) {
    std::int64_t kept = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) reduction(+ : kept)
#endif
    for (std::int64_t k = 0; k < a.nnz; ++k) {
      kept += keep(static_cast<std::int64_t>(a.row_idx[k]), static_cast<std::int64_t>(a.col_idx[k]),
                   sym)
                  ? 1
                  : 0;
    }
    nnz = kept;
  }
  out.write(header_text(MmFormat::Coordinate, vf.field, o, a.rows, a.cols, nnz));
  const std::int64_t nchunks = (a.nnz + kChunkEntries - 1) / kChunkEntries;
  const std::size_t line_max = 44 + (pattern ? 0 : vf.max_chars);
  write_chunks(out, vf.field, nchunks, threads, [&](std::int64_t c, TextBuf& buf) {
    const std::int64_t k0 = c * kChunkEntries;
    const std::int64_t k1 = std::min(a.nnz, k0 + kChunkEntries);
    const std::size_t cap = static_cast<std::size_t>(k1 - k0) * line_max;
    char* p = buf.reserve(cap);
    char* end = p + cap;
    for (std::int64_t k = k0; k < k1; ++k) {
      const auto r = static_cast<std::int64_t>(a.row_idx[k]);
      const auto col = static_cast<std::int64_t>(a.col_idx[k]);
      if (!keep(r, col, sym)) continue;
      p = put_index(p, end, r);
      *p++ = ' ';
      p = put_index(p, end, col);
      if (!pattern) {
        *p++ = ' ';
        p = put_value(p, end, a.values[k], vf);
        if (!p) {
          buf.bad = static_cast<double>(a.values[k]);
          return false;
        }
      }
      *p++ = '\n';
    }
    buf.set_end(p);
    return true;
  });
}

template <class T>
void write_array(detail::AtomicFile& out, const DenseView<const T>& a, const MmWriteOptions& o) {
  check_options(o, MmFormat::Array, a.rows, a.cols);
  const int threads = thread_count(o.threads);
  ValueFormat vf = make_format(o);
  const MmSymmetry sym = o.symmetry;
  const std::int64_t rows = a.rows;
  // Values stored in column j: all rows, or the lower triangle (strictly for skew).
  auto first_row = [&](std::int64_t j) -> std::int64_t {
    return sym == MmSymmetry::General ? 0 : sym == MmSymmetry::SkewSymmetric ? j + 1 : j;
  };
  vf.field = field_for(vf.field, [&](const auto& f) {
    for (std::int64_t j = 0; j < a.cols; ++j) {
      for (std::int64_t i = first_row(j); i < rows; ++i) f(a(i, j));
    }
  });
  out.write(header_text(MmFormat::Array, vf.field, o, a.rows, a.cols, 0));
  // Prefix count of values before column j (exact for general, an upper bound is not needed).
  auto prefix = [&](std::int64_t j) -> std::int64_t {
    if (sym == MmSymmetry::General) return j * rows;
    // sum over columns < j of (rows - first_row(col))
    const std::int64_t d = sym == MmSymmetry::SkewSymmetric ? 1 : 0;
    return j * rows - j * (j - 1) / 2 - d * j;
  };
  const auto bounds = chunk_bounds(a.cols, prefix);
  const std::size_t line_max = 2 + vf.max_chars;
  write_chunks(out, vf.field, static_cast<std::int64_t>(bounds.size()) - 1, threads,
               [&](std::int64_t c, TextBuf& buf) {
                 const std::int64_t j0 = bounds[static_cast<std::size_t>(c)];
                 const std::int64_t j1 = bounds[static_cast<std::size_t>(c) + 1];
                 const std::size_t cap =
                     static_cast<std::size_t>(prefix(j1) - prefix(j0)) * line_max;
                 char* p = buf.reserve(cap);
                 char* end = p + cap;
                 for (std::int64_t j = j0; j < j1; ++j) {
                   for (std::int64_t i = first_row(j); i < rows; ++i) {
                     p = put_value(p, end, a(i, j), vf);
                     if (!p) {
                       buf.bad = static_cast<double>(a(i, j));
                       return false;
                     }
                     *p++ = '\n';
                   }
                 }
                 buf.set_end(p);
                 return true;
               });
}

// Array output of sparse data makes a dense copy first; it is held to the memory limit.
void check_array_copy(const std::string& path, std::int64_t rows, std::int64_t cols,
                      std::size_t value_bytes, const MmWriteOptions& o) {
  detail::check_dense_limit(
      rows, cols, value_bytes, detail::resolve_dense_limit(o.dense_limit),
      path + ": array output: ", "MmWriteOptions::dense_limit or spbmm::set_dense_limit");
}

// A sparse matrix as a dense column-major matrix (duplicates summed), for array output.
template <class T, class I>
DenseMatrix<T> coo_to_dense(const CooView<T, I>& a) {
  DenseMatrix<T> d(a.rows, a.cols, Layout::ColMajor);
  auto v = d.view();
  for (std::int64_t k = 0; k < a.nnz; ++k) v(a.row_idx[k], a.col_idx[k]) += a.values[k];
  return d;
}

template <class T, class I>
DenseMatrix<T> csr_to_dense(const CsrView<T, I>& a) {
  DenseMatrix<T> d(a.rows, a.cols, Layout::ColMajor);
  auto v = d.view();
  for (std::int64_t r = 0; r < a.rows; ++r) {
    for (std::int64_t k = a.row_ptr[r]; k < a.row_ptr[r + 1]; ++k) v(r, a.col_idx[k]) = a.values[k];
  }
  return d;
}

std::string entry_path(const std::string& dir, std::size_t i,
                       const std::vector<std::string>& names) {
  if (!names.empty()) return (std::filesystem::path(dir) / names[i]).string();
  char name[32];
  std::snprintf(name, sizeof name, "entry_%05zu.mtx", i);
  return (std::filesystem::path(dir) / name).string();
}

void prepare_dir(const std::string& dir, std::size_t batch, const std::vector<std::string>& names) {
  if (!names.empty() && names.size() != batch) {
    throw InvalidArgument("write_matrix_market_dir: " + std::to_string(names.size()) +
                          " names for a batch of " + std::to_string(batch));
  }
  detail::make_output_dir(dir);
}

// One matrix into `out` (validated by the caller).
template <class T, class I>
void write_to(detail::AtomicFile& out, const CsrView<T, I>& a, const MmWriteOptions& o) {
  if (o.format.value_or(MmFormat::Coordinate) == MmFormat::Array) {
    check_array_copy(out.path(), a.rows, a.cols, sizeof(T), o);
    const DenseMatrix<T> d = csr_to_dense(a);
    write_array<T>(out, d.view(), o);
    return;
  }
  write_csr(out, a, o);
}

template <class T, class I>
void write_to(detail::AtomicFile& out, const CooView<T, I>& a, const MmWriteOptions& o) {
  if (o.format.value_or(MmFormat::Coordinate) == MmFormat::Array) {
    check_array_copy(out.path(), a.rows, a.cols, sizeof(T), o);
    const DenseMatrix<T> d = coo_to_dense(a);
    write_array<T>(out, d.view(), o);
    return;
  }
  write_coo(out, a, o);
}

template <class T>
void write_to(detail::AtomicFile& out, const DenseView<const T>& a, const MmWriteOptions& o) {
  if (o.format.value_or(MmFormat::Array) == MmFormat::Coordinate) {
    // Every stored position, zeros included, so the shape and values survive exactly.
    std::vector<std::int64_t> r, c;
    std::vector<T> v;
    r.reserve(static_cast<std::size_t>(a.size()));
    c.reserve(static_cast<std::size_t>(a.size()));
    v.reserve(static_cast<std::size_t>(a.size()));
    for (std::int64_t i = 0; i < a.rows; ++i) {
      for (std::int64_t j = 0; j < a.cols; ++j) {
        r.push_back(i);
        c.push_back(j);
        v.push_back(a(i, j));
      }
    }
    const CooView<T, std::int64_t> coo{a.rows,   a.cols,   static_cast<std::int64_t>(v.size()),
                                       r.data(), c.data(), v.data()};
    write_coo(out, coo, o);
    return;
  }
  write_array<T>(out, a, o);
}

// Per kind of entry: its checks, and the format written when the options name none.
template <class T, class I>
void validate_entry(const CsrView<T, I>& a, std::size_t i) {
  validate(a, static_cast<std::int64_t>(i));
}
template <class T, class I>
void validate_entry(const CooView<T, I>& a, std::size_t i) {
  validate(a, static_cast<std::int64_t>(i));
}
template <class T>
void validate_entry(const DenseView<const T>& a, std::size_t i) {
  validate(a, ("entry " + std::to_string(i)).c_str());
}
template <class T, class I>
MmFormat natural_format(const CsrView<T, I>&) {
  return MmFormat::Coordinate;
}
template <class T, class I>
MmFormat natural_format(const CooView<T, I>&) {
  return MmFormat::Coordinate;
}
template <class T>
MmFormat natural_format(const DenseView<const T>&) {
  return MmFormat::Array;
}

// Every entry goes to a temporary first; only when all are complete are they renamed into place,
// so a failure part way leaves none of the targets replaced.
template <class Batch>
std::vector<std::string> write_dir(const std::string& dir, const Batch& a,
                                   const MmWriteOptions& options,
                                   const std::vector<std::string>& names) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    validate_entry(a.entry(i), i);
    check_request(options, options.format.value_or(natural_format(a.entry(i))), a.rows(i),
                  a.cols(i));
  }
  prepare_dir(dir, a.size(), names);
  std::vector<std::string> paths;
  std::vector<std::unique_ptr<detail::AtomicFile>> files;
  for (std::size_t i = 0; i < a.size(); ++i) {
    paths.push_back(entry_path(dir, i, names));
    files.push_back(std::make_unique<detail::AtomicFile>(paths.back()));
    write_to(*files.back(), a.entry(i), options);
    files.back()->finish();
  }
  for (auto& f : files) f->commit();
  return paths;
}

}  // namespace
}  // namespace mm_detail

template <Value T, Index I>
void write_matrix_market(const std::string& path, const CsrView<T, I>& a,
                         const MmWriteOptions& options) {
  validate(a);
  mm_detail::check_request(options, options.format.value_or(MmFormat::Coordinate), a.rows, a.cols);
  detail::AtomicFile out(path);
  mm_detail::write_to(out, a, options);
  out.commit();
}

template <Value T, Index I>
void write_matrix_market(const std::string& path, const CooView<T, I>& a,
                         const MmWriteOptions& options) {
  validate(a);
  mm_detail::check_request(options, options.format.value_or(MmFormat::Coordinate), a.rows, a.cols);
  detail::AtomicFile out(path);
  mm_detail::write_to(out, a, options);
  out.commit();
}

template <Value T>
void write_matrix_market(const std::string& path, const DenseView<const T>& a,
                         const MmWriteOptions& options) {
  validate(a, "dense matrix");
  mm_detail::check_request(options, options.format.value_or(MmFormat::Array), a.rows, a.cols);
  detail::AtomicFile out(path);
  mm_detail::write_to(out, a, options);
  out.commit();
}

template <Value T, Index I>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const CsrBatch<T, I>& a,
                                                 const MmWriteOptions& options,
                                                 const std::vector<std::string>& names) {
  return mm_detail::write_dir(dir, a, options, names);
}

template <Value T, Index I>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const CooBatch<T, I>& a,
                                                 const MmWriteOptions& options,
                                                 const std::vector<std::string>& names) {
  return mm_detail::write_dir(dir, a, options, names);
}

template <Value T>
std::vector<std::string> write_matrix_market_dir(const std::string& dir, const DenseBatch<T>& a,
                                                 const MmWriteOptions& options,
                                                 const std::vector<std::string>& names) {
  return mm_detail::write_dir(dir, a, options, names);
}

#define SPBMM_MM_WRITE(T, I)                                                        \
  template void write_matrix_market<T, I>(const std::string&, const CsrView<T, I>&, \
                                          const MmWriteOptions&);                   \
  template void write_matrix_market<T, I>(const std::string&, const CooView<T, I>&, \
                                          const MmWriteOptions&);                   \
  template std::vector<std::string> write_matrix_market_dir<T, I>(                  \
      const std::string&, const CsrBatch<T, I>&, const MmWriteOptions&,             \
      const std::vector<std::string>&);                                             \
  template std::vector<std::string> write_matrix_market_dir<T, I>(                  \
      const std::string&, const CooBatch<T, I>&, const MmWriteOptions&,             \
      const std::vector<std::string>&);
SPBMM_MM_WRITE(float, std::int32_t)
SPBMM_MM_WRITE(float, std::int64_t)
SPBMM_MM_WRITE(double, std::int32_t)
SPBMM_MM_WRITE(double, std::int64_t)
#undef SPBMM_MM_WRITE
template void write_matrix_market<float>(const std::string&, const DenseView<const float>&,
                                         const MmWriteOptions&);
template void write_matrix_market<double>(const std::string&, const DenseView<const double>&,
                                          const MmWriteOptions&);
template std::vector<std::string> write_matrix_market_dir<float>(const std::string&,
                                                                 const DenseBatch<float>&,
                                                                 const MmWriteOptions&,
                                                                 const std::vector<std::string>&);
template std::vector<std::string> write_matrix_market_dir<double>(const std::string&,
                                                                  const DenseBatch<double>&,
                                                                  const MmWriteOptions&,
                                                                  const std::vector<std::string>&);

}  // namespace spbmm
