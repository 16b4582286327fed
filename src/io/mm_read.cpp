// Matrix Market body parsing: line-aligned chunks parsed in parallel straight into COO, CSR and
// dense results.
#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/checks.hpp"
#include "core/coo_to_csr.hpp"
#include "core/huge_pages.hpp"
#include "io/mm_internal.hpp"
#include "io/mm_numbers.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

namespace spbmm {
namespace mm_detail {
namespace {

// A line-aligned slice of the body and what the passes learn about it.
struct Chunk {
  const char* begin = nullptr;
  const char* end = nullptr;
  std::int64_t newlines = 0;     // '\n' characters in the chunk
  std::int64_t entries = 0;      // entry lines (not blank, not comment)
  std::int64_t first_line = 0;   // line number of the chunk's first line
  std::int64_t first_entry = 0;  // index of the chunk's first entry in the file
  std::int64_t offdiag = 0;      // parsed entries off the diagonal
  // Whether the chunk's entries come in strictly increasing (row, column) order, and the first
  // and last of them (1-based; 0 when the chunk has none).
  bool sorted = true;
  std::int64_t first_r = 0, first_c = 0, last_r = 0, last_c = 0;
  std::int64_t err_line = -1;  // first problem found in the chunk
  std::string err;
};

inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
inline bool is_delim(const char* p, const char* end) noexcept {
  return p == end || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
}
inline const char* skip_blank(const char* p, const char* end) noexcept {
  while (p < end && is_blank(*p)) ++p;
  return p;
}
// An entry line is any line whose first non-blank character is not '%' and not a line ending.
inline bool starts_entry(const char* q, const char* end) noexcept {
  return q < end && *q != '\n' && *q != '\r' && *q != '%';
}

std::string token_at(const char* p, const char* end) {
  const char* q = p;
  while (!is_delim(q, end)) ++q;
  if (q == p) return (p == end || *p == '\n' || *p == '\r') ? "end of line" : quote(p, 1);
  return quote(p, static_cast<std::size_t>(q - p));
}

std::vector<Chunk> make_chunks(const char* begin, const char* end, int threads) {
  const auto n = static_cast<std::size_t>(end - begin);
  std::size_t want = 1;
  // Several chunks per thread balance the load; 64 KiB at least keeps the per-chunk work large.
  if (threads > 1 && n >= (std::size_t{1} << 17)) {
    want = std::min<std::size_t>(n >> 16, static_cast<std::size_t>(threads) * 8);
  }
  std::vector<Chunk> chunks;
  const char* p = begin;
  for (std::size_t c = 0; c < want && p < end; ++c) {
    const char* target = begin + n * (c + 1) / want;
    const char* stop = end;
    if (c + 1 < want && target > p) {
      const void* nl = std::memchr(target - 1, '\n', static_cast<std::size_t>(end - target + 1));
      stop = nl ? static_cast<const char*>(nl) + 1 : end;
    } else if (c + 1 < want) {
      continue;
    }
    Chunk ch;
    ch.begin = p;
    ch.end = stop;
    chunks.push_back(std::move(ch));
    p = stop;
  }
  if (chunks.empty()) {
    Chunk ch;
    ch.begin = begin;
    ch.end = end;
    chunks.push_back(std::move(ch));
  }
  return chunks;
}

// Whether the line starting at p (before `end`) is an entry line.
inline bool entry_line(const char* p, const char* end) noexcept {
  return starts_entry(skip_blank(p, end), end);
}

// Pass 1: newlines and entry lines of a chunk. Every line starts at the chunk's beginning or after
// a '\n'; one whose first character is a digit or a sign (almost all) is an entry without a look.
// With SSE2, 16 bytes at a time: the newlines counted, and only the lines whose first character is
// a blank, '%' or a line ending looked at one by one.
void count_chunk(Chunk& c) noexcept {
  const char* p = c.begin;
  const char* end = c.end;
  std::int64_t newlines = 0, starts = 0, others = 0;
  if (p < end) {
    ++starts;
    if (!entry_line(p, end)) ++others;
  }
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'), sp = _mm_set1_epi8(' ');
  const __m128i tab = _mm_set1_epi8('\t'), pct = _mm_set1_epi8('%');
  // Blocks of 16 whose next 16 bytes (the first characters of the lines they end) are readable;
  // the newlines are counted per byte lane, and the lanes summed before any can pass 255.
  while (end - p > 16) {
    __m128i lanes = _mm_setzero_si128();
    for (int round = 0; round < 255 && end - p > 16; ++round, p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
      const __m128i is_nl = _mm_cmpeq_epi8(v, nl);
      lanes = _mm_sub_epi8(lanes, is_nl);
      const __m128i special =
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, nl), _mm_cmpeq_epi8(w, cr)),
                       _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, sp), _mm_cmpeq_epi8(w, tab)),
                                    _mm_cmpeq_epi8(w, pct)));
      for (auto f = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(is_nl, special))); f != 0;
           f &= f - 1) {
        if (!entry_line(p + std::countr_zero(f) + 1, end)) ++others;
      }
    }
    const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
    const auto n = _mm_cvtsi128_si64(sums) + _mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
    newlines += n;
    starts += n;
  }
#endif
  for (; p < end; ++p) {
    if (*p != '\n') continue;
    ++newlines;
    if (p + 1 < end) {
      ++starts;
      if (!entry_line(p + 1, end)) ++others;
    }
  }
  c.newlines = newlines;
  c.entries = starts - others;
}

// The line number of the chunk's entry with index `x` (relative to the chunk).
std::int64_t line_of_entry(const Chunk& c, std::int64_t x) noexcept {
  const char* p = c.begin;
  const char* end = c.end;
  std::int64_t line = c.first_line, entries = 0;
  while (p < end) {
    const char* q = skip_blank(p, end);
    if (starts_entry(q, end)) {
      if (entries == x) return line;
      ++entries;
    }
    const void* nl = q < end ? std::memchr(q, '\n', static_cast<std::size_t>(end - q)) : nullptr;
    if (!nl) break;
    ++line;
    p = static_cast<const char*>(nl) + 1;
  }
  return line;
}

enum class Num : std::uint8_t { Ok, Bad, Overflow };

inline __attribute__((always_inline)) Num parse_int(const char*& p, const char* end,
                                                    std::int64_t& v) noexcept {
  const char* s = p;
  // Indices: one to seven digits, read eight bytes at a time.
  std::uint64_t u = 0;
  if (parse_small_uint(s, end, u) && is_delim(s, end)) {
    v = static_cast<std::int64_t>(u);
    p = s;
    return Num::Ok;
  }
  s = p;
  const bool neg = s < end && *s == '-';
  if (s < end && (*s == '+' || *s == '-')) ++s;
  const char* digits = s;
  // Up to 18 digits cannot overflow: the common case, without from_chars' generality.
  std::uint64_t x = 0;
  while (s < end && s - digits < 18 && static_cast<unsigned>(*s - '0') < 10) {
    x = x * 10 + static_cast<unsigned>(*s - '0');
    ++s;
  }
  if (s == digits) return Num::Bad;
  if (s < end && static_cast<unsigned>(*s - '0') < 10) {
    const auto r = std::from_chars(neg ? digits - 1 : digits, end, v);
    if (r.ec == std::errc::invalid_argument || !is_delim(r.ptr, end)) return Num::Bad;
    if (r.ec == std::errc::result_out_of_range) return Num::Overflow;
    p = r.ptr;
    return Num::Ok;
  }
  if (!is_delim(s, end)) return Num::Bad;
  v = neg ? -static_cast<std::int64_t>(x) : static_cast<std::int64_t>(x);
  p = s;
  return Num::Ok;
}

template <class T>
T str_to(const char* s) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    return std::strtof(s, nullptr);
  } else {
    return std::strtod(s, nullptr);
  }
}

// `fast`: nearest_rounding() on this thread, which allows parse_real_fast.
template <class T>
inline Num parse_real(const char*& p, const char* end, T& v, bool fast = false) {
  const char* s = p;
  if (s < end && *s == '+') {
    ++s;
    if (s < end && (*s == '-' || *s == '+')) return Num::Bad;
  }
  {
    const char* q = s;
    T x;
    if (parse_real_fast(q, end, x, fast) && is_delim(q, end)) {
      v = x;
      p = q;
      return Num::Ok;
    }
  }
  const auto r = std::from_chars(s, end, v);
  if (r.ec == std::errc::invalid_argument || !is_delim(r.ptr, end)) return Num::Bad;
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow is an error; underflow reads as the nearest representable value, as strtod does.
    const std::string text(s, static_cast<std::size_t>(r.ptr - s));
    const T x = str_to<T>(text.c_str());
    if (std::isinf(x)) return Num::Overflow;
    v = x;
  }
  p = r.ptr;
  return Num::Ok;
}

// What parsing a chunk needs to know.
struct Ctx {
  std::int64_t rows;
  std::int64_t cols;
  MmField field;
  MmSymmetry symmetry;
  const char* type_name;  // "float" or "double"
};

const char* entry_shape(MmField field) {
  return field == MmField::Pattern ? "'row col'" : "'row col value'";
}

// Parses one value token at p; on failure writes the message to `err`.
template <class T>
bool parse_value(const char*& p, const char* end, const Ctx& ctx, T& v, std::string& err,
                 bool fast) {
  if (ctx.field == MmField::Integer || ctx.field == MmField::UnsignedInteger) {
    if (ctx.field == MmField::UnsignedInteger && *p == '-') {
      std::int64_t x = 0;
      const char* q = p;
      if (parse_int(q, end, x) != Num::Ok || x != 0) {  // "-0" is zero
        err = "negative value " + token_at(p, end) + " in an 'unsigned-integer' file";
        return false;
      }
    }
    std::int64_t x = 0;
    const Num st = parse_int(p, end, x);
    if (st == Num::Ok) {
      v = static_cast<T>(x);
      return true;
    }
    if (st == Num::Overflow) {
      // Beyond 64 bits (e.g. a uint64 maximum in an 'integer' file): still an integer, read as
      // the nearest T.
      const char* q = p;
      if (parse_real(q, end, v) == Num::Ok) {
        p = q;
        return true;
      }
      err = "integer value " + token_at(p, end) + " is out of range for " + ctx.type_name;
      return false;
    }
    err = std::string("expected an integer value (field '") + to_string(ctx.field) + "'), found " +
          token_at(p, end);
    return false;
  }
  const Num st = parse_real(p, end, v, fast);
  if (st == Num::Ok) return true;
  err = st == Num::Overflow ? "value " + token_at(p, end) + " is out of range for " + ctx.type_name
                            : "expected a real value, found " + token_at(p, end);
  return false;
}

std::string index_range_message(const char* what, std::int64_t v, std::int64_t n) {
  if (n == 0) {
    return std::string(what) + " index " + std::to_string(v) +
           " is out of range: the matrix has 0 " + what + "s";
  }
  return std::string(what) + " index " + std::to_string(v) + " is out of range 1.." +
         std::to_string(n) + (v == 0 ? " (indices are 1-based)" : "");
}

// Pass 2 for coordinate files: parses entries [first_entry, limit) of the chunk into the arrays.
template <class T, class I>
void parse_coord_chunk(Chunk& c, const Ctx& ctx, I* ri, I* ci, T* vv, std::int64_t limit) {
  const char* p = c.begin;
  const char* end = c.end;
  std::int64_t line = c.first_line;
  std::int64_t k = c.first_entry;
  std::int64_t offdiag = 0;
  std::int64_t pr = 0, pc = 0;  // the previous entry
  bool sorted = true;
  const bool pattern = ctx.field == MmField::Pattern;
  const bool skew = ctx.symmetry == MmSymmetry::SkewSymmetric;
  const bool fast = nearest_rounding();
  const bool real = ctx.field == MmField::Real || ctx.field == MmField::Double;
  auto fail = [&](std::string msg) {
    c.err_line = line;
    c.err = std::move(msg);
  };
  while (p < end && k < limit) {
    const char* q = skip_blank(p, end);
    if (q == end) break;
    if (!starts_entry(q, end)) {
      const void* nl = std::memchr(q, '\n', static_cast<std::size_t>(end - q));
      if (!nl) break;
      ++line;
      p = static_cast<const char*>(nl) + 1;
      continue;
    }
    std::int64_t r = 0, col = 0;
    Num st = parse_int(q, end, r);
    if (st != Num::Ok) {
      return fail(st == Num::Overflow
                      ? "row index " + token_at(q, end) + " does not fit in a 64-bit integer"
                      : std::string("expected an entry ") + entry_shape(ctx.field) +
                            " starting with a row index, found " + token_at(q, end));
    }
    q = skip_blank(q, end);
    if (q == end || *q == '\n' || *q == '\r') {
      return fail(std::string("entry has only a row index; expected ") + entry_shape(ctx.field));
    }
    st = parse_int(q, end, col);
    if (st != Num::Ok) {
      return fail(st == Num::Overflow
                      ? "column index " + token_at(q, end) + " does not fit in a 64-bit integer"
                      : "expected a column index after the row index, found " + token_at(q, end));
    }
    q = skip_blank(q, end);
    T v = T(1);
    if (!pattern) {
      if (q == end || *q == '\n' || *q == '\r') {
        return fail("entry has no value; expected 'row col value'");
      }
      // The common case first: a real value the float fast path takes, without the layers that
      // name errors.
      const char* qv = q;
      if (real && parse_real_fast(qv, end, v, fast) && is_delim(qv, end)) {
        q = qv;
      } else {
        // The fast path has had this token (a leading '+' is left to from_chars).
        std::string err;
        if (!parse_value(q, end, ctx, v, err, fast && !real)) return fail(std::move(err));
      }
      q = skip_blank(q, end);
    } else if (q < end && *q != '\n' && *q != '\r') {
      // Some pattern files carry a value column anyway; it is read and ignored.
      T ignored{};
      if (parse_real(q, end, ignored) != Num::Ok) {
        return fail("unexpected " + token_at(q, end) + " after 'row col' in a pattern file");
      }
      q = skip_blank(q, end);
    }
    while (q < end && (*q == '\r' || is_blank(*q))) ++q;
    if (q < end && *q != '\n') {
      return fail("unexpected " + token_at(q, end) + " after the entry; expected " +
                  std::string(entry_shape(ctx.field)) + " only");
    }
    if (r < 1 || r > ctx.rows) return fail(index_range_message("row", r, ctx.rows));
    if (col < 1 || col > ctx.cols) return fail(index_range_message("column", col, ctx.cols));
    if (r != col) {
      ++offdiag;
    } else if (skew) {
      return fail("diagonal entry (" + std::to_string(r) + ", " + std::to_string(col) +
                  ") in a skew-symmetric file; its diagonal is zero and must not be stored");
    }
    ri[k] = static_cast<I>(r - 1);
    ci[k] = static_cast<I>(col - 1);
    vv[k] = v;
    if (pr == 0) {
      c.first_r = r;
      c.first_c = col;
    } else {
      sorted = sorted && (r > pr || (r == pr && col > pc));
    }
    pr = r;
    pc = col;
    ++k;
    if (q == end) break;
    ++line;
    p = q + 1;
  }
  c.offdiag = offdiag;
  c.sorted = sorted;
  c.last_r = pr;
  c.last_c = pc;
}

// Where array value k lands: column-major, full (general) or one triangle (lower with the
// diagonal for symmetric, strictly lower for skew-symmetric).
struct ArrayPos {
  std::int64_t i = 0, j = 0;
  std::int64_t rows = 0, cols = 0;
  int tri = 0;  // 0 general, 1 lower with diagonal, 2 strictly lower

  void seek(std::int64_t k) {
    if (tri == 0) {
      j = rows > 0 ? k / rows : 0;
      i = rows > 0 ? k % rows : 0;
      return;
    }
    j = 0;
    for (;;) {
      const std::int64_t len = rows - j - (tri == 2 ? 1 : 0);
      if (k < len || j >= cols) break;
      k -= len;
      ++j;
    }
    i = j + (tri == 2 ? 1 : 0) + k;
  }
  void advance() {
    ++i;
    if (i >= rows) {
      ++j;
      i = tri == 0 ? 0 : j + (tri == 2 ? 1 : 0);
    }
  }
};

// Pass 2 for array files: values [first_entry, limit) written into a dense buffer.
template <class T>
void parse_array_chunk(Chunk& c, const Ctx& ctx, T* out, Layout layout, bool mirror,
                       std::int64_t limit) {
  const char* p = c.begin;
  const char* end = c.end;
  std::int64_t line = c.first_line;
  std::int64_t k = c.first_entry;
  if (k >= limit) return;
  ArrayPos pos;
  pos.rows = ctx.rows;
  pos.cols = ctx.cols;
  pos.tri = ctx.symmetry == MmSymmetry::General         ? 0
            : ctx.symmetry == MmSymmetry::SkewSymmetric ? 2
                                                        : 1;
  pos.seek(k);
  const bool skew = ctx.symmetry == MmSymmetry::SkewSymmetric;
  const bool col_major = layout == Layout::ColMajor;
  const bool fast = nearest_rounding();
  auto at = [&](std::int64_t i, std::int64_t j) -> T& {
    return col_major ? out[i + j * ctx.rows] : out[i * ctx.cols + j];
  };
  while (p < end && k < limit) {
    const char* q = skip_blank(p, end);
    if (q == end) break;
    if (!starts_entry(q, end)) {
      const void* nl = std::memchr(q, '\n', static_cast<std::size_t>(end - q));
      if (!nl) break;
      ++line;
      p = static_cast<const char*>(nl) + 1;
      continue;
    }
    T v{};
    std::string err;
    if (!parse_value(q, end, ctx, v, err, fast)) {
      c.err_line = line;
      c.err = std::move(err);
      return;
    }
    while (q < end && (*q == '\r' || is_blank(*q))) ++q;
    if (q < end && *q != '\n') {
      c.err_line = line;
      c.err = "unexpected " + token_at(q, end) +
              " after the value; an array file holds one value per line";
      return;
    }
    at(pos.i, pos.j) = v;
    if (mirror && pos.i != pos.j) at(pos.j, pos.i) = skew ? -v : v;
    pos.advance();
    ++k;
    if (q == end) break;
    ++line;
    p = q + 1;
  }
}

template <class T>
constexpr const char* type_name() {
  return std::is_same_v<T, float> ? "float" : "double";
}

template <class I>
constexpr int index_bits() {
  return static_cast<int>(sizeof(I) * 8);
}

template <class I>
bool fits_index(std::int64_t v) {
  return v >= 0 &&
         static_cast<std::uint64_t>(v) <= static_cast<std::uint64_t>(std::numeric_limits<I>::max());
}

template <class I>
void check_shape_fits(const std::string& path, const Header& h) {
  const auto& info = h.info;
  for (auto [name, v] : {std::pair<const char*, std::int64_t>{"rows", info.rows},
                         std::pair<const char*, std::int64_t>{"cols", info.cols}}) {
    if (!fits_index<I>(v)) {
      throw LimitError(path + ":" + std::to_string(info.size_line) + ": " + name + " = " +
                       std::to_string(v) + " does not fit the " + std::to_string(index_bits<I>()) +
                       "-bit index type");
    }
  }
}

// The scanned body: chunks with their counts and line numbers, and the entry-count verdict.
struct Body {
  std::vector<Chunk> chunks;
  std::int64_t entries = 0;    // entry lines in the file
  std::int64_t last_line = 0;  // number of the file's last line
  int threads = 1;
};

Body scan_body(const char* data, std::size_t size, const Header& h, int threads) {
  Body b;
  b.threads = threads;
  const char* begin = data + h.body_offset;
  const char* end = data + size;
  b.chunks = make_chunks(begin, end, threads);
  const auto nc = static_cast<std::int64_t>(b.chunks.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (nc > 1)
#endif
  for (std::int64_t c = 0; c < nc; ++c) count_chunk(b.chunks[static_cast<std::size_t>(c)]);
  std::int64_t line = h.body_first_line, entries = 0;
  for (auto& c : b.chunks) {
    c.first_line = line;
    c.first_entry = entries;
    line += c.newlines;
    entries += c.entries;
  }
  b.entries = entries;
  // The last line: an unterminated tail counts as one more line.
  b.last_line = (end > begin && end[-1] != '\n') ? line : line - 1;
  if (b.last_line < h.info.size_line) b.last_line = h.info.size_line;
  return b;
}

[[noreturn]] void throw_chunk_error(const std::string& path, const Chunk& c) {
  throw ParseError(path, c.err_line, c.err);
}

// Parse errors first (they come earlier in the file), then a wrong number of entries.
void check_body(const std::string& path, const Header& h, const Body& b, const char* what) {
  for (const auto& c : b.chunks) {
    if (c.err_line >= 0) throw_chunk_error(path, c);
  }
  const std::int64_t want = h.info.nnz;
  if (b.entries > want) {
    for (const auto& c : b.chunks) {
      if (want < c.first_entry + c.entries) {
        throw ParseError(path, line_of_entry(c, want - c.first_entry),
                         "too many " + std::string(what) + ": the size line promises " +
                             std::to_string(want) + " and this is number " +
                             std::to_string(want + 1));
      }
    }
  }
  if (b.entries < want) {
    throw ParseError(path, b.last_line,
                     "too few " + std::string(what) + ": the size line promises " +
                         std::to_string(want) + " but the file ends after " +
                         std::to_string(b.entries));
  }
}

[[noreturn]] void throw_complex(const std::string& path, const Header& h) {
  throw ParseError(path, h.info.banner_line, "complex values are not supported");
}

Ctx make_ctx(const Header& h, const char* tname) {
  return Ctx{h.info.rows, h.info.cols, h.info.field, h.info.symmetry, tname};
}

// Stored (and optionally mirrored) triplets of a coordinate file.
template <class T, class I>
struct Triplets {
  std::vector<I> r, c;
  std::vector<T> v;
  std::int64_t stored = 0;
  std::int64_t offdiag = 0;
  // The stored entries come in strictly increasing (row, column) order: already CSR's order,
  // without duplicates.
  bool row_sorted = false;
};

template <class T, class I>
Triplets<T, I> parse_coordinate(const std::string& path, const char* data, std::size_t size,
                                const Header& h, int threads, bool mirror) {
  check_shape_fits<I>(path, h);
  Body b = scan_body(data, size, h, threads);
  const std::int64_t limit = std::min(b.entries, h.info.nnz);
  const bool sym = h.info.symmetry != MmSymmetry::General;
  Triplets<T, I> t;
  const auto cap = static_cast<std::size_t>(limit) * ((mirror && sym) ? 2 : 1);
  detail::reserve_large(t.r, cap);
  detail::reserve_large(t.c, cap);
  detail::reserve_large(t.v, cap);
  // Within the capacity just reserved, so nothing allocates or throws here; the zero fill and
  // the first touch of each array's pages run on their own thread (W6: 6 ms serial before).
  const auto n = static_cast<std::size_t>(limit);
#ifdef _OPENMP
#pragma omp parallel sections num_threads(std::min(threads, 3)) if (threads > 1 && \
                                                                    limit > (1 << 16))
#endif
  {
#ifdef _OPENMP
#pragma omp section
#endif
    t.r.resize(n);
#ifdef _OPENMP
#pragma omp section
#endif
    t.c.resize(n);
#ifdef _OPENMP
#pragma omp section
#endif
    t.v.resize(n);
  }
  const Ctx ctx = make_ctx(h, type_name<T>());
  const auto nc = static_cast<std::int64_t>(b.chunks.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (nc > 1)
#endif
  for (std::int64_t c = 0; c < nc; ++c) {
    parse_coord_chunk<T, I>(b.chunks[static_cast<std::size_t>(c)], ctx, t.r.data(), t.c.data(),
                            t.v.data(), limit);
  }
  check_body(path, h, b, "entries");
  t.stored = limit;
  t.row_sorted = true;
  std::int64_t lr = 0, lc = 0;  // the last entry of the chunks before
  for (const Chunk& ch : b.chunks) {
    if (ch.first_r == 0) continue;
    t.row_sorted =
        t.row_sorted && ch.sorted && (ch.first_r > lr || (ch.first_r == lr && ch.first_c > lc));
    lr = ch.last_r;
    lc = ch.last_c;
  }
  std::vector<std::int64_t> moff(b.chunks.size() + 1, 0);
  for (std::size_t c = 0; c < b.chunks.size(); ++c) moff[c + 1] = moff[c] + b.chunks[c].offdiag;
  t.offdiag = moff.back();
  const std::int64_t total = limit + (sym ? t.offdiag : 0);
  if (!fits_index<I>(total)) {
    throw LimitError(path + ": " + std::to_string(total) + " entries (after expanding symmetry) " +
                     "do not fit the " + std::to_string(index_bits<I>()) + "-bit index type");
  }
  if (mirror && sym && t.offdiag > 0) {
    const bool skew = h.info.symmetry == MmSymmetry::SkewSymmetric;
    t.r.resize(static_cast<std::size_t>(total));
    t.c.resize(static_cast<std::size_t>(total));
    t.v.resize(static_cast<std::size_t>(total));
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (nc > 1)
#endif
    for (std::int64_t c = 0; c < nc; ++c) {
      const Chunk& ch = b.chunks[static_cast<std::size_t>(c)];
      std::int64_t w = limit + moff[static_cast<std::size_t>(c)];
      const std::int64_t k1 = std::min(ch.first_entry + ch.entries, limit);
      for (std::int64_t k = ch.first_entry; k < k1; ++k) {
        const auto uk = static_cast<std::size_t>(k);
        if (t.r[uk] == t.c[uk]) continue;
        const auto uw = static_cast<std::size_t>(w++);
        t.r[uw] = t.c[uk];
        t.c[uw] = t.r[uk];
        t.v[uw] = skew ? -t.v[uk] : t.v[uk];
      }
    }
  }
  return t;
}

// Dense values of an array file, in `layout`.
template <class T>
DenseMatrix<T> parse_array(const std::string& path, const char* data, std::size_t size,
                           const Header& h, int threads, Layout layout, bool expand) {
  Body b = scan_body(data, size, h, threads);
  const std::int64_t limit = std::min(b.entries, h.info.nnz);
  DenseMatrix<T> m(h.info.rows, h.info.cols, layout);
  const Ctx ctx = make_ctx(h, type_name<T>());
  T* out = m.values().data();
  const bool mirror = expand && h.info.symmetry != MmSymmetry::General;
  const auto nc = static_cast<std::int64_t>(b.chunks.size());
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (nc > 1)
#endif
  for (std::int64_t c = 0; c < nc; ++c) {
    parse_array_chunk<T>(b.chunks[static_cast<std::size_t>(c)], ctx, out, layout, mirror, limit);
  }
  check_body(path, h, b, "values");
  return m;
}

// rows + 1 zeroed row pointers, or LimitError when they cannot be allocated (a header may declare
// up to 2^63 - 1 rows for a matrix without entries).
template <class I>
std::vector<I> csr_row_pointers(const std::string& path, std::int64_t rows) {
  const auto fail = [&] {
    return LimitError(path + ": no memory for the " + std::to_string(rows) +
                      " + 1 row pointers of a CSR matrix (read it as COO instead)");
  };
  try {
    return std::vector<I>(static_cast<std::size_t>(rows) + 1, I(0));
  } catch (const std::bad_alloc&) {
    throw fail();
  } catch (const std::length_error&) {
    throw fail();
  }
}

// Canonical CSR from triplets, by core's COO -> CSR stages: rows bucketed in file order (mirrors
// right after their entry), then each row sorted by column and duplicates summed in that order.
template <class T, class I>
CsrMatrix<T, I> build_csr(const std::string& path, std::int64_t rows, std::int64_t cols,
                          Triplets<T, I>&& t, bool mirror, bool skew, int threads) {
  const auto n = static_cast<std::size_t>(t.stored);
  const auto total = n + static_cast<std::size_t>(mirror ? t.offdiag : 0);
  std::vector<I> row_ptr = csr_row_pointers<I>(path, rows);
  if (t.row_sorted && total == n) {
    // Entries already in CSR order (as a CSR writer leaves them): the column and value arrays
    // are kept as they are, and the row pointers come from where each row starts.
    const I* r = t.r.data();
    I* rp = row_ptr.data();
    const auto sn = static_cast<std::int64_t>(n);
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static) if (sn > (1 << 16))
#endif
    for (std::int64_t k = 0; k < sn; ++k) {
      // Rows (r[k - 1], r[k]] start at k; no two k write the same row.
      const std::int64_t lo = k == 0 ? 0 : static_cast<std::int64_t>(r[k - 1]) + 1;
      for (std::int64_t i = lo; i <= static_cast<std::int64_t>(r[k]); ++i)
        rp[i] = static_cast<I>(k);
    }
    const std::int64_t tail = sn == 0 ? 0 : static_cast<std::int64_t>(r[sn - 1]) + 1;
    for (std::int64_t i = tail; i <= rows; ++i) rp[i] = static_cast<I>(sn);
    std::vector<I> col_idx = std::move(t.c);
    std::vector<T> values = std::move(t.v);
    t = Triplets<T, I>{};
    return CsrMatrix<T, I>(rows, cols, std::move(row_ptr), std::move(col_idx), std::move(values));
  }
  std::vector<I> col_idx;
  std::vector<T> values;
  detail::reserve_large(col_idx, total);
  detail::reserve_large(values, total);
  col_idx.resize(total);
  values.resize(total);
  detail::bucket_by_row(rows, t.r.data(), t.c.data(), t.v.data(), n, mirror, skew, row_ptr.data(),
                        col_idx.data(), values.data());
  t = Triplets<T, I>{};  // release the triplets before sorting
  const std::size_t kept = detail::sort_rows_and_sum_duplicates(
      rows, row_ptr.data(), col_idx.data(), values.data(), threads);
  if (kept < total) {
    col_idx.resize(kept);
    values.resize(kept);
    col_idx.shrink_to_fit();
    values.shrink_to_fit();
  }
  return CsrMatrix<T, I>(rows, cols, std::move(row_ptr), std::move(col_idx), std::move(values));
}

// Nonzero values (NaN included) of a dense column-major matrix as COO triplets, column-major.
template <class T, class I>
CooMatrix<T, I> dense_to_coo(const DenseMatrix<T>& d) {
  // Nothing to visit; the other dimension may be as large as 2^63 - 1.
  if (d.rows() == 0 || d.cols() == 0) return CooMatrix<T, I>(d.rows(), d.cols());
  std::vector<I> r, c;
  std::vector<T> v;
  const T* x = d.values().data();
  for (std::int64_t j = 0; j < d.cols(); ++j) {
    for (std::int64_t i = 0; i < d.rows(); ++i) {
      const T a = x[i + j * d.rows()];
      if (a != T(0) || std::isnan(a)) {
        r.push_back(static_cast<I>(i));
        c.push_back(static_cast<I>(j));
        v.push_back(a);
      }
    }
  }
  return CooMatrix<T, I>(d.rows(), d.cols(), std::move(r), std::move(c), std::move(v));
}

template <class T, class I>
CsrMatrix<T, I> dense_to_csr(const std::string& path, const DenseMatrix<T>& d) {
  std::vector<I> rp = csr_row_pointers<I>(path, d.rows()), c;
  std::vector<T> v;
  const T* x = d.values().data();
  for (std::int64_t i = 0; i < d.rows(); ++i) {
    for (std::int64_t j = 0; j < d.cols(); ++j) {
      const T a = x[i * d.cols() + j];
      if (a != T(0) || std::isnan(a)) {
        c.push_back(static_cast<I>(j));
        v.push_back(a);
      }
    }
    rp[static_cast<std::size_t>(i) + 1] = static_cast<I>(c.size());
  }
  return CsrMatrix<T, I>(d.rows(), d.cols(), std::move(rp), std::move(c), std::move(v));
}

}  // namespace
}  // namespace mm_detail

template <Value T, Index I>
CooMatrix<T, I> read_matrix_market_coo(const std::string& path, const MmReadOptions& options) {
  using namespace mm_detail;
  FileBytes bytes(path);
  const Header h = parse_header(path, bytes.data(), bytes.size());
  if (h.info.field == MmField::Complex) throw_complex(path, h);
  const int threads = thread_count(options.threads);
  if (h.info.format == MmFormat::Array) {
    check_shape_fits<I>(path, h);
    return dense_to_coo<T, I>(parse_array<T>(path, bytes.data(), bytes.size(), h, threads,
                                             Layout::ColMajor, options.expand_symmetry));
  }
  Triplets<T, I> t =
      parse_coordinate<T, I>(path, bytes.data(), bytes.size(), h, threads, options.expand_symmetry);
  return CooMatrix<T, I>(h.info.rows, h.info.cols, std::move(t.r), std::move(t.c), std::move(t.v));
}

template <Value T, Index I>
CsrMatrix<T, I> read_matrix_market_csr(const std::string& path, const MmReadOptions& options) {
  using namespace mm_detail;
  const int threads = thread_count(options.threads);
  Header h;
  Triplets<T, I> t;
  {
    FileBytes bytes(path);
    h = parse_header(path, bytes.data(), bytes.size());
    if (h.info.field == MmField::Complex) throw_complex(path, h);
    if (h.info.format == MmFormat::Array) {
      check_shape_fits<I>(path, h);
      return dense_to_csr<T, I>(path, parse_array<T>(path, bytes.data(), bytes.size(), h, threads,
                                                     Layout::RowMajor, options.expand_symmetry));
    }
    t = parse_coordinate<T, I>(path, bytes.data(), bytes.size(), h, threads, /*mirror=*/false);
  }  // the file's pages are released before the CSR arrays are allocated
  const bool mirror = options.expand_symmetry && h.info.symmetry != MmSymmetry::General;
  return build_csr<T, I>(path, h.info.rows, h.info.cols, std::move(t), mirror,
                         h.info.symmetry == MmSymmetry::SkewSymmetric, threads);
}

template <Value T>
DenseMatrix<T> read_matrix_market_dense(const std::string& path, Layout layout,
                                        const MmReadOptions& options) {
  using namespace mm_detail;
  FileBytes bytes(path);
  const Header h = parse_header(path, bytes.data(), bytes.size());
  if (h.info.field == MmField::Complex) throw_complex(path, h);
  const int threads = thread_count(options.threads);
  if (h.info.format == MmFormat::Array) {
    return parse_array<T>(path, bytes.data(), bytes.size(), h, threads, layout,
                          options.expand_symmetry);
  }
  // The dense result must fit in memory terms: rows * cols elements.
  std::int64_t elems = 0;
  if (__builtin_mul_overflow(h.info.rows, h.info.cols, &elems) ||
      static_cast<std::uint64_t>(elems) > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
    throw LimitError(path + ": a dense " + std::to_string(h.info.rows) + " x " +
                     std::to_string(h.info.cols) + " matrix is too large");
  }
  // A coordinate file of a few bytes may declare a huge matrix: its dense copy is held to the
  // memory limit before the body is read.
  detail::check_dense_limit(h.info.rows, h.info.cols, sizeof(T),
                            detail::resolve_dense_limit(options.dense_limit), path + ": ",
                            "MmReadOptions::dense_limit or spbmm::set_dense_limit");
  Triplets<T, std::int64_t> t = parse_coordinate<T, std::int64_t>(
      path, bytes.data(), bytes.size(), h, threads, options.expand_symmetry);
  DenseMatrix<T> m(h.info.rows, h.info.cols, layout);
  auto view = m.view();
  for (std::size_t k = 0; k < t.v.size(); ++k) view(t.r[k], t.c[k]) += t.v[k];
  return m;
}

#define SPBMM_MM_READ(T, I)                                                                        \
  template CooMatrix<T, I> read_matrix_market_coo<T, I>(const std::string&, const MmReadOptions&); \
  template CsrMatrix<T, I> read_matrix_market_csr<T, I>(const std::string&, const MmReadOptions&);
SPBMM_MM_READ(float, std::int32_t)
SPBMM_MM_READ(float, std::int64_t)
SPBMM_MM_READ(double, std::int32_t)
SPBMM_MM_READ(double, std::int64_t)
#undef SPBMM_MM_READ
template DenseMatrix<float> read_matrix_market_dense<float>(const std::string&, Layout,
                                                            const MmReadOptions&);
template DenseMatrix<double> read_matrix_market_dense<double>(const std::string&, Layout,
                                                              const MmReadOptions&);

}  // namespace spbmm
