// Matrix Market cases where readers differ: the int64 range and integers beyond it, the
// unsigned-integer field, hermitian files with real values, `info` on a huge sparse shape, and
// comments kept exactly through `convert`.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace fs = std::filesystem;

std::string corpus(const std::string& name) { return test::test_data() + "/mm/" + name; }

class Scratch {
 public:
  Scratch() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("spbmm_cases_") + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

struct CmdResult {
  int code;
  std::string out, err;
};

CmdResult run(int (*cmd)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = cmd(static_cast<int>(argv.size()), argv.data());
  return CmdResult{code, ::testing::internal::GetCapturedStdout(),
                   ::testing::internal::GetCapturedStderr()};
}

constexpr double k2p63 = 9223372036854775808.0;   // 2^63: what 2^63-1 reads as
constexpr double k2p64 = 18446744073709551616.0;  // 2^64: what 2^64-1 reads as

// ---- the int64 range, and one rule beyond it -------------------------------------------------

TEST(MmIntegerRange, WriterTakesTheWholeInt64RangeExactly) {
  Scratch tmp;
  MmWriteOptions o;
  o.field = MmField::Integer;
  const std::vector<double> v = {k2p63, -k2p63, 4294967296.0, -1.0};  // column-major 2 x 2
  write_matrix_market<double>(tmp.file("d.mtx"),
                              DenseView<const double>(v.data(), 2, 2, Layout::ColMajor), o);
  EXPECT_EQ(slurp(tmp.file("d.mtx")),
            "%%MatrixMarket matrix array integer general\n2 2\n9223372036854775807\n"
            "-9223372036854775808\n4294967296\n-1\n");
  const auto back = read_matrix_market_dense<double>(tmp.file("d.mtx"), Layout::ColMajor);
  EXPECT_EQ(back.values(), v);
  // float holds 2^63 and -2^63 exactly too.
  const CooMatrix<float, std::int32_t> f(1, 2, {0, 0}, {0, 1}, {9.223372e18f, -9.223372e18f});
  write_matrix_market(tmp.file("f.mtx"), f.view(), o);
  EXPECT_EQ(slurp(tmp.file("f.mtx")),
            "%%MatrixMarket matrix coordinate integer general\n1 2 2\n1 1 9223372036854775807\n"
            "1 2 -9223372036854775808\n");
}

TEST(MmIntegerRange, ConvertKeepsTheEndsOfTheRange) {
  Scratch tmp;
  const CmdResult r = run(cli::cmd_convert,
                          {"convert", corpus("array_integer_int64_range.mtx"), tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")),
            "%%MatrixMarket matrix array integer general\n% the ends of the int64 range\n2 2\n"
            "9223372036854775807\n-9223372036854775808\n4294967296\n-1\n");
}

// The rule: integers beyond the field's range are read (as the nearest double) and written with
// field real, so that every value reads back the same.
TEST(MmIntegerRange, IntegersBeyondTheRangeAreWrittenAsReal) {
  Scratch tmp;
  const CmdResult r = run(cli::cmd_convert,
                          {"convert", corpus("coord_integer_beyond_int64.mtx"), tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")),
            "%%MatrixMarket matrix coordinate real general\n1 2 2\n1 1 18446744073709551616\n"
            "1 2 -9223372036854775808\n");
  const auto want =
      read_matrix_market_coo<double, std::int64_t>(corpus("coord_integer_beyond_int64.mtx"));
  const auto got = read_matrix_market_coo<double, std::int64_t>(tmp.file("o.mtx"));
  EXPECT_EQ(got.values(), want.values());

  MmWriteOptions o;
  o.field = MmField::Integer;
  const CsrMatrix<double, std::int32_t> big(1, 2, {0, 2}, {0, 1}, {1e19, 3});
  write_matrix_market(tmp.file("b.mtx"), big.view(), o);
  EXPECT_EQ(slurp(tmp.file("b.mtx")),
            "%%MatrixMarket matrix coordinate real general\n1 2 2\n1 1 1e+19\n1 2 3\n");
  // Within the range it stays integer; under an asserted symmetry only what is written counts.
  o.symmetry = MmSymmetry::Symmetric;
  const CsrMatrix<double, std::int32_t> sym(2, 2, {0, 2, 3}, {0, 1, 1}, {5, 1e19, 6});
  write_matrix_market(tmp.file("s.mtx"), sym.view(), o);
  EXPECT_EQ(slurp(tmp.file("s.mtx")),
            "%%MatrixMarket matrix coordinate integer symmetric\n2 2 2\n1 1 5\n2 2 6\n");

  MmWriteOptions u;
  u.field = MmField::UnsignedInteger;
  const CooMatrix<double, std::int32_t> neg(1, 2, {0, 0}, {0, 1}, {-1, k2p64});
  write_matrix_market(tmp.file("n.mtx"), neg.view(), u);
  EXPECT_EQ(slurp(tmp.file("n.mtx")),
            "%%MatrixMarket matrix coordinate real general\n1 2 2\n1 1 -1\n1 2 "
            "18446744073709551616\n");
}

TEST(MmIntegerRange, NonIntegersAreRefusedNamingTheValue) {
  Scratch tmp;
  for (MmField field : {MmField::Integer, MmField::UnsignedInteger}) {
    MmWriteOptions o;
    o.field = field;
    for (double v :
         {0.5, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
      const CsrMatrix<double, std::int32_t> a(1, 2, {0, 2}, {0, 1}, {1, v});
      char found[32];
      std::snprintf(found, sizeof found, "found %g", v);
      SPBMM_EXPECT_THROW_MSG(
          write_matrix_market(tmp.file("x.mtx"), a.view(), o), InvalidArgument,
          std::string("field ") + to_string(field) + " needs integer values, " + found);
    }
  }
  EXPECT_FALSE(fs::exists(tmp.file("x.mtx")));
}

// ---- unsigned-integer ------------------------------------------------------------------------

TEST(MmUnsignedInteger, ReadsAndConvertsKeepingTheField) {
  Scratch tmp;
  const auto h = read_matrix_market_header(corpus("coord_unsigned_integer.mtx"));
  EXPECT_EQ(h.field, MmField::UnsignedInteger);
  EXPECT_STREQ(to_string(h.field), "unsigned-integer");
  const CmdResult r =
      run(cli::cmd_convert, {"convert", corpus("coord_unsigned_integer.mtx"), tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")),
            "%%MatrixMarket matrix coordinate unsigned-integer general\n"
            "% values up to 2^64-1, the range of uint64\n2 3 3\n1 1 18446744073709551615\n2 1 0\n"
            "2 3 7\n");
  // Array, a "+" sign and "-0" (zero) are fine; a negative value is an error naming its line.
  spit(tmp.file("a.mtx"), "%%MatrixMarket matrix array unsigned-integer general\n3 1\n+4\n-0\n7\n");
  const auto d = read_matrix_market_dense<float>(tmp.file("a.mtx"));
  EXPECT_EQ(d.values(), (std::vector<float>{4, 0, 7}));
  spit(tmp.file("n.mtx"),
       "%%MatrixMarket matrix array unsigned-integer general\n3 1\n4\n0\n-99999999999999999999\n");
  SPBMM_EXPECT_THROW_MSG(read_matrix_market_dense<double>(tmp.file("n.mtx")), ParseError,
                         tmp.file("n.mtx") +
                             ":5: negative value '-99999999999999999999' in an 'unsigned-integer' "
                             "file");
  spit(tmp.file("r.mtx"),
       "%%MatrixMarket matrix coordinate unsigned-integer general\n1 1 1\n1 1 2.5\n");
  SPBMM_EXPECT_THROW_MSG((read_matrix_market_csr<double, std::int32_t>(tmp.file("r.mtx"))),
                         ParseError,
                         ":3: expected an integer value (field 'unsigned-integer'), found '2.5'");
}

TEST(MmUnsignedInteger, WriterTakesTheWholeUint64Range) {
  Scratch tmp;
  MmWriteOptions o;
  o.field = MmField::UnsignedInteger;
  const std::vector<double> v = {k2p64, 0, k2p63, 12};
  write_matrix_market<double>(tmp.file("u.mtx"), DenseView<const double>(v.data(), 4, 1), o);
  EXPECT_EQ(slurp(tmp.file("u.mtx")),
            "%%MatrixMarket matrix array unsigned-integer general\n4 1\n18446744073709551615\n0\n"
            "9223372036854775808\n12\n");
  EXPECT_EQ(read_matrix_market_dense<double>(tmp.file("u.mtx")).values(), v);
}

// ---- hermitian with real values --------------------------------------------------------------

TEST(MmHermitian, RealHermitianReadsAsSymmetricAndConvertsToSymmetric) {
  Scratch tmp;
  const std::string in = corpus("coord_real_hermitian.mtx");
  EXPECT_EQ(read_matrix_market_header(in).symmetry, MmSymmetry::Hermitian);
  // Stored entries only, when asked, as for symmetric files.
  MmReadOptions stored;
  stored.expand_symmetry = false;
  EXPECT_EQ((read_matrix_market_coo<double, std::int32_t>(in, stored).nnz()), 3);
  CmdResult r = run(cli::cmd_convert, {"convert", in, tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")),
            "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n1 1 4.5\n2 1 -1.25\n3 2 2\n");
  r = run(cli::cmd_convert, {"convert", corpus("array_real_hermitian.mtx"), tmp.file("a.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("a.mtx")), "%%MatrixMarket matrix array real symmetric\n2 2\n1\n2\n3\n");
  // The writer's hermitian still needs complex values, and says what to do instead.
  MmWriteOptions o;
  o.symmetry = MmSymmetry::Hermitian;
  const CsrMatrix<double, std::int32_t> a(1, 1, {0, 1}, {0}, {1});
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(tmp.file("h.mtx"), a.view(), o), InvalidArgument,
                         "write real values that mirror as symmetric");
  // A complex hermitian file is still refused.
  SPBMM_EXPECT_THROW_MSG(
      (read_matrix_market_csr<double, std::int32_t>(corpus("err_complex_hermitian.mtx"))),
      ParseError, "complex values are not supported");
}

// ---- info on a huge, nearly empty shape --------------------------------------------------------

TEST(MmInfo, DescribesA2To40SquareFileWithoutCsr) {
  Scratch tmp;
  // CSR row pointers for 2^40 rows would take 8 TiB.
  spit(tmp.file("huge.mtx"),
       "%%MatrixMarket matrix coordinate real general\n%2^40\n1099511627776 1099511627776 3\n"
       "1 1 1\n2 2 2\n1099511627776 1099511627776 3\n");
  CmdResult r = run(cli::cmd_info, {"info", tmp.file("huge.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("shape:      1099511627776 x 1099511627776\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nnz:        3 (symmetry expanded, duplicates summed)\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("row length: min 0, mean 0.000, max 1\n"), std::string::npos) << r.out;
  // Symmetric, with a duplicate: nnz and row lengths count positions after expanding and summing.
  spit(tmp.file("sym.mtx"),
       "%%MatrixMarket matrix coordinate real symmetric\n1099511627776 1099511627776 4\n"
       "2 1 1\n3 1 1\n3 1 1\n1 1 1\n");
  r = run(cli::cmd_info, {"info", tmp.file("sym.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nnz:        5 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("row length: min 0, mean 0.000, max 3\n"), std::string::npos) << r.out;
  // convert handles it too, and keeps the comment exactly.
  r = run(cli::cmd_convert, {"convert", tmp.file("huge.mtx"), tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")), slurp(tmp.file("huge.mtx")));
}

// ---- comments ----------------------------------------------------------------------------------

TEST(MmComments, ConvertKeepsCommentLinesExactly) {
  Scratch tmp;
  // CRLF endings; blanks inside and at the end of a comment are kept, the CR is not.
  spit(tmp.file("c.mtx"),
       "%%MatrixMarket matrix coordinate real general\r\n%2^40\r\n%  two  spaces  \r\n"
       "%%GraphBLAS type double\r\n%\r\n% plain\r\n2 2 1\r\n1 1 4\r\n");
  const auto h = read_matrix_market_header(tmp.file("c.mtx"));
  EXPECT_EQ(h.comments, (std::vector<std::string>{"2^40", "  two  spaces  ",
                                                  "%GraphBLAS type double", "", " plain"}));
  const CmdResult r = run(cli::cmd_convert, {"convert", tmp.file("c.mtx"), tmp.file("o.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(tmp.file("o.mtx")),
            "%%MatrixMarket matrix coordinate real general\n%2^40\n%  two  spaces  \n"
            "%%GraphBLAS type double\n%\n% plain\n2 2 1\n1 1 4\n");
  const CmdResult e =
      run(cli::cmd_convert, {"convert", corpus("comments_everywhere.mtx"), tmp.file("e.mtx")});
  ASSERT_EQ(e.code, 0) << e.err;
  EXPECT_EQ(slurp(tmp.file("e.mtx"))
                .rfind("%%MatrixMarket matrix coordinate real general\n"
                       "%%GraphBLAS type double\n% comment one\n%\n"
                       "% comment three\n%no space\n2 2 2\n",
                       0),
            0u)
      << slurp(tmp.file("e.mtx"));
}

// ---- compressed files
// ----------------------------------------------------------------------------

TEST(MmCompressed, ACompressedFileIsNamedAsSuch) {
  Scratch tmp;
  const std::vector<std::pair<std::string, std::string>> magic = {
      {"gzip", std::string("\x1f\x8b\x08\x00\x00\x00", 6)},
      {"bzip2", "BZh91AY&SY"},
      {"xz", std::string("\xfd"
                         "7zXZ\0\0\x04",
                         8)},
      {"zstd", std::string("\x28\xb5\x2f\xfd\x04", 5)},
      {"zip", std::string("PK\x03\x04\x14\x00", 6)}};
  for (const auto& [kind, bytes] : magic) {
    spit(tmp.file("m.mtx"), bytes + "\nrest of the data\n");
    SPBMM_EXPECT_THROW_MSG(read_matrix_market_header(tmp.file("m.mtx")), ParseError,
                           tmp.file("m.mtx") + ":1: the file is " + kind +
                               "-compressed; spbmm reads uncompressed Matrix Market files: "
                               "decompress it first");
  }
}

// ---- values as scipy writes them
// -----------------------------------------------------------------

TEST(MmValues, ScipySpellingsOfInfinityAndNaNRead) {
  Scratch tmp;
  spit(tmp.file("v.mtx"),
       "%%MatrixMarket matrix coordinate real general\n%\n2 2 4\n1 1 1E-1\n1 2 1E300\n"
       "2 1 Infinity\n2 2 NaN\n");
  const auto d = read_matrix_market_dense<double>(tmp.file("v.mtx"));
  EXPECT_EQ(d(0, 0), 0.1);
  EXPECT_EQ(d(0, 1), 1e300);
  EXPECT_EQ(d(1, 0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(d(1, 1)));
}

}  // namespace
}  // namespace spbmm
