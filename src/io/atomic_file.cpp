// Output files written whole or not at all (see atomic_file.hpp).
#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "spbmm/error.hpp"

namespace spbmm::detail {
namespace {

namespace fs = std::filesystem;

// Distinguishes the temporaries of one process (threads may write files side by side).
std::atomic<unsigned> tmp_counter{0};

std::string dir_of(const fs::path& target) {
  const fs::path dir = target.parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

// Creates a new file for writing in `dir`, named after `name`; returns the descriptor and sets
// `tmp` to its path, or returns -1 with errno set. The name starts with '.' so that listings of
// *.mtx files do not pick up a file still being written.
int create_temp(const std::string& dir, std::string name, std::string& tmp) {
  if (name.size() > 180) name.resize(180);  // the suffix must still fit NAME_MAX
  for (int attempt = 0; attempt < 100; ++attempt) {
    tmp = (fs::path(dir) / ("." + name + ".spbmm-tmp-" + std::to_string(::getpid()) + "-" +
                            std::to_string(tmp_counter.fetch_add(1))))
              .string();
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;  // errno is EEXIST
}

// Creates and removes a file in `dir`; IoError naming `path` when that is not possible.
void probe_dir(const std::string& dir, const std::string& name, const std::string& path) {
  std::string tmp;
  const int fd = create_temp(dir, name, tmp);
  if (fd < 0) {
    throw IoError(path + ": cannot create a file in '" + dir + "': " + std::strerror(errno));
  }
  ::close(fd);
  ::unlink(tmp.c_str());
}

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path), target_(path) {
  if (path.empty()) throw IoError("cannot write a file with an empty name");
  struct stat st {};
  bool nameless = false;  // a link to an open file without a name (/proc/self/fd/N of a memfd)
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    // Replace what the link points to, as writing through it would, not the link itself.
    std::error_code ec;
    const fs::path resolved = fs::canonical(path, ec);
    if (!ec) {
      target_ = resolved.string();
    } else {
      nameless = ::stat(path.c_str(), &st) == 0;
    }
  }
  const bool exists = ::stat(target_.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory");
  // A file we may not write is not replaced either, as opening it for writing would have failed.
  if (exists && ::access(target_.c_str(), W_OK) != 0) fail("cannot open for writing", errno);
  if (exists && (!S_ISREG(st.st_mode) || nameless)) {
    fd_ = ::open(target_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd_ < 0) fail("cannot open for writing", errno);
    return;
  }
  const std::string dir = dir_of(target_);
  fd_ = create_temp(dir, fs::path(target_).filename().string(), tmp_);
  if (fd_ < 0) {
    const int err = errno;
    tmp_.clear();
    fail("cannot create a file in '" + dir + "'", err);
  }
  // Replacing a file keeps its permissions; fchmod fails only for a file we do not own, which
  // then keeps the default mode.
  if (exists) (void)::fchmod(fd_, st.st_mode & 07777);
}

AtomicFile::~AtomicFile() {
  if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
  tmp_.clear();
}

void AtomicFile::fail(const std::string& what, int err) {
  throw IoError(path_ + ": " + what + ": " + std::strerror(err));
}

void AtomicFile::write(const char* p, std::size_t n) {
  if (fd_ < 0) throw IoError(path_ + ": write after the file was closed");
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed", errno);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void AtomicFile::finish() {
  if (fd_ < 0) return;
  // Every byte is with the system once write() has returned: after the rename, any reader sees
  // the complete file. There is no fsync: forcing the data to the disk (which only a power cut
  // would need) costs milliseconds per file, as much again as writing a 57 MB matrix, and a
  // batch of a thousand small files would take seconds.
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("write failed", errno);
}

void AtomicFile::commit() {
  if (committed_) return;
  finish();
  if (!tmp_.empty() && ::rename(tmp_.c_str(), target_.c_str()) != 0) {
    fail("cannot rename the finished file '" + tmp_ + "' over it", errno);
  }
  tmp_.clear();
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view text) {
  AtomicFile f(path);
  f.write(text);
  f.commit();
}

void check_output_file(const std::string& path) {
  if (path.empty()) throw IoError("cannot write a file with an empty name");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory");
    if (::access(path.c_str(), W_OK) != 0) {
      throw IoError(path + ": cannot open for writing: " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return;  // written in place (see AtomicFile)
  }
  std::error_code ec;
  fs::path target(path);
  if (fs::is_symlink(target, ec)) {
    const fs::path resolved = fs::canonical(target, ec);
    if (!ec) {
      target = resolved;
    } else if (::stat(path.c_str(), &st) == 0) {
      return;  // a link to an open file without a name: written in place
    }
  }
  probe_dir(dir_of(target), target.filename().string(), path);
}

void make_output_dir(const std::string& dir) {
  if (dir.empty()) throw IoError("cannot create a directory with an empty name");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IoError(dir + ": cannot create directory: " + ec.message());
  if (!fs::is_directory(dir, ec)) throw IoError(dir + ": exists and is not a directory");
  probe_dir(dir, "probe", dir);
}

}  // namespace spbmm::detail
