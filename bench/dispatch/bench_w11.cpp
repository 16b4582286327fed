// W11: one GCN training step on the W8 graphs (N = 128): forward H = A (X W), loss sum(H .* R),
// backward dZ = A^T R, dW = sum_i X_i^T dZ_i, dX = dZ W^T, dA = SDDMM(R, Z) on A's pattern, and
// an SGD update of A's values; timed per part, and optionally dumped for bench/anchors_w11.py.
#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "spbmm/bmm.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/training.hpp"
#include "workloads.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using T = float;
using I = std::int32_t;

constexpr std::int64_t kFeatures = 128;  // N: features in and out of the layer
constexpr T kLearningRate = T(1e-3);     // SGD step on A's values

// The parts of one step, in the order they run.
enum Part { kXw, kAz, kLoss, kAtDh, kDw, kDx, kDa, kSgd, kParts };
constexpr std::array<const char*, kParts> kPartNames = {
    "Z = X W (bmm, W broadcast)", "H = A Z (plan, op N)",     "loss = sum(H .* R)",
    "dZ = A^T dH (plan, op T)",   "dW = sum_i X_i^T dZ_i",    "dX = dZ W^T (bmm, op_b T)",
    "dA = SDDMM(dH, Z) on A",     "SGD update of A's values",
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Writes `count` values of `data` as raw little-endian bytes (this program only runs on
// little-endian machines: x86-64 and AArch64 as configured here).
template <class V>
void write_raw(const std::filesystem::path& path, const V* data, std::size_t count) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "bench_w11: cannot open %s for writing\n", path.c_str());
    std::exit(1);
  }
  const bool ok = std::fwrite(data, sizeof(V), count, f) == count;
  if (std::fclose(f) != 0 || !ok) {
    std::fprintf(stderr, "bench_w11: writing %s failed\n", path.c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  int reps = 10;
  std::string dump;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (a == "--dump" && i + 1 < argc) {
      dump = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: bench_w11 [--threads T] [--reps R] [--dump DIR]\n"
                   "  --dump DIR  write the inputs and spbmm's gradients of the first step as raw\n"
                   "              little-endian files plus DIR/manifest.json, for "
                   "bench/anchors_w11.py\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "bench_w11: --threads and --reps must be positive\n");
    return 2;
  }
  omp_set_num_threads(threads);
  try {
    spbmm::CsrBatch<T, I> a = spbmm::bench::w8_batch<T, I>();
    const std::size_t graphs = a.size();
    std::vector<std::int64_t> nodes(graphs);
    std::int64_t total_nodes = 0;
    for (std::size_t g = 0; g < graphs; ++g) {
      nodes[g] = a.rows(g);
      total_nodes += nodes[g];
    }
    const std::vector<std::int64_t> feats(graphs, kFeatures);

    // Inputs: X and R uniform in [-1, 1), W scaled as a Glorot-like initialisation would be.
    std::mt19937_64 rng(spbmm::bench::kSeed + 11);
    spbmm::DenseBatch<T> x(nodes, feats), r(nodes, feats);
    spbmm::bench::fill_uniform(x.values(), rng);
    spbmm::bench::fill_uniform(r.values(), rng);
    spbmm::DenseMatrix<T> w(kFeatures, kFeatures);
    spbmm::bench::fill_uniform(w.values(), rng);
    for (T& v : w.values()) v /= std::sqrt(static_cast<T>(kFeatures));
    const std::vector<T> initial_values = a.values();

    // Every buffer of the step, allocated once.
    spbmm::DenseBatch<T> z(nodes, feats), h(nodes, feats), dz(nodes, feats), dx(nodes, feats);
    spbmm::DenseMatrix<T> dw(kFeatures, kFeatures);
    std::vector<T> da(static_cast<std::size_t>(a.total_nnz()));
    const auto w_one = spbmm::DenseBatchView<const T>::single(w.view());
    const spbmm::BatchView<T, I> a_view(a);
    const spbmm::BatchView<T, I> x_view(x);
    const spbmm::BatchView<T, I> dz_view(dz);
    spbmm::Options fwd;
    fwd.threads = threads;
    spbmm::Options sum_t = fwd;
    sum_t.op_a = spbmm::Op::T;
    spbmm::Options mul_bt = fwd;
    mul_bt.op_b = spbmm::Op::T;
    spbmm::TrainingOptions tro;
    tro.threads = threads;

    auto t0 = Clock::now();
    spbmm::PlanOptions po;
    po.threads = threads;
    po.both_ops = true;  // forward (op N) and backward (op T) from one plan
    const spbmm::Plan<T, I> plan(a_view, kFeatures, po);
    const double plan_seconds = seconds_since(t0);

    double loss = 0;
    std::array<double, kParts> part{};
    T* values = a.values().data();
    const auto nnz = static_cast<std::int64_t>(da.size());
    const std::int64_t dense_count = total_nodes * kFeatures;
    const T* hp = h.values().data();
    const T* rp = r.values().data();
    const auto step = [&] {
      auto tp = Clock::now();
      const auto lap = [&](Part p) {
        const auto now = Clock::now();
        part[p] = std::chrono::duration<double>(now - tp).count();
        tp = now;
      };
      spbmm::bmm_into<T, I>(z.view(), x_view, w_one, 1, 0, fwd);
      lap(kXw);
      plan.execute(h.view(), z.view());
      lap(kAz);
      double sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(threads) schedule(static)
      for (std::int64_t k = 0; k < dense_count; ++k)
        sum += static_cast<double>(hp[k]) * static_cast<double>(rp[k]);
      loss = sum;
      lap(kLoss);
      // d loss / dH = R.
      plan.execute(dz.view(), r.view(), 1, 0, spbmm::Op::T);
      lap(kAtDh);
      spbmm::bmm_sum_into<T, I>(dw.view(), x_view, dz.view(), 1, 0, sum_t);
      lap(kDw);
      spbmm::bmm_into<T, I>(dx.view(), dz_view, w_one, 1, 0, mul_bt);
      lap(kDx);
      spbmm::sddmm_into<T, I>(std::span<T>(da), a, r.view(), z.view(), 1, 0, tro);
      lap(kDa);
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::int64_t p = 0; p < nnz; ++p)
        values[p] -= kLearningRate * da[static_cast<std::size_t>(p)];
      lap(kSgd);
    };

    // The first step is the warm-up; its gradients belong to the initial values, so they are
    // what --dump writes.
    step();
    const double first_loss = loss;
    if (!dump.empty()) {
      namespace fs = std::filesystem;
      const fs::path dir(dump);
      fs::create_directories(dir);
      std::vector<std::int64_t> node_offsets{0}, nnz_offsets{0}, row_ptr;
      row_ptr.reserve(static_cast<std::size_t>(total_nodes) + 1);
      row_ptr.push_back(0);
      // One block-diagonal CSR: global row pointers and columns, as PyG's batch holds them.
      std::vector<std::int32_t> col_global(static_cast<std::size_t>(a.total_nnz()));
      for (std::size_t g = 0; g < graphs; ++g) {
        const auto e = a.entry(g);
        const std::int64_t base = nnz_offsets.back();
        for (std::int64_t i = 0; i < e.rows; ++i) row_ptr.push_back(base + e.row_ptr[i + 1]);
        for (std::int64_t q = 0; q < a.nnz(g); ++q)
          col_global[static_cast<std::size_t>(base + q)] =
              static_cast<std::int32_t>(node_offsets.back() + e.col_idx[q]);
        node_offsets.push_back(node_offsets.back() + e.rows);
        nnz_offsets.push_back(base + a.nnz(g));
      }
      write_raw(dir / "node_offsets.i64", node_offsets.data(), node_offsets.size());
      write_raw(dir / "nnz_offsets.i64", nnz_offsets.data(), nnz_offsets.size());
      write_raw(dir / "row_ptr.i64", row_ptr.data(), row_ptr.size());
      write_raw(dir / "col_idx.i32", col_global.data(), col_global.size());
      write_raw(dir / "values.f32", initial_values.data(), initial_values.size());
      write_raw(dir / "x.f32", x.values().data(), x.values().size());
      write_raw(dir / "w.f32", w.values().data(), w.values().size());
      write_raw(dir / "r.f32", r.values().data(), r.values().size());
      write_raw(dir / "dx.f32", dx.values().data(), dx.values().size());
      write_raw(dir / "dw.f32", dw.values().data(), dw.values().size());
      write_raw(dir / "da.f32", da.data(), da.size());
    }

    double best = std::numeric_limits<double>::infinity();
    std::array<double, kParts> best_parts{};
    std::array<double, kParts> min_parts;
    min_parts.fill(std::numeric_limits<double>::infinity());
    for (int rep = 0; rep < reps; ++rep) {
      t0 = Clock::now();
      step();
      const double s = seconds_since(t0);
      for (int p = 0; p < kParts; ++p) min_parts[p] = std::min(min_parts[p], part[p]);
      if (s < best) {
        best = s;
        best_parts = part;
      }
    }

    // Flops: three dense products of nodes x 128 x 128, three sparse products of nnz x 128 (A Z,
    // A^T dH, SDDMM), the loss and the update.
    const double f_dense = 2.0 * static_cast<double>(total_nodes) * kFeatures * kFeatures;
    const double f_sparse = 2.0 * static_cast<double>(nnz) * kFeatures;
    const std::array<double, kParts> flops = {f_dense, f_sparse, 2.0 * dense_count, f_sparse,
                                              f_dense, f_dense,  f_sparse,          2.0 * nnz};
    double total_flops = 0;
    for (const double f : flops) total_flops += f;

    std::printf(
        "W11 GCN training step: %zu graphs, %lld nodes, %lld nnz, N = %lld, fp32 int32, "
        "%d threads, best of %d after a warm-up\n",
        graphs, static_cast<long long>(total_nodes), static_cast<long long>(nnz),
        static_cast<long long>(kFeatures), threads, reps);
    std::printf("plan (both ops, made once): %.3f ms; first-step loss %.6e\n", plan_seconds * 1e3,
                first_loss);
    std::printf("step: %.3f ms, %.1f GFLOP/s (%.2f GFLOP)\n", best * 1e3, total_flops / best * 1e-9,
                total_flops * 1e-9);
    std::printf("%-30s %10s %8s %10s %10s\n", "part (of the best step)", "ms", "share", "GFLOP/s",
                "best ms");
    for (int p = 0; p < kParts; ++p)
      std::printf("%-30s %10.3f %7.1f%% %10.1f %10.3f\n", kPartNames[p], best_parts[p] * 1e3,
                  100.0 * best_parts[p] / best, flops[p] / best_parts[p] * 1e-9,
                  min_parts[p] * 1e3);

    if (!dump.empty()) {
      const std::filesystem::path path = std::filesystem::path(dump) / "manifest.json";
      std::FILE* f = std::fopen(path.c_str(), "w");
      if (f == nullptr) {
        std::fprintf(stderr, "bench_w11: cannot open %s for writing\n", path.c_str());
        return 1;
      }
      std::fprintf(f,
                   "{\n  \"workload\": \"W11\",\n  \"byte_order\": \"little\",\n"
                   "  \"graphs\": %zu,\n  \"total_nodes\": %lld,\n  \"total_nnz\": %lld,\n"
                   "  \"features\": %lld,\n  \"threads\": %d,\n  \"reps\": %d,\n"
                   "  \"loss\": %.17g,\n  \"spbmm_step_ms\": %.6f,\n  \"spbmm_plan_ms\": %.6f,\n"
                   "  \"step_gflop\": %.6f,\n  \"spbmm_parts_ms\": {",
                   graphs, static_cast<long long>(total_nodes), static_cast<long long>(nnz),
                   static_cast<long long>(kFeatures), threads, reps, first_loss, best * 1e3,
                   plan_seconds * 1e3, total_flops * 1e-9);
      for (int p = 0; p < kParts; ++p)
        std::fprintf(f, "%s\n    \"%s\": %.6f", p ? "," : "", kPartNames[p], best_parts[p] * 1e3);
      std::fprintf(f,
                   "\n  },\n  \"files\": {\n"
                   "    \"node_offsets.i64\": \"int64 [graphs + 1]: first node of each graph\",\n"
                   "    \"nnz_offsets.i64\": \"int64 [graphs + 1]: first stored entry of each "
                   "graph\",\n"
                   "    \"row_ptr.i64\": \"int64 [total_nodes + 1]: block-diagonal CSR row "
                   "pointers\",\n"
                   "    \"col_idx.i32\": \"int32 [total_nnz]: global column of each entry\",\n"
                   "    \"values.f32\": \"float32 [total_nnz]: A's values before the step\",\n"
                   "    \"x.f32\": \"float32 [total_nodes, features] row-major\",\n"
                   "    \"w.f32\": \"float32 [features, features] row-major\",\n"
                   "    \"r.f32\": \"float32 [total_nodes, features]: dloss/dH\",\n"
                   "    \"dx.f32\": \"float32 [total_nodes, features]: spbmm's dloss/dX\",\n"
                   "    \"dw.f32\": \"float32 [features, features]: spbmm's dloss/dW\",\n"
                   "    \"da.f32\": \"float32 [total_nnz]: spbmm's dloss/dA at A's entries\"\n"
                   "  }\n}\n");
      if (std::fclose(f) != 0) {
        std::fprintf(stderr, "bench_w11: writing %s failed\n", path.c_str());
        return 1;
      }
      std::printf("dumped the inputs and the first step's gradients to %s\n", dump.c_str());
    }
    return 0;
  } catch (const spbmm::Error& e) {
    std::fprintf(stderr, "bench_w11: %s\n", e.what());
    return 1;
  }
}
