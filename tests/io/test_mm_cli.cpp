// `spbmm info` and `spbmm convert`: output, exit codes and one-line errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace fs = std::filesystem;

std::string corpus(const std::string& name) { return test::test_data() + "/mm/" + name; }

struct Result {
  int code;
  std::string out, err;
};

// Runs a subcommand with argv[0] = its name, capturing stdout and stderr.
Result run(int (*cmd)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = cmd(static_cast<int>(argv.size()), argv.data());
  Result r{code, ::testing::internal::GetCapturedStdout(),
           ::testing::internal::GetCapturedStderr()};
  return r;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// info's density line: nnz over rows x cols, as %.6g.
std::string r_density(std::int64_t nnz, std::int64_t rows, std::int64_t cols) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g",
                static_cast<double>(nnz) / (static_cast<double>(rows) * static_cast<double>(cols)));
  return buf;
}

std::string tmp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("spbmm_cli_" + name)).string();
}

TEST(MmCli, InfoDescribesFiles) {
  const auto r = run(cli::cmd_info, {"info", corpus("coord_symmetric.mtx")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("banner:     %%MatrixMarket matrix coordinate real symmetric"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("shape:      3 x 3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nnz:        6"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("symmetry:   symmetric"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("density:    0.666667"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("row length: min 2, mean 2.000, max 2"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// What `info` prints for nnz and row lengths, computed again from the canonical CSR read.
std::string expected_counts(const std::string& path) {
  const auto m = read_matrix_market_csr<double, std::int64_t>(path);
  std::int64_t lo = INT64_MAX, hi = 0;
  for (std::int64_t i = 0; i < m.rows(); ++i) {
    const std::int64_t len =
        m.row_ptr()[static_cast<std::size_t>(i) + 1] - m.row_ptr()[static_cast<std::size_t>(i)];
    lo = std::min(lo, len);
    hi = std::max(hi, len);
  }
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.3f",
                static_cast<double>(m.nnz()) / static_cast<double>(m.rows()));
  return "nnz:        " + std::to_string(m.nnz()) + " (symmetry expanded, duplicates summed)\n" +
         "  density:    " + std::string(r_density(m.nnz(), m.rows(), m.cols())) +
         "\n  row length: min " + std::to_string(lo) + ", mean " + mean + ", max " +
         std::to_string(hi) + "\n";
}

// Sorted files take a one-pass path, others a bucket sort by row: both must count alike, with
// empty rows, duplicates (counted once) and mirrored symmetric entries.
TEST(MmCli, InfoCountsSortedUnsortedAndSymmetricFilesAlike) {
  std::mt19937_64 rng(7);
  for (const char* kind : {"sorted", "unsorted", "symmetric"}) {
    const std::int64_t n = 300;
    std::uniform_int_distribution<std::int64_t> idx(0, n - 1);
    std::set<std::pair<std::int64_t, std::int64_t>> pos;
    std::vector<std::pair<std::int64_t, std::int64_t>> entries;
    for (int k = 0; k < 2000; ++k) {
      std::int64_t i = idx(rng) / 2, j = idx(rng);  // rows above n / 2 stay empty
      if (std::string(kind) == "symmetric") {
        j /= 2;  // and their mirrors
        if (j > i) std::swap(i, j);
      }
      if (std::string(kind) == "sorted" && !pos.insert({i, j}).second) continue;
      entries.emplace_back(i, j);
    }
    if (std::string(kind) == "sorted") entries.assign(pos.begin(), pos.end());
    if (std::string(kind) == "unsorted") {
      for (int k = 0; k < 200; ++k) entries.push_back(entries[static_cast<std::size_t>(k)]);
      std::shuffle(entries.begin(), entries.end(), rng);
    }
    const std::string path = tmp_file(std::string("info_") + kind + ".mtx");
    {
      std::ofstream out(path);
      out << "%%MatrixMarket matrix coordinate real "
          << (std::string(kind) == "symmetric" ? "symmetric" : "general") << "\n"
          << n << " " << n << " " << entries.size() << "\n";
      for (const auto& [i, j] : entries) out << i + 1 << " " << j + 1 << " 1.5\n";
    }
    const auto r = run(cli::cmd_info, {"info", path});
    EXPECT_EQ(r.code, 0) << kind << ": " << r.err;
    const std::string want = expected_counts(path);
    EXPECT_NE(r.out.find(want), std::string::npos) << kind << ": wanted\n"
                                                   << want << "in\n"
                                                   << r.out;
    EXPECT_NE(r.out.find("row length: min 0,"), std::string::npos) << kind << ": " << r.out;
    fs::remove(path);
  }
}

TEST(MmCli, InfoReportsBadFilesOnOneLine) {
  const std::string bad = corpus("err_row_zero.mtx");
  const auto r = run(cli::cmd_info, {"info", corpus("coord_skew.mtx"), bad});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "spbmm info: " + bad + ":4: row index 0 is out of range 1..3 (indices are 1-based)\n");
  EXPECT_NE(r.out.find("coord_skew.mtx"), std::string::npos);
}

TEST(MmCli, InfoSummarizesADirectoryAsABatch) {
  const char* data = std::getenv("SPBMM_TEST_DATA");
  ASSERT_NE(data, nullptr) << "SPBMM_TEST_DATA is not set";
  const std::string demo = (fs::path(data) / "demo").string();
  const auto r = run(cli::cmd_info, {"info", demo});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(demo + ": a batch of 5 entries"), std::string::npos) << r.out;
  // One line per entry, in name order, with its shape and nnz.
  const auto first = r.out.find("a_ring_300.mtx"), last = r.out.find("e_tiny_12.mtx");
  EXPECT_NE(first, std::string::npos) << r.out;
  EXPECT_NE(last, std::string::npos) << r.out;
  EXPECT_LT(first, last) << r.out;
  EXPECT_NE(r.out.find("2000 x 2000        15833"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entries:    5 (5 coordinate, 0 array)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("total nnz:  34936"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rows:       12 .. 2000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("columns:    12 .. 2000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nnz:        25 .. 15833 per entry"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("density:    0.003958 .. 0.699"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;  // stderr is not a terminal: no progress lines
}

TEST(MmCli, InfoOnADirectoryFailsOnItsFirstBadFileOrWhenEmpty) {
  const fs::path dir = fs::path(tmp_file("info_dir"));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto empty = run(cli::cmd_info, {"info", dir.string()});
  EXPECT_EQ(empty.code, 1);
  EXPECT_EQ(empty.err, "spbmm info: no .mtx files in directory '" + dir.string() + "'\n");
  fs::copy_file(corpus("coord_skew.mtx"), dir / "a.mtx");
  fs::copy_file(corpus("err_row_zero.mtx"), dir / "b.mtx");
  const auto bad = run(cli::cmd_info, {"info", dir.string()});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "spbmm info: " + (dir / "b.mtx").string() +
                         ":4: row index 0 is out of range 1..3 (indices are 1-based)\n");
  fs::remove_all(dir);
}

TEST(MmCli, InfoUsage) {
  EXPECT_EQ(run(cli::cmd_info, {"info"}).code, 2);
  EXPECT_EQ(run(cli::cmd_info, {"info", "--frobnicate"}).code, 2);
  const auto h = run(cli::cmd_info, {"info", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("example: spbmm info"), std::string::npos);
}

TEST(MmCli, ConvertKeepsSymmetryOrExpands) {
  const std::string out = tmp_file("sym.mtx");
  auto r = run(cli::cmd_convert, {"convert", corpus("coord_symmetric_upper.mtx"), out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(out),
            "%%MatrixMarket matrix coordinate real symmetric\n3 3 3\n2 1 5\n3 2 6\n1 1 1\n");
  r = run(cli::cmd_convert,
          {"convert", corpus("coord_symmetric_upper.mtx"), out, "--expand-symmetry"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto h = read_matrix_market_header(out);
  EXPECT_EQ(h.symmetry, MmSymmetry::General);
  EXPECT_EQ(h.nnz, 5);
  r = run(cli::cmd_convert, {"convert", corpus("coord_skew.mtx"), out, "--to", "array"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(out), "%%MatrixMarket matrix array real skew-symmetric\n3 3\n2\n-1\n0\n");
  r = run(cli::cmd_convert, {"convert", corpus("array_integer.mtx"), out, "--to=coordinate"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(out),
            "%%MatrixMarket matrix coordinate integer general\n2 2 3\n1 1 1\n1 2 -3\n2 2 4\n");
  fs::remove(out);
}

TEST(MmCli, ConvertErrorsAndUsage) {
  const std::string out = tmp_file("err.mtx");
  auto r = run(cli::cmd_convert, {"convert", corpus("err_bad_value.mtx"), out});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "spbmm convert: " + corpus("err_bad_value.mtx") +
                       ":3: expected a real value, found 'abc'\n");
  r = run(cli::cmd_convert, {"convert", corpus("err_complex.mtx"), out});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("complex values are not supported"), std::string::npos);
  EXPECT_EQ(run(cli::cmd_convert, {"convert", "only_one.mtx"}).code, 2);
  EXPECT_EQ(run(cli::cmd_convert, {"convert", "a.mtx", "b.mtx", "c.mtx"}).code, 2);
  EXPECT_EQ(run(cli::cmd_convert, {"convert", "a.mtx", "b.mtx", "--to", "csr"}).code, 2);
  EXPECT_EQ(run(cli::cmd_convert, {"convert", "a.mtx", "b.mtx", "--to"}).code, 2);
  const auto h = run(cli::cmd_convert, {"convert", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("example: spbmm convert"), std::string::npos);
}

}  // namespace
}  // namespace spbmm
