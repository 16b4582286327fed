// The exception hierarchy: every error spbmm raises derives from spbmm::Error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace spbmm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Operand shapes do not fit together; the message names both operands and their shapes.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Malformed sparse or dense data; the message names the entry and the position.
class FormatError : public Error {
 public:
  using Error::Error;
};

// Malformed file; what() reads "file:line: problem".
class ParseError : public Error {
 public:
  ParseError(std::string file, std::int64_t line, const std::string& problem);
  const std::string& file() const noexcept { return file_; }
  std::int64_t line() const noexcept { return line_; }

 private:
  std::string file_;
  std::int64_t line_;
};

// A feature that was not built in; the message names the build option that enables it.
class NotCompiled : public Error {
 public:
  using Error::Error;
};

// A CUDA, cuSPARSE or cuBLAS failure, or no device; the message carries the status text.
class DeviceError : public Error {
 public:
  using Error::Error;
};

// An argument outside its allowed range (negative thread count, unknown option value, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A request that would exceed a size limit (index type overflow, memory limit).
class LimitError : public Error {
 public:
  using Error::Error;
};

// A file or directory could not be opened, read or written; the message names the path.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace spbmm
