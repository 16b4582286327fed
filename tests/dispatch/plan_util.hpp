// Test helpers for plans: a mixed-format ragged batch, random operands, the reference loop.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <utility>
#include <variant>
#include <vector>

#include "kernels/kernels.hpp"
#include "spbmm/bmm.hpp"
#include "test_util.hpp"

namespace spbmm::test {

// A ragged batch of A operands in every format, owned here, with a few empty entries.
template <class T, class I>
struct Mixed {
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<DenseMatrix<T>> dense;
  BatchView<T, I> view;

  // Stored shapes per entry; op_a decides whether they are op(A) or its transpose.
  Mixed(const std::vector<std::pair<std::int64_t, std::int64_t>>& shapes, std::mt19937_64& rng) {
    csr.reserve(shapes.size());
    coo.reserve(shapes.size());
    dense.reserve(shapes.size());
    const double densities[] = {0.02, 0.3, 0.7};
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const auto [r, c] = shapes[i];
      const double d = densities[i % 3];
      switch (i % 3) {
        case 0:
          csr.push_back(random_csr<T, I>(r, c, d, rng));
          view.push_back(csr.back().view());
          break;
        case 1:
          coo.push_back(random_coo<T, I>(r, c, static_cast<std::int64_t>(d * r * c), 3, rng));
          view.push_back(coo.back().view());
          break;
        default:
          dense.push_back(random_dense<T>(r, c, rng, i % 2 ? Layout::RowMajor : Layout::ColMajor));
          view.push_back(DenseView<const T>(dense.back().view()));
          break;
      }
    }
  }
};

// B_i (op_b applied) and C_i for a batch, random, row-major.
template <class T>
struct Operands {
  DenseBatch<T> b;
  DenseBatch<T> c;
};

template <class T>
Operands<T> operands(const std::vector<std::int64_t>& m, const std::vector<std::int64_t>& k,
                     const std::vector<std::int64_t>& n, Op op_b, std::mt19937_64& rng) {
  Operands<T> o;
  o.b = op_b == Op::N ? DenseBatch<T>(k, n) : DenseBatch<T>(n, k);
  o.c = DenseBatch<T>(m, n, Layout::ColMajor);
  for (auto& v : o.b.values()) v = random_value<T>(rng);
  for (auto& v : o.c.values()) v = random_value<T>(rng);
  return o;
}

template <class T, class I>
void reference_loop(const DenseBatchView<T>& c, const BatchView<T, I>& a,
                    const DenseBatchView<const T>& b, T alpha, T beta, Op oa, Op ob) {
  namespace ref = kernels::reference;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const auto& ai = a[a.size() == 1 ? 0 : i];
    const auto& bi = b[b.size() == 1 ? 0 : i];
    if (const auto* d = std::get_if<DenseView<const T>>(&ai)) {
      ref::dense_dense<T>(oa, ob, alpha, *d, bi, beta, c[i]);
    } else if (const auto* s = std::get_if<CsrView<T, I>>(&ai)) {
      ref::csr_dense<T, I>(oa, ob, alpha, *s, bi, beta, c[i]);
    } else {
      ref::coo_dense<T, I>(oa, ob, alpha, std::get<CooView<T, I>>(ai), bi, beta, c[i]);
    }
  }
}

template <class T>
::testing::AssertionResult batch_near(const DenseBatch<T>& got, const DenseBatch<T>& want,
                                      std::int64_t k) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (std::size_t i = 0; i < got.size(); ++i) {
    auto r = dense_near(got.entry(i), want.entry(i), tolerance<T>(k));
    if (!r) return r << " (entry " << i << ")";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace spbmm::test
