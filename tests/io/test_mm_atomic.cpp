// Matrix Market output written whole or not at all: every writer is made to fail part way (a
// value the field cannot hold, a file size limit, a memory limit) and must leave no partial file
// and an existing target untouched; output paths that cannot be written fail naming the reason.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "io/atomic_file.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "test_util.hpp"

namespace spbmm {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOld = "an older file that a failed write must leave as it is\n";

// A fresh scratch directory per test.
class Scratch {
 public:
  Scratch() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("spbmm_atomic_") + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  std::string path() const { return dir_.string(); }
  // Names of everything in the directory, temporaries included (they start with '.').
  std::set<std::string> names() const {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir_)) s.insert(e.path().filename().string());
    return s;
  }

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

// Files may grow to `bytes` while it lives: a write beyond fails with EFBIG ("File too large")
// instead of raising SIGXFSZ, which is ignored meanwhile.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    rlimit r = old_;
    r.rlim_cur = bytes;
    ok_ = ::setrlimit(RLIMIT_FSIZE, &r) == 0;
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = SIG_DFL;
  bool ok_ = false;
};

constexpr std::int64_t kN = 400;  // 400 x 400 dense, 160000 values: several formatting chunks

// Values 0, 1, 2, ... with `last` as the final one in file order (column-major for arrays, row
// order for CSR and COO).
DenseMatrix<double> dense(double last) {
  DenseMatrix<double> d(kN, kN, Layout::ColMajor);
  for (std::int64_t k = 0; k < kN * kN; ++k) d.values()[static_cast<std::size_t>(k)] = double(k);
  d.values().back() = last;
  return d;
}

CooMatrix<double, std::int32_t> coo(double last) {
  std::vector<std::int32_t> r, c;
  std::vector<double> v;
  for (std::int32_t i = 0; i < kN; ++i) {
    for (std::int32_t j = 0; j < kN; ++j) {
      r.push_back(i);
      c.push_back(j);
      v.push_back(double(i * kN + j));
    }
  }
  v.back() = last;
  return CooMatrix<double, std::int32_t>(kN, kN, std::move(r), std::move(c), std::move(v));
}

CsrMatrix<double, std::int32_t> csr(double last) {
  std::vector<std::int32_t> rp(kN + 1), c;
  std::vector<double> v;
  for (std::int32_t i = 0; i < kN; ++i) {
    for (std::int32_t j = 0; j < kN; ++j) {
      c.push_back(j);
      v.push_back(double(i * kN + j));
    }
    rp[static_cast<std::size_t>(i) + 1] = static_cast<std::int32_t>(c.size());
  }
  v.back() = last;
  return CsrMatrix<double, std::int32_t>(kN, kN, std::move(rp), std::move(c), std::move(v));
}

// Every way of writing one matrix: (name, write to path with options).
struct Writer {
  const char* name;
  std::function<void(const std::string&, const MmWriteOptions&, double last)> write;
};

std::vector<Writer> writers() {
  const auto with_format = [](MmWriteOptions o, MmFormat f) {
    o.format = f;
    return o;
  };
  return {
      {"csr", [](const std::string& p, const MmWriteOptions& o,
                 double last) { write_matrix_market(p, csr(last).view(), o); }},
      {"coo", [](const std::string& p, const MmWriteOptions& o,
                 double last) { write_matrix_market(p, coo(last).view(), o); }},
      {"dense array",
       [](const std::string& p, const MmWriteOptions& o, double last) {
         write_matrix_market<double>(p, DenseView<const double>(dense(last).view()), o);
       }},
      {"dense as coordinate",
       [=](const std::string& p, const MmWriteOptions& o, double last) {
         write_matrix_market<double>(p, DenseView<const double>(dense(last).view()),
                                     with_format(o, MmFormat::Coordinate));
       }},
      {"csr as array",
       [=](const std::string& p, const MmWriteOptions& o, double last) {
         write_matrix_market(p, csr(last).view(), with_format(o, MmFormat::Array));
       }},
      {"coo as array",
       [=](const std::string& p, const MmWriteOptions& o, double last) {
         write_matrix_market(p, coo(last).view(), with_format(o, MmFormat::Array));
       }},
  };
}

// The target holds kOld and the directory nothing else.
void expect_untouched(const Scratch& dir, const std::string& target, const char* writer) {
  EXPECT_EQ(slurp(target), kOld) << writer;
  EXPECT_EQ(dir.names(), std::set<std::string>{fs::path(target).filename().string()})
      << writer << ": a temporary was left behind";
}

TEST(MmAtomicWrite, ValueTheIntegerFieldCannotHoldPartWay) {
  Scratch dir;
  const std::string target = dir.file("m.mtx");
  MmWriteOptions o;
  o.field = MmField::Integer;
  o.threads = 2;
  for (const Writer& w : writers()) {
    spit(target, kOld);
    // 0.5 is the very last value: 160000 integers are formatted (and earlier chunks written to
    // the temporary) before it is met.
    SPBMM_EXPECT_THROW_MSG(w.write(target, o, 0.5), InvalidArgument,
                           "field integer needs integer values, found 0.5 (nothing was written)");
    expect_untouched(dir, target, w.name);
  }
}

TEST(MmAtomicWrite, FileSizeLimitPartWay) {
  Scratch dir;
  const std::string target = dir.file("m.mtx");
  for (const Writer& w : writers()) {
    spit(target, kOld);
    {
      FileSizeLimit limit(64 * 1024);  // the text is over 1 MB
      ASSERT_TRUE(limit.ok());
      SPBMM_EXPECT_THROW_MSG(w.write(target, {}, 1.0), IoError,
                             target + ": write failed: " + std::strerror(EFBIG));
    }
    expect_untouched(dir, target, w.name);
    // Without the limit the same call replaces the file.
    w.write(target, {}, 1.0);
    EXPECT_EQ(read_matrix_market_dense<double>(target).values().size(),
              static_cast<std::size_t>(kN * kN))
        << w.name;
    EXPECT_EQ(dir.names().size(), 1u) << w.name;
  }
}

TEST(MmAtomicWrite, MemoryLimitOfAnArrayCopy) {
  Scratch dir;
  const std::string target = dir.file("m.mtx");
  spit(target, kOld);
  MmWriteOptions o;
  o.format = MmFormat::Array;
  o.dense_limit = 1000;  // bytes; the dense copy needs 1.28 MB
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(target, csr(1.0).view(), o), LimitError,
                         "MmWriteOptions::dense_limit");
  expect_untouched(dir, target, "csr as array");
}

// A batch directory: entries 0 and 1 are small and complete before entry 2 fails; none of the
// three existing files may be replaced.
TEST(MmAtomicWrite, BatchDirectoryReplacesNothingWhenAnEntryFails) {
  Scratch dir;
  const std::vector<CooMatrix<double, std::int32_t>> coo_list = {
      CooMatrix<double, std::int32_t>(2, 2, {0}, {1}, {3.0}),
      CooMatrix<double, std::int32_t>(1, 1, {0}, {0}, {4.0}), coo(1.0)};
  const auto coo_batch = CooBatch<double, std::int32_t>::from_list(coo_list);
  std::vector<CsrMatrix<double, std::int32_t>> csr_list = {
      CsrMatrix<double, std::int32_t>(1, 2, {0, 1}, {1}, {3.0}),
      CsrMatrix<double, std::int32_t>(1, 1, {0, 1}, {0}, {4.0}), csr(1.0)};
  const auto csr_batch = CsrBatch<double, std::int32_t>::from_list(csr_list);
  const std::set<std::string> names = {"entry_00000.mtx", "entry_00001.mtx", "entry_00002.mtx"};
  const auto fill_old = [&] {
    for (const auto& n : names) spit(dir.file(n), kOld);
  };
  const auto expect_old = [&](const char* what) {
    for (const auto& n : names) EXPECT_EQ(slurp(dir.file(n)), kOld) << what << ": " << n;
    EXPECT_EQ(dir.names(), names) << what << ": a temporary was left behind";
  };
  for (int kind = 0; kind < 2; ++kind) {
    const char* what = kind == 0 ? "coo batch" : "csr batch";
    const auto write = [&](const MmWriteOptions& o) {
      if (kind == 0) {
        (void)write_matrix_market_dir(dir.path(), coo_batch, o);
      } else {
        (void)write_matrix_market_dir(dir.path(), csr_batch, o);
      }
    };
    fill_old();
    {
      FileSizeLimit limit(64 * 1024);
      ASSERT_TRUE(limit.ok());
      SPBMM_EXPECT_THROW_MSG(write({}), IoError, std::strerror(EFBIG));
    }
    expect_old(what);
    MmWriteOptions integer;
    integer.field = MmField::Integer;
    const double bad = 0.25;
    if (kind == 0) {
      auto list = coo_list;
      list[2] = coo(bad);
      SPBMM_EXPECT_THROW_MSG(
          (void)write_matrix_market_dir(dir.path(), CooBatch<double, std::int32_t>::from_list(list),
                                        integer),
          InvalidArgument, "found 0.25");
    } else {
      auto list = csr_list;
      list[2] = csr(bad);
      SPBMM_EXPECT_THROW_MSG(
          (void)write_matrix_market_dir(dir.path(), CsrBatch<double, std::int32_t>::from_list(list),
                                        integer),
          InvalidArgument, "found 0.25");
    }
    expect_old(what);
    write({});  // and without a failure every file is replaced
    EXPECT_EQ(slurp(dir.file("entry_00001.mtx")),
              "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 4\n")
        << what;
    EXPECT_EQ(dir.names(), names) << what;
  }
}

TEST(MmAtomicWrite, DenseBatchDirectoryReplacesNothingWhenAnEntryFails) {
  Scratch dir;
  // Entry 0 is tiny and complete before entry 1 (160000 values) fails.
  std::vector<DenseMatrix<double>> list;
  list.emplace_back(1, 1);
  list.back().values()[0] = 5;
  list.push_back(dense(1.0));
  const auto batch = DenseBatch<double>::from_list(list, Layout::ColMajor);
  const std::vector<std::string> names = {"a.mtx", "b.mtx"};
  for (const auto& n : names) spit(dir.file(n), kOld);
  {
    FileSizeLimit limit(64 * 1024);
    ASSERT_TRUE(limit.ok());
    SPBMM_EXPECT_THROW_MSG((void)write_matrix_market_dir(dir.path(), batch, {}, names), IoError,
                           dir.file("b.mtx") + ": write failed: " + std::strerror(EFBIG));
  }
  for (const auto& n : names) EXPECT_EQ(slurp(dir.file(n)), kOld) << n;
  EXPECT_EQ(dir.names(), (std::set<std::string>{"a.mtx", "b.mtx"}));
  const auto paths = write_matrix_market_dir(dir.path(), batch, {}, names);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(slurp(paths[0]), "%%MatrixMarket matrix array real general\n1 1\n5\n");
  EXPECT_EQ(read_matrix_market_dense<double>(paths[1], Layout::ColMajor).values(),
            dense(1.0).values());
}

TEST(MmAtomicWrite, KeepsTheModeOfAReplacedFileAndWritesThroughALink) {
  Scratch dir;
  const std::string target = dir.file("m.mtx");
  spit(target, kOld);
  fs::permissions(target, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const CsrMatrix<double, std::int32_t> a(1, 1, {0, 1}, {0}, {2.5});
  write_matrix_market(target, a.view());
  EXPECT_EQ(fs::status(target).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  const std::string link = dir.file("link.mtx");
  fs::create_symlink("m.mtx", link);
  const CsrMatrix<double, std::int32_t> b(1, 1, {0, 1}, {0}, {7});
  write_matrix_market(link, b.view());
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(slurp(target), "%%MatrixMarket matrix coordinate real general\n1 1 1\n1 1 7\n");
  EXPECT_EQ(dir.names(), (std::set<std::string>{"link.mtx", "m.mtx"}));
}

TEST(MmAtomicWrite, ASpecialFileIsWrittenInPlace) {
  const CsrMatrix<double, std::int32_t> a(1, 1, {0, 1}, {0}, {2.5});
  write_matrix_market("/dev/null", a.view());  // never renamed over: it stays a device
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST(MmAtomicWrite, UnwritablePathsNameThePathAndTheReason) {
  Scratch dir;
  const CsrMatrix<double, std::int32_t> a(1, 1, {0, 1}, {0}, {2.5});
  const std::string missing = dir.file("no/such/dir/m.mtx");
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(missing, a.view()), IoError,
                         missing + ": cannot create a file in '" + dir.file("no/such/dir") +
                             "': " + std::strerror(ENOENT));
  SPBMM_EXPECT_THROW_MSG(write_matrix_market(dir.path(), a.view()), IoError,
                         dir.path() + ": is a directory");
  SPBMM_EXPECT_THROW_MSG(detail::check_output_file(missing), IoError,
                         missing + ": cannot create a file in '");
  spit(dir.file("plain"), "x");
  SPBMM_EXPECT_THROW_MSG(detail::make_output_dir(dir.file("plain")), IoError,
                         dir.file("plain") + ": cannot create directory: ");
  // The checks create nothing.
  EXPECT_EQ(dir.names(), std::set<std::string>{"plain"});
  detail::check_output_file(dir.file("new.mtx"));
  detail::make_output_dir(dir.file("sub"));
  EXPECT_EQ(dir.names(), (std::set<std::string>{"plain", "sub"}));
  EXPECT_TRUE(fs::is_empty(dir.file("sub")));
}

// ---- convert --------------------------------------------------------------------------------

struct CmdResult {
  int code;
  std::string out, err;
};

CmdResult convert(std::vector<std::string> args) {
  args.insert(args.begin(), "convert");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  const int code = cli::cmd_convert(static_cast<int>(argv.size()), argv.data());
  return CmdResult{code, ::testing::internal::GetCapturedStdout(),
                   ::testing::internal::GetCapturedStderr()};
}

TEST(MmAtomicWrite, ConvertFailingPartWayLeavesOutAsItWas) {
  Scratch dir;
  const std::string in = dir.file("in.mtx"), out = dir.file("out.mtx");
  write_matrix_market(in, csr(1.0).view());
  spit(out, kOld);
  {
    FileSizeLimit limit(64 * 1024);
    ASSERT_TRUE(limit.ok());
    const CmdResult r = convert({in, out});
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.err, "spbmm convert: " + out + ": write failed: " + std::strerror(EFBIG) + "\n");
  }
  EXPECT_EQ(slurp(out), kOld);
  EXPECT_EQ(dir.names(), (std::set<std::string>{"in.mtx", "out.mtx"}));
  // Converting a file onto itself is safe: it is read completely first.
  const DenseMatrix<double> before = read_matrix_market_dense<double>(in);
  const CmdResult same = convert({in, in, "--to", "array"});
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(read_matrix_market_header(in).format, MmFormat::Array);
  EXPECT_EQ(read_matrix_market_dense<double>(in).values(), before.values());
}

TEST(MmAtomicWrite, ConvertChecksOutBeforeReadingIn) {
  Scratch dir;
  // IN is malformed: the error is about OUT, so OUT was checked first.
  const std::string in = test::test_data() + "/mm/err_bad_value.mtx";
  const std::string out = dir.file("no/dir/out.mtx");
  const CmdResult r = convert({in, out});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "spbmm convert: " + out + ": cannot create a file in '" + dir.file("no/dir") +
                       "': " + std::strerror(ENOENT) + "\n");
}

}  // namespace
}  // namespace spbmm
