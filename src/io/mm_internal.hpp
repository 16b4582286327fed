// Internal pieces shared by the Matrix Market reader and writer: file bytes, header parsing,
// thread counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spbmm/matrix_market.hpp"

namespace spbmm::mm_detail {

// The bytes of a whole file: memory-mapped where possible. Files whose lines end in a bare '\r'
// are copied with '\n' line endings so the parser sees one convention.
class FileBytes {
 public:
  explicit FileBytes(const std::string& path);  // IoError when the file cannot be read
  ~FileBytes();
  FileBytes(const FileBytes&) = delete;
  FileBytes& operator=(const FileBytes&) = delete;

  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }

 private:
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::vector<char> copy_;
};

// A parsed header and where the body starts.
struct Header {
  MatrixMarketHeader info;
  std::size_t body_offset = 0;       // first byte after the size line
  std::int64_t body_first_line = 0;  // line number of the first body line
};

// Parses banner, comments and size line; checks the claimed entry count against the bytes left.
Header parse_header(const std::string& path, const char* data, std::size_t size);

// A token from a file, quoted for a message: at most 40 bytes (then "..."), and every byte that
// is not printable ASCII written as \xNN, so that binary garbage neither cuts the message (a
// NUL) nor reaches a terminal raw.
std::string quote(const char* p, std::size_t n);

// Threads to use for a request of `requested` (0: OpenMP default, 1 inside a parallel region);
// InvalidArgument when negative.
int thread_count(int requested);

}  // namespace spbmm::mm_detail
