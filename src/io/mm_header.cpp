// Matrix Market file access and header parsing: banner, comments, size line, plausibility checks.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "io/mm_internal.hpp"
#include "spbmm/error.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace spbmm {

const char* to_string(MmObject object) noexcept {
  return object == MmObject::Matrix ? "matrix" : "vector";
}
const char* to_string(MmFormat format) noexcept {
  return format == MmFormat::Coordinate ? "coordinate" : "array";
}
const char* to_string(MmField field) noexcept {
  switch (field) {
    case MmField::Real:
      return "real";
    case MmField::Double:
      return "double";
    case MmField::Integer:
      return "integer";
    case MmField::Pattern:
      return "pattern";
    case MmField::Complex:
      return "complex";
    case MmField::UnsignedInteger:
      return "unsigned-integer";
  }
  return "?";
}
const char* to_string(MmSymmetry symmetry) noexcept {
  switch (symmetry) {
    case MmSymmetry::General:
      return "general";
    case MmSymmetry::Symmetric:
      return "symmetric";
    case MmSymmetry::SkewSymmetric:
      return "skew-symmetric";
    case MmSymmetry::Hermitian:
      return "hermitian";
  }
  return "?";
}

MatrixMarketHeader read_matrix_market_header(const std::string& path) {
  mm_detail::FileBytes bytes(path);
  return mm_detail::parse_header(path, bytes.data(), bytes.size()).info;
}

namespace mm_detail {

namespace {

std::string errno_text() { return std::strerror(errno); }

bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  return r;
}

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    std::size_t j = i;
    while (j < s.size() && !is_blank(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Quotes a token for a message (see mm_detail::quote).
std::string quote(std::string_view s) { return mm_detail::quote(s.data(), s.size()); }

// Walks a buffer line by line, counting lines from 1.
class LineReader {
 public:
  LineReader(const char* data, std::size_t size) : data_(data), size_(size) {}
  // The next line without its '\n'; false at the end of the data.
  bool next(std::string_view& line) {
    if (pos_ >= size_) return false;
    const char* start = data_ + pos_;
    const void* nl = std::memchr(start, '\n', size_ - pos_);
    const std::size_t len =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : size_ - pos_;
    line = std::string_view(start, len);
    pos_ += len + (nl ? 1 : 0);
    ++line_no_;
    return true;
  }
  std::int64_t line_no() const noexcept { return line_no_; }
  std::size_t pos() const noexcept { return pos_; }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::int64_t line_no_ = 0;
};

enum class BannerStart : std::uint8_t { Yes, No, NeedMore };

// Whether the first bytes of a stream can begin a Matrix Market file: a UTF-8 byte order mark and
// blank lines, then '%' or '%%' and "MatrixMarket" in any letter case.
BannerStart banner_start(const char* p, std::size_t n) {
  static constexpr unsigned char kBom[3] = {0xEF, 0xBB, 0xBF};
  std::size_t i = 0;
  while (i < 3 && i < n && static_cast<unsigned char>(p[i]) == kBom[i]) ++i;
  if (i < 3 && i == n) return BannerStart::NeedMore;
  if (i < 3) i = 0;
  while (i < n && (p[i] == '\n' || is_blank(p[i]))) ++i;
  if (i == n) return BannerStart::NeedMore;
  if (p[i] != '%') return BannerStart::No;
  ++i;
  if (i < n && p[i] == '%') ++i;
  static constexpr char kWord[] = "matrixmarket";
  for (std::size_t k = 0; k < sizeof(kWord) - 1; ++k, ++i) {
    if (i == n) return BannerStart::NeedMore;
    const char c = p[i] >= 'A' && p[i] <= 'Z' ? static_cast<char>(p[i] - 'A' + 'a') : p[i];
    if (c != kWord[k]) return BannerStart::No;
  }
  return BannerStart::Yes;
}

}  // namespace

std::string quote(const char* p, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < n && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out + (n > 40 ? "...'" : "'");
}

FileBytes::FileBytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path + ": cannot open for reading: " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw IoError(path + ": cannot stat: " + why);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw IoError(path + ": is a directory, not a Matrix Market file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > 0 && S_ISREG(st.st_mode)) {
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) {
      map_ = m;
      map_size_ = size;
      data_ = static_cast<const char*>(m);
      size_ = size;
      ::madvise(m, size, MADV_WILLNEED);
    }
  }
  if (map_ == nullptr) {
    // Not mappable (a pipe, a special file): read it. A stream may never end (/dev/zero,
    // /dev/urandom), so reading stops as soon as its first line shows it cannot be a Matrix
    // Market file; the header parser then reports what it found.
    std::vector<char> buf;
    char tmp[1 << 16];
    bool reading = true;
    bool banner_seen = false;
    while (reading) {
      const ssize_t got = ::read(fd, tmp, sizeof tmp);
      if (got < 0) {
        if (errno == EINTR) continue;
        const std::string why = errno_text();
        ::close(fd);
        throw IoError(path + ": cannot read: " + why);
      }
      if (got == 0) break;
      buf.insert(buf.end(), tmp, tmp + got);
      if (!banner_seen) {
        const BannerStart v = banner_start(buf.data(), buf.size());
        banner_seen = v == BannerStart::Yes;
        reading = v != BannerStart::No;
      }
    }
    copy_ = std::move(buf);
    data_ = copy_.data();
    size_ = copy_.size();
  }
  ::close(fd);

  // Old Mac line endings: a '\r' not followed by '\n' before the first '\n'.
  const void* nl = size_ ? std::memchr(data_, '\n', size_) : nullptr;
  const std::size_t head =
      nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - data_) : size_;
  const void* cr = head ? std::memchr(data_, '\r', head) : nullptr;
  if (cr != nullptr) {
    const char* c = static_cast<const char*>(cr);
    if (c + 1 < data_ + size_ && c[1] != '\n') {
      std::vector<char> conv(data_, data_ + size_);
      for (std::size_t i = 0; i < conv.size(); ++i) {
        if (conv[i] == '\r' && (i + 1 >= conv.size() || conv[i + 1] != '\n')) conv[i] = '\n';
      }
      if (map_) ::munmap(map_, map_size_);
      map_ = nullptr;
      copy_ = std::move(conv);
      data_ = copy_.data();
      size_ = copy_.size();
    }
  }
}

FileBytes::~FileBytes() {
  if (map_) ::munmap(map_, map_size_);
}

int thread_count(int requested) {
  if (requested < 0) {
    throw InvalidArgument("Matrix Market: threads must be >= 0 (0: the default), got " +
                          std::to_string(requested));
  }
#ifdef _OPENMP
  if (requested > 0) return requested;
  if (omp_in_parallel()) return 1;
  return std::max(1, omp_get_max_threads());
#else
  (void)requested;
  return 1;
#endif
}

namespace {

// The banner: the first non-blank line (leading blank lines, indentation and a UTF-8 byte order
// mark are tolerated). Sets `line_no` to its line number.
std::string_view find_banner(const std::string& path, LineReader& lines, std::size_t size,
                             std::int64_t& line_no) {
  std::string_view line;
  for (;;) {
    if (!lines.next(line)) {
      throw ParseError(path, std::max<std::int64_t>(1, lines.line_no()),
                       size == 0 ? "empty file: no %%MatrixMarket banner"
                                 : "no %%MatrixMarket banner: the file holds only blank lines");
    }
    std::string_view banner = trim(line);
    if (lines.line_no() == 1 && banner.substr(0, 3) == "\xEF\xBB\xBF") {
      banner = trim(banner.substr(3));  // a UTF-8 byte order mark
    }
    if (!banner.empty()) {
      line_no = lines.line_no();
      return banner;
    }
  }
}

// One banner word against its spellings; the index of the match, or -1.
int match(std::string_view word, std::initializer_list<std::string_view> spellings) {
  const std::string w = lower(word);
  int k = 0;
  for (std::string_view s : spellings) {
    if (w == s) return k;
    ++k;
  }
  return -1;
}

// The compression a file starts with, by its magic bytes; nullptr when none is recognised.
const char* compression_of(std::string_view head) {
  if (head.substr(0, 2) == "\x1f\x8b") return "gzip";
  if (head.substr(0, 3) == "BZh") return "bzip2";
  if (head.substr(0, 6) == std::string_view("\xfd"
                                            "7zXZ\0",
                                            6))
    return "xz";
  if (head.substr(0, 4) == "\x28\xb5\x2f\xfd") return "zstd";
  if (head.substr(0, 4) == "PK\x03\x04") return "zip";
  return nullptr;
}

// "%%MatrixMarket object format field symmetry": the four words and their combinations.
void parse_banner(const std::string& path, std::string_view banner, std::int64_t line,
                  MatrixMarketHeader& info) {
  if (const char* kind = compression_of(banner)) {
    throw ParseError(path, line,
                     std::string("the file is ") + kind +
                         "-compressed; spbmm reads uncompressed Matrix Market files: decompress "
                         "it first");
  }
  std::string_view rest = banner;
  if (rest.substr(0, 2) == "%%") {
    rest.remove_prefix(2);
  } else if (rest.substr(0, 1) == "%") {
    rest.remove_prefix(1);  // NetworkRepository exports write a single '%'
  } else {
    throw ParseError(path, line,
                     "no %%MatrixMarket banner: expected the first line to be '%%MatrixMarket "
                     "matrix <format> <field> <symmetry>', found " +
                         quote(banner));
  }
  constexpr std::string_view kKeyword = "matrixmarket";
  if (rest.size() < kKeyword.size() || lower(rest.substr(0, kKeyword.size())) != kKeyword ||
      (rest.size() > kKeyword.size() && !is_blank(rest[kKeyword.size()]))) {
    throw ParseError(path, line,
                     "no %%MatrixMarket banner: expected '%%MatrixMarket matrix <format> "
                     "<field> <symmetry>', found " +
                         quote(banner));
  }
  rest.remove_prefix(kKeyword.size());
  const auto tok = split(rest);
  if (tok.size() < 4) {
    throw ParseError(path, line,
                     "banner has " + std::to_string(tok.size()) +
                         " of the 4 words after %%MatrixMarket; expected 'object format field "
                         "symmetry', e.g. 'matrix coordinate real general'");
  }
  if (tok.size() > 4) {
    throw ParseError(path, line,
                     "unexpected " + quote(tok[4]) +
                         " after the symmetry in the banner; expected 'object format field "
                         "symmetry'");
  }
  switch (match(tok[0], {"matrix", "vector"})) {
    case 0:
      info.object = MmObject::Matrix;
      break;
    case 1:
      throw ParseError(path, line,
                       "Matrix Market 'vector' objects are not supported; only 'matrix'");
    default:
      throw ParseError(path, line,
                       "unknown object " + quote(tok[0]) + " in the banner; expected 'matrix'");
  }
  const int format = match(tok[1], {"coordinate", "array"});
  if (format < 0) {
    throw ParseError(
        path, line,
        "unknown format " + quote(tok[1]) + " in the banner; expected 'coordinate' or 'array'");
  }
  info.format = format == 0 ? MmFormat::Coordinate : MmFormat::Array;
  static constexpr MmField kFields[] = {MmField::Real,    MmField::Double,
                                        MmField::Integer, MmField::UnsignedInteger,
                                        MmField::Pattern, MmField::Complex};
  const int field =
      match(tok[2], {"real", "double", "integer", "unsigned-integer", "pattern", "complex"});
  if (field < 0) {
    throw ParseError(path, line,
                     "unknown field " + quote(tok[2]) +
                         " in the banner; expected real, double, integer, unsigned-integer, "
                         "pattern or complex");
  }
  info.field = kFields[field];
  static constexpr MmSymmetry kSymmetries[] = {MmSymmetry::General, MmSymmetry::Symmetric,
                                               MmSymmetry::SkewSymmetric, MmSymmetry::Hermitian};
  const int symmetry = match(tok[3], {"general", "symmetric", "skew-symmetric", "hermitian"});
  if (symmetry < 0) {
    throw ParseError(path, line,
                     "unknown symmetry " + quote(tok[3]) +
                         " in the banner; expected general, symmetric, skew-symmetric or "
                         "hermitian");
  }
  info.symmetry = kSymmetries[symmetry];
  if (info.format == MmFormat::Array && info.field == MmField::Pattern) {
    throw ParseError(path, line, "invalid banner: an 'array' file cannot have field 'pattern'");
  }
  // The specification allows hermitian only with complex values, but the conjugate of a real
  // value is itself: such files are read as symmetric, as fast_matrix_market reads them.
  if (info.symmetry == MmSymmetry::SkewSymmetric && info.field == MmField::Pattern) {
    throw ParseError(path, line, "invalid banner: a 'pattern' file cannot be 'skew-symmetric'");
  }
}

// Comment and blank lines up to the size line, which it returns (trimmed) with its number.
std::string_view read_comments(const std::string& path, LineReader& lines, MatrixMarketHeader& info,
                               std::int64_t& line_no) {
  std::string_view line;
  for (;;) {
    if (!lines.next(line)) {
      throw ParseError(path, std::max<std::int64_t>(info.banner_line, lines.line_no()),
                       info.format == MmFormat::Coordinate
                           ? "no size line: expected 'rows cols nnz' after the banner"
                           : "no size line: expected 'rows cols' after the banner");
    }
    const std::string_view t = trim(line);
    if (t.empty()) continue;
    if (t.front() == '%') {
      // The text after '%' exactly, so that a rewritten file keeps it; only a CR line ending goes.
      std::string_view text = line.substr(line.find('%') + 1);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      info.comments.emplace_back(text);
      continue;
    }
    line_no = lines.line_no();
    return t;
  }
}

// "rows cols nnz" (coordinate) or "rows cols" (array); sets rows, cols and the stored count.
void parse_size_line(const std::string& path, std::string_view text, std::int64_t line,
                     MatrixMarketHeader& info) {
  const bool coord = info.format == MmFormat::Coordinate;
  const char* expected = coord ? "'rows cols nnz'" : "'rows cols'";
  const auto tok = split(text);
  const std::size_t want = coord ? 3 : 2;
  std::int64_t v[3] = {0, 0, 0};
  const char* names[3] = {"rows", "cols", "nnz"};
  for (std::size_t i = 0; i < tok.size() && i < want; ++i) {
    std::string_view s = tok[i];
    if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v[i]);
    if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size()) {
      throw ParseError(path, line,
                       std::string("size line: ") + names[i] + " " + quote(tok[i]) +
                           " does not fit in a 64-bit integer");
    }
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      throw ParseError(
          path, line,
          std::string("size line: expected ") + expected + " as integers, found " + quote(text));
    }
    if (v[i] < 0) {
      throw ParseError(
          path, line,
          std::string("size line: ") + names[i] + " must be >= 0, found " + std::to_string(v[i]));
    }
  }
  if (tok.size() != want) {
    throw ParseError(path, line,
                     "size line has " + std::to_string(tok.size()) + " numbers; expected " +
                         std::to_string(want) + " (" + std::string(expected) + ") for " +
                         (coord ? "a coordinate" : "an array") + " file");
  }
  info.rows = v[0];
  info.cols = v[1];
  if (info.symmetry != MmSymmetry::General && info.rows != info.cols) {
    throw ParseError(path, line,
                     std::string("a ") + to_string(info.symmetry) + " matrix must be square, but " +
                         "the size line says " + std::to_string(info.rows) + " x " +
                         std::to_string(info.cols));
  }
  if (coord) {
    info.nnz = v[2];
    return;
  }
  const std::int64_t n = info.rows;
  bool overflow = false;
  std::int64_t count = 0;
  if (info.symmetry == MmSymmetry::General) {
    overflow = __builtin_mul_overflow(info.rows, info.cols, &count);
  } else {
    // n (n + 1) / 2 values with the diagonal, n (n - 1) / 2 without (skew-symmetric).
    const std::int64_t a = n, b = info.symmetry == MmSymmetry::SkewSymmetric ? n - 1 : n + 1;
    overflow = n > 0 && __builtin_mul_overflow(a, b, &count);
    count = n > 0 ? count / 2 : 0;
  }
  if (overflow) {
    throw ParseError(path, line,
                     "size line: " + std::to_string(info.rows) + " x " + std::to_string(info.cols) +
                         " values overflow a 64-bit count");
  }
  info.nnz = count;
}

// Each stored entry needs at least "1 1\n" (coordinate) or "1\n" (array); a claim beyond what the
// bytes after the size line can hold fails here, before any allocation sized by it. The last line
// may lack its newline.
void check_plausible(const std::string& path, const Header& h, std::size_t size) {
  const MatrixMarketHeader& info = h.info;
  const std::int64_t per_entry = info.format == MmFormat::Coordinate ? 4 : 2;
  const auto body_bytes = static_cast<std::int64_t>(size - h.body_offset);
  const std::int64_t can_hold = (body_bytes + 1) / per_entry;
  if (info.nnz > can_hold) {
    throw ParseError(path, info.size_line,
                     "the size line promises " + std::to_string(info.nnz) + " entries, but the " +
                         std::to_string(body_bytes) + " bytes after it can hold at most " +
                         std::to_string(can_hold));
  }
}

}  // namespace

Header parse_header(const std::string& path, const char* data, std::size_t size) {
  Header h;
  MatrixMarketHeader& info = h.info;
  LineReader lines(data, size);
  const std::string_view banner = find_banner(path, lines, size, info.banner_line);
  info.banner = std::string(banner);
  parse_banner(path, banner, info.banner_line, info);
  const std::string_view size_text = read_comments(path, lines, info, info.size_line);
  parse_size_line(path, size_text, info.size_line, info);
  h.body_offset = lines.pos();
  h.body_first_line = info.size_line + 1;
  check_plausible(path, h, size);
  return h;
}

}  // namespace mm_detail
}  // namespace spbmm
