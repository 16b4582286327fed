// The outputs of `spbmm multiply -o` and `spbmm calibrate -o`: checked before any work, failures
// naming the path and the reason, and files replaced only by complete ones.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr const char* kOld = "an older file that a failed command must leave as it is\n";

struct Result {
  int code = -1;
  std::string out, err;
  double seconds = 0;
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

void spit(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

class CliOutputs : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* exe = std::getenv("SPBMM_EXE");
    if (exe == nullptr || *exe == '\0') GTEST_SKIP() << "SPBMM_EXE is not set";
    exe_ = exe;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("spbmm_cli_outputs_" + std::string(info->name()) + "_" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir_ / "work");
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Runs `spbmm args...` through /bin/sh after `prefix` (shell commands such as a ulimit).
  // stderr comes back through a pipe, which a file size limit does not touch.
  Result run(const std::vector<std::string>& args, const std::string& prefix = "") {
    std::string cmd = prefix + "exec " + quote(exe_);
    for (const auto& a : args) cmd.append(" ").append(quote(a));
    const fs::path out = dir_ / "stdout.txt";
    cmd.append(" 2>&1 >").append(quote(out.string()));
    const auto t0 = std::chrono::steady_clock::now();
    Result r;
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
      ADD_FAILURE() << "popen failed: " << std::strerror(errno);
      return r;
    }
    char buf[4096];
    std::size_t got = 0;
    while ((got = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.err.append(buf, got);
    const int status = ::pclose(pipe);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    return r;
  }

  std::string p(const std::string& name) const { return (dir_ / "work" / name).string(); }
  std::set<std::string> names() const {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir_ / "work")) {
      s.insert(e.path().filename().string());
    }
    return s;
  }

  std::string exe_;
  fs::path dir_;
};

// A shell prefix under which files may grow to `blocks` blocks (512 or 1024 bytes, as the shell
// counts them) and a write beyond fails with EFBIG instead of killing the process with SIGXFSZ.
std::string file_size_limit(int blocks) {
  return "trap '' XFSZ; ulimit -f " + std::to_string(blocks) + " && ";
}

const char* kA = "%%MatrixMarket matrix coordinate real general\n3 2 3\n1 1 1\n2 2 2\n3 1 -1\n";

TEST_F(CliOutputs, MultiplyIntoAMissingDirectoryFailsBeforeReadingA) {
  // A is malformed: an error about the output shows that the output was checked first.
  spit(p("a.mtx"), "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 abc\n");
  const Result r = run({"multiply", p("a.mtx"), "--random-rhs", "4", "-o", "/proc/nope/c.mtx"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err, std::string("spbmm multiply: /proc/nope/c.mtx: cannot create a file in "
                               "'/proc/nope': ") +
                       std::strerror(ENOENT) + "\n");
  EXPECT_TRUE(r.out.empty()) << r.out;
  // A batch into a directory that cannot be created: the same, naming the directory.
  spit(p("b.mtx"), kA);
  const Result d =
      run({"multiply", p("a.mtx"), p("b.mtx"), "--random-rhs", "4", "-o", "/proc/nope/out"});
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(d.err.rfind("spbmm multiply: /proc/nope/out: cannot create directory: ", 0), 0u)
      << d.err;
  EXPECT_EQ(std::count(d.err.begin(), d.err.end(), '\n'), 1) << d.err;
}

TEST_F(CliOutputs, CalibrateIntoAnUnwritablePathFailsAtOnce) {
  const Result r = run({"calibrate", "--threads", "1", "-o", "/proc/nope"});
  EXPECT_EQ(r.code, 1) << r.err;
  // The reason is the system's (procfs takes no new files); the message names path and reason.
  const std::string head = "spbmm calibrate: /proc/nope: cannot create a file in '/proc': ";
  EXPECT_EQ(r.err.rfind(head, 0), 0u) << r.err;
  EXPECT_GT(r.err.size(), head.size() + 1) << "no reason given: " << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // A calibration takes seconds; failing before it takes a process start.
  EXPECT_LT(r.seconds, 1.5);
  const Result d = run({"calibrate", "-o", p("no/such/dir/machine.txt")});
  EXPECT_EQ(d.code, 1);
  EXPECT_EQ(d.err, "spbmm calibrate: " + p("no/such/dir/machine.txt") +
                       ": cannot create a file in '" + p("no/such/dir") +
                       "': " + std::strerror(ENOENT) + "\n");
}

TEST_F(CliOutputs, MultiplyFailingWhileWritingLeavesTheOldFiles) {
  spit(p("a.mtx"), kA);
  spit(p("c.mtx"), kOld);
  // C is 3 x 2000 (about 100 KB of text); files may grow to 4 or 8 KB.
  const Result r =
      run({"multiply", p("a.mtx"), "--random-rhs", "2000", "-o", p("c.mtx")}, file_size_limit(8));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err,
            "spbmm multiply: " + p("c.mtx") + ": write failed: " + std::strerror(EFBIG) + "\n");
  EXPECT_EQ(slurp(p("c.mtx")), kOld);
  EXPECT_EQ(names(), (std::set<std::string>{"a.mtx", "c.mtx"}));
  // A batch into a directory: files are replaced only when all are complete. e.mtx has no rows,
  // so its C is a few bytes and complete before z.mtx's fails.
  fs::create_directories(p("out"));
  spit(p("e.mtx"), "%%MatrixMarket matrix coordinate real general\n0 2 0\n");
  spit(p("z.mtx"), kA);
  spit(p("out/e.mtx"), kOld);
  spit(p("out/z.mtx"), kOld);
  const std::vector<std::string> batch = {"multiply", p("e.mtx"), p("z.mtx"), "--random-rhs",
                                          "2000",     "-o",       p("out")};
  const Result d = run(batch, file_size_limit(8));
  EXPECT_EQ(d.code, 1) << d.err;
  EXPECT_EQ(d.err,
            "spbmm multiply: " + p("out/z.mtx") + ": write failed: " + std::strerror(EFBIG) + "\n");
  EXPECT_EQ(slurp(p("out/e.mtx")), kOld);
  EXPECT_EQ(slurp(p("out/z.mtx")), kOld);
  std::set<std::string> out_names;
  for (const auto& e : fs::directory_iterator(p("out"))) {
    out_names.insert(e.path().filename().string());
  }
  EXPECT_EQ(out_names, (std::set<std::string>{"e.mtx", "z.mtx"}));
  // Without the limit both are replaced.
  const Result both = run(batch);
  EXPECT_EQ(both.code, 0) << both.err;
  EXPECT_EQ(slurp(p("out/e.mtx")), "%%MatrixMarket matrix array real general\n0 2000\n");
  // Without the limit the same command replaces the file.
  const Result ok = run({"multiply", p("a.mtx"), "--random-rhs", "2000", "-o", p("c.mtx")});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(slurp(p("c.mtx")).rfind("%%MatrixMarket matrix array real general\n3 2000\n", 0), 0u);
}

TEST_F(CliOutputs, CalibrateFailingWhileWritingLeavesTheOldFile) {
  spit(p("machine.txt"), kOld);
  // Files may not grow at all: the figures are measured, then cannot be written.
  const Result r = run({"calibrate", "--threads", "1", "-o", p("machine.txt")}, file_size_limit(0));
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err, "spbmm calibrate: " + p("machine.txt") +
                       ": write failed: " + std::strerror(EFBIG) + "\n");
  EXPECT_EQ(slurp(p("machine.txt")), kOld);
  EXPECT_EQ(names(), std::set<std::string>{"machine.txt"});
}

}  // namespace
