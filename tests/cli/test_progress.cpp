// Progress lines of the `spbmm` command: shown on a terminal for steps over a second, never on a
// pipe or file, never when quiet.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "cli/progress.hpp"

namespace spbmm::cli {
namespace {

// Runs fn with stderr redirected to `fd`, then restores it.
template <class Fn>
void with_stderr(int fd, Fn&& fn) {
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
  fn();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
}

std::string drain(int fd) {
  std::string out;
  char buf[512];
  const int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

TEST(Progress, ATerminalSeesLongStepsOnly) {
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    GTEST_SKIP() << "no pseudo-terminal available";
  }
  with_stderr(slave, [] {
    EXPECT_TRUE(progress_allowed(false));
    EXPECT_FALSE(progress_allowed(true));
    { Progress quick("quick step", false); }
    {
      Progress slow("slow step", false);
      sleep_ms(1400);
    }
    {
      Progress quiet("quiet step", true);
      sleep_ms(1200);
    }
  });
  const std::string seen = drain(master);
  close(master);
  close(slave);
  EXPECT_EQ(seen.find("quick step"), std::string::npos) << seen;
  EXPECT_EQ(seen.find("quiet step"), std::string::npos) << seen;
  EXPECT_NE(seen.find("slow step... 1."), std::string::npos) << seen;
  EXPECT_NE(seen.find("slow step... done in 1."), std::string::npos) << seen;
}

TEST(Progress, APipeSeesNothing) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  with_stderr(fds[1], [] {
    EXPECT_FALSE(progress_allowed(false));
    Progress slow("slow step", false);
    sleep_ms(1200);
    slow.done();
    slow.done();  // a second done() is harmless
  });
  close(fds[1]);
  EXPECT_EQ(drain(fds[0]), "");
  close(fds[0]);
}

}  // namespace
}  // namespace spbmm::cli
