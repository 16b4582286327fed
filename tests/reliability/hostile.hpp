// Helpers of the reliability suite: scratch files, sentinel-filled output buffers, snapshots.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::test {

// A folder of its own under the system's temp folder, removed with the object.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "spbmm_reliability_" + std::to_string(::getpid());
    if (info != nullptr) name += std::string("_") + info->test_suite_name() + "_" + info->name();
    for (char& ch : name) {
      if (ch == '/') ch = '_';
    }
    path_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes `bytes` exactly (no newline translation) to a file in the folder; returns its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string p = (path_ / name).string();
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A caller's output buffer for one dense matrix, filled with a byte pattern that is no value
// spbmm would compute, and a copy of its bytes to prove it untouched after a failed call.
template <class T>
class Sentinel {
 public:
  Sentinel(std::int64_t rows, std::int64_t cols, Layout layout = Layout::RowMajor)
      : data_(static_cast<std::size_t>(rows * cols > 0 ? rows * cols : 1)),
        view_(data_.data(), rows, cols, layout) {
    std::memset(data_.data(), 0xA5, data_.size() * sizeof(T));
    before_.assign(reinterpret_cast<const unsigned char*>(data_.data()),
                   reinterpret_cast<const unsigned char*>(data_.data() + data_.size()));
  }
  Sentinel(const Sentinel&) = delete;
  Sentinel& operator=(const Sentinel&) = delete;

  const DenseView<T>& view() const { return view_; }
  T* data() { return data_.data(); }
  // True when every byte is as it was filled.
  bool untouched() const { return std::memcmp(before_.data(), data_.data(), before_.size()) == 0; }

 private:
  std::vector<T> data_;
  DenseView<T> view_;
  std::vector<unsigned char> before_;
};

// Sentinel buffers for a batch of outputs of the given shapes.
template <class T>
class SentinelBatch {
 public:
  SentinelBatch(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& cols) {
    entries_.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      entries_.push_back(std::make_unique<Sentinel<T>>(rows[i], cols[i]));
    }
  }
  DenseBatchView<T> view() const {
    std::vector<DenseView<T>> v;
    for (const auto& e : entries_) v.push_back(e->view());
    return DenseBatchView<T>(std::move(v));
  }
  bool untouched() const {
    for (const auto& e : entries_) {
      if (!e->untouched()) return false;
    }
    return true;
  }

 private:
  std::vector<std::unique_ptr<Sentinel<T>>> entries_;
};

// Every stored array of a matrix, to compare a matrix with itself before and after a call.
template <class T, class I>
bool same(const CsrMatrix<T, I>& x, const CsrMatrix<T, I>& y) {
  return x.rows() == y.rows() && x.cols() == y.cols() && x.row_ptr() == y.row_ptr() &&
         x.col_idx() == y.col_idx() &&
         std::memcmp(x.values().data(), y.values().data(), x.values().size() * sizeof(T)) == 0;
}
template <class T, class I>
bool same(const CooMatrix<T, I>& x, const CooMatrix<T, I>& y) {
  return x.rows() == y.rows() && x.cols() == y.cols() && x.row_idx() == y.row_idx() &&
         x.col_idx() == y.col_idx() &&
         std::memcmp(x.values().data(), y.values().data(), x.values().size() * sizeof(T)) == 0;
}
template <class T>
bool same(const DenseMatrix<T>& x, const DenseMatrix<T>& y) {
  return x.rows() == y.rows() && x.cols() == y.cols() && x.layout() == y.layout() &&
         std::memcmp(x.values().data(), y.values().data(), x.values().size() * sizeof(T)) == 0;
}

}  // namespace spbmm::test
