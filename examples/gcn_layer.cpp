// A two-layer graph convolution (GCN) over a ragged batch of graphs, forward and trained:
//
//   H = ReLU(Â X W1),   Y = Â H W2,   with Â = D^-1/2 (A + I) D^-1/2 for each graph,
//
// where A is a graph's adjacency matrix, D the degrees of A + I, X the node features. The
// graphs have different numbers of nodes and edges; one Plan holds the batch of normalized
// adjacencies (the dispatcher picks a kernel per graph) and is reused by both layers, by every
// forward call and, with op(A) = T, by the backward pass. The dense transforms X W1 and H W2 run
// as one batched product each, every graph's features times the same weights.
//
// Training steps then learn W1, W2 and the edge weights (the values of Â) by gradient descent on
// a squared error: for each product Y = Â Z the backward pass is dZ = Â^T dY (the same plan,
// op(A) = T), dÂ = dY Z^T sampled at Â's pattern (SDDMM), and dW = sum over graphs of H^T dZ
// (a batch sum). The edge weights change in place and the plan follows them. The forward pass,
// after training too, is checked against a plain loop in double.
//
//   usage: gcn_layer [GRAPHS] [CALLS] [STEPS]   (defaults 48 graphs, 3 forward calls, 5 steps)
#include <spbmm/spbmm.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <vector>

namespace {

using T = float;
using I = std::int32_t;

constexpr std::int64_t kFeatures = 48;  // input features per node
constexpr std::int64_t kHidden = 32;    // hidden units
constexpr std::int64_t kClasses = 16;   // outputs per node

// Â = D^-1/2 (A + I) D^-1/2 of an undirected graph given by its edge list.
spbmm::CsrMatrix<T, I> normalized_adjacency(std::int64_t nodes,
                                            const std::vector<std::pair<I, I>>& edges) {
  std::vector<std::vector<I>> nbr(static_cast<std::size_t>(nodes));
  for (I v = 0; v < nodes; ++v) nbr[static_cast<std::size_t>(v)].push_back(v);  // self loops
  for (const auto& [u, v] : edges) {
    nbr[static_cast<std::size_t>(u)].push_back(v);
    nbr[static_cast<std::size_t>(v)].push_back(u);
  }
  std::vector<double> inv_sqrt_deg(static_cast<std::size_t>(nodes));
  for (std::size_t v = 0; v < nbr.size(); ++v) {
    std::sort(nbr[v].begin(), nbr[v].end());
    nbr[v].erase(std::unique(nbr[v].begin(), nbr[v].end()), nbr[v].end());
    inv_sqrt_deg[v] = 1.0 / std::sqrt(static_cast<double>(nbr[v].size()));
  }
  std::vector<I> row_ptr{0}, col_idx;
  std::vector<T> values;
  for (std::size_t v = 0; v < nbr.size(); ++v) {
    for (const I u : nbr[v]) {
      col_idx.push_back(u);
      values.push_back(static_cast<T>(inv_sqrt_deg[v] * inv_sqrt_deg[static_cast<std::size_t>(u)]));
    }
    row_ptr.push_back(static_cast<I>(col_idx.size()));
  }
  return spbmm::CsrMatrix<T, I>(nodes, nodes, std::move(row_ptr), std::move(col_idx),
                                std::move(values));
}

// A random graph: a spanning path plus random edges, average degree about `degree`.
std::vector<std::pair<I, I>> random_graph(std::int64_t nodes, double degree, std::mt19937& rng) {
  std::vector<std::pair<I, I>> edges;
  std::uniform_int_distribution<I> pick(0, static_cast<I>(nodes - 1));
  for (I v = 1; v < nodes; ++v) edges.emplace_back(v - 1, v);
  const auto extra = static_cast<std::int64_t>(nodes * degree / 2);
  for (std::int64_t e = 0; e < extra; ++e) {
    const I u = pick(rng), v = pick(rng);
    if (u != v) edges.emplace_back(u, v);
  }
  return edges;
}

spbmm::DenseMatrix<T> random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937& rng) {
  spbmm::DenseMatrix<T> m(rows, cols);
  std::normal_distribution<T> g(0, 1 / std::sqrt(static_cast<T>(rows)));  // Glorot-like scale
  for (T& x : m.values()) x = g(rng);
  return m;
}

// The model: weights, and a plan over the batch's normalized adjacencies.
spbmm::PlanOptions forward_and_backward() {
  spbmm::PlanOptions po;
  po.both_ops = true;
  return po;
}

class Gcn {
 public:
  Gcn(spbmm::CsrBatch<T, I>& adjacency, spbmm::DenseMatrix<T> w1, spbmm::DenseMatrix<T> w2)
      : adjacency_(adjacency),
        w1_(std::move(w1)),
        w2_(std::move(w2)),
        plan_(spbmm::BatchView<T, I>(adjacency), kHidden, forward_and_backward()) {
    // Work buffers, allocated once: every call writes into them.
    std::vector<std::int64_t> nodes(adjacency.size());
    for (std::size_t g = 0; g < nodes.size(); ++g) nodes[g] = adjacency.rows(g);
    xw_ = spbmm::DenseBatch<T>(nodes, std::vector<std::int64_t>(nodes.size(), kHidden));
    h_ = xw_;
    hw_ = spbmm::DenseBatch<T>(nodes, std::vector<std::int64_t>(nodes.size(), kClasses));
    dz_ = hw_;
    dh_ = h_;
    dxw_ = h_;
    dw1_ = spbmm::DenseMatrix<T>(kFeatures, kHidden);
    dw2_ = spbmm::DenseMatrix<T>(kHidden, kClasses);
  }

  const spbmm::Plan<T, I>& plan() const { return plan_; }

  // Y = Â ReLU(Â X W1) W2 for every graph; y must have the graphs' shapes x kClasses.
  void forward(const spbmm::DenseBatch<T>& x, spbmm::DenseBatch<T>& y) {
    const auto w1 = spbmm::DenseBatchView<const T>::single(w1_.view());
    const auto w2 = spbmm::DenseBatchView<const T>::single(w2_.view());
    // Layer 1: X_g W1 for every graph g (one W for many X: broadcast), then Â_g (X_g W1).
    spbmm::bmm_into<T, I>(xw_.view(), spbmm::BatchView<T, I>(x), w1, T(1), T(0));
    plan_.execute(h_.view(), xw_.view());
    for (T& v : h_.values()) v = std::max(v, T(0));
    // Layer 2: the same plan, now with kClasses columns.
    spbmm::bmm_into<T, I>(hw_.view(), spbmm::BatchView<T, I>(h_), w2, T(1), T(0));
    plan_.execute(y.view(), hw_.view());
  }

  // One gradient step on loss = sum((Y - target)^2) / (2 * elements); returns the loss before
  // the step. Y is the forward pass's output (computed into y here).
  double train_step(const spbmm::DenseBatch<T>& x, const spbmm::DenseBatch<T>& target,
                    spbmm::DenseBatch<T>& y, T rate) {
    forward(x, y);
    // dY = (Y - target) / elements, in y's storage.
    const auto count = static_cast<double>(y.values().size());
    double loss = 0;
    for (std::size_t i = 0; i < y.values().size(); ++i) {
      const double d = static_cast<double>(y.values()[i]) - target.values()[i];
      loss += d * d / (2 * count);
      y.values()[i] = static_cast<T>(d / count);
    }
    const auto dy = y.view();
    // Layer 2, Y = Â Z with Z = H W2: dZ = Â^T dY, dW2 = sum_g H_g^T dZ_g, dH = dZ W2^T.
    plan_.execute(dz_.view(), dy, T(1), T(0), spbmm::Op::T);
    spbmm::Options t;
    t.op_a = spbmm::Op::T;
    spbmm::bmm_sum_into(dw2_.view(), spbmm::BatchView<T, I>(h_), dz_.view(), 1.0, 0.0, t);
    spbmm::Options bt;
    bt.op_b = spbmm::Op::T;
    spbmm::bmm_into(dh_.view(), spbmm::BatchView<T, I>(dz_),
                    spbmm::DenseBatchView<const T>::single(w2_.view()), 1.0, 0.0, bt);
    // Through the ReLU (h_ holds its output), then layer 1, P = Â XW: dXW = Â^T dP,
    // dW1 = sum_g X_g^T dXW_g.
    for (std::size_t i = 0; i < dh_.values().size(); ++i) {
      if (h_.values()[i] <= T(0)) dh_.values()[i] = T(0);
    }
    plan_.execute(dxw_.view(), dh_.view(), T(1), T(0), spbmm::Op::T);
    spbmm::bmm_sum_into(dw1_.view(), spbmm::BatchView<T, I>(x), dxw_.view(), 1.0, 0.0, t);
    // The edge weights: dÂ = dY Z^T + dP XW^T on Â's pattern, applied in place by two SDDMMs
    // (values = -rate * (dY Z^T) + values), after every product that needed the old values.
    const std::span<T> values(adjacency_.values());
    spbmm::sddmm_into(values, adjacency_, dy, hw_.view(), -rate, 1.0);
    spbmm::sddmm_into(values, adjacency_, dh_.view(), xw_.view(), -rate, 1.0);
    for (std::size_t i = 0; i < w1_.values().size(); ++i)
      w1_.values()[i] -= rate * dw1_.values()[i];
    for (std::size_t i = 0; i < w2_.values().size(); ++i)
      w2_.values()[i] -= rate * dw2_.values()[i];
    return loss;
  }

  // The same forward pass as plain loops in double, for graph g.
  std::vector<double> forward_reference(const spbmm::DenseBatch<T>& x, std::size_t g) const {
    const auto a = adjacency_.entry(g);
    const auto xg = x.entry(g);
    const std::int64_t n = a.rows;
    const auto mul_w = [n](const std::vector<double>& in, std::int64_t k,
                           const spbmm::DenseMatrix<T>& w) {
      std::vector<double> out(static_cast<std::size_t>(n * w.cols()), 0.0);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t p = 0; p < k; ++p)
          for (std::int64_t j = 0; j < w.cols(); ++j)
            out[static_cast<std::size_t>(i * w.cols() + j)] +=
                in[static_cast<std::size_t>(i * k + p)] * w(p, j);
      return out;
    };
    const auto mul_a = [&a, n](const std::vector<double>& in, std::int64_t k) {
      std::vector<double> out(static_cast<std::size_t>(n * k), 0.0);
      for (std::int64_t i = 0; i < n; ++i)
        for (I q = a.row_ptr[i]; q < a.row_ptr[i + 1]; ++q)
          for (std::int64_t j = 0; j < k; ++j)
            out[static_cast<std::size_t>(i * k + j)] +=
                static_cast<double>(a.values[q]) *
                in[static_cast<std::size_t>(a.col_idx[q] * k + j)];
      return out;
    };
    std::vector<double> x0(static_cast<std::size_t>(n * kFeatures));
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < kFeatures; ++j)
        x0[static_cast<std::size_t>(i * kFeatures + j)] = xg(i, j);
    std::vector<double> h = mul_a(mul_w(x0, kFeatures, w1_), kHidden);
    for (double& v : h) v = std::max(v, 0.0);
    return mul_a(mul_w(h, kHidden, w2_), kClasses);
  }

 private:
  spbmm::CsrBatch<T, I>& adjacency_;
  spbmm::DenseMatrix<T> w1_, w2_;
  spbmm::Plan<T, I> plan_;
  spbmm::DenseBatch<T> xw_, h_, hw_;    // forward: X W1, ReLU(Â X W1), H W2
  spbmm::DenseBatch<T> dz_, dh_, dxw_;  // backward
  spbmm::DenseMatrix<T> dw1_, dw2_;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const long graphs = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 48;
  const long calls = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 3;
  const long steps = argc > 3 ? std::strtol(argv[3], nullptr, 10) : 5;
  if (graphs < 1 || graphs > 100000 || calls < 1 || calls > 1000 || steps < 0 || steps > 10000) {
    std::fprintf(stderr, "usage: gcn_layer [GRAPHS 1..100000] [CALLS 1..1000] [STEPS 0..10000]\n");
    return 2;
  }
  try {
    // A ragged batch: small molecules-like graphs up to a few larger, denser community graphs.
    std::mt19937 rng(7);
    std::vector<spbmm::CsrMatrix<T, I>> list;
    std::vector<std::int64_t> nodes;
    for (long g = 0; g < graphs; ++g) {
      const std::int64_t n = g % 8 == 7 ? 1000 + 250 * (g % 5) : 10 + (g * 37) % 190;
      const double degree = g % 8 == 7 ? 12.0 : 3.0;
      list.push_back(normalized_adjacency(n, random_graph(n, degree, rng)));
      nodes.push_back(n);
    }
    auto adjacency = spbmm::CsrBatch<T, I>::from_list(list);

    spbmm::DenseBatch<T> x(nodes, std::vector<std::int64_t>(nodes.size(), kFeatures));
    std::uniform_real_distribution<T> u(-1, 1);
    for (T& v : x.values()) v = u(rng);
    spbmm::DenseBatch<T> y(nodes, std::vector<std::int64_t>(nodes.size(), kClasses));

    auto t0 = std::chrono::steady_clock::now();
    Gcn model(adjacency, random_matrix(kFeatures, kHidden, rng),
              random_matrix(kHidden, kClasses, rng));
    const double plan_ms = ms_since(t0);

    double best_ms = 1e300;
    for (long c = 0; c < calls; ++c) {
      t0 = std::chrono::steady_clock::now();
      model.forward(x, y);
      best_ms = std::min(best_ms, ms_since(t0));
    }

    // Which kernel the plan chose, per graph.
    std::int64_t per_kernel[8] = {};
    for (const auto& choice : model.plan().choices()) ++per_kernel[static_cast<int>(choice.kernel)];
    std::printf(
        "gcn_layer: %ld graphs, %lld nodes, %lld stored entries of Â; features %lld -> %lld "
        "-> %lld\n",
        graphs, static_cast<long long>(x.values().size() / kFeatures),
        static_cast<long long>(adjacency.total_nnz()), static_cast<long long>(kFeatures),
        static_cast<long long>(kHidden), static_cast<long long>(kClasses));
    std::printf("plan: %.2f ms, kernels:", plan_ms);
    for (const auto k : {spbmm::Kernel::Sparse, spbmm::Kernel::Dense, spbmm::Kernel::Eigen,
                         spbmm::Kernel::Reference, spbmm::Kernel::Gpu}) {
      if (per_kernel[static_cast<int>(k)] > 0)
        std::printf(" %s %lld", spbmm::to_string(k),
                    static_cast<long long>(per_kernel[static_cast<int>(k)]));
    }
    std::printf("; forward pass (2 layers): %.3f ms, best of %ld calls\n", best_ms, calls);

    // Training: fit the outputs of a fixed random teacher model, so that the loss can fall.
    spbmm::DenseBatch<T> target = y;
    for (T& v : target.values()) v = u(rng);
    double first_loss = 0, last_loss = 0, step_ms = 1e300;
    for (long s = 0; s < steps; ++s) {
      t0 = std::chrono::steady_clock::now();
      last_loss = model.train_step(x, target, y, T(0.5));
      step_ms = std::min(step_ms, ms_since(t0));
      if (s == 0) first_loss = last_loss;
    }
    if (steps > 0) {
      std::printf(
          "training: %ld steps (forward, backward, SDDMM for the edge weights), best %.3f "
          "ms per step; loss %.6f -> %.6f\n",
          steps, step_ms, first_loss, last_loss);
    }
    model.forward(x, y);  // with the trained weights and edge weights

    // Check every graph's output against the plain loops.
    double worst = 0;
    for (std::size_t g = 0; g < adjacency.size(); ++g) {
      const std::vector<double> want = model.forward_reference(x, g);
      const auto got = y.entry(g);
      for (std::int64_t i = 0; i < got.rows; ++i)
        for (std::int64_t j = 0; j < got.cols; ++j) {
          const double w = want[static_cast<std::size_t>(i * kClasses + j)];
          worst = std::max(worst, std::fabs(got(i, j) - w) / std::max(1.0, std::fabs(w)));
        }
    }
    const bool ok = worst <= 1e-4 && (steps < 2 || last_loss < first_loss);
    std::printf("check against plain loops in double: max relative error %.2e: %s\n", worst,
                ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
  } catch (const spbmm::Error& e) {
    std::fprintf(stderr, "gcn_layer: %s\n", e.what());
    return 1;
  }
}
