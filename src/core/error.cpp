// Out-of-line parts of the exception hierarchy.
#include "spbmm/error.hpp"

#include <utility>

namespace spbmm {

namespace {

// Appends piece by piece: GCC 12 warns (-Wrestrict, a false positive) on chained operator+.
std::string located(const std::string& file, std::int64_t line, const std::string& problem) {
  std::string s;
  s.reserve(file.size() + problem.size() + 24);
  s.append(file).append(":").append(std::to_string(line)).append(": ").append(problem);
  return s;
}

}  // namespace

ParseError::ParseError(std::string file, std::int64_t line, const std::string& problem)
    : Error(located(file, line, problem)), file_(std::move(file)), line_(line) {}

}  // namespace spbmm
