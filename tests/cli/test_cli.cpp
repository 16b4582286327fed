// Tests for the `spbmm` command line (multiply, bench, calibrate) and the real-data batch check.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kernels/kernels.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"
#include "test_util.hpp"

namespace spbmm::test {
namespace {

namespace fs = std::filesystem;

// A row-major dense matrix of doubles: the test's own picture of every operand.
struct Mat {
  std::int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double operator()(std::int64_t i, std::int64_t j) const { return v[i * cols + j]; }
  double& operator()(std::int64_t i, std::int64_t j) { return v[i * cols + j]; }
};

Mat make(std::int64_t rows, std::int64_t cols, std::uint64_t seed, double density = 1.0) {
  // Small integers (and exact halves) keep every product below exact in float and double, so
  // results can be compared for equality whatever the summation order.
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> val(-8, 8);
  std::bernoulli_distribution keep(density);
  Mat m{rows, cols, std::vector<double>(static_cast<std::size_t>(rows * cols), 0.0)};
  for (auto& x : m.v) x = keep(rng) ? val(rng) * 0.5 : 0.0;
  return m;
}

Mat transposed(const Mat& a) {
  Mat t{a.cols, a.rows, std::vector<double>(a.v.size())};
  for (std::int64_t i = 0; i < a.rows; ++i) {
    for (std::int64_t j = 0; j < a.cols; ++j) t(j, i) = a(i, j);
  }
  return t;
}

Mat product(const Mat& a, const Mat& b, double alpha = 1, double beta = 0, const Mat* c = nullptr) {
  Mat r{a.rows, b.cols, std::vector<double>(static_cast<std::size_t>(a.rows * b.cols), 0.0)};
  for (std::int64_t i = 0; i < a.rows; ++i) {
    for (std::int64_t j = 0; j < b.cols; ++j) {
      double s = 0;
      for (std::int64_t k = 0; k < a.cols; ++k) s += a(i, k) * b(k, j);
      r(i, j) = alpha * s + (c ? beta * (*c)(i, j) : 0.0);
    }
  }
  return r;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

// Coordinate real general, nonzeros only, in a scrambled order (readers must not rely on it).
void write_coo(const fs::path& path, const Mat& m) {
  std::vector<std::string> lines;
  for (std::int64_t i = 0; i < m.rows; ++i) {
    for (std::int64_t j = 0; j < m.cols; ++j) {
      if (m(i, j) != 0) {
        std::ostringstream l;
        l << i + 1 << " " << j + 1 << " " << m(i, j) << "\n";
        lines.push_back(l.str());
      }
    }
  }
  std::reverse(lines.begin(), lines.end());
  std::ostringstream s;
  s << "%%MatrixMarket matrix coordinate real general\n% test matrix\n"
    << m.rows << " " << m.cols << " " << lines.size() << "\n";
  for (const auto& l : lines) s << l;
  write_text(path, s.str());
}

// Array real general (column-major values).
void write_array(const fs::path& path, const Mat& m) {
  std::ostringstream s;
  s << "%%MatrixMarket matrix array real general\n" << m.rows << " " << m.cols << "\n";
  for (std::int64_t j = 0; j < m.cols; ++j) {
    for (std::int64_t i = 0; i < m.rows; ++i) s << m(i, j) << "\n";
  }
  write_text(path, s.str());
}

Mat read_result(const fs::path& path) {
  const DenseMatrix<double> d = read_matrix_market_dense<double>(path.string());
  Mat m{d.rows(), d.cols(), std::vector<double>(static_cast<std::size_t>(d.rows() * d.cols()))};
  for (std::int64_t i = 0; i < d.rows(); ++i) {
    for (std::int64_t j = 0; j < d.cols(); ++j) m(i, j) = d(i, j);
  }
  return m;
}

::testing::AssertionResult same(const Mat& got, const Mat& want) {
  if (got.rows != want.rows || got.cols != want.cols) {
    return ::testing::AssertionFailure()
           << "shape " << got.rows << "x" << got.cols << " != " << want.rows << "x" << want.cols;
  }
  for (std::int64_t i = 0; i < got.rows; ++i) {
    for (std::int64_t j = 0; j < got.cols; ++j) {
      if (got(i, j) != want(i, j)) {
        return ::testing::AssertionFailure()
               << "at (" << i << ", " << j << "): got " << got(i, j) << ", want " << want(i, j);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// prefix + i + ".mtx" (snprintf: GCC 12 misreports `"e" + std::to_string(i)` under -Wrestrict).
std::string numbered(const char* prefix, std::size_t i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%zu.mtx", prefix, i);
  return buf;
}

struct Result {
  int code = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char ch : s) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return q + "'";
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* exe = std::getenv("SPBMM_EXE");
    if (exe == nullptr || *exe == '\0') GTEST_SKIP() << "SPBMM_EXE is not set";
    exe_ = exe;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("spbmm_cli_" + std::string(info->name()) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  Result run(const std::vector<std::string>& args) {
    std::string cmd = quote(exe_);
    // Appended piece by piece: GCC 12 misreports `" " + std::string` under -Wrestrict.
    for (const auto& a : args) cmd.append(" ").append(quote(a));
    const fs::path out = dir_ / "stdout.txt", err = dir_ / "stderr.txt";
    cmd.append(" >").append(quote(out.string())).append(" 2>").append(quote(err.string()));
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  // Exit 2 and exactly one line on stderr.
  void expect_usage_error(const std::vector<std::string>& args) {
    const Result r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, 2) << joined << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\nstderr: " << r.err;
  }

  // Exit 1, one line on stderr containing every piece of `needles`.
  void expect_bad_input(const std::vector<std::string>& args,
                        const std::vector<std::string>& needles = {}) {
    const Result r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, 1) << joined << "\nstderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\nstderr: " << r.err;
    for (const auto& n : needles) {
      EXPECT_NE(r.err.find(n), std::string::npos) << "stderr lacks '" << n << "': " << r.err;
    }
  }

  std::string p(const std::string& name) const { return (dir_ / name).string(); }

  std::string exe_;
  fs::path dir_;
};

TEST_F(Cli, MultiplyOneFile) {
  const Mat a = make(5, 7, 1, 0.4), b = make(7, 3, 2);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  const Result r = run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "-o", p("c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(a, b)));
  EXPECT_NE(slurp(p("c.mtx")).find("%%MatrixMarket matrix array real general"), std::string::npos);
}

TEST_F(Cli, MultiplyIntoExistingDirectoryNamesTheFileAfterA) {
  const Mat a = make(4, 6, 3, 0.5), b = make(6, 2, 4);
  write_coo(p("graph.mtx"), a);
  write_array(p("b.mtx"), b);
  fs::create_directories(p("out"));
  const Result r = run({"multiply", p("graph.mtx"), "--rhs", p("b.mtx"), "-o", p("out")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same(read_result(p("out/graph.mtx")), product(a, b)));
}

TEST_F(Cli, DirectoryBatchWithPerEntryB) {
  // Ragged shapes, one dense (array) entry among sparse ones; B files matched by name order.
  const std::vector<std::pair<int, int>> shapes = {{5, 7}, {9, 3}, {1, 4}, {6, 6}};
  const std::vector<int> ns = {3, 5, 2, 1};
  fs::create_directories(p("A"));
  fs::create_directories(p("B"));
  std::vector<Mat> as, bs;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    as.push_back(make(shapes[i].first, shapes[i].second, 10 + i, i == 3 ? 1.0 : 0.3));
    bs.push_back(make(shapes[i].second, ns[i], 20 + i));
    if (i == 3) {
      write_array(p(numbered("A/e", i)), as[i]);
    } else {
      write_coo(p(numbered("A/e", i)), as[i]);
    }
    write_array(p(numbered("B/b", i)), bs[i]);
  }
  const Result r = run({"multiply", p("A"), "--rhs", p("B"), "-o", p("C"), "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_TRUE(same(read_result(p(numbered("C/e", i))), product(as[i], bs[i]))) << "entry " << i;
  }
}

TEST_F(Cli, FileListWithSharedB) {
  const Mat a0 = make(8, 5, 30, 0.3), a1 = make(3, 5, 31, 0.6), b = make(5, 4, 32);
  write_coo(p("x.mtx"), a0);
  write_coo(p("y.mtx"), a1);
  write_array(p("b.mtx"), b);
  const Result r =
      run({"multiply", p("x.mtx"), p("y.mtx"), "--rhs", p("b.mtx"), "-o", p("out"), "--double"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same(read_result(p("out/x.mtx")), product(a0, b)));
  EXPECT_TRUE(same(read_result(p("out/y.mtx")), product(a1, b)));
}

TEST_F(Cli, TransposeA) {
  const Mat a = make(6, 4, 40, 0.5), b = make(6, 3, 41);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  const Result r =
      run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--transpose-a", "-o", p("c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(transposed(a), b)));
}

TEST_F(Cli, AlphaBetaWithCIn) {
  const Mat a = make(5, 5, 50, 0.5), b = make(5, 2, 51), c = make(5, 2, 52);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  write_array(p("c.mtx"), c);
  // OUT may be C itself: C is read before anything is written.
  const Result r = run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--alpha", "2", "--beta",
                        "-0.5", "--c-in", p("c.mtx"), "-o", p("c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(a, b, 2.0, -0.5, &c)));
}

TEST_F(Cli, EveryForcedKernelAgrees) {
  const Mat a = make(12, 9, 60, 0.3), b = make(9, 5, 61);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  for (const char* k : {"auto", "reference", "sparse", "dense", "eigen"}) {
    const Result r = run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--kernel", k, "-o",
                          p(std::string("c_") + k + ".mtx")});
    ASSERT_EQ(r.code, 0) << k << ": " << r.err;
    EXPECT_TRUE(same(read_result(p(std::string("c_") + k + ".mtx")), product(a, b))) << k;
  }
  // Without a device the GPU kernel fails cleanly; with one it agrees.
  const Result g =
      run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--kernel", "gpu", "-o", p("g.mtx")});
  if (g.code == 0) {
    EXPECT_TRUE(same(read_result(p("g.mtx")), product(a, b)));
  } else {
    EXPECT_EQ(g.code, 1) << g.err;
    EXPECT_EQ(std::count(g.err.begin(), g.err.end(), '\n'), 1) << g.err;
    // The option's own words, not the library's enum.
    EXPECT_NE(g.err.find("--kernel gpu"), std::string::npos) << g.err;
    EXPECT_EQ(g.err.find("Kernel::Gpu"), std::string::npos) << g.err;
    // Found before any work: no output written.
    EXPECT_FALSE(fs::exists(p("g.mtx")));
  }
  // Likewise MKL: it agrees where the backend loads, and fails cleanly where it does not.
  const Result m =
      run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--kernel", "mkl", "-o", p("m.mtx")});
  if (m.code == 0) {
    EXPECT_TRUE(same(read_result(p("m.mtx")), product(a, b)));
  } else {
    EXPECT_EQ(m.code, 1) << m.err;
    EXPECT_EQ(std::count(m.err.begin(), m.err.end(), '\n'), 1) << m.err;
    EXPECT_NE(m.err.find("--kernel mkl: MKL backend not"), std::string::npos) << m.err;
    EXPECT_FALSE(fs::exists(p("m.mtx")));
  }
  // `spbmm --mkl` says the same in one line, its status 0 exactly where the kernel ran.
  const Result s = run({"--mkl"});
  EXPECT_EQ(s.code, m.code == 0 ? 0 : 1) << s.out << s.err;
  EXPECT_EQ(std::count(s.out.begin(), s.out.end(), '\n'), 1) << s.out;
}

// A header may claim any size: the dense C, the B of --random-rhs and the output text are
// checked from the headers before anything is read or allocated.
TEST_F(Cli, HugeHeaderFailsAtOnceWithTheLimitToRaise) {
  write_text(p("big.mtx"),
             "%%MatrixMarket matrix coordinate real general\n100000000 100000000 3\n"
             "1 1 1.0\n50 60 2.0\n99999999 7 3.0\n");
  const auto t0 = std::chrono::steady_clock::now();
  const Result r = run({"multiply", p("big.mtx"), "--random-rhs", "8", "-o", p("h.mtx")});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_LT(s, 1.0);
  EXPECT_NE(r.err.find("output would take at least"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("100000000 x 8"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--max-output"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(p("h.mtx")));
  // The memory limit, named with its size and the option that raises it.
  const Result m = run({"multiply", p("big.mtx"), "--random-rhs", "8", "--max-memory", "1G",
                        "--max-output", "100G", "-o", p("h.mtx")});
  EXPECT_EQ(m.code, 1) << m.err;
  EXPECT_NE(m.err.find("dense operands would take 6.0 GiB"), std::string::npos) << m.err;
  EXPECT_NE(m.err.find("limit of 1.0 GiB; raise it with --max-memory"), std::string::npos) << m.err;
  EXPECT_FALSE(fs::exists(p("h.mtx")));
  const Result bad = run(
      {"multiply", p("big.mtx"), "--random-rhs", "8", "--max-memory", "lots", "-o", p("h.mtx")});
  EXPECT_EQ(bad.code, 2) << bad.err;
}

TEST_F(Cli, LimitsLetSmallProductsThrough) {
  const Mat a = make(30, 20, 93, 0.2);
  write_coo(p("s.mtx"), a);
  // 30 x 4 C and 20 x 4 B in float: 800 bytes; at least 240 bytes of text.
  EXPECT_EQ(
      run({"multiply", p("s.mtx"), "--random-rhs", "4", "--max-memory", "800", "-o", p("s1.mtx")})
          .code,
      0);
  const Result m =
      run({"multiply", p("s.mtx"), "--random-rhs", "4", "--max-memory", "799", "-o", p("s2.mtx")});
  EXPECT_EQ(m.code, 1) << m.err;
  EXPECT_NE(m.err.find("--max-memory"), std::string::npos) << m.err;
  const Result o =
      run({"multiply", p("s.mtx"), "--random-rhs", "4", "--max-output", "200", "-o", p("s3.mtx")});
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_NE(o.err.find("--max-output"), std::string::npos) << o.err;
}

TEST_F(Cli, CooReadingGivesTheSameProduct) {
  const Mat a = make(25, 18, 94, 0.15);
  const Mat b = make(18, 5, 95);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  ASSERT_EQ(run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--coo", "-o", p("c.mtx")}).code, 0);
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(a, b)));
  // Many more rows than entries: COO needs no row pointers.
  write_text(p("tall.mtx"),
             "%%MatrixMarket matrix coordinate real general\n1000000 4 2\n1 1 2.0\n999999 4 "
             "3.0\n");
  ASSERT_EQ(run({"multiply", p("tall.mtx"), "--random-rhs", "1", "--coo", "-o", p("t.mtx")}).code,
            0);
}

// The B that --random-rhs made, saved, reproduces C elsewhere.
TEST_F(Cli, SaveRhsWritesTheRandomB) {
  const Mat a = make(14, 9, 96, 0.3);
  write_coo(p("a.mtx"), a);
  const Result r = run({"multiply", p("a.mtx"), "--random-rhs", "3", "--double", "--save-rhs",
                        p("b.mtx"), "-o", p("c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  const Mat b = read_result(p("b.mtx"));
  ASSERT_EQ(b.rows, 9);
  ASSERT_EQ(b.cols, 3);
  const Mat c = read_result(p("c.mtx"));
  const Mat want = product(a, b);
  ASSERT_EQ(c.rows, want.rows);
  for (std::size_t k = 0; k < c.v.size(); ++k) EXPECT_NEAR(c.v[k], want.v[k], 1e-12) << k;
  // A batch: one file per entry, named after its A.
  fs::create_directories(p("A"));
  write_coo(p("A/x.mtx"), make(5, 4, 97, 0.5));
  write_coo(p("A/y.mtx"), make(6, 7, 98, 0.5));
  const Result d =
      run({"multiply", p("A"), "--random-rhs", "2", "--save-rhs", p("B"), "-o", p("C")});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_EQ(read_result(p("B/x.mtx")).rows, 4);
  EXPECT_EQ(read_result(p("B/y.mtx")).rows, 7);
  EXPECT_EQ(run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--save-rhs", p("z.mtx"), "-o",
                 p("c2.mtx")})
                .code,
            2);
}

TEST_F(Cli, TransposeBMultipliesByBTransposed) {
  const Mat a = make(12, 9, 100, 0.3);
  const Mat bt = make(4, 9, 101);  // B^T as stored: N x k
  write_coo(p("a.mtx"), a);
  write_array(p("bt.mtx"), bt);
  const Result r =
      run({"multiply", p("a.mtx"), "--rhs", p("bt.mtx"), "--transpose-b", "-o", p("c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(a, transposed(bt))));
  // Without the option the shapes do not fit, and the message says so.
  const Result bad = run({"multiply", p("a.mtx"), "--rhs", p("bt.mtx"), "-o", p("d.mtx")});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("inner dimensions 9 != 4"), std::string::npos) << bad.err;
  write_array(p("b.mtx"), make(9, 4, 102));
  const Result badt =
      run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--transpose-b", "-o", p("e.mtx")});
  EXPECT_EQ(badt.code, 1);
  EXPECT_NE(badt.err.find("the transpose of B"), std::string::npos) << badt.err;
  // With --random-rhs: B is made N x k and used transposed.
  ASSERT_EQ(run({"multiply", p("a.mtx"), "--random-rhs", "3", "--transpose-b", "--save-rhs",
                 p("rb.mtx"), "-o", p("f.mtx")})
                .code,
            0);
  EXPECT_EQ(read_result(p("rb.mtx")).rows, 3);
  EXPECT_EQ(read_result(p("f.mtx")).cols, 3);
}

TEST_F(Cli, OtherFilesInADirectoryAreNamed) {
  fs::create_directories(p("G"));
  write_coo(p("G/g.mtx"), make(5, 4, 99, 0.5));
  write_text(p("G/notes.txt"), "not a matrix\n");
  const Result r = run({"multiply", p("G"), "--random-rhs", "2", "-o", p("out")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("notes.txt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 entry not ending in .mtx left out"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(p("out/g.mtx")));
}

TEST_F(Cli, ExplainOfOneEntrySaysEntry) {
  write_coo(p("one.mtx"), make(12, 10, 90, 0.3));
  const Result r =
      run({"multiply", p("one.mtx"), "--random-rhs", "3", "--explain", "-o", p("one_c.mtx")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("plan: 1 entry,"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("1 entries"), std::string::npos) << r.out;
}

TEST_F(Cli, ExplainPrintsThePlanTable) {
  fs::create_directories(p("A"));
  write_coo(p("A/s.mtx"), make(40, 30, 70, 0.05));
  write_array(p("A/d.mtx"), make(20, 30, 71));
  const Result r =
      run({"multiply", p("A"), "--random-rhs", "16", "--seed", "3", "--explain", "-o", p("C")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string lower = r.out;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  EXPECT_NE(lower.find("kernel"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(p("C/s.mtx")));
  EXPECT_EQ(read_result(p("C/d.mtx")).rows, 20);
  EXPECT_EQ(read_result(p("C/d.mtx")).cols, 16);
}

TEST_F(Cli, RandomRhsIsReproducible) {
  write_coo(p("a.mtx"), make(30, 20, 80, 0.2));
  for (const char* out : {"c1.mtx", "c2.mtx"}) {
    const Result r = run({"multiply", p("a.mtx"), "--random-rhs", "8", "--seed", "9",
                          "--transpose-a", "-o", p(out)});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  const Mat c1 = read_result(p("c1.mtx"));
  EXPECT_EQ(c1.rows, 20);
  EXPECT_EQ(c1.cols, 8);
  EXPECT_TRUE(same(c1, read_result(p("c2.mtx"))));
}

TEST_F(Cli, UsageErrorsExitTwoWithOneLine) {
  write_coo(p("a.mtx"), make(3, 3, 90, 0.5));
  write_array(p("b.mtx"), make(3, 2, 91));
  fs::create_directories(p("D"));
  write_coo(p("D/a.mtx"), make(3, 3, 92, 0.5));
  const std::string a = p("a.mtx"), b = p("b.mtx"), o = p("o.mtx");
  expect_usage_error({});
  expect_usage_error({"no-such-command"});
  expect_usage_error({"multiply"});
  expect_usage_error({"multiply", a, "-o", o});
  expect_usage_error({"multiply", a, "--rhs", b});
  expect_usage_error({"multiply", a, "--rhs", b, "--random-rhs", "4", "-o", o});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--frobnicate"});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--kernel", "fastest"});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--beta", "1"});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--alpha", "two"});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--seed", "3"});
  expect_usage_error({"multiply", a, "--rhs", b, "-o", o, "--threads", "-1"});
  expect_usage_error({"multiply", a, "--random-rhs", "0", "-o", o});
  expect_usage_error({"multiply", a, "--rhs"});
  expect_usage_error({"multiply", a, p("D"), "--rhs", b, "-o", o});
  expect_usage_error({"bench", "W42"});
  expect_usage_error({"bench", "W2", "--reps", "0"});
  expect_usage_error({"bench", "--json", "--fast"});
  expect_usage_error({"calibrate", "--threads", "x"});
  expect_usage_error({"calibrate", "extra"});
}

TEST_F(Cli, BadInputExitsOneNamingTheProblem) {
  write_coo(p("a57.mtx"), make(5, 7, 100, 0.5));
  write_array(p("b63.mtx"), make(6, 3, 101));
  write_array(p("b73.mtx"), make(7, 3, 102));
  write_text(p("bad.mtx"), "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\n");
  write_text(p("complex.mtx"),
             "%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1.0 2.0\n");
  const std::string o = p("o.mtx");
  expect_bad_input({"multiply", p("missing.mtx"), "--rhs", p("b73.mtx"), "-o", o}, {"missing.mtx"});
  expect_bad_input({"multiply", p("a57.mtx"), "--rhs", p("missing_b.mtx"), "-o", o},
                   {"missing_b.mtx"});
  expect_bad_input({"multiply", p("a57.mtx"), "--rhs", p("b63.mtx"), "-o", o},
                   {"a57.mtx", "5x7", "b63.mtx", "6x3"});
  expect_bad_input({"multiply", p("bad.mtx"), "--rhs", p("b73.mtx"), "-o", o}, {"bad.mtx"});
  expect_bad_input({"multiply", p("complex.mtx"), "--rhs", p("b73.mtx"), "-o", o}, {"complex"});
  // --c-in whose shape does not fit the product.
  expect_bad_input({"multiply", p("a57.mtx"), "--rhs", p("b73.mtx"), "--beta", "1", "--c-in",
                    p("b63.mtx"), "-o", o},
                   {"b63.mtx", "6x3", "5x3"});
  // A directory and a B directory of different sizes: both are named.
  fs::create_directories(p("A"));
  fs::create_directories(p("B"));
  write_coo(p("A/1.mtx"), make(2, 7, 103, 0.5));
  write_coo(p("A/2.mtx"), make(3, 7, 104, 0.5));
  write_array(p("B/1.mtx"), make(7, 2, 105));
  expect_bad_input({"multiply", p("A"), "--rhs", p("B"), "-o", p("C")}, {p("A"), p("B"), "2", "1"});
  // An empty directory.
  fs::create_directories(p("E"));
  expect_bad_input({"multiply", p("E"), "--rhs", p("b73.mtx"), "-o", p("C")}, {p("E")});
  EXPECT_FALSE(fs::exists(o));
}

TEST_F(Cli, FileBeyond32BitIndicesIsReadWith64BitOnes) {
  // cols does not fit int32: the 32-bit pass fails and the 64-bit one reads the file, so the
  // error is the shape mismatch, not a size limit.
  write_text(p("wide.mtx"),
             "%%MatrixMarket matrix coordinate real general\n1 3000000000 1\n1 2999999999 2.5\n");
  write_array(p("b.mtx"), make(2, 1, 120));
  expect_bad_input({"multiply", p("wide.mtx"), "--rhs", p("b.mtx"), "-o", p("c.mtx")},
                   {"wide.mtx", "1x3000000000", "2x1"});
}

TEST_F(Cli, HelpOfEachCommandShowsAnExample) {
  for (const char* cmd : {"multiply", "bench", "calibrate", "demo", "info", "convert"}) {
    const Result r = run({cmd, "--help"});
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("example: spbmm " + std::string(cmd)), std::string::npos)
        << cmd << ": " << r.out;
  }
  const Result top = run({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* cmd : {"multiply", "bench", "calibrate"}) {
    EXPECT_NE(top.out.find(cmd), std::string::npos) << top.out;
  }
}

TEST_F(Cli, VersionNamesTheFeaturesBuiltIn) {
  const Result r = run({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("spbmm " SPBMM_VERSION "\n", 0), 0u) << r.out;
  for (const char* what : {"OpenMP threads:", "BLAS for large dense products:",
                           "small dense kernels generated per shape:", "CPU sparse kernels:",
                           "GPU backend:", "Intel MKL backend:"}) {
    EXPECT_NE(r.out.find(what), std::string::npos) << what << "\n" << r.out;
  }
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(Cli, DemoPlansRunsAndChecksTheBundledBatch) {
  const Result r = run({"demo", "--threads", "2"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  for (const char* what :
       {"plan: 5 entries", "reason", "d_dense_block_96.mtx", "dense", "sparse", "time per kernel",
        "whole batch", "check: OK (every entry within 1e-04 of the reference)"}) {
    EXPECT_NE(r.out.find(what), std::string::npos) << what << "\n" << r.out;
  }
  // stderr is a file here, not a terminal: no progress lines.
  EXPECT_TRUE(r.err.empty()) << r.err;

  const Result q = run({"demo", "--quiet"});
  EXPECT_EQ(q.code, 0) << q.out << q.err;
  EXPECT_EQ(q.out.find("reason"), std::string::npos) << q.out;
  EXPECT_EQ(q.out.find("a_ring_300.mtx"), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("check: OK"), std::string::npos) << q.out;
  EXPECT_TRUE(q.err.empty()) << q.err;
}

TEST_F(Cli, DemoOnAFolderWithoutMatricesFails) {
  const Result r = run({"demo", dir_.string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no .mtx files in " + dir_.string()), std::string::npos) << r.err;
}

TEST_F(Cli, MultiplyQuietPrintsNothing) {
  write_coo(p("a.mtx"), make(5, 4, 300, 0.5));
  const Result r = run({"multiply", p("a.mtx"), "--random-rhs", "3", "-o", p("c.mtx"), "--quiet"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_TRUE(fs::exists(p("c.mtx")));
}

TEST_F(Cli, BenchJson) {
  const Result r = run({"bench", "W2", "--reps", "1", "--threads", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  std::string line = r.out;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 0) << r.out;
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_EQ(std::count(line.begin(), line.end(), '{'), std::count(line.begin(), line.end(), '}'));
  for (const char* field : {"\"workload\": \"W2\"", "\"precision\": \"fp32\"", "\"threads\": 2",
                            "\"spbmm_seconds\": ", "\"gflops\": ", "\"plan_seconds\": ",
                            "\"baselines\": [{\"name\": \"eigen\"", "\"seconds\": "}) {
    EXPECT_NE(line.find(field), std::string::npos) << "no " << field << " in " << line;
  }
  EXPECT_EQ(line.find("null"), std::string::npos) << line;
}

TEST_F(Cli, CalibrateWritesAFileThatMultiplyAccepts) {
  const Result r = run({"calibrate", "--threads", "1", "-o", p("machine.txt")});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = slurp(p("machine.txt"));
  EXPECT_NE(text.find("sparse_gflops = "), std::string::npos) << text;
  const Mat a = make(6, 5, 110, 0.4), b = make(5, 3, 111);
  write_coo(p("a.mtx"), a);
  write_array(p("b.mtx"), b);
  const Result m = run({"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--machine", p("machine.txt"),
                        "-o", p("c.mtx")});
  ASSERT_EQ(m.code, 0) << m.err;
  EXPECT_TRUE(same(read_result(p("c.mtx")), product(a, b)));
  expect_bad_input(
      {"multiply", p("a.mtx"), "--rhs", p("b.mtx"), "--machine", p("nope.txt"), "-o", p("c.mtx")},
      {"nope.txt"});
}

// What `spbmm multiply DIR --random-rhs 8` does, in-process: every real matrix as one ragged
// batch through one Plan, checked entry by entry against the reference kernel. The bound is the
// rounding of two summation orders: |got - want| <= 2 (len + 1) eps (|A| |B|).
template <Index I>
void check_real_batch(const std::vector<std::string>& files) {
  using T = float;
  constexpr std::int64_t kN = 8;
  std::vector<CsrMatrix<T, I>> list;
  for (const auto& f : files) list.push_back(read_matrix_market_csr<T, I>(f));
  const CsrBatch<T, I> a = CsrBatch<T, I>::from_list(list);
  std::vector<std::int64_t> rows(a.size()), cols(a.size(), kN);
  for (std::size_t i = 0; i < a.size(); ++i) rows[i] = a.cols(i);
  DenseBatch<T> b(rows, cols);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto& x : b.values()) x = static_cast<T>(u(rng));

  const BatchView<T, I> av(a);
  const Plan<T, I> plan(av, kN);
  const DenseBatch<T> c = plan.execute(std::as_const(b).view());
  ASSERT_EQ(c.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const CsrView<T, I> ai = a.entry(i);
    DenseMatrix<double> want(ai.rows, kN), bound(ai.rows, kN);
    DenseMatrix<double> bd(ai.cols, kN), bd_abs(ai.cols, kN);
    std::vector<double> vals(ai.values, ai.values + ai.nnz()), abs_vals(vals);
    for (auto& x : abs_vals) x = std::fabs(x);
    std::vector<I> rp(ai.row_ptr, ai.row_ptr + ai.rows + 1), ci(ai.col_idx, ai.col_idx + ai.nnz());
    for (std::int64_t r = 0; r < ai.cols; ++r) {
      for (std::int64_t j = 0; j < kN; ++j) {
        bd(r, j) = b.entry(i)(r, j);
        bd_abs(r, j) = std::fabs(bd(r, j));
      }
    }
    const CsrView<double, I> ad{ai.rows, ai.cols, rp.data(), ci.data(), vals.data()};
    const CsrView<double, I> ad_abs{ai.rows, ai.cols, rp.data(), ci.data(), abs_vals.data()};
    kernels::reference::csr_dense<double, I>(Op::N, Op::N, 1.0, ad, bd.view(), 0.0, want.view());
    kernels::reference::csr_dense<double, I>(Op::N, Op::N, 1.0, ad_abs, bd_abs.view(), 0.0,
                                             bound.view());
    const double eps = 6e-8;
    std::int64_t bad = 0;
    std::string first;
    for (std::int64_t r = 0; r < ai.rows; ++r) {
      const double len = static_cast<double>(rp[r + 1] - rp[r]);
      for (std::int64_t j = 0; j < kN; ++j) {
        const double got = c.entry(i)(r, j);
        // float inputs are exact in double, so `want` carries only double rounding.
        const double tol = 2.0 * (len + 1) * eps * bound(r, j) + 1e-30;
        if (!(std::fabs(got - want(r, j)) <= tol) && !(std::isnan(got) && std::isnan(want(r, j)))) {
          if (bad++ == 0) {
            first = "row " + std::to_string(r) + " col " + std::to_string(j) + ": got " +
                    std::to_string(got) + " want " + std::to_string(want(r, j));
          }
        }
      }
    }
    EXPECT_EQ(bad, 0) << files[i] << " (" << plan.choices()[i].reason << "): " << first;
  }
}

TEST(CliRealData, MultiplyAgreesWithTheReferenceOnEveryRealMatrix) {
  const std::string dir = data_dir();
  if (dir.empty()) GTEST_SKIP() << "SPBMM_DATA_DIR is empty";
  const fs::path real = fs::path(dir) / "real";
  if (!fs::is_directory(real)) GTEST_SKIP() << real << " is not a directory";
  std::vector<std::string> files;
  for (const auto& f : list_matrix_market_files(real.string())) {
    if (read_matrix_market_header(f).field == MmField::Complex) continue;
    files.push_back(f);
  }
  ASSERT_FALSE(files.empty());
  std::printf("checking %zu real matrices from %s as one batch\n", files.size(),
              real.string().c_str());
  try {
    check_real_batch<std::int32_t>(files);
  } catch (const LimitError&) {
    check_real_batch<std::int64_t>(files);
  }
}

}  // namespace
}  // namespace spbmm::test
