// Generators for the named benchmark workloads; parameters follow bench/WORKLOADS.md exactly.
#include "workloads.hpp"

#include <cmath>
#include <utility>

#include "spbmm/convert.hpp"

namespace spbmm::bench {

template <Value T, Index I>
CsrMatrix<T, I> rmat(int scale, std::int64_t edges, double a, double b, double c,
                     std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const std::int64_t n = std::int64_t{1} << scale;
  std::vector<I> ri(static_cast<std::size_t>(edges)), ci(static_cast<std::size_t>(edges));
  std::vector<T> v(static_cast<std::size_t>(edges));
  for (std::int64_t e = 0; e < edges; ++e) {
    std::int64_t r = 0, col = 0;
    for (int level = 0; level < scale; ++level) {
      const double x = u01(rng);
      const int rb = x >= a + b ? 1 : 0;
      const int cb = (x >= a && x < a + b) || x >= a + b + c ? 1 : 0;
      r = 2 * r + rb;
      col = 2 * col + cb;
    }
    const auto k = static_cast<std::size_t>(e);
    ri[k] = static_cast<I>(r);
    ci[k] = static_cast<I>(col);
    v[k] = static_cast<T>(u01(rng));
  }
  const CooView<T, I> coo{n, n, edges, ri.data(), ci.data(), v.data()};
  return to_csr(coo);
}

template <Value T, Index I>
CsrMatrix<T, I> random_uniform_csr(std::int64_t rows, std::int64_t cols, double density,
                                   std::mt19937_64& rng) {
  std::vector<I> rp(static_cast<std::size_t>(rows) + 1, 0), ci;
  std::vector<T> vals;
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  const double total = static_cast<double>(rows) * static_cast<double>(cols);
  ci.reserve(static_cast<std::size_t>(total * density * 1.05) + 16);
  vals.reserve(ci.capacity());
  if (density > 0 && rows > 0 && cols > 0) {
    const double log_q = std::log1p(-std::min(density, 1.0 - 1e-12));
    double pos = -1;
    for (;;) {
      // Gap to the next kept position of a Bernoulli(density) sequence.
      const double gap = density >= 1.0 ? 0.0 : std::floor(std::log(1.0 - u01(rng)) / log_q);
      pos += gap + 1;
      if (pos >= total) break;
      const auto p = static_cast<std::int64_t>(pos);
      ++rp[static_cast<std::size_t>(p / cols) + 1];
      ci.push_back(static_cast<I>(p % cols));
      vals.push_back(static_cast<T>(u01(rng)));
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    rp[static_cast<std::size_t>(r) + 1] += rp[static_cast<std::size_t>(r)];
  }
  return CsrMatrix<T, I>(rows, cols, std::move(rp), std::move(ci), std::move(vals));
}

template <Value T, Index I>
CsrMatrix<T, I> random_graph(std::int64_t n, double degree, std::mt19937_64& rng) {
  const auto m = static_cast<std::int64_t>(static_cast<double>(n) * degree / 2.0);
  std::vector<I> ri, ci;
  std::vector<T> v;
  ri.reserve(static_cast<std::size_t>(2 * m));
  ci.reserve(static_cast<std::size_t>(2 * m));
  v.reserve(static_cast<std::size_t>(2 * m));
  std::uniform_int_distribution<std::int64_t> node(0, n - 1);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  for (std::int64_t e = 0; e < m && n > 1; ++e) {
    const std::int64_t a = node(rng);
    std::int64_t b = node(rng);
    while (b == a) b = node(rng);
    const auto w = static_cast<T>(u01(rng));
    ri.push_back(static_cast<I>(a));
    ci.push_back(static_cast<I>(b));
    v.push_back(w);
    ri.push_back(static_cast<I>(b));
    ci.push_back(static_cast<I>(a));
    v.push_back(w);
  }
  const CooView<T, I> coo{n,         n,         static_cast<std::int64_t>(v.size()),
                          ri.data(), ci.data(), v.data()};
  return to_csr(coo);
}

template <Value T>
void fill_uniform(AlignedVector<T>& v, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  for (auto& x : v) x = static_cast<T>(d(rng));
}

template <Value T, Index I>
CsrBatch<T, I> w4_batch(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<CsrMatrix<T, I>> list;
  for (int i = 0; i < 32; ++i) list.push_back(random_uniform_csr<T, I>(4096, 4096, 0.002, rng));
  return CsrBatch<T, I>::from_list(list);
}

template <Value T, Index I>
CsrBatch<T, I> w7_batch(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dim(256, 2048);
  const double densities[4] = {0.001, 0.01, 0.1, 0.5};
  std::vector<CsrMatrix<T, I>> list;
  for (int i = 0; i < 64; ++i) {
    const std::int64_t m = dim(rng), k = dim(rng);
    list.push_back(random_uniform_csr<T, I>(m, k, densities[i % 4], rng));
  }
  return CsrBatch<T, I>::from_list(list);
}

template <Value T, Index I>
CsrBatch<T, I> w8_batch(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> nodes(50, 2000);
  std::vector<CsrMatrix<T, I>> list;
  for (int i = 0; i < 512; ++i) list.push_back(random_graph<T, I>(nodes(rng), 8.0, rng));
  return CsrBatch<T, I>::from_list(list);
}

DenseShapes w1_shapes() {
  return {std::vector<std::int64_t>(64, 256), std::vector<std::int64_t>(64, 256),
          std::vector<std::int64_t>(64, 256)};
}

DenseShapes w2_shapes() {
  return {std::vector<std::int64_t>(20000, 16), std::vector<std::int64_t>(20000, 16),
          std::vector<std::int64_t>(20000, 16)};
}

DenseShapes w5_shapes(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> d(8, 128);
  DenseShapes s;
  for (int i = 0; i < 2000; ++i) {
    s.m.push_back(d(rng));
    s.k.push_back(d(rng));
    s.n.push_back(d(rng));
  }
  return s;
}

template <Value T>
void dense_operands(const DenseShapes& s, DenseBatch<T>& a, DenseBatch<T>& b, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  a = DenseBatch<T>(s.m, s.k);
  b = DenseBatch<T>(s.k, s.n);
  fill_uniform(a.values(), rng);
  fill_uniform(b.values(), rng);
}

template <Value T, Index I>
DenseBatch<T> rhs_for(const CsrBatch<T, I>& a, std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> rows(a.size()), cols(a.size(), n);
  for (std::size_t i = 0; i < a.size(); ++i) rows[i] = a.cols(i);
  DenseBatch<T> b(std::move(rows), std::move(cols));
  std::mt19937_64 rng(seed + 1);
  fill_uniform(b.values(), rng);
  return b;
}

#define SPBMM_INSTANTIATE(T, I)                                                                  \
  template CsrMatrix<T, I> rmat<T, I>(int, std::int64_t, double, double, double, std::uint64_t); \
  template CsrMatrix<T, I> random_uniform_csr<T, I>(std::int64_t, std::int64_t, double,          \
                                                    std::mt19937_64&);                           \
  template CsrMatrix<T, I> random_graph<T, I>(std::int64_t, double, std::mt19937_64&);           \
  template CsrBatch<T, I> w4_batch<T, I>(std::uint64_t);                                         \
  template CsrBatch<T, I> w7_batch<T, I>(std::uint64_t);                                         \
  template CsrBatch<T, I> w8_batch<T, I>(std::uint64_t);                                         \
  template DenseBatch<T> rhs_for<T, I>(const CsrBatch<T, I>&, std::int64_t, std::uint64_t);

SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE

template void fill_uniform<float>(AlignedVector<float>&, std::mt19937_64&);
template void fill_uniform<double>(AlignedVector<double>&, std::mt19937_64&);
template void dense_operands<float>(const DenseShapes&, DenseBatch<float>&, DenseBatch<float>&,
                                    std::uint64_t);
template void dense_operands<double>(const DenseShapes&, DenseBatch<double>&, DenseBatch<double>&,
                                     std::uint64_t);

}  // namespace spbmm::bench
