// Reverse Cuthill-McKee node orders and the permutations that apply them (see reorder.hpp).
#include "spbmm/reorder.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "core/checks.hpp"
#include "spbmm/error.hpp"

namespace spbmm {
namespace {

using detail::cat;

// The undirected graph of A + A^T without its diagonal, as sorted, duplicate-free adjacency
// lists (CSR of the pattern).
template <Index I>
struct Graph {
  std::vector<std::int64_t> ptr;
  std::vector<I> adj;
  std::int64_t degree(std::int64_t v) const {
    return ptr[static_cast<std::size_t>(v) + 1] - ptr[static_cast<std::size_t>(v)];
  }
};

template <Value T, Index I>
Graph<I> symmetric_graph(const CsrView<T, I>& a) {
  const std::int64_t n = a.rows;
  const auto un = static_cast<std::size_t>(n);
  std::vector<std::int64_t> count(un + 1, 0);
  for (std::int64_t r = 0; r < n; ++r) {
    for (auto p = static_cast<std::int64_t>(a.row_ptr[r]);
         p < static_cast<std::int64_t>(a.row_ptr[r + 1]); ++p) {
      const auto c = static_cast<std::int64_t>(a.col_idx[p]);
      if (c == r) continue;
      ++count[static_cast<std::size_t>(r) + 1];
      ++count[static_cast<std::size_t>(c) + 1];
    }
  }
  for (std::size_t v = 0; v < un; ++v) count[v + 1] += count[v];
  std::vector<I> both(static_cast<std::size_t>(count[un]));
  std::vector<std::int64_t> fill(count.begin(), count.end() - 1);
  for (std::int64_t r = 0; r < n; ++r) {
    for (auto p = static_cast<std::int64_t>(a.row_ptr[r]);
         p < static_cast<std::int64_t>(a.row_ptr[r + 1]); ++p) {
      const auto c = static_cast<std::int64_t>(a.col_idx[p]);
      if (c == r) continue;
      both[static_cast<std::size_t>(fill[static_cast<std::size_t>(r)]++)] = static_cast<I>(c);
      both[static_cast<std::size_t>(fill[static_cast<std::size_t>(c)]++)] = static_cast<I>(r);
    }
  }
  // Sorted and without repeats (an edge stored both ways appears twice), compacted in place.
  Graph<I> g;
  g.ptr.assign(un + 1, 0);
  std::int64_t out = 0;
  for (std::size_t v = 0; v < un; ++v) {
    const auto b = both.begin() + count[v], e = both.begin() + count[v + 1];
    std::sort(b, e);
    const auto last = std::unique(b, e);
    out = std::copy(b, last, both.begin() + out) - both.begin();
    g.ptr[v + 1] = out;
  }
  both.resize(static_cast<std::size_t>(out));
  g.adj = std::move(both);
  return g;
}

// Breadth-first levels from `start` over the nodes not yet numbered (mark[v] == 0); leaves
// level[v] set for the nodes reached and returns them in visiting order.
template <Index I>
void bfs_levels(const Graph<I>& g, std::int64_t start, const std::vector<unsigned char>& numbered,
                std::vector<std::int64_t>& level, std::vector<I>& reached) {
  reached.clear();
  reached.push_back(static_cast<I>(start));
  level[static_cast<std::size_t>(start)] = 0;
  for (std::size_t head = 0; head < reached.size(); ++head) {
    const auto v = static_cast<std::size_t>(reached[head]);
    for (std::int64_t q = g.ptr[v]; q < g.ptr[v + 1]; ++q) {
      const auto w = static_cast<std::size_t>(g.adj[static_cast<std::size_t>(q)]);
      if (numbered[w] != 0 || level[w] >= 0) continue;
      level[w] = level[v] + 1;
      reached.push_back(static_cast<I>(w));
    }
  }
}

// A pseudo-peripheral node of start's component (George and Liu): from a node of the last
// breadth-first level with the smallest degree, for as long as the depth grows.
template <Index I>
std::int64_t peripheral(const Graph<I>& g, std::int64_t start,
                        const std::vector<unsigned char>& numbered,
                        std::vector<std::int64_t>& level, std::vector<I>& reached) {
  std::int64_t depth = -1;
  for (int round = 0; round < 8; ++round) {
    bfs_levels(g, start, numbered, level, reached);
    const std::int64_t d = level[static_cast<std::size_t>(reached.back())];
    std::int64_t best = start;
    if (d > depth) {
      std::int64_t best_degree = -1;
      for (auto it = reached.rbegin();
           it != reached.rend() && level[static_cast<std::size_t>(*it)] == d; ++it) {
        const auto v = static_cast<std::int64_t>(*it);
        if (best_degree < 0 || g.degree(v) < best_degree) {
          best = v;
          best_degree = g.degree(v);
        }
      }
    }
    for (const I v : reached) level[static_cast<std::size_t>(v)] = -1;
    if (d <= depth || best == start) return start;
    depth = d;
    start = best;
  }
  return start;
}

// The inverse of `order` (inverse[order[k]] = k) after checking that order is a permutation of
// [0, n); `what` names the caller in the errors.
template <Index I>
std::vector<I> checked_inverse(std::span<const I> order, std::int64_t n, const char* what) {
  if (static_cast<std::int64_t>(order.size()) != n) {
    throw InvalidArgument(cat(what, ": the order has ", order.size(), " elements; expected ", n));
  }
  std::vector<I> inverse(static_cast<std::size_t>(n), I(-1));
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto v = static_cast<std::int64_t>(order[k]);
    if (v < 0 || v >= n) {
      throw InvalidArgument(cat(what, ": order[", k, "] = ", v, " is outside [0, ", n, ")"));
    }
    if (inverse[static_cast<std::size_t>(v)] >= 0) {
      throw InvalidArgument(
          cat(what, ": order[", k, "] = ", v, " appears twice; expected a permutation"));
    }
    inverse[static_cast<std::size_t>(v)] = static_cast<I>(k);
  }
  return inverse;
}

}  // namespace

template <Value T, Index I>
std::vector<I> rcm_order(const CsrView<T, I>& a) {
  validate(a);
  if (a.rows != a.cols) {
    throw ShapeError(cat("rcm_order: A is ", a.rows, "x", a.cols,
                         "; a node order needs a square matrix (a graph's adjacency)"));
  }
  const std::int64_t n = a.rows;
  const auto un = static_cast<std::size_t>(n);
  const Graph<I> g = symmetric_graph(a);
  // Components are started from their node of smallest degree, lowest number first.
  std::vector<I> by_degree(un);
  for (std::size_t v = 0; v < un; ++v) by_degree[v] = static_cast<I>(v);
  std::stable_sort(by_degree.begin(), by_degree.end(), [&](I x, I y) {
    return g.degree(static_cast<std::int64_t>(x)) < g.degree(static_cast<std::int64_t>(y));
  });
  std::vector<unsigned char> numbered(un, 0);
  std::vector<std::int64_t> level(un, -1);
  std::vector<I> reached, order, next;
  order.reserve(un);
  for (const I seed : by_degree) {
    if (numbered[static_cast<std::size_t>(seed)] != 0) continue;
    const std::int64_t start =
        peripheral(g, static_cast<std::int64_t>(seed), numbered, level, reached);
    // Cuthill-McKee: breadth first, each node's new neighbours by increasing degree.
    std::size_t head = order.size();
    order.push_back(static_cast<I>(start));
    numbered[static_cast<std::size_t>(start)] = 1;
    for (; head < order.size(); ++head) {
      const auto v = static_cast<std::size_t>(order[head]);
      next.clear();
      for (std::int64_t q = g.ptr[v]; q < g.ptr[v + 1]; ++q) {
        const I w = g.adj[static_cast<std::size_t>(q)];
        if (numbered[static_cast<std::size_t>(w)] != 0) continue;
        numbered[static_cast<std::size_t>(w)] = 1;
        next.push_back(w);
      }
      std::stable_sort(next.begin(), next.end(), [&](I x, I y) {
        return g.degree(static_cast<std::int64_t>(x)) < g.degree(static_cast<std::int64_t>(y));
      });
      order.insert(order.end(), next.begin(), next.end());
    }
  }
  std::reverse(order.begin(), order.end());
  return order;
}

template <Index I>
std::vector<I> inverse_permutation(std::span<const I> order) {
  return checked_inverse(order, static_cast<std::int64_t>(order.size()), "inverse_permutation");
}

template <Value T, Index I>
CsrMatrix<T, I> permute(const CsrView<T, I>& a, std::span<const I> order) {
  validate(a);
  if (a.rows != a.cols) {
    throw ShapeError(cat("permute: A is ", a.rows, "x", a.cols,
                         "; P A P^T needs a square matrix (permute_rows reorders rows alone)"));
  }
  const std::vector<I> inverse = checked_inverse(order, a.rows, "permute");
  const auto nnz = static_cast<std::size_t>(a.nnz());
  std::vector<I> row_ptr(static_cast<std::size_t>(a.rows) + 1, 0);
  std::vector<I> col_idx(nnz);
  std::vector<T> values(nnz);
  std::vector<std::pair<I, T>> row;
  std::size_t at = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto r = static_cast<std::int64_t>(order[k]);
    row.clear();
    for (auto p = static_cast<std::int64_t>(a.row_ptr[r]);
         p < static_cast<std::int64_t>(a.row_ptr[r + 1]); ++p) {
      row.emplace_back(inverse[static_cast<std::size_t>(a.col_idx[p])], a.values[p]);
    }
    // Stable: entries repeated in a row keep their order, and so their sum.
    std::stable_sort(row.begin(), row.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [c, v] : row) {
      col_idx[at] = c;
      values[at] = v;
      ++at;
    }
    row_ptr[k + 1] = static_cast<I>(at);
  }
  return CsrMatrix<T, I>(a.rows, a.cols, std::move(row_ptr), std::move(col_idx), std::move(values));
}

template <Value T, Index I>
DenseMatrix<T> permute_rows(const DenseView<const T>& x, std::span<const I> order) {
  (void)checked_inverse(order, x.rows, "permute_rows");
  DenseMatrix<T> out(x.rows, x.cols, x.layout);
  const DenseView<T> o = out.view();
  for (std::int64_t k = 0; k < x.rows; ++k) {
    const auto r = static_cast<std::int64_t>(order[static_cast<std::size_t>(k)]);
    for (std::int64_t j = 0; j < x.cols; ++j) o(k, j) = x(r, j);
  }
  return out;
}

#define SPBMM_INSTANTIATE_I(I) template std::vector<I> inverse_permutation<I>(std::span<const I>);
#define SPBMM_INSTANTIATE(T, I)                                                     \
  template std::vector<I> rcm_order<T, I>(const CsrView<T, I>&);                    \
  template CsrMatrix<T, I> permute<T, I>(const CsrView<T, I>&, std::span<const I>); \
  template DenseMatrix<T> permute_rows<T, I>(const DenseView<const T>&, std::span<const I>);
SPBMM_INSTANTIATE_I(std::int32_t)
SPBMM_INSTANTIATE_I(std::int64_t)
SPBMM_INSTANTIATE(float, std::int32_t)
SPBMM_INSTANTIATE(float, std::int64_t)
SPBMM_INSTANTIATE(double, std::int32_t)
SPBMM_INSTANTIATE(double, std::int64_t)
#undef SPBMM_INSTANTIATE
#undef SPBMM_INSTANTIATE_I

}  // namespace spbmm
