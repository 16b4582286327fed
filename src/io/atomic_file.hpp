// Output files written whole or not at all: a temporary beside the target, renamed over it once
// complete and flushed; and the checks that let a command test its output location before work.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace spbmm::detail {

// A file written under a temporary name in the target's directory (".NAME.spbmm-tmp-PID-N"),
// renamed over the target by commit() only after every byte is written and the file closed
// without error (written straight to the system, no user-space buffer; not forced to the disk).
// Until then the target, if it exists, is untouched; a temporary that is not committed (an
// exception, a failed write) is removed by the destructor. The temporary takes the mode of an
// existing target (0666 less the umask otherwise); a target the caller may not write is not
// replaced. A symbolic link is written through: its
// target is replaced. An existing target that is not a regular file (/dev/null, /dev/stdout, a
// FIFO), or a link to an open file without a name (/proc/self/fd/N of a memfd), cannot be
// replaced and is written in place. Every failure is an IoError naming the
// target and the reason (errno text).
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const char* p, std::size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Closes the temporary (a failure there is a failed write); commit() then only renames. A
  // batch finishes every file before committing any, so that a failure leaves none replaced.
  void finish();
  // finish() if not done, then renames the temporary over the target.
  void commit();

  const std::string& path() const noexcept { return path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int err);
  void discard() noexcept;

  std::string path_;    // the target as the caller named it (for messages)
  std::string target_;  // the file that is replaced (a symbolic link resolved)
  std::string tmp_;     // empty when writing in place
  int fd_ = -1;
  bool committed_ = false;
};

// Writes `text` to `path` through an AtomicFile.
void write_file_atomically(const std::string& path, std::string_view text);

// Checks, before any work, that `path` can be written: its directory exists and takes a new
// file (one is created and removed there), and `path` is not a directory. IoError naming the
// path and the reason otherwise. Nothing is created at `path` itself.
void check_output_file(const std::string& path);

// Creates `dir` (and its parents) if needed and checks that it takes new files, as above.
void make_output_dir(const std::string& dir);

}  // namespace spbmm::detail
