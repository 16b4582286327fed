// Generators for the named benchmark workloads (W1..W9, G1..G3), shared by every bench program.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"

namespace spbmm::bench {

// Fixed seed so every program measures the same matrices.
inline constexpr std::uint64_t kSeed = 20261126;

// R-MAT graph (W3, W6, W9, G1): 2^scale nodes, `edges` generated edges, quadrant probabilities
// (a, b, c, 1-a-b-c), duplicates summed, values uniform in [0, 1). Returns canonical CSR.
template <Value T, Index I>
CsrMatrix<T, I> rmat(int scale = 17, std::int64_t edges = 2000000, double a = 0.57, double b = 0.19,
                     double c = 0.19, std::uint64_t seed = kSeed);

// A rows x cols CSR matrix where each position is present independently with probability
// `density` (geometric skipping: exact Bernoulli, O(nnz) time); values uniform in [0, 1).
template <Value T, Index I>
CsrMatrix<T, I> random_uniform_csr(std::int64_t rows, std::int64_t cols, double density,
                                   std::mt19937_64& rng);

// A random graph on n nodes with average degree `degree`: n*degree/2 random undirected edges
// (no self loops) stored in both directions, duplicates summed, values uniform in [0, 1).
template <Value T, Index I>
CsrMatrix<T, I> random_graph(std::int64_t n, double degree, std::mt19937_64& rng);

// Dense values uniform in [-1, 1).
template <Value T>
void fill_uniform(AlignedVector<T>& v, std::mt19937_64& rng);

// W4 / G2: 32 entries of 4096x4096, density 0.002, each its own pattern.
template <Value T, Index I>
CsrBatch<T, I> w4_batch(std::uint64_t seed = kSeed);

// W7: 64 CSR entries, M and K uniform in [256, 2048], densities 0.001, 0.01, 0.1, 0.5
// (16 entries each, interleaved so that the batch order does not group them).
template <Value T, Index I>
CsrBatch<T, I> w7_batch(std::uint64_t seed = kSeed);

// W8 / G3: 512 graphs of 50..2000 nodes (uniform), average degree 8, each its own pattern.
template <Value T, Index I>
CsrBatch<T, I> w8_batch(std::uint64_t seed = kSeed);

// Shapes of a dense workload: entry i is m[i] x k[i] times k[i] x n[i].
struct DenseShapes {
  std::vector<std::int64_t> m, k, n;
};
// W1: 64 entries of 256x256 @ 256x256.
DenseShapes w1_shapes();
// W2: 20000 entries of 16x16 @ 16x16.
DenseShapes w2_shapes();
// W5: 2000 entries with M, K, N each uniform in [8, 128].
DenseShapes w5_shapes(std::uint64_t seed = kSeed);

// Random dense A (m x k) and B (k x n) batches for the shapes, row-major.
template <Value T>
void dense_operands(const DenseShapes& s, DenseBatch<T>& a, DenseBatch<T>& b,
                    std::uint64_t seed = kSeed);

// Random dense B batch with cols(A_i) rows and n columns per entry, row-major.
template <Value T, Index I>
DenseBatch<T> rhs_for(const CsrBatch<T, I>& a, std::int64_t n, std::uint64_t seed = kSeed);

}  // namespace spbmm::bench
