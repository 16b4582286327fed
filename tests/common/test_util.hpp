// Shared test helpers: the typed-test type list, random matrix generators and comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/error.hpp"
#include "spbmm/matrix_market.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::test {

template <class V, class Ix>
struct Pair {
  using T = V;
  using I = Ix;
};
using AllPairs = ::testing::Types<Pair<float, std::int32_t>, Pair<float, std::int64_t>,
                                  Pair<double, std::int32_t>, Pair<double, std::int64_t>>;

// Relative tolerance for comparing products of length k.
template <class T>
double tolerance(std::int64_t k = 1) {
  const double eps = std::is_same_v<T, float> ? 1.2e-7 : 2.3e-16;
  return 16.0 * eps * static_cast<double>(k > 1 ? k : 1);
}

// Uniform in [-1, 1), with a few exact small integers so hand checks stay exact.
template <class T>
T random_value(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  return static_cast<T>(d(rng));
}

template <class T>
DenseMatrix<T> random_dense(std::int64_t rows, std::int64_t cols, std::mt19937_64& rng,
                            Layout layout = Layout::RowMajor) {
  DenseMatrix<T> m(rows, cols, layout);
  for (auto& v : m.values()) v = random_value<T>(rng);
  return m;
}

// Canonical CSR with each position present with probability `density`.
template <class T, class I>
CsrMatrix<T, I> random_csr(std::int64_t rows, std::int64_t cols, double density,
                           std::mt19937_64& rng) {
  std::bernoulli_distribution keep(density);
  std::vector<I> rp(static_cast<std::size_t>(rows) + 1, 0);
  std::vector<I> ci;
  std::vector<T> vals;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      if (keep(rng)) {
        ci.push_back(static_cast<I>(c));
        vals.push_back(random_value<T>(rng));
      }
    }
    rp[static_cast<std::size_t>(r) + 1] = static_cast<I>(ci.size());
  }
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(vals));
}

// COO in random order with `dups` extra triplets that repeat existing positions.
template <class T, class I>
CooMatrix<T, I> random_coo(std::int64_t rows, std::int64_t cols, std::int64_t nnz,
                           std::int64_t dups, std::mt19937_64& rng) {
  std::vector<I> ri, ci;
  std::vector<T> vals;
  if (rows > 0 && cols > 0) {
    std::uniform_int_distribution<std::int64_t> dr(0, rows - 1), dc(0, cols - 1);
    for (std::int64_t k = 0; k < nnz; ++k) {
      ri.push_back(static_cast<I>(dr(rng)));
      ci.push_back(static_cast<I>(dc(rng)));
      vals.push_back(random_value<T>(rng));
    }
    for (std::int64_t k = 0; k < dups && nnz > 0; ++k) {
      std::uniform_int_distribution<std::int64_t> pick(0, nnz - 1);
      const auto p = static_cast<std::size_t>(pick(rng));
      ri.push_back(ri[p]);
      ci.push_back(ci[p]);
      vals.push_back(random_value<T>(rng));
    }
    std::vector<std::size_t> perm(ri.size());
    for (std::size_t k = 0; k < perm.size(); ++k) perm[k] = k;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<I> r2, c2;
    std::vector<T> v2;
    for (auto p : perm) {
      r2.push_back(ri[p]);
      c2.push_back(ci[p]);
      v2.push_back(vals[p]);
    }
    ri.swap(r2);
    ci.swap(c2);
    vals.swap(v2);
  }
  return CooMatrix<T, I>(rows, cols, std::move(ri), std::move(ci), std::move(vals));
}

// Elementwise comparison with a relative tolerance scaled by the larger magnitude (and 1).
template <class T, class U>
::testing::AssertionResult dense_near(const DenseView<T>& got, const DenseView<U>& want,
                                      double rel_tol) {
  if (got.rows != want.rows || got.cols != want.cols) {
    return ::testing::AssertionFailure()
           << "shape " << got.rows << "x" << got.cols << " != " << want.rows << "x" << want.cols;
  }
  for (std::int64_t i = 0; i < got.rows; ++i) {
    for (std::int64_t j = 0; j < got.cols; ++j) {
      const double g = static_cast<double>(got(i, j));
      const double w = static_cast<double>(want(i, j));
      if (std::isnan(g) && std::isnan(w)) continue;
      const double scale = std::max({1.0, std::fabs(g), std::fabs(w)});
      if (!(std::fabs(g - w) <= rel_tol * scale)) {
        return ::testing::AssertionFailure() << "at (" << i << ", " << j << "): got " << g
                                             << ", want " << w << " (tol " << rel_tol << ")";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

// Where the real matrices are (the data_dir build option), or "" when not set.
inline std::string data_dir() {
  const char* d = std::getenv("SPBMM_DATA_DIR");
  return d ? std::string(d) : std::string();
}
// Calls f(path, a) for every real matrix of the data set (data_dir()/real) that has real or
// integer values (complex ones are skipped), read as CSR; returns how many it called f for.
template <class T, class I, class F>
int for_each_real_matrix(F&& f) {
  int count = 0;
  for (const std::string& path : list_matrix_market_files(data_dir() + "/real")) {
    SCOPED_TRACE(path);
    CsrMatrix<T, I> a;
    try {
      a = read_matrix_market_csr<T, I>(path);
    } catch (const ParseError& e) {
      if (std::string(e.what()).find("complex values are not supported") != std::string::npos) {
        continue;
      }
      throw;
    }
    f(path, a);
    ++count;
  }
  return count;
}

// The repository's own data/ folder.
inline std::string test_data() {
  const char* d = std::getenv("SPBMM_TEST_DATA");
  return d ? std::string(d) : std::string("data");
}

}  // namespace spbmm::test

// Expects `stmt` to throw `type` whose what() contains `substr`.
#define SPBMM_EXPECT_THROW_MSG(stmt, type, substr)                                  \
  do {                                                                              \
    try {                                                                           \
      stmt;                                                                         \
      ADD_FAILURE() << "expected " #type " from: " #stmt;                           \
    } catch (const type& e_) {                                                      \
      EXPECT_NE(std::string(e_.what()).find(substr), std::string::npos)             \
          << "message was: " << e_.what() << "\nexpected to contain: " << (substr); \
    } catch (const std::exception& e_) {                                            \
      ADD_FAILURE() << "expected " #type ", got another exception: " << e_.what();  \
    }                                                                               \
  } while (0)
