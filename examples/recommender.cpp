// Recommendations from sparse user-item interactions and dense item embeddings.
//
// Part 1, top-k items per user: the interactions R (users x items, CSR, each row scaled to sum
// to 1) times the item embeddings E (items x d) give each user's taste vector P = R E (sparse x
// dense); the scores P E^T (dense x dense, E used transposed in place) rank the items, and the k
// best items the user has not seen are kept.
//
// Part 2, many small similarity products: a batch of queries, each with its own block of query
// vectors Q_i (q_i x d) and its own list of candidates C_i (c_i x d), scored as Q_i C_i^T in one
// ragged batch.
//
// Both parts are checked against plain loops in double.
//
//   usage: recommender [USERS] [ITEMS] [K]     (defaults 2000 users, 6000 items, k = 10)
#include <spbmm/spbmm.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

using T = float;
using I = std::int32_t;

constexpr std::int64_t kDim = 64;  // embedding width

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double rel_error(double got, double want) {
  return std::fabs(got - want) / std::max(1.0, std::fabs(want));
}

// Interactions with a skewed item popularity: each user saw 5..80 distinct items, popular items
// more often. Each row is scaled to sum to 1, so R E averages the embeddings of the items seen.
spbmm::CsrMatrix<T, I> random_interactions(std::int64_t users, std::int64_t items,
                                           std::mt19937& rng) {
  std::vector<I> row_ptr{0}, col_idx;
  std::vector<T> values;
  std::uniform_int_distribution<int> count(5, 80);
  std::uniform_real_distribution<double> u(0, 1);
  for (std::int64_t r = 0; r < users; ++r) {
    std::vector<I> seen;
    const int n = count(rng);
    for (int k = 0; k < n; ++k) {
      const double x = u(rng);
      seen.push_back(static_cast<I>(static_cast<double>(items - 1) * x * x * x));  // popularity
    }
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (const I c : seen) {
      col_idx.push_back(c);
      values.push_back(T(1) / static_cast<T>(seen.size()));
    }
    row_ptr.push_back(static_cast<I>(col_idx.size()));
  }
  return spbmm::CsrMatrix<T, I>(users, items, std::move(row_ptr), std::move(col_idx),
                                std::move(values));
}

void fill_random(spbmm::AlignedVector<T>& v, std::mt19937& rng) {
  std::normal_distribution<T> g(0, 1);
  for (T& x : v) x = g(rng);
}

// Part 1. Returns false when a check fails.
bool top_k_per_user(std::int64_t users, std::int64_t items, std::int64_t k, std::mt19937& rng) {
  const spbmm::CsrMatrix<T, I> r = random_interactions(users, items, rng);
  spbmm::DenseMatrix<T> e(items, kDim);
  fill_random(e.values(), rng);

  const auto t0 = std::chrono::steady_clock::now();
  // P = R E: one sparse entry times one dense matrix.
  const spbmm::BatchView<T, I> r_batch({spbmm::MatrixView<T, I>(r.view())});
  const auto e_one = spbmm::DenseBatchView<const T>::single(e.view());
  const spbmm::DenseBatch<T> p = spbmm::bmm<T, I>(r_batch, e_one);
  const double profile_ms = ms_since(t0);

  // S = P E^T: E is read transposed, not copied.
  const auto t1 = std::chrono::steady_clock::now();
  spbmm::Options transposed_b;
  transposed_b.op_b = spbmm::Op::T;
  const spbmm::DenseBatch<T> s = spbmm::bmm<T, I>(spbmm::BatchView<T, I>(p), e_one, transposed_b);
  const double score_ms = ms_since(t1);

  // Top k unseen items per user.
  const auto t2 = std::chrono::steady_clock::now();
  const auto scores = s.entry(0);
  const auto rv = r.view();
  std::vector<std::vector<I>> top(static_cast<std::size_t>(users));
  std::vector<I> candidates;
  std::vector<char> seen(static_cast<std::size_t>(items), 0);
  for (std::int64_t u = 0; u < users; ++u) {
    for (I q = rv.row_ptr[u]; q < rv.row_ptr[u + 1]; ++q)
      seen[static_cast<std::size_t>(rv.col_idx[q])] = 1;
    candidates.clear();
    for (I i = 0; i < items; ++i)
      if (!seen[static_cast<std::size_t>(i)]) candidates.push_back(i);
    const auto kk = std::min<std::size_t>(static_cast<std::size_t>(k), candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kk),
                      candidates.end(), [&](I a, I b) {
                        return scores(u, a) != scores(u, b) ? scores(u, a) > scores(u, b) : a < b;
                      });
    top[static_cast<std::size_t>(u)].assign(candidates.begin(),
                                            candidates.begin() + static_cast<std::ptrdiff_t>(kk));
    for (I q = rv.row_ptr[u]; q < rv.row_ptr[u + 1]; ++q)
      seen[static_cast<std::size_t>(rv.col_idx[q])] = 0;
  }
  const double topk_ms = ms_since(t2);

  std::printf("top-k: %lld users x %lld items, %lld interactions, d = %lld, k = %lld\n",
              static_cast<long long>(users), static_cast<long long>(items),
              static_cast<long long>(r.nnz()), static_cast<long long>(kDim),
              static_cast<long long>(k));
  std::printf("  R E %.3f ms; scores P E^T %.3f ms; top k %.3f ms\n", profile_ms, score_ms,
              topk_ms);
  std::printf("  user 0 gets items");
  for (const I i : top[0]) std::printf(" %d", static_cast<int>(i));
  std::printf("\n");

  // Check: P in full, and every user's k-th best score and membership on a sample of users.
  double worst = 0;
  std::vector<double> pu(kDim);
  for (std::int64_t u = 0; u < users; ++u) {
    std::fill(pu.begin(), pu.end(), 0.0);
    for (I q = rv.row_ptr[u]; q < rv.row_ptr[u + 1]; ++q)
      for (std::int64_t j = 0; j < kDim; ++j)
        pu[static_cast<std::size_t>(j)] += double(rv.values[q]) * e(rv.col_idx[q], j);
    for (std::int64_t j = 0; j < kDim; ++j)
      worst = std::max(worst, rel_error(p.entry(0)(u, j), pu[static_cast<std::size_t>(j)]));
    if (u % 97 != 0) continue;  // the full score check on every 97th user
    std::vector<double> want(static_cast<std::size_t>(items));
    for (std::int64_t i = 0; i < items; ++i) {
      double dot = 0;
      for (std::int64_t j = 0; j < kDim; ++j) dot += pu[static_cast<std::size_t>(j)] * e(i, j);
      want[static_cast<std::size_t>(i)] = dot;
      worst = std::max(worst, rel_error(scores(u, i), dot));
    }
    // No unseen item outside the top k may score clearly above the k-th one kept.
    const double kth = want[static_cast<std::size_t>(top[static_cast<std::size_t>(u)].back())];
    std::vector<char> in_top(static_cast<std::size_t>(items), 0);
    for (const I i : top[static_cast<std::size_t>(u)]) in_top[static_cast<std::size_t>(i)] = 1;
    for (I q = rv.row_ptr[u]; q < rv.row_ptr[u + 1]; ++q)
      in_top[static_cast<std::size_t>(rv.col_idx[q])] = 1;
    for (std::int64_t i = 0; i < items; ++i) {
      if (!in_top[static_cast<std::size_t>(i)] &&
          want[static_cast<std::size_t>(i)] > kth + 1e-4 * std::max(1.0, std::fabs(kth))) {
        std::printf("  user %lld: item %lld scores %.6g, above the k-th kept (%.6g)\n",
                    static_cast<long long>(u), static_cast<long long>(i),
                    want[static_cast<std::size_t>(i)], kth);
        return false;
      }
    }
  }
  std::printf("  check against plain loops in double: max relative error %.2e\n", worst);
  return worst <= 1e-4;
}

// Part 2. Returns false when a check fails.
bool similarity_batch(std::size_t queries, std::mt19937& rng) {
  std::vector<std::int64_t> q_rows, c_rows;
  std::uniform_int_distribution<std::int64_t> q_count(1, 16), c_count(20, 300);
  for (std::size_t i = 0; i < queries; ++i) {
    q_rows.push_back(q_count(rng));
    c_rows.push_back(c_count(rng));
  }
  const std::vector<std::int64_t> dims(queries, kDim);
  spbmm::DenseBatch<T> q(q_rows, dims), c(c_rows, dims);
  fill_random(q.values(), rng);
  fill_random(c.values(), rng);

  // sims_i = Q_i C_i^T for every query i, ragged in both dimensions.
  spbmm::Options transposed_b;
  transposed_b.op_b = spbmm::Op::T;
  spbmm::DenseBatch<T> sims;
  double best_ms = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    sims = spbmm::bmm(q, c, transposed_b);
    best_ms = std::min(best_ms, ms_since(t0));
  }
  double flops = 0;
  for (std::size_t i = 0; i < queries; ++i)
    flops += 2.0 * static_cast<double>(q_rows[i] * c_rows[i] * kDim);
  std::printf(
      "similarity: %zu queries, Q_i C_i^T with 1..16 query rows and 20..300 candidates, "
      "d = %lld: %.3f ms (%.1f GFLOP/s, best of 3)\n",
      queries, static_cast<long long>(kDim), best_ms, flops / best_ms * 1e-6);

  double worst = 0;
  for (std::size_t i = 0; i < queries; ++i) {
    const auto qi = q.entry(i), ci = c.entry(i), si = sims.entry(i);
    for (std::int64_t a = 0; a < qi.rows; ++a)
      for (std::int64_t b = 0; b < ci.rows; ++b) {
        double dot = 0;
        for (std::int64_t j = 0; j < kDim; ++j) dot += double(qi(a, j)) * ci(b, j);
        worst = std::max(worst, rel_error(si(a, b), dot));
      }
  }
  // The best candidate of query 0's first vector, as an application would use it.
  const auto s0 = sims.entry(0);
  std::int64_t best = 0;
  for (std::int64_t b = 1; b < s0.cols; ++b)
    if (s0(0, b) > s0(0, best)) best = b;
  std::printf("  query 0's best candidate: %lld (score %.4f)\n", static_cast<long long>(best),
              static_cast<double>(s0(0, best)));
  std::printf("  check against plain loops in double: max relative error %.2e\n", worst);
  return worst <= 1e-4;
}

}  // namespace

int main(int argc, char** argv) {
  const long users = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 2000;
  const long items = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 6000;
  const long k = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 10;
  if (users < 1 || users > 10000000 || items < 2 || items > 10000000 || k < 1 || k >= items) {
    std::fprintf(stderr, "usage: recommender [USERS] [ITEMS >= 2] [K < ITEMS]\n");
    return 2;
  }
  try {
    std::mt19937 rng(11);
    const bool ok1 = top_k_per_user(users, items, k, rng);
    const bool ok2 = similarity_batch(512, rng);
    std::printf("recommender: %s\n", ok1 && ok2 ? "OK" : "FAILED");
    return ok1 && ok2 ? 0 : 1;
  } catch (const spbmm::Error& e) {
    std::fprintf(stderr, "recommender: %s\n", e.what());
    return 1;
  }
}
