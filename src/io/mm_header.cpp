// Matrix Market file access and header parsing: banner, comments, size line, plausibility checks.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
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

Header parse_header(const std::string& path, const char* data, std::size_t size) {
  Header h;
  MatrixMarketHeader& info = h.info;
  LineReader lines(data, size);
  std::string_view line;

  // Banner: the first non-blank line (leading blank lines and indentation are tolerated).
  std::string_view banner;
  for (;;) {
    if (!lines.next(line)) {
      throw ParseError(path, std::max<std::int64_t>(1, lines.line_no()),
                       size == 0 ? "empty file: no %%MatrixMarket banner"
                                 : "no %%MatrixMarket banner: the file holds only blank lines");
    }
    banner = trim(line);
    if (lines.line_no() == 1 && banner.substr(0, 3) == "\xEF\xBB\xBF") {
      banner = trim(banner.substr(3));  // a UTF-8 byte order mark
    }
    if (!banner.empty()) break;
  }
  const std::int64_t banner_line = lines.line_no();
  info.banner = std::string(banner);
  info.banner_line = banner_line;
  {
    std::string_view rest = banner;
    if (rest.substr(0, 2) == "%%") {
      rest.remove_prefix(2);
    } else if (rest.substr(0, 1) == "%") {
      rest.remove_prefix(1);  // NetworkRepository exports write a single '%'
    } else {
      throw ParseError(path, banner_line,
                       "no %%MatrixMarket banner: expected the first line to be '%%MatrixMarket "
                       "matrix <format> <field> <symmetry>', found " +
                           quote(banner));
    }
    constexpr std::string_view kKeyword = "matrixmarket";
    if (rest.size() < kKeyword.size() || lower(rest.substr(0, kKeyword.size())) != kKeyword ||
        (rest.size() > kKeyword.size() && !is_blank(rest[kKeyword.size()]))) {
      throw ParseError(path, banner_line,
                       "no %%MatrixMarket banner: expected '%%MatrixMarket matrix <format> "
                       "<field> <symmetry>', found " +
                           quote(banner));
    }
    rest.remove_prefix(kKeyword.size());
    const auto tok = split(rest);
    if (tok.size() < 4) {
      throw ParseError(path, banner_line,
                       "banner has " + std::to_string(tok.size()) +
                           " of the 4 words after %%MatrixMarket; expected 'object format field "
                           "symmetry', e.g. 'matrix coordinate real general'");
    }
    if (tok.size() > 4) {
      throw ParseError(path, banner_line,
                       "unexpected " + quote(tok[4]) +
                           " after the symmetry in the banner; expected 'object format field "
                           "symmetry'");
    }
    const std::string object = lower(tok[0]), format = lower(tok[1]), field = lower(tok[2]),
                      symmetry = lower(tok[3]);
    if (object == "matrix") {
      info.object = MmObject::Matrix;
    } else if (object == "vector") {
      throw ParseError(path, banner_line,
                       "Matrix Market 'vector' objects are not supported; only 'matrix'");
    } else {
      throw ParseError(path, banner_line,
                       "unknown object " + quote(tok[0]) + " in the banner; expected 'matrix'");
    }
    if (format == "coordinate") {
      info.format = MmFormat::Coordinate;
    } else if (format == "array") {
      info.format = MmFormat::Array;
    } else {
      throw ParseError(
          path, banner_line,
          "unknown format " + quote(tok[1]) + " in the banner; expected 'coordinate' or 'array'");
    }
    if (field == "real") {
      info.field = MmField::Real;
    } else if (field == "double") {
      info.field = MmField::Double;
    } else if (field == "integer") {
      info.field = MmField::Integer;
    } else if (field == "pattern") {
      info.field = MmField::Pattern;
    } else if (field == "complex") {
      info.field = MmField::Complex;
    } else {
      throw ParseError(path, banner_line,
                       "unknown field " + quote(tok[2]) +
                           " in the banner; expected real, double, integer, pattern or complex");
    }
    if (symmetry == "general") {
      info.symmetry = MmSymmetry::General;
    } else if (symmetry == "symmetric") {
      info.symmetry = MmSymmetry::Symmetric;
    } else if (symmetry == "skew-symmetric") {
      info.symmetry = MmSymmetry::SkewSymmetric;
    } else if (symmetry == "hermitian") {
      info.symmetry = MmSymmetry::Hermitian;
    } else {
      throw ParseError(path, banner_line,
                       "unknown symmetry " + quote(tok[3]) +
                           " in the banner; expected general, symmetric, skew-symmetric or "
                           "hermitian");
    }
    if (info.format == MmFormat::Array && info.field == MmField::Pattern) {
      throw ParseError(path, banner_line,
                       "invalid banner: an 'array' file cannot have field 'pattern'");
    }
    if (info.symmetry == MmSymmetry::Hermitian && info.field != MmField::Complex) {
      throw ParseError(path, banner_line,
                       std::string("invalid banner: 'hermitian' needs field 'complex', found '") +
                           to_string(info.field) + "'");
    }
    if (info.symmetry == MmSymmetry::SkewSymmetric && info.field == MmField::Pattern) {
      throw ParseError(path, banner_line,
                       "invalid banner: a 'pattern' file cannot be 'skew-symmetric'");
    }
  }

  // Comments and blank lines, then the size line.
  std::string_view size_text;
  for (;;) {
    if (!lines.next(line)) {
      throw ParseError(path, std::max<std::int64_t>(banner_line, lines.line_no()),
                       info.format == MmFormat::Coordinate
                           ? "no size line: expected 'rows cols nnz' after the banner"
                           : "no size line: expected 'rows cols' after the banner");
    }
    const std::string_view t = trim(line);
    if (t.empty()) continue;
    if (t.front() == '%') {
      info.comments.emplace_back(trim(t.substr(1)));
      continue;
    }
    size_text = t;
    break;
  }
  const std::int64_t size_line = lines.line_no();
  info.size_line = size_line;
  const bool coord = info.format == MmFormat::Coordinate;
  const char* expected = coord ? "'rows cols nnz'" : "'rows cols'";
  const auto tok = split(size_text);
  const std::size_t want = coord ? 3 : 2;
  std::int64_t v[3] = {0, 0, 0};
  const char* names[3] = {"rows", "cols", "nnz"};
  for (std::size_t i = 0; i < tok.size() && i < want; ++i) {
    std::string_view s = tok[i];
    if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v[i]);
    if (r.ec == std::errc::result_out_of_range && r.ptr == s.data() + s.size()) {
      throw ParseError(path, size_line,
                       std::string("size line: ") + names[i] + " " + quote(tok[i]) +
                           " does not fit in a 64-bit integer");
    }
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
      throw ParseError(path, size_line,
                       std::string("size line: expected ") + expected + " as integers, found " +
                           quote(size_text));
    }
    if (v[i] < 0) {
      throw ParseError(
          path, size_line,
          std::string("size line: ") + names[i] + " must be >= 0, found " + std::to_string(v[i]));
    }
  }
  if (tok.size() != want) {
    throw ParseError(path, size_line,
                     "size line has " + std::to_string(tok.size()) + " numbers; expected " +
                         std::to_string(want) + " (" + std::string(expected) + ") for " +
                         (coord ? "a coordinate" : "an array") + " file");
  }
  info.rows = v[0];
  info.cols = v[1];
  if (info.symmetry != MmSymmetry::General && info.rows != info.cols) {
    throw ParseError(path, size_line,
                     std::string("a ") + to_string(info.symmetry) + " matrix must be square, but " +
                         "the size line says " + std::to_string(info.rows) + " x " +
                         std::to_string(info.cols));
  }
  if (coord) {
    info.nnz = v[2];
  } else {
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
      throw ParseError(path, size_line,
                       "size line: " + std::to_string(info.rows) + " x " +
                           std::to_string(info.cols) + " values overflow a 64-bit count");
    }
    info.nnz = count;
  }

  h.body_offset = lines.pos();
  h.body_first_line = size_line + 1;
  // Each stored entry needs at least "1 1\n" (coordinate) or "1\n" (array); a claim beyond what
  // the file can hold fails here, before any allocation sized by it. The last line may lack its
  // newline.
  const std::int64_t per_entry = coord ? 4 : 2;
  const auto body_bytes = static_cast<std::int64_t>(size - h.body_offset);
  const std::int64_t can_hold = (body_bytes + 1) / per_entry;
  if (info.nnz > can_hold) {
    throw ParseError(path, size_line,
                     "the size line promises " + std::to_string(info.nnz) + " entries, but the " +
                         std::to_string(body_bytes) + " bytes after it can hold at most " +
                         std::to_string(can_hold));
  }
  return h;
}

}  // namespace mm_detail
}  // namespace spbmm
