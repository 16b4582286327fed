// Hostile Matrix Market files: huge headers, impossible counts, bad indices, negative numbers,
// truncation and binary garbage. Each is rejected with the right error type and a message naming
// the file and line, and a matrix the caller held before the failed read stays as it was.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hostile.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

using test::same;

constexpr std::int64_t k2to62 = std::int64_t{1} << 62;

const std::string kBanner = "%%MatrixMarket matrix coordinate real general\n";

// What a failed read must report: the error type E, the start of the message (e.g. "file:2: ")
// and a part of it.
struct Want {
  std::string prefix;
  std::string part;
};

// Runs held = read(); expects E with the wanted message, and `held` unchanged.
template <class E, class Held, class Read>
void expect_read_fails(Held& held, Read&& read, const Want& want, const char* reader) {
  const Held before = held;
  try {
    held = read();
    ADD_FAILURE() << reader << ": expected an error with '" << want.part << "'";
  } catch (const E& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(want.prefix, 0), 0u) << reader << ": message was: " << what;
    EXPECT_NE(what.find(want.part), std::string::npos)
        << reader << ": message was: " << what << "\nexpected to contain: " << want.part;
  } catch (const std::exception& e) {
    ADD_FAILURE() << reader << ": unexpected error type: " << e.what();
  }
  EXPECT_TRUE(same(held, before)) << reader << ": the held matrix changed";
}

template <class P>
class HostileFiles : public ::testing::Test {
 protected:
  using T = typename P::T;
  using I = typename P::I;

  HostileFiles() {
    const std::string good = dir.write("good.mtx", kBanner + "3 3 3\n1 1 1.5\n2 3 -2\n3 2 4\n");
    held_coo = read_matrix_market_coo<T, I>(good);
    held_csr = read_matrix_market_csr<T, I>(good);
    held_dense = read_matrix_market_dense<T>(good);
  }

  // Every reader (COO, CSR, dense) fails with E and the same message.
  template <class E>
  void all_readers_fail(const std::string& path, const Want& want) {
    expect_read_fails<E>(
        held_coo, [&] { return read_matrix_market_coo<T, I>(path); }, want, "coo");
    expect_read_fails<E>(
        held_csr, [&] { return read_matrix_market_csr<T, I>(path); }, want, "csr");
    expect_read_fails<E>(
        held_dense, [&] { return read_matrix_market_dense<T>(path); }, want, "dense");
  }

  // ParseError at `line` from every reader; the error carries the file and the line.
  void parse_error_everywhere(const std::string& path, std::int64_t line, const std::string& part) {
    all_readers_fail<ParseError>(path, {path + ":" + std::to_string(line) + ": ", part});
    try {
      (void)read_matrix_market_coo<T, I>(path);
    } catch (const ParseError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.line(), line);
    }
  }

  test::ScratchDir dir;
  CooMatrix<T, I> held_coo;
  CsrMatrix<T, I> held_csr;
  DenseMatrix<T> held_dense;
};

TYPED_TEST_SUITE(HostileFiles, test::AllPairs);

// rows = cols = 2^62: the header is valid and describes the matrix; what each reader makes of it
// depends on what it must allocate. Nothing is allocated in proportion to 2^62.
TYPED_TEST(HostileFiles, HeaderSizesOf2To62) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  const std::string s62 = std::to_string(k2to62);
  const std::string path = this->dir.write("h62.mtx", kBanner + s62 + " " + s62 + " 1\n1 1 7\n");
  const MatrixMarketHeader h = read_matrix_market_header(path);
  EXPECT_EQ(h.rows, k2to62);
  EXPECT_EQ(h.cols, k2to62);
  EXPECT_EQ(h.nnz, 1);
  // The dense copy would need 2^124 values whatever the index type.
  expect_read_fails<LimitError>(
      this->held_dense, [&] { return read_matrix_market_dense<T>(path); },
      {path + ": ", "a dense 4611686018427387904 x 4611686018427387904 matrix is too large"},
      "dense");
  if constexpr (std::is_same_v<I, std::int32_t>) {
    const Want too_big{path + ":2: ",
                       "rows = 4611686018427387904 does not fit the 32-bit index type"};
    expect_read_fails<LimitError>(
        this->held_coo, [&] { return read_matrix_market_coo<T, I>(path); }, too_big, "coo");
    expect_read_fails<LimitError>(
        this->held_csr, [&] { return read_matrix_market_csr<T, I>(path); }, too_big, "csr");
  } else {
    // COO needs no per-row storage: one entry of a 2^62 x 2^62 matrix is a valid result.
    const CooMatrix<T, I> coo = read_matrix_market_coo<T, I>(path);
    EXPECT_EQ(coo.rows(), k2to62);
    EXPECT_EQ(coo.nnz(), 1);
    EXPECT_EQ(coo.values()[0], T(7));
    // CSR would need 2^62 + 1 row pointers.
    expect_read_fails<LimitError>(
        this->held_csr, [&] { return read_matrix_market_csr<T, I>(path); },
        {path + ": ", "no memory for the 4611686018427387904 + 1 row pointers"}, "csr");
  }
  // An array file of 2^62 x 1 values is refused from its size line: the file cannot hold them.
  const std::string arr = this->dir.write(
      "h62_array.mtx", "%%MatrixMarket matrix array real general\n" + s62 + " 1\n1\n");
  this->parse_error_everywhere(arr, 2,
                               "the size line promises 4611686018427387904 entries, but the 2 "
                               "bytes after it can hold at most 1");
  // 2^63 itself does not fit the 64-bit integer of the size line.
  const std::string s63 = this->dir.write("h63.mtx", kBanner + "9223372036854775808 2 1\n1 1 1\n");
  this->parse_error_everywhere(s63, 2, "does not fit in a 64-bit integer");
}

// nnz = 10^15 in a file of a few bytes: refused from the size line, before anything of that size
// is allocated (the corpus file and a symmetric variant).
TYPED_TEST(HostileFiles, NnzOf10To15InATinyFile) {
  const std::string corpus = test::test_data() + "/mm/err_nnz_vs_file_size.mtx";
  this->parse_error_everywhere(corpus, 2, "promises 1000000000000000 entries");
  const std::string sym = this->dir.write(
      "sym.mtx",
      "%%MatrixMarket matrix coordinate real symmetric\n10 10 1000000000000000\n1 1 1\n2 1 1\n");
  this->parse_error_everywhere(sym, 2, "promises 1000000000000000 entries");
  SPBMM_EXPECT_THROW_MSG((void)read_matrix_market_header(sym), ParseError,
                         "promises 1000000000000000 entries");
}

// Indices are 1-based: 0 is out of range, as is anything beyond the size line's rows or cols,
// in general and symmetric files.
TYPED_TEST(HostileFiles, IndexZeroAndIndexBeyondTheSize) {
  const auto file = [&](const char* name, const std::string& body) {
    return this->dir.write(name, kBanner + "3 4 2\n1 1 1\n" + body);
  };
  this->parse_error_everywhere(file("row0.mtx", "0 2 1\n"), 4,
                               "row index 0 is out of range 1..3 (indices are 1-based)");
  this->parse_error_everywhere(file("col0.mtx", "2 0 1\n"), 4,
                               "column index 0 is out of range 1..4 (indices are 1-based)");
  this->parse_error_everywhere(file("row4.mtx", "4 1 1\n"), 4, "row index 4 is out of range 1..3");
  this->parse_error_everywhere(file("col5.mtx", "1 5 1\n"), 4,
                               "column index 5 is out of range 1..4");
  this->parse_error_everywhere(file("rowhuge.mtx", "9223372036854775807 1 1\n"), 4,
                               "row index 9223372036854775807 is out of range 1..3");
  const std::string sym = this->dir.write(
      "sym.mtx", "%%MatrixMarket matrix coordinate real symmetric\n3 3 2\n1 1 1\n3 4 1\n");
  this->parse_error_everywhere(sym, 4, "column index 4 is out of range 1..3");
}

// Negative sizes and indices are errors; negative values are values.
TYPED_TEST(HostileFiles, NegativeNumbers) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  this->parse_error_everywhere(this->dir.write("rows.mtx", kBanner + "-3 3 1\n1 1 1\n"), 2,
                               "rows must be >= 0, found -3");
  this->parse_error_everywhere(this->dir.write("cols.mtx", kBanner + "3 -3 1\n1 1 1\n"), 2,
                               "cols must be >= 0, found -3");
  this->parse_error_everywhere(this->dir.write("nnz.mtx", kBanner + "3 3 -1\n"), 2,
                               "nnz must be >= 0, found -1");
  this->parse_error_everywhere(
      this->dir.write("arr.mtx", "%%MatrixMarket matrix array real general\n2 -2\n"), 2,
      "cols must be >= 0, found -2");
  this->parse_error_everywhere(this->dir.write("ri.mtx", kBanner + "3 3 1\n-1 1 1\n"), 3,
                               "row index -1 is out of range 1..3");
  this->parse_error_everywhere(this->dir.write("ci.mtx", kBanner + "3 3 1\n1 -2 1\n"), 3,
                               "column index -2 is out of range 1..3");
  const std::string values = this->dir.write("values.mtx", kBanner + "2 2 2\n1 1 -2.5\n2 2 -0\n");
  const CsrMatrix<T, I> m = read_matrix_market_csr<T, I>(values);
  ASSERT_EQ(m.nnz(), 2);
  EXPECT_EQ(m.values()[0], T(-2.5));
  EXPECT_TRUE(std::signbit(m.values()[1]));
}

// A file cut at every byte: each prefix either reads (only when the cut falls inside the last
// value, which no format can tell from a shorter number) or is a ParseError naming a line. A cut
// that leaves too few bytes for the promised entries is refused from the size line, before the
// body is parsed; the other cuts are named at the line where the file stops making sense.
TYPED_TEST(HostileFiles, TruncatedFile) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  const std::string head = kBanner + "4 4 5\n";
  const std::vector<std::string> lines = {"1 1 1.25\n", "2 3 -2.5\n", "3 2 4.75\n", "4 4 8\n",
                                          "4 1 0.5\n"};
  std::string full = head;
  for (const auto& l : lines) full += l;
  const std::size_t last_line = full.size() - lines.back().size();
  const std::string path = this->dir.path("cut.mtx");
  std::size_t read_ok = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    this->dir.write("cut.mtx", full.substr(0, n));
    try {
      const CooMatrix<T, I> m = read_matrix_market_coo<T, I>(path);
      // Only a cut inside the last value ("0", "0.", "0.5") can pass unnoticed.
      EXPECT_GE(n, full.size() - 3) << "cut at byte " << n;
      EXPECT_EQ(m.nnz(), 5) << "cut at byte " << n;
      ++read_ok;
    } catch (const ParseError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_GE(e.line(), 1);
      EXPECT_LE(e.line(), 7) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cut at byte " << n << ": not a ParseError: " << e.what();
    }
  }
  EXPECT_EQ(read_ok, 3u);
  const auto cut = [&](std::size_t n) { return this->dir.write("c.mtx", full.substr(0, n)); };
  this->parse_error_everywhere(cut(0), 1, "empty file: no %%MatrixMarket banner");
  this->parse_error_everywhere(cut(kBanner.size()), 1, "no size line: expected 'rows cols nnz'");
  this->parse_error_everywhere(cut(kBanner.size() + 4), 2, "size line has 2 numbers; expected 3");
  this->parse_error_everywhere(
      cut(head.size()), 2,
      "the size line promises 5 entries, but the 0 bytes after it can hold at most 0");
  this->parse_error_everywhere(
      cut(head.size() + lines[0].size()), 2,
      "the size line promises 5 entries, but the 9 bytes after it can hold at most 2");
  this->parse_error_everywhere(
      cut(last_line), 6, "too few entries: the size line promises 5 but the file ends after 4");
  this->parse_error_everywhere(cut(last_line + 2), 7, "entry has only a row index");
  this->parse_error_everywhere(cut(last_line + 4), 7,
                               "entry has no value; expected 'row col value'");
  // An array file cut between values.
  const std::string arr = "%%MatrixMarket matrix array real general\n2 2\n1.5\n2.5\n3.5\n4.5\n";
  this->parse_error_everywhere(
      this->dir.write("a.mtx", arr.substr(0, arr.size() - 4)), 5,
      "too few values: the size line promises 4 but the file ends after 3");
}

// Random bytes, NUL bytes, a valid header followed by garbage, and streams that never end.
TYPED_TEST(HostileFiles, BinaryGarbage) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  std::mt19937_64 rng(20240601);
  for (int k = 0; k < 32; ++k) {
    std::string bytes(static_cast<std::size_t>(1 + rng() % 4096), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const std::string path = this->dir.write("random.mtx", bytes);
    expect_read_fails<ParseError>(
        this->held_csr, [&] { return read_matrix_market_csr<T, I>(path); }, {path + ":", ""},
        "csr");
  }
  this->parse_error_everywhere(this->dir.write("nul.mtx", std::string(1000, '\0')), 1,
                               "no %%MatrixMarket banner");
  // Garbage after a valid header: the first bad line is named.
  std::string tail = kBanner + "3 3 2\n1 1 1\n";
  for (int i = 0; i < 200; ++i) tail += static_cast<char>(0x80 + (i % 0x7F));
  this->parse_error_everywhere(this->dir.write("tail.mtx", tail), 4, "expected an entry");
  // A NUL byte inside a value: the message shows it escaped rather than cut short at it.
  this->parse_error_everywhere(
      this->dir.write("nul_value.mtx", kBanner + "2 2 1\n1 1 1.5" + std::string(1, '\0') + "7\n"),
      3, "expected a real value, found '1.5\\x007'");
  // A directory and an unreadable path are IoErrors; endless streams stop at their first bytes.
  expect_read_fails<IoError>(
      this->held_csr, [&] { return read_matrix_market_csr<T, I>(this->dir.path("")); },
      {this->dir.path(""), "is a directory"}, "csr");
  expect_read_fails<IoError>(
      this->held_csr, [&] { return read_matrix_market_csr<T, I>(this->dir.path("missing.mtx")); },
      {this->dir.path("missing.mtx") + ": cannot open for reading", ""}, "csr");
  // Leading blank lines are skipped, so the banner that is not one is named on its own line.
  this->parse_error_everywhere(this->dir.write("blank_first.mtx", "\n\r\n\x9d\x01\n"), 3,
                               "no %%MatrixMarket banner");
  struct stat st {};
  if (::stat("/dev/zero", &st) == 0) {
    expect_read_fails<ParseError>(
        this->held_csr, [&] { return read_matrix_market_csr<T, I>("/dev/zero"); },
        {"/dev/zero:1: ", "no %%MatrixMarket banner"}, "/dev/zero");
  }
  // Random bytes may start with blank lines or a compression magic, so only the error kind and
  // the path are fixed; that the read ends at all is the point.
  if (::stat("/dev/urandom", &st) == 0) {
    expect_read_fails<ParseError>(
        this->held_csr, [&] { return read_matrix_market_csr<T, I>("/dev/urandom"); },
        {"/dev/urandom:", ""}, "/dev/urandom");
  }
}

// NaN and Inf are values: read in any letter case, and kept through CSR, COO and dense.
TYPED_TEST(HostileFiles, NanAndInfValuesAreRead) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  const std::string path = this->dir.write(
      "special.mtx", kBanner + "1 5 5\n1 1 inf\n1 2 -inf\n1 3 nan\n1 4 +Inf\n1 5 NaN\n");
  const CooMatrix<T, I> coo = read_matrix_market_coo<T, I>(path);
  const CsrMatrix<T, I> csr = read_matrix_market_csr<T, I>(path);
  const DenseMatrix<T> dense = read_matrix_market_dense<T>(path);
  ASSERT_EQ(csr.nnz(), 5);
  const T inf = std::numeric_limits<T>::infinity();
  for (const T v : {coo.values()[0], csr.values()[0], dense(0, 0)}) EXPECT_EQ(v, inf);
  for (const T v : {coo.values()[1], csr.values()[1], dense(0, 1)}) EXPECT_EQ(v, -inf);
  for (const T v : {coo.values()[2], csr.values()[2], dense(0, 2)}) EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(csr.values()[3], inf);
  EXPECT_TRUE(std::isnan(csr.values()[4]));
  // A finite literal beyond the type's range is an error rather than a silent Inf.
  if constexpr (std::is_same_v<T, float>) {
    this->parse_error_everywhere(this->dir.write("big.mtx", kBanner + "1 1 1\n1 1 1e39\n"), 3,
                                 "value '1e39' is out of range for float");
  }
}

// The writer checks a matrix before it creates the file: an index beyond the shape (in memory a
// view can hold one) would otherwise become a file the reader rejects, or, written as an array,
// a write out of bounds.
TYPED_TEST(HostileFiles, WriterRefusesMalformedMatrices) {
  using T = typename TestFixture::T;
  using I = typename TestFixture::I;
  const std::vector<I> rp = {0, 1, 2}, ci = {0, 3};
  const std::vector<T> v = {T(1), T(2)};
  const CsrView<T, I> csr{2, 3, rp.data(), ci.data(), v.data()};
  const CooView<T, I> coo{2, 3, 2, rp.data(), ci.data(), v.data()};
  const std::string out = this->dir.path("out.mtx");
  for (const MmFormat format : {MmFormat::Coordinate, MmFormat::Array}) {
    MmWriteOptions o;
    o.format = format;
    SPBMM_EXPECT_THROW_MSG(write_matrix_market(out, csr, o), FormatError,
                           "CSR matrix: row 1: column index 3 >= cols 3");
    SPBMM_EXPECT_THROW_MSG(write_matrix_market(out, coo, o), FormatError,
                           "COO matrix: position 1: column index 3 out of range [0, 3)");
    const DenseView<const T> dense(v.data(), 2, -1);
    SPBMM_EXPECT_THROW_MSG(write_matrix_market(out, dense, o), FormatError,
                           "dense matrix: negative shape 2x-1");
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

}  // namespace
}  // namespace spbmm
