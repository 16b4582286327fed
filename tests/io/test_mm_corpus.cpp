// Matrix Market reader against data/mm: the expected parse result or error of every file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

// One value the expanded matrix must hold at (i, j) (0-based).
struct At {
  std::int64_t i, j;
  double v;
};

enum class Want { Ok, Parse };

struct Case {
  const char* file;
  Want want;
  // Ok: shape, COO nnz (symmetry expanded, duplicates kept), CSR nnz (duplicates summed).
  std::int64_t rows = 0, cols = 0, coo_nnz = 0, csr_nnz = 0;
  std::vector<At> values = {};
  // Parse: the line and a piece of the message.
  std::int64_t line = 0;
  const char* message = "";
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.file; }

Case ok(const char* f, std::int64_t r, std::int64_t c, std::int64_t coo, std::int64_t csr,
        std::vector<At> v = {}) {
  return Case{f, Want::Ok, r, c, coo, csr, std::move(v)};
}
Case bad(const char* f, std::int64_t line, const char* msg) {
  Case c{f, Want::Parse};
  c.line = line;
  c.message = msg;
  return c;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      ok("banner_case.mtx", 2, 2, 2, 2, {{0, 0, 1.5}, {1, 1, -2.5}}),
      ok("banner_one_percent.mtx", 3, 3, 3, 3, {{0, 1, 1}, {1, 0, 1}, {2, 2, 1}}),
      ok("banner_indented.mtx", 2, 2, 1, 1, {{0, 1, 3}}),
      ok("banner_bom.mtx", 1, 1, 1, 1, {{0, 0, 2}}),
      ok("coord_real_general.mtx", 3, 4, 4, 4, {{1, 2, -2.25}, {2, 3, 300}, {0, 3, 0.5}}),
      ok("coord_double_field.mtx", 2, 2, 2, 2, {{1, 0, 0.2}}),
      ok("coord_integer.mtx", 2, 3, 3, 3, {{1, 1, -3}, {1, 2, 3e9}}),
      ok("coord_integer_beyond_int64.mtx", 1, 2, 2, 2,
         {{0, 0, 18446744073709551615.0}, {0, 1, -9223372036854775808.0}}),
      ok("coord_pattern.mtx", 3, 3, 3, 3, {{2, 0, 1}, {0, 1, 1}}),
      ok("coord_pattern_value_column.mtx", 2, 2, 2, 2, {{1, 1, 1}}),
      ok("coord_symmetric.mtx", 3, 3, 6, 6, {{0, 1, 2}, {1, 0, 2}, {1, 2, 3}, {2, 2, 4}}),
      ok("coord_symmetric_upper.mtx", 3, 3, 5, 5, {{0, 1, 5}, {1, 0, 5}, {2, 1, 6}, {0, 0, 1}}),
      ok("coord_skew.mtx", 3, 3, 4, 4, {{1, 0, 2}, {0, 1, -2}, {2, 0, -1}, {0, 2, 1}}),
      ok("coord_pattern_symmetric.mtx", 3, 3, 5, 5, {{0, 2, 1}, {2, 0, 1}, {0, 0, 1}}),
      ok("coord_integer_symmetric.mtx", 2, 2, 3, 3, {{0, 1, -4}, {1, 0, -4}, {1, 1, 9}}),
      ok("array_general.mtx", 2, 3, 6, 6, {{0, 0, 1}, {1, 0, 2}, {0, 1, 3}, {1, 2, 6}}),
      // Hermitian with real values reads as symmetric (the conjugate of a real is itself).
      ok("coord_real_hermitian.mtx", 3, 3, 5, 5,
         {{0, 0, 4.5}, {1, 0, -1.25}, {0, 1, -1.25}, {2, 1, 2}, {1, 2, 2}}),
      ok("coord_integer_hermitian.mtx", 2, 2, 2, 2, {{1, 0, 1}, {0, 1, 1}}),
      ok("coord_pattern_hermitian.mtx", 2, 2, 2, 2, {{1, 0, 1}, {0, 1, 1}}),
      ok("array_real_hermitian.mtx", 2, 2, 4, 4, {{0, 0, 1}, {1, 0, 2}, {0, 1, 2}, {1, 1, 3}}),
      // unsigned-integer: up to 2^64-1 (read as the nearest double); zeros of an array dropped.
      ok("coord_unsigned_integer.mtx", 2, 3, 3, 3,
         {{0, 0, 18446744073709551615.0}, {1, 0, 0}, {1, 2, 7}}),
      ok("array_unsigned_integer.mtx", 2, 1, 2, 2, {{0, 0, 5}, {1, 0, 9223372036854775808.0}}),
      // The int64 range exactly (2^63-1 reads as the double 2^63).
      ok("array_integer_int64_range.mtx", 2, 2, 4, 4,
         {{0, 0, 9223372036854775807.0},
          {1, 0, -9223372036854775808.0},
          {0, 1, 4294967296.0},
          {1, 1, -1}}),
      ok("array_symmetric.mtx", 3, 3, 9, 9,
         {{0, 2, 3}, {2, 0, 3}, {2, 1, 5}, {1, 2, 5}, {2, 2, 6}}),
      ok("array_skew.mtx", 3, 3, 6, 6, {{1, 0, 1}, {0, 1, -1}, {2, 1, 3}, {1, 2, -3}}),
      ok("array_integer.mtx", 2, 2, 3, 3, {{0, 1, -3}, {1, 1, 4}, {1, 0, 0}}),
      ok("comments_everywhere.mtx", 2, 2, 2, 2, {{1, 1, 2}}),
      ok("blank_lines.mtx", 2, 2, 2, 2, {{1, 1, 2}}),
      ok("crlf.mtx", 2, 2, 2, 2, {{0, 0, 1.5}, {1, 1, 2.5}}),
      ok("whitespace.mtx", 2, 2, 2, 2, {{0, 0, 1.5}, {1, 1, 2.5}}),
      ok("values_special.mtx", 1, 10, 10, 10, {{0, 3, 1.5}, {0, 5, 100}, {0, 6, 0.5}}),
      ok("duplicates.mtx", 2, 2, 4, 2, {{0, 0, 7}, {1, 1, 3}}),
      ok("empty_nnz0.mtx", 3, 4, 0, 0),
      ok("empty_0x0.mtx", 0, 0, 0, 0),
      ok("no_final_newline.mtx", 2, 2, 2, 2, {{1, 1, 2}}),
      ok("bare_cr.mtx", 2, 2, 1, 1, {{1, 0, 4}}),
      ok("unsorted.mtx", 3, 3, 5, 5, {{2, 0, 4}, {0, 0, 2}, {2, 2, 5}}),
      ok("float_overflow.mtx", 1, 1, 1, 1, {{0, 0, 1e39}}),
      ok("int32_too_small.mtx", 2, 3000000000, 1, 1, {{0, 2999999998, 1}}),

      bad("err_empty_file.mtx", 1, "empty file: no %%MatrixMarket banner"),
      bad("err_no_banner.mtx", 1, "no %%MatrixMarket banner"),
      bad("err_comment_before_banner.mtx", 1, "no %%MatrixMarket banner"),
      bad("err_banner_keyword.mtx", 1, "no %%MatrixMarket banner"),
      bad("err_banner_short.mtx", 1, "banner has 3 of the 4 words"),
      bad("err_banner_extra.mtx", 1, "unexpected 'extra' after the symmetry"),
      bad("err_vector.mtx", 1, "'vector' objects are not supported"),
      bad("err_object.mtx", 1, "unknown object 'tensor'"),
      bad("err_format.mtx", 1, "unknown format 'sparse'"),
      bad("err_field.mtx", 1, "unknown field 'boolean'"),
      bad("err_symmetry.mtx", 1, "unknown symmetry 'upper'"),
      bad("err_complex.mtx", 1, "complex values are not supported"),
      bad("err_complex_hermitian.mtx", 1, "complex values are not supported"),
      bad("err_array_pattern.mtx", 1, "an 'array' file cannot have field 'pattern'"),
      bad("err_pattern_skew.mtx", 1, "a 'pattern' file cannot be 'skew-symmetric'"),
      bad("err_no_size_line.mtx", 3, "no size line: expected 'rows cols nnz'"),
      bad("err_size_too_few.mtx", 2, "size line has 2 numbers; expected 3"),
      bad("err_size_too_many.mtx", 2, "size line has 4 numbers; expected 3"),
      bad("err_array_size_three.mtx", 2, "size line has 3 numbers; expected 2"),
      bad("err_size_negative.mtx", 2, "rows must be >= 0, found -3"),
      bad("err_size_overflow.mtx", 2, "does not fit in a 64-bit integer"),
      bad("err_size_not_number.mtx", 2, "expected 'rows cols nnz' as integers"),
      bad("err_nonsquare_symmetric.mtx", 2, "must be square"),
      bad("err_nnz_vs_file_size.mtx", 2, "promises 1000000000000000 entries"),
      bad("err_array_vs_file_size.mtx", 2, "promises 10000000000 entries"),
      bad("err_row_zero.mtx", 4, "row index 0 is out of range 1..3 (indices are 1-based)"),
      bad("err_col_zero.mtx", 4, "column index 0 is out of range 1..3 (indices are 1-based)"),
      bad("err_row_too_big.mtx", 4, "row index 4 is out of range 1..3"),
      bad("err_col_too_big.mtx", 4, "column index 4 is out of range 1..3"),
      bad("err_negative_index.mtx", 3, "row index -1 is out of range 1..3"),
      bad("err_too_few_entries.mtx", 4, "too few entries: the size line promises 3"),
      bad("err_too_many_entries.mtx", 5, "too many entries: the size line promises 2"),
      bad("err_missing_value.mtx", 4, "entry has no value; expected 'row col value'"),
      bad("err_missing_col.mtx", 3, "entry has only a row index"),
      bad("err_extra_token.mtx", 3, "unexpected '4.0' after the entry"),
      bad("err_bad_value.mtx", 3, "expected a real value, found 'abc'"),
      bad("err_bad_index.mtx", 3, "expected an entry 'row col value'"),
      bad("err_value_overflow.mtx", 3, "value '1e999' is out of range for "),
      bad("err_integer_field_real_value.mtx", 3, "expected an integer value"),
      bad("err_integer_overflow.mtx", 3, "is out of range for"),
      bad("err_unsigned_negative.mtx", 4, "negative value '-3' in an 'unsigned-integer' file"),
      bad("err_skew_diagonal.mtx", 4, "diagonal entry (2, 2) in a skew-symmetric file"),
      bad("err_array_too_few.mtx", 6, "too few values: the size line promises 4"),
      bad("err_array_too_many.mtx", 7, "too many values: the size line promises 4"),
      bad("err_array_two_per_line.mtx", 3, "one value per line"),
  };
  return all;
}

std::string corpus(const std::string& name) { return test::test_data() + "/mm/" + name; }

// Value at (i, j) of a canonical CSR matrix (0 when absent).
double csr_at(const CsrMatrix<double, std::int64_t>& m, std::int64_t i, std::int64_t j) {
  const auto& rp = m.row_ptr();
  const auto& ci = m.col_idx();
  const auto b = ci.begin() + rp[static_cast<std::size_t>(i)];
  const auto e = ci.begin() + rp[static_cast<std::size_t>(i) + 1];
  const auto it = std::lower_bound(b, e, j);
  return (it != e && *it == j) ? m.values()[static_cast<std::size_t>(it - ci.begin())] : 0.0;
}

template <class Fn>
void expect_parse_error(const Case& c, const std::string& path, Fn&& fn, const char* reader) {
  try {
    fn();
    ADD_FAILURE() << reader << ": expected ParseError from " << c.file;
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file(), path) << reader;
    EXPECT_EQ(e.line(), c.line) << reader << ": " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos)
        << reader << ": message was: " << e.what() << "\nexpected to contain: " << c.message;
    const std::string prefix = path + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(std::string(e.what()).rfind(prefix, 0), 0u) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << reader << ": expected ParseError from " << c.file << ", got " << e.what();
  }
}

class MmCorpus : public ::testing::TestWithParam<Case> {};

TEST_P(MmCorpus, ParsesOrRejects) {
  const Case& c = GetParam();
  const std::string path = corpus(c.file);
  if (c.want == Want::Ok) {
    const auto coo = read_matrix_market_coo<double, std::int64_t>(path);
    EXPECT_EQ(coo.rows(), c.rows);
    EXPECT_EQ(coo.cols(), c.cols);
    EXPECT_EQ(coo.nnz(), c.coo_nnz);
    const auto csr = read_matrix_market_csr<double, std::int64_t>(path);
    EXPECT_EQ(csr.rows(), c.rows);
    EXPECT_EQ(csr.cols(), c.cols);
    EXPECT_EQ(csr.nnz(), c.csr_nnz);
    for (const At& a : c.values) {
      EXPECT_EQ(csr_at(csr, a.i, a.j), a.v) << "at (" << a.i << ", " << a.j << ")";
    }
    // The multi-threaded path gives the same result.
    MmReadOptions two;
    two.threads = 2;
    const auto csr2 = read_matrix_market_csr<double, std::int64_t>(path, two);
    EXPECT_EQ(csr2.row_ptr(), csr.row_ptr());
    EXPECT_EQ(csr2.col_idx(), csr.col_idx());
    return;
  }
  expect_parse_error(
      c, path, [&] { (void)read_matrix_market_coo<double, std::int64_t>(path); }, "coo");
  expect_parse_error(
      c, path, [&] { (void)read_matrix_market_csr<double, std::int32_t>(path); }, "csr");
  expect_parse_error(
      c, path, [&] { (void)read_matrix_market_dense<float>(path); }, "dense");
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.file;
  s = s.substr(0, s.size() - 4);
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(DataMm, MmCorpus, ::testing::ValuesIn(cases()), case_name);

// Every file of the corpus has an expectation, and every expectation has its file.
TEST(MmCorpusTable, CoversEveryFile) {
  std::set<std::string> listed;
  for (const auto& c : cases()) listed.insert(c.file);
  std::set<std::string> present;
  for (const auto& p : list_matrix_market_files(test::test_data() + "/mm")) {
    present.insert(std::filesystem::path(p).filename().string());
  }
  EXPECT_EQ(listed, present);
}

}  // namespace
}  // namespace spbmm
