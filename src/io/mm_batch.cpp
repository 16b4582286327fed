// Matrix Market batches: listing a directory and reading many files into one ragged batch.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"

namespace spbmm {
namespace {

bool has_mtx_extension(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  return ext == ".mtx";
}

// Errors from the container checks do not name the file; give them its name.
template <class Fn>
auto with_file(const std::string& path, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const FormatError& e) {
    throw FormatError(path + ": " + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(path + ": " + e.what());
  }
}

}  // namespace

std::vector<std::string> list_matrix_market_files(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    throw IoError(dir + ": not a directory" + (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<std::pair<std::string, std::string>> found;  // (file name, full path)
  fs::directory_iterator it(dir, ec);
  if (ec) throw IoError(dir + ": cannot list: " + ec.message());
  for (const auto& e : it) {
    std::error_code ec2;
    if (!e.is_regular_file(ec2) || !has_mtx_extension(e.path())) continue;
    found.emplace_back(e.path().filename().string(), e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

template <Value T, Index I>
CsrBatch<T, I> read_matrix_market_csr_batch(const std::vector<std::string>& paths,
                                            const MmReadOptions& options) {
  std::vector<std::int64_t> rows, cols;
  std::vector<I> row_ptr, col_idx;
  std::vector<T> values;
  for (const auto& path : paths) {
    CsrMatrix<T, I> m =
        with_file(path, [&] { return read_matrix_market_csr<T, I>(path, options); });
    rows.push_back(m.rows());
    cols.push_back(m.cols());
    if (m.row_ptr().empty()) {
      row_ptr.push_back(0);
    } else {
      row_ptr.insert(row_ptr.end(), m.row_ptr().begin(), m.row_ptr().end());
    }
    col_idx.insert(col_idx.end(), m.col_idx().begin(), m.col_idx().end());
    values.insert(values.end(), m.values().begin(), m.values().end());
  }
  return CsrBatch<T, I>(std::move(rows), std::move(cols), std::move(row_ptr), std::move(col_idx),
                        std::move(values));
}

template <Value T, Index I>
CooBatch<T, I> read_matrix_market_coo_batch(const std::vector<std::string>& paths,
                                            const MmReadOptions& options) {
  std::vector<std::int64_t> rows, cols, offsets{0};
  std::vector<I> row_idx, col_idx;
  std::vector<T> values;
  for (const auto& path : paths) {
    CooMatrix<T, I> m =
        with_file(path, [&] { return read_matrix_market_coo<T, I>(path, options); });
    rows.push_back(m.rows());
    cols.push_back(m.cols());
    row_idx.insert(row_idx.end(), m.row_idx().begin(), m.row_idx().end());
    col_idx.insert(col_idx.end(), m.col_idx().begin(), m.col_idx().end());
    values.insert(values.end(), m.values().begin(), m.values().end());
    offsets.push_back(static_cast<std::int64_t>(values.size()));
  }
  return CooBatch<T, I>(std::move(rows), std::move(cols), std::move(offsets), std::move(row_idx),
                        std::move(col_idx), std::move(values));
}

template <Value T, Index I>
CsrBatch<T, I> read_matrix_market_csr_dir(const std::string& dir, const MmReadOptions& options) {
  return read_matrix_market_csr_batch<T, I>(list_matrix_market_files(dir), options);
}

template <Value T, Index I>
CooBatch<T, I> read_matrix_market_coo_dir(const std::string& dir, const MmReadOptions& options) {
  return read_matrix_market_coo_batch<T, I>(list_matrix_market_files(dir), options);
}

#define SPBMM_MM_BATCH(T, I)                                                                  \
  template CsrBatch<T, I> read_matrix_market_csr_batch<T, I>(const std::vector<std::string>&, \
                                                             const MmReadOptions&);           \
  template CooBatch<T, I> read_matrix_market_coo_batch<T, I>(const std::vector<std::string>&, \
                                                             const MmReadOptions&);           \
  template CsrBatch<T, I> read_matrix_market_csr_dir<T, I>(const std::string&,                \
                                                           const MmReadOptions&);             \
  template CooBatch<T, I> read_matrix_market_coo_dir<T, I>(const std::string&,                \
                                                           const MmReadOptions&);
SPBMM_MM_BATCH(float, std::int32_t)
SPBMM_MM_BATCH(float, std::int64_t)
SPBMM_MM_BATCH(double, std::int32_t)
SPBMM_MM_BATCH(double, std::int64_t)
#undef SPBMM_MM_BATCH

}  // namespace spbmm
