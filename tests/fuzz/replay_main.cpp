// Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over every file given, and
// over every regular file inside the folders given (sorted by name; names starting with '.' are
// skipped, so a folder can hold a .gitkeep). A failed check aborts, so
// the ordinary test suite catches regressions of the inputs kept in the repository.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<char> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<fs::path> in_dir;
      for (const auto& e : fs::directory_iterator(arg)) {
        if (e.is_regular_file() && e.path().filename().string().front() != '.') {
          in_dir.push_back(e.path());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(arg, ec)) {
      files.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s is neither a file nor a folder\n", argv[i]);
      return 2;
    }
  }
  for (const auto& f : files) {
    const std::vector<char> bytes = read_all(f);
    // A fresh copy of exactly the file's size, so that an over-read is caught by a sanitizer.
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    // libFuzzer never passes a null pointer, even for an empty input; neither does the replay.
    static const std::uint8_t empty_input[1] = {0};
    LLVMFuzzerTestOneInput(copy.empty() ? empty_input : copy.data(), copy.size());
  }
  std::printf("replayed %zu inputs\n", files.size());
  return 0;
}
