// Matrix Market reader and writer: headers, options, exact round trips, batches, chunked parsing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace fs = std::filesystem;

std::string corpus(const std::string& name) { return test::test_data() + "/mm/" + name; }

// A fresh scratch directory per test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("spbmm_io_") + info->test_suite_name() + "_" + info->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::string path() const { return dir_.string(); }

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

// Bitwise equality, except that any NaN equals any NaN.
template <class T>
bool same_value(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T, class I>
void expect_same_csr(const CsrMatrix<T, I>& got, const CsrMatrix<T, I>& want) {
  ASSERT_EQ(got.rows(), want.rows());
  ASSERT_EQ(got.cols(), want.cols());
  ASSERT_EQ(got.row_ptr(), want.row_ptr());
  ASSERT_EQ(got.col_idx(), want.col_idx());
  ASSERT_EQ(got.values().size(), want.values().size());
  for (std::size_t k = 0; k < got.values().size(); ++k) {
    EXPECT_TRUE(same_value(got.values()[k], want.values()[k]))
        << "value " << k << ": " << got.values()[k] << " != " << want.values()[k];
  }
}

// ---- header -------------------------------------------------------------------------------

TEST(MmHeader, DescribesBannerAndSizeLine) {
  const auto h = read_matrix_market_header(corpus("coord_symmetric.mtx"));
  EXPECT_EQ(h.object, MmObject::Matrix);
  EXPECT_EQ(h.format, MmFormat::Coordinate);
  EXPECT_EQ(h.field, MmField::Real);
  EXPECT_EQ(h.symmetry, MmSymmetry::Symmetric);
  EXPECT_EQ(h.rows, 3);
  EXPECT_EQ(h.cols, 3);
  EXPECT_EQ(h.nnz, 4);
  EXPECT_EQ(h.banner, "%%MatrixMarket matrix coordinate real symmetric");
  EXPECT_EQ(h.size_line, 2);
}

TEST(MmHeader, CollectsCommentsAndCountsArrayValues) {
  const auto c = read_matrix_market_header(corpus("comments_everywhere.mtx"));
  // The text after '%' exactly, blanks included.
  EXPECT_EQ(c.comments, (std::vector<std::string>{"%GraphBLAS type double", " comment one", "",
                                                  " comment three", "no space"}));
  EXPECT_EQ(c.size_line, 7);
  EXPECT_EQ(read_matrix_market_header(corpus("array_symmetric.mtx")).nnz, 6);
  EXPECT_EQ(read_matrix_market_header(corpus("array_skew.mtx")).nnz, 3);
  EXPECT_EQ(read_matrix_market_header(corpus("array_general.mtx")).nnz, 6);
}

TEST(MmHeader, DescribesComplexFilesButReadersRejectThem) {
  const auto h = read_matrix_market_header(corpus("err_complex_hermitian.mtx"));
  EXPECT_EQ(h.field, MmField::Complex);
  EXPECT_EQ(h.symmetry, MmSymmetry::Hermitian);
  SPBMM_EXPECT_THROW_MSG(
      (read_matrix_market_csr<float, std::int32_t>(corpus("err_complex_hermitian.mtx"))),
      ParseError, "complex values are not supported");
}

TEST(MmHeader, SpellsBannerWords) {
  EXPECT_STREQ(to_string(MmFormat::Array), "array");
  EXPECT_STREQ(to_string(MmField::Pattern), "pattern");
  EXPECT_STREQ(to_string(MmSymmetry::SkewSymmetric), "skew-symmetric");
  EXPECT_STREQ(to_string(MmObject::Matrix), "matrix");
}

TEST(MmHeader, MissingFileIsIoError) {
  SPBMM_EXPECT_THROW_MSG(read_matrix_market_header(corpus("no_such_file.mtx")), IoError,
                         "no_such_file.mtx");
  SPBMM_EXPECT_THROW_MSG((read_matrix_market_coo<double, std::int64_t>(corpus(""))), IoError,
                         "directory");
}

// ---- reader details -------------------------------------------------------------------------

TEST(MmRead, SpecialValues) {
  const auto m = read_matrix_market_coo<double, std::int64_t>(corpus("values_special.mtx"));
  const auto& v = m.values();
  ASSERT_EQ(v.size(), 10u);
  EXPECT_EQ(v[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(v[1], -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(v[3], 1.5);
  EXPECT_EQ(v[4], 1e-3);
  EXPECT_EQ(v[5], 100.0);
  EXPECT_EQ(v[6], 0.5);
  EXPECT_EQ(v[7], 0.0);
  EXPECT_TRUE(std::signbit(v[7]));
  EXPECT_EQ(v[8], 1e-320);  // a denormal
  EXPECT_EQ(v[9], -1.7976931348623157e308);
}

TEST(MmRead, FloatRejectsLiteralsBeyondItsRange) {
  // -1.79e308 on line 12 does not fit a float; 1e-320 underflows to 0 like strtof.
  try {
    (void)read_matrix_market_coo<float, std::int32_t>(corpus("values_special.mtx"));
    ADD_FAILURE() << "expected ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line(), 12);
    EXPECT_NE(std::string(e.what()).find("out of range for float"), std::string::npos) << e.what();
  }
  SPBMM_EXPECT_THROW_MSG(
      (read_matrix_market_csr<float, std::int64_t>(corpus("float_overflow.mtx"))), ParseError,
      "float_overflow.mtx:3: value '1e39' is out of range for float");
}

TEST(MmRead, IndexTypeTooSmallIsLimitError) {
  SPBMM_EXPECT_THROW_MSG(
      (read_matrix_market_coo<double, std::int32_t>(corpus("int32_too_small.mtx"))), LimitError,
      "int32_too_small.mtx:2: cols = 3000000000 does not fit the 32-bit");
  EXPECT_EQ((read_matrix_market_coo<double, std::int64_t>(corpus("int32_too_small.mtx")).cols()),
            3000000000);
}

TEST(MmRead, NegativeThreadCountIsInvalid) {
  MmReadOptions r;
  r.threads = -1;
  SPBMM_EXPECT_THROW_MSG(
      (read_matrix_market_coo<double, std::int32_t>(corpus("coord_skew.mtx"), r)), InvalidArgument,
      "threads must be >= 0");
  MmWriteOptions w;
  w.threads = -2;
  const CsrMatrix<double, std::int32_t> a(1, 1);
  EXPECT_THROW(write_matrix_market("/nonexistent_dir_spbmm/x.mtx", a.view(), w), InvalidArgument);
}

TEST(MmRead, KeepsStoredTriangleWhenAsked) {
  MmReadOptions keep;
  keep.expand_symmetry = false;
  const auto a =
      read_matrix_market_coo<double, std::int32_t>(corpus("coord_symmetric_upper.mtx"), keep);
  EXPECT_EQ(a.row_idx(), (std::vector<std::int32_t>{0, 1, 0}));
  EXPECT_EQ(a.col_idx(), (std::vector<std::int32_t>{1, 2, 0}));
  const auto s = read_matrix_market_csr<double, std::int32_t>(corpus("coord_skew.mtx"), keep);
  EXPECT_EQ(s.nnz(), 2);
  const auto d =
      read_matrix_market_dense<double>(corpus("array_symmetric.mtx"), Layout::RowMajor, keep);
  EXPECT_EQ(d(2, 0), 3.0);
  EXPECT_EQ(d(0, 2), 0.0);
}

TEST(MmRead, CooKeepsDuplicatesCsrAndDenseSumThem) {
  const auto coo = read_matrix_market_coo<double, std::int64_t>(corpus("duplicates.mtx"));
  EXPECT_EQ(coo.nnz(), 4);
  EXPECT_EQ(coo.values(), (std::vector<double>{1, 3, 2, 4}));  // file order
  const auto csr = read_matrix_market_csr<double, std::int64_t>(corpus("duplicates.mtx"));
  EXPECT_EQ(csr.values(), (std::vector<double>{7, 3}));
  const auto d = read_matrix_market_dense<double>(corpus("duplicates.mtx"), Layout::ColMajor);
  EXPECT_EQ(d.layout(), Layout::ColMajor);
  EXPECT_EQ(d(0, 0), 7.0);
  EXPECT_EQ(d(1, 1), 3.0);
}

TEST(MmRead, SymmetricMirrorsFollowStoredEntriesInCoo) {
  const auto a = read_matrix_market_coo<double, std::int32_t>(corpus("coord_symmetric.mtx"));
  // Stored (0,0) (1,0) (2,1) (2,2), then the mirrors (0,1) (1,2).
  EXPECT_EQ(a.row_idx(), (std::vector<std::int32_t>{0, 1, 2, 2, 0, 1}));
  EXPECT_EQ(a.col_idx(), (std::vector<std::int32_t>{0, 0, 1, 2, 1, 2}));
}

TEST(MmRead, ArrayLayouts) {
  const auto r = read_matrix_market_dense<float>(corpus("array_general.mtx"), Layout::RowMajor);
  const auto c = read_matrix_market_dense<float>(corpus("array_general.mtx"), Layout::ColMajor);
  for (std::int64_t i = 0; i < 2; ++i) {
    for (std::int64_t j = 0; j < 3; ++j) {
      EXPECT_EQ(r(i, j), static_cast<float>(1 + i + 2 * j));
      EXPECT_EQ(c(i, j), static_cast<float>(1 + i + 2 * j));
    }
  }
  EXPECT_EQ(c.values(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

// A big body split across many chunks keeps exact line numbers in its errors.
TEST(MmRead, ChunkedParsingKeepsLineNumbers) {
  TempDir tmp;
  const std::int64_t n = 60000;
  std::string text = "%%MatrixMarket matrix coordinate real general\n% header comment\n";
  text += "1000 1000 " + std::to_string(n) + "\n";
  std::int64_t line = 3;
  std::mt19937_64 rng(7);
  std::int64_t bad_line = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    if (k % 997 == 0) {
      text += "% a comment inside the body\n\n";
      line += 2;
    }
    ++line;
    if (k == 45678) {
      text += "17 0 1.25\n";
      bad_line = line;
      continue;
    }
    text += std::to_string(1 + rng() % 1000) + " " + std::to_string(1 + rng() % 1000) +
            " 0.123456789012345678\n";
  }
  const std::string bad = tmp.file("bad.mtx");
  spit(bad, text);
  for (int threads : {1, 2, 3, 8}) {
    MmReadOptions o;
    o.threads = threads;
    try {
      (void)read_matrix_market_csr<double, std::int32_t>(bad, o);
      ADD_FAILURE() << "expected ParseError";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), bad_line) << threads << " threads: " << e.what();
    }
  }
  // Fixed, it reads the same with any thread count; too many entries are reported where they start.
  const std::string good = tmp.file("good.mtx");
  std::string fixed = text;
  fixed.replace(fixed.find("17 0 1.25"), 9, "17 1 1.25");
  spit(good, fixed);
  MmReadOptions one;
  one.threads = 1;
  const auto ref = read_matrix_market_csr<double, std::int64_t>(good, one);
  for (int threads : {2, 3, 8}) {
    MmReadOptions o;
    o.threads = threads;
    expect_same_csr(read_matrix_market_csr<double, std::int64_t>(good, o), ref);
    const auto coo = read_matrix_market_coo<double, std::int64_t>(good, o);
    EXPECT_EQ(coo.nnz(), n);
  }
  std::string more = fixed;
  more.replace(more.find(" 60000\n"), 7, " 59999\n");
  spit(good, more);
  for (int threads : {1, 2, 8}) {
    MmReadOptions o;
    o.threads = threads;
    try {
      (void)read_matrix_market_coo<float, std::int32_t>(good, o);
      ADD_FAILURE() << "expected ParseError";
    } catch (const ParseError& e) {
      EXPECT_EQ(e.line(), line) << e.what();  // the last entry is the extra one
      EXPECT_NE(std::string(e.what()).find("too many entries"), std::string::npos);
    }
  }
}

// ---- writer ---------------------------------------------------------------------------------

TEST(MmWrite, BannerAndSizeLineExactly) {
  TempDir tmp;
  const CsrMatrix<double, std::int32_t> a(2, 3, {0, 1, 2}, {0, 2}, {1.5, -2.0});
  MmWriteOptions o;
  o.comments = {" made by a test"};
  write_matrix_market(tmp.file("a.mtx"), a.view(), o);
  EXPECT_EQ(slurp(tmp.file("a.mtx")),
            "%%MatrixMarket matrix coordinate real general\n% made by a test\n2 3 2\n1 1 1.5\n"
            "2 3 -2\n");
  const std::vector<double> d = {1, 2, 3, 4};  // row-major 2 x 2
  write_matrix_market<double>(tmp.file("d.mtx"), DenseView<const double>(d.data(), 2, 2));
  EXPECT_EQ(slurp(tmp.file("d.mtx")),
            "%%MatrixMarket matrix array real general\n2 2\n1\n3\n2\n4\n");
  MmWriteOptions pattern;
  pattern.field = MmField::Pattern;
  write_matrix_market(tmp.file("p.mtx"), a.view(), pattern);
  EXPECT_EQ(slurp(tmp.file("p.mtx")),
            "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 1\n2 3\n");
  MmWriteOptions integer;
  integer.field = MmField::Integer;
  write_matrix_market(tmp.file("i.mtx"),
                      CsrMatrix<double, std::int32_t>(2, 3, {0, 1, 2}, {0, 2}, {3e9, -2.0}).view(),
                      integer);
  EXPECT_EQ(slurp(tmp.file("i.mtx")),
            "%%MatrixMarket matrix coordinate integer general\n2 3 2\n1 1 3000000000\n2 3 -2\n");
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(tmp.file("j.mtx"), a.view(), integer), InvalidArgument,
                         "integer");
}

TEST(MmWrite, AssertedSymmetryWritesLowerTriangle) {
  TempDir tmp;
  // [[4, 1], [1, 5]] and the skew [[0, 2], [-2, 0]].
  const CsrMatrix<double, std::int64_t> s(2, 2, {0, 2, 4}, {0, 1, 0, 1}, {4, 1, 1, 5});
  MmWriteOptions o;
  o.symmetry = MmSymmetry::Symmetric;
  write_matrix_market(tmp.file("s.mtx"), s.view(), o);
  EXPECT_EQ(slurp(tmp.file("s.mtx")),
            "%%MatrixMarket matrix coordinate real symmetric\n2 2 3\n1 1 4\n2 1 1\n2 2 5\n");
  expect_same_csr(read_matrix_market_csr<double, std::int64_t>(tmp.file("s.mtx")), s);

  const CsrMatrix<double, std::int64_t> k(2, 2, {0, 1, 2}, {1, 0}, {2, -2});
  o.symmetry = MmSymmetry::SkewSymmetric;
  write_matrix_market(tmp.file("k.mtx"), k.view(), o);
  EXPECT_EQ(slurp(tmp.file("k.mtx")),
            "%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n2 1 -2\n");
  expect_same_csr(read_matrix_market_csr<double, std::int64_t>(tmp.file("k.mtx")), k);

  o.format = MmFormat::Array;
  o.symmetry = MmSymmetry::Symmetric;
  write_matrix_market(tmp.file("sa.mtx"), s.view(), o);
  EXPECT_EQ(slurp(tmp.file("sa.mtx")),
            "%%MatrixMarket matrix array real symmetric\n2 2\n4\n1\n5\n");
  expect_same_csr(read_matrix_market_csr<double, std::int64_t>(tmp.file("sa.mtx")), s);

  MmWriteOptions h;
  h.symmetry = MmSymmetry::Hermitian;
  EXPECT_THROW(write_matrix_market(tmp.file("h.mtx"), s.view(), h), InvalidArgument);
  MmWriteOptions rect;
  rect.symmetry = MmSymmetry::Symmetric;
  EXPECT_THROW(
      write_matrix_market(tmp.file("r.mtx"), CsrMatrix<double, std::int64_t>(2, 3).view(), rect),
      InvalidArgument);
}

TEST(MmWrite, CooKeepsDuplicatesAndOrder) {
  TempDir tmp;
  const CooMatrix<float, std::int32_t> a(3, 3, {2, 0, 2}, {1, 0, 1}, {1.f, 2.f, 3.f});
  write_matrix_market(tmp.file("c.mtx"), a.view());
  EXPECT_EQ(slurp(tmp.file("c.mtx")),
            "%%MatrixMarket matrix coordinate real general\n3 3 3\n3 2 1\n1 1 2\n3 2 3\n");
}

TEST(MmWrite, UnwritablePathIsIoError) {
  const CsrMatrix<double, std::int32_t> a(1, 1);
  SPBMM_EXPECT_THROW_MSG(write_matrix_market("/nonexistent_dir_spbmm/x.mtx", a.view()), IoError,
                         "/nonexistent_dir_spbmm/x.mtx");
}

template <class P>
class MmRoundTrip : public ::testing::Test {};
TYPED_TEST_SUITE(MmRoundTrip, test::AllPairs);

TYPED_TEST(MmRoundTrip, ExactForRandomAndExtremeValues) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  using L = std::numeric_limits<T>;
  TempDir tmp;
  std::mt19937_64 rng(42);
  // Extreme values first, then random ones of every magnitude.
  std::vector<T> vals = {L::denorm_min(),
                         -L::denorm_min(),
                         L::min(),
                         L::max(),
                         L::lowest(),
                         L::infinity(),
                         -L::infinity(),
                         L::quiet_NaN(),
                         T(0),
                         -T(0),
                         T(0.1),
                         T(1) / T(3),
                         L::epsilon(),
                         T(1) + L::epsilon(),
                         L::min() / T(3),
                         T(123456789)};
  std::uniform_real_distribution<double> mag(-40, 40);
  while (vals.size() < 400) {
    vals.push_back(static_cast<T>(std::pow(10.0, mag(rng)) * test::random_value<double>(rng)));
  }
  const std::int64_t rows = 20, cols = 20;
  std::vector<I> rp(rows + 1, 0), ci;
  std::vector<T> vv;
  std::size_t next = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      ci.push_back(static_cast<I>(c));
      vv.push_back(vals[next++ % vals.size()]);
    }
    rp[static_cast<std::size_t>(r) + 1] = static_cast<I>(ci.size());
  }
  const CsrMatrix<T, I> a(rows, cols, rp, ci, vv);
  for (int threads : {1, 2}) {
    MmWriteOptions o;
    o.threads = threads;
    write_matrix_market(tmp.file("a.mtx"), a.view(), o);
    expect_same_csr(read_matrix_market_csr<T, I>(tmp.file("a.mtx")), a);
    // Array output holds every value (zeros too): compare densely.
    o.format = MmFormat::Array;
    write_matrix_market(tmp.file("b.mtx"), a.view(), o);
    const auto d = read_matrix_market_dense<T>(tmp.file("b.mtx"));
    ASSERT_EQ(d.values().size(), vv.size());
    for (std::size_t k = 0; k < vv.size(); ++k) {
      EXPECT_TRUE(same_value(d.values()[k], vv[k]))
          << k << ": " << d.values()[k] << " vs " << vv[k];
    }
  }
  // Fixed precision of max_digits10 round-trips too.
  MmWriteOptions p;
  p.precision = std::numeric_limits<T>::max_digits10;
  write_matrix_market(tmp.file("p.mtx"), a.view(), p);
  expect_same_csr(read_matrix_market_csr<T, I>(tmp.file("p.mtx")), a);

  // Random sparse matrices, written as CSR and as COO, dense as array.
  const auto r = test::random_csr<T, I>(300, 200, 0.05, rng);
  write_matrix_market(tmp.file("r.mtx"), r.view());
  expect_same_csr(read_matrix_market_csr<T, I>(tmp.file("r.mtx")), r);
  const auto coo = test::random_coo<T, I>(50, 60, 500, 0, rng);
  write_matrix_market(tmp.file("q.mtx"), coo.view());
  const auto back = read_matrix_market_coo<T, I>(tmp.file("q.mtx"));
  EXPECT_EQ(back.row_idx(), coo.row_idx());
  EXPECT_EQ(back.col_idx(), coo.col_idx());
  EXPECT_EQ(back.values(), coo.values());
  const auto d = test::random_dense<T>(7, 5, rng, Layout::ColMajor);
  write_matrix_market<T>(tmp.file("d.mtx"), d.view());
  const auto dback = read_matrix_market_dense<T>(tmp.file("d.mtx"), Layout::ColMajor);
  EXPECT_EQ(dback.values(), d.values());
}

TYPED_TEST(MmRoundTrip, EmptyMatrices) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  TempDir tmp;
  for (auto [r, c] : {std::pair<std::int64_t, std::int64_t>{0, 0}, {0, 5}, {4, 0}, {3, 3}}) {
    const CsrMatrix<T, I> a(r, c);
    write_matrix_market(tmp.file("e.mtx"), a.view());
    const auto back = read_matrix_market_csr<T, I>(tmp.file("e.mtx"));
    EXPECT_EQ(back.rows(), r);
    EXPECT_EQ(back.cols(), c);
    EXPECT_EQ(back.nnz(), 0);
  }
}

// ---- batches --------------------------------------------------------------------------------

TYPED_TEST(MmRoundTrip, BatchThroughDirectory) {
  using T = typename TypeParam::T;
  using I = typename TypeParam::I;
  TempDir tmp;
  std::mt19937_64 rng(3);
  std::vector<CsrMatrix<T, I>> list;
  list.push_back(test::random_csr<T, I>(10, 7, 0.3, rng));
  list.push_back(CsrMatrix<T, I>(0, 4));
  list.push_back(test::random_csr<T, I>(1, 30, 0.5, rng));
  list.push_back(test::random_csr<T, I>(25, 25, 0.1, rng));
  const auto batch = CsrBatch<T, I>::from_list(list);
  const auto paths = write_matrix_market_dir(tmp.file("b"), batch);
  ASSERT_EQ(paths.size(), 4u);
  EXPECT_EQ(fs::path(paths[0]).filename(), "entry_00000.mtx");
  EXPECT_EQ(fs::path(paths[3]).filename(), "entry_00003.mtx");
  const auto back = read_matrix_market_csr_dir<T, I>(tmp.file("b"));
  ASSERT_EQ(back.size(), 4u);
  const auto got = back.to_list();
  for (std::size_t i = 0; i < got.size(); ++i) expect_same_csr(got[i], list[i]);

  const auto coo = read_matrix_market_coo_dir<T, I>(tmp.file("b"));
  ASSERT_EQ(coo.size(), 4u);
  EXPECT_EQ(coo.nnz(3), list[3].nnz());

  // Caller-given names; the listing is sorted by name.
  const auto named =
      write_matrix_market_dir(tmp.file("n"), batch, {}, {"z.mtx", "a.mtx", "m.MTX", "b.mtx"});
  EXPECT_EQ(fs::path(named[2]).filename(), "m.MTX");
  spit(tmp.file("n/readme.txt"), "not a matrix");
  const auto listed = list_matrix_market_files(tmp.file("n"));
  ASSERT_EQ(listed.size(), 4u);
  EXPECT_EQ(fs::path(listed[0]).filename(), "a.mtx");
  EXPECT_EQ(fs::path(listed[3]).filename(), "z.mtx");
  EXPECT_THROW(write_matrix_market_dir(tmp.file("x"), batch, {}, {"only_one.mtx"}),
               InvalidArgument);
}

TEST(MmBatch, ErrorsNameTheFile) {
  const std::vector<std::string> files = {corpus("coord_symmetric.mtx"),
                                          corpus("err_row_zero.mtx")};
  try {
    (void)read_matrix_market_csr_batch<double, std::int32_t>(files);
    ADD_FAILURE() << "expected ParseError";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file(), files[1]);
    EXPECT_EQ(e.line(), 4);
  }
  SPBMM_EXPECT_THROW_MSG((read_matrix_market_coo_batch<double, std::int32_t>(
                             {corpus("coord_skew.mtx"), corpus("gone.mtx")})),
                         IoError, "gone.mtx");
  SPBMM_EXPECT_THROW_MSG((read_matrix_market_csr_dir<float, std::int32_t>(corpus("nowhere"))),
                         IoError, "nowhere");
}

TEST(MmBatch, RaggedBatchFromFiles) {
  const std::vector<std::string> files = {corpus("coord_symmetric.mtx"), corpus("empty_0x0.mtx"),
                                          corpus("coord_real_general.mtx"),
                                          corpus("array_skew.mtx")};
  const auto b = read_matrix_market_csr_batch<double, std::int64_t>(files);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.rows(0), 3);
  EXPECT_EQ(b.nnz(0), 6);
  EXPECT_EQ(b.rows(1), 0);
  EXPECT_EQ(b.nnz(1), 0);
  EXPECT_EQ(b.cols(2), 4);
  EXPECT_EQ(b.nnz(2), 4);
  EXPECT_EQ(b.nnz(3), 6);
  EXPECT_FALSE(b.is_uniform());
  const auto c = read_matrix_market_coo_batch<float, std::int32_t>(files);
  EXPECT_EQ(c.total_nnz(), 16);
  EXPECT_EQ((read_matrix_market_csr_batch<float, std::int32_t>({}).size()), 0u);
}

// ---- inputs found by fuzzing (tests/fuzz/regressions/mm_read) ----

// A 0 x 2^62 array holds no values; reading it as COO walked all 2^62 empty columns.
TEST(MmRead, FuzzEmptyArrayWithHugeColumnCountReadsAtOnce) {
  TempDir tmp;
  const std::string path = tmp.file("empty_wide.mtx");
  spit(path, "%%MatrixMarket matrix array real general\n0 4611686018427387904\n");
  const auto coo = read_matrix_market_coo<double, std::int64_t>(path);
  EXPECT_EQ(coo.rows(), 0);
  EXPECT_EQ(coo.cols(), std::int64_t{1} << 62);
  EXPECT_EQ(coo.nnz(), 0);
  const auto csr = read_matrix_market_csr<float, std::int64_t>(path);
  EXPECT_EQ(csr.cols(), std::int64_t{1} << 62);
  EXPECT_EQ(csr.nnz(), 0);
}

// A 2^62 x 0 array as CSR needs 2^62 + 1 row pointers: a LimitError, as for a coordinate file,
// not a std::length_error.
TEST(MmRead, FuzzArrayWithHugeRowCountAsCsrIsLimitError) {
  TempDir tmp;
  const std::string path = tmp.file("empty_tall.mtx");
  spit(path, "%%MatrixMarket matrix array real general\n4611686018427387904 0\n");
  SPBMM_EXPECT_THROW_MSG((read_matrix_market_csr<double, std::int64_t>(path)), LimitError,
                         "empty_tall.mtx: no memory for the 4611686018427387904 + 1 row pointers "
                         "of a CSR matrix (read it as COO instead)");
  const auto coo = read_matrix_market_coo<double, std::int64_t>(path);
  EXPECT_EQ(coo.rows(), std::int64_t{1} << 62);
  EXPECT_EQ(coo.nnz(), 0);
}

}  // namespace
}  // namespace spbmm
