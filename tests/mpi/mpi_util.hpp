// Helpers of the MPI suite: rank and size, skewed random matrices, bitwise comparison, agreement.
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "test_util.hpp"

namespace spbmm::test {

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

inline int world_size() {
  int s = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// A CSR matrix with power-law-like row lengths (a few long rows, many short ones, some empty),
// the same on every rank for the same seed.
template <class T, class I>
CsrMatrix<T, I> skewed_csr(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<I> rp(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<I> ci;
  std::vector<T> vals;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (std::int64_t r = 0; r < rows; ++r) {
    const double x = u(rng);
    auto len = static_cast<std::int64_t>(2.0 / (x * x + 0.02)) - 2;
    len = std::max<std::int64_t>(0, std::min(len, cols));
    std::vector<I> row;
    std::uniform_int_distribution<std::int64_t> dc(0, cols - 1);
    for (std::int64_t k = 0; k < len; ++k) row.push_back(static_cast<I>(dc(rng)));
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    for (const I c : row) {
      ci.push_back(c);
      vals.push_back(random_value<T>(rng));
    }
    rp[static_cast<std::size_t>(r) + 1] = static_cast<I>(ci.size());
  }
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(vals));
}

template <class T>
DenseMatrix<T> seeded_dense(std::int64_t rows, std::int64_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return random_dense<T>(rows, cols, rng);
}

// True when both hold the same bits in the same shape.
template <class T>
::testing::AssertionResult same_bits(const DenseView<const T>& x, const DenseView<const T>& y) {
  if (x.rows != y.rows || x.cols != y.cols) {
    return ::testing::AssertionFailure()
           << "shapes " << x.rows << "x" << x.cols << " and " << y.rows << "x" << y.cols;
  }
  for (std::int64_t i = 0; i < x.rows; ++i) {
    for (std::int64_t j = 0; j < x.cols; ++j) {
      if (std::memcmp(&x(i, j), &y(i, j), sizeof(T)) != 0) {
        return ::testing::AssertionFailure()
               << "element (" << i << ", " << j << "): " << x(i, j) << " != " << y(i, j);
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// True on every rank when `text` is the same on every rank.
inline bool same_everywhere(const std::string& text) {
  std::uint64_t h = 1469598103934665603ull;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  std::uint64_t lo = h, hi = h;
  MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

// A fresh directory made by rank 0 and named to every rank.
inline std::string shared_temp_dir(const std::string& tag) {
  std::string path(4096, '\0');
  if (world_rank() == 0) {
    std::string pattern = "/tmp/spbmm_mpi_" + tag + "_XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) pattern.clear();
    path = pattern;
    path.resize(4096, '\0');
  }
  MPI_Bcast(path.data(), 4096, MPI_CHAR, 0, MPI_COMM_WORLD);
  return std::string(path.c_str());
}

}  // namespace spbmm::test
