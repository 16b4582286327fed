// G1-G3 on the GPU: spbmm's executor against raw cuSPARSE calls on the same device buffers.
//
// Usage: bench_gpu [results.csv]. fp32, row-major dense operands, CUDA-event timing on one stream,
// best of 10 runs after 3 warm-up runs. GFLOP/s counts 2 * nnz * N.
#include <cuda_runtime_api.h>
#include <cusparse.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "spbmm/gpu.hpp"
#include "spbmm/sparse.hpp"

namespace {

namespace gpu = spbmm::gpu;
using Csr = spbmm::CsrMatrix<float, std::int32_t>;

#define CHECK_CUDA(x)                                                      \
  do {                                                                     \
    const cudaError_t e_ = (x);                                            \
    if (e_ != cudaSuccess) {                                               \
      std::fprintf(stderr, "%s failed: %s\n", #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                        \
    }                                                                      \
  } while (0)
#define CHECK_SPARSE(x)                                                        \
  do {                                                                         \
    const cusparseStatus_t s_ = (x);                                           \
    if (s_ != CUSPARSE_STATUS_SUCCESS) {                                       \
      std::fprintf(stderr, "%s failed: %s\n", #x, cusparseGetErrorString(s_)); \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

constexpr int kWarmup = 3;
constexpr int kRuns = 10;

// Canonical CSR from (row, col, value) triplets, duplicates summed.
Csr from_triplets(std::int64_t rows, std::int64_t cols, std::vector<std::uint64_t> keys,
                  const std::vector<float>& vals) {
  std::vector<std::size_t> order(keys.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return keys[x] < keys[y]; });
  std::vector<std::int32_t> rp(static_cast<std::size_t>(rows) + 1, 0), ci;
  std::vector<float> v;
  std::uint64_t last = ~std::uint64_t{0};
  for (std::size_t k : order) {
    if (keys[k] == last) {
      v.back() += vals[k];
      continue;
    }
    last = keys[k];
    const auto r = static_cast<std::int64_t>(keys[k] / static_cast<std::uint64_t>(cols));
    ci.push_back(static_cast<std::int32_t>(keys[k] % static_cast<std::uint64_t>(cols)));
    v.push_back(vals[k]);
    ++rp[static_cast<std::size_t>(r) + 1];
  }
  for (std::size_t r = 0; r < static_cast<std::size_t>(rows); ++r) rp[r + 1] += rp[r];
  return Csr(rows, cols, std::move(rp), std::move(ci), std::move(v));
}

// W3: R-MAT, scale 17, 2,000,000 edges, quadrant probabilities (0.57, 0.19, 0.19, 0.05).
Csr rmat(std::mt19937_64& rng) {
  const int scale = 17;
  const std::int64_t n = std::int64_t{1} << scale;
  const std::int64_t edges = 2'000'000;
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(edges));
  std::vector<float> vals(static_cast<std::size_t>(edges));
  for (std::int64_t e = 0; e < edges; ++e) {
    std::uint64_t r = 0, c = 0;
    for (int level = 0; level < scale; ++level) {
      const double p = u(rng);
      const std::uint64_t down = p >= 0.57 + 0.19 ? 1 : 0;                       // quadrants c, d
      const std::uint64_t right = (p >= 0.57 && p < 0.76) || p >= 0.95 ? 1 : 0;  // b, d
      r = (r << 1) | down;
      c = (c << 1) | right;
    }
    keys[static_cast<std::size_t>(e)] = r * static_cast<std::uint64_t>(n) + c;
    vals[static_cast<std::size_t>(e)] = static_cast<float>(u(rng));
  }
  return from_triplets(n, n, std::move(keys), vals);
}

// `nnz` distinct uniform positions of a rows x cols matrix (W4's fixed-nnz reading of density).
Csr uniform_random(std::int64_t rows, std::int64_t cols, std::int64_t nnz, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::uint64_t> pos(0, static_cast<std::uint64_t>(rows * cols) - 1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::unordered_set<std::uint64_t> seen;
  std::vector<std::uint64_t> keys;
  std::vector<float> vals;
  while (static_cast<std::int64_t>(keys.size()) < nnz) {
    const std::uint64_t p = pos(rng);
    if (seen.insert(p).second) {
      keys.push_back(p);
      vals.push_back(u(rng));
    }
  }
  return from_triplets(rows, cols, std::move(keys), vals);
}

// W8: a graph of n nodes with 8n random directed edges, duplicates summed.
Csr graph(std::int64_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::uint64_t> node(0, static_cast<std::uint64_t>(n) - 1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<std::uint64_t> keys(static_cast<std::size_t>(8 * n));
  std::vector<float> vals(keys.size());
  for (std::size_t e = 0; e < keys.size(); ++e) {
    keys[e] = node(rng) * static_cast<std::uint64_t>(n) + node(rng);
    vals[e] = u(rng);
  }
  return from_triplets(n, n, std::move(keys), vals);
}

void fill_random(const gpu::DeviceDenseBatch<float>& m, std::mt19937_64& rng) {
  auto host = m.download();
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& x : host.values()) x = u(rng);
  const_cast<gpu::DeviceDenseBatch<float>&>(m).upload(host);
}

// Best time in ms of f() on `stream`, after warm-up.
double best_ms(cudaStream_t stream, const std::function<void()>& f) {
  cudaEvent_t t0, t1;
  CHECK_CUDA(cudaEventCreate(&t0));
  CHECK_CUDA(cudaEventCreate(&t1));
  for (int i = 0; i < kWarmup; ++i) f();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  float best = 1e30f;
  for (int i = 0; i < kRuns; ++i) {
    CHECK_CUDA(cudaEventRecord(t0, stream));
    f();
    CHECK_CUDA(cudaEventRecord(t1, stream));
    CHECK_CUDA(cudaEventSynchronize(t1));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, t0, t1));
    best = std::min(best, ms);
  }
  cudaEventDestroy(t0);
  cudaEventDestroy(t1);
  return best;
}

// Largest relative difference between two device batches of the same shape.
double max_rel_diff(const gpu::DeviceDenseBatch<float>& x, const gpu::DeviceDenseBatch<float>& y) {
  const auto a = x.download();
  const auto b = y.download();
  double worst = 0;
  for (std::size_t i = 0; i < a.values().size(); ++i) {
    const double d = std::fabs(static_cast<double>(a.values()[i]) - b.values()[i]);
    worst = std::max(worst, d / std::max(1.0, std::fabs(static_cast<double>(b.values()[i]))));
  }
  return worst;
}

struct Row {
  std::string workload, impl, path;
  double ms, gflops, ratio;
};
std::vector<Row> rows;

void add(const std::string& w, const std::string& impl, const std::string& path, double ms,
         double flops, double anchor_ms) {
  rows.push_back({w, impl, path, ms, flops / (ms * 1e-3) / 1e9, anchor_ms / ms});
  std::printf("  %-4s %-40s %8.3f ms %9.1f GFLOP/s  x%.2f vs raw  [%s]\n", w.c_str(), impl.c_str(),
              ms, rows.back().gflops, rows.back().ratio, path.c_str());
  std::fflush(stdout);
}

struct Descriptors {
  cusparseSpMatDescr_t a = nullptr;
  cusparseDnMatDescr_t b = nullptr, c = nullptr;
};

Descriptors describe(const gpu::DeviceCsrBatch<float, std::int32_t>& a, std::size_t i,
                     const gpu::DeviceDenseView<float>& b, const gpu::DeviceDenseView<float>& c) {
  Descriptors d;
  CHECK_SPARSE(cusparseCreateCsr(
      &d.a, a.rows(i), a.cols(i), a.nnz(i), const_cast<std::int32_t*>(a.row_ptr(i)),
      const_cast<std::int32_t*>(a.col_idx(i)), const_cast<float*>(a.values(i)), CUSPARSE_INDEX_32I,
      CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
  CHECK_SPARSE(
      cusparseCreateDnMat(&d.b, b.rows, b.cols, b.ld, b.data, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  CHECK_SPARSE(
      cusparseCreateDnMat(&d.c, c.rows, c.cols, c.ld, c.data, CUDA_R_32F, CUSPARSE_ORDER_ROW));
  return d;
}

void destroy(Descriptors& d) {
  cusparseDestroySpMat(d.a);
  cusparseDestroyDnMat(d.b);
  cusparseDestroyDnMat(d.c);
}

const float kOne = 1.0f;
const float kZero = 0.0f;

std::size_t buffer_size(cusparseHandle_t h, const Descriptors& d) {
  std::size_t bytes = 0;
  CHECK_SPARSE(cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                       CUSPARSE_OPERATION_NON_TRANSPOSE, &kOne, d.a, d.b, &kZero,
                                       d.c, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, &bytes));
  return bytes;
}

void spmm(cusparseHandle_t h, const Descriptors& d, void* ws) {
  CHECK_SPARSE(cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                            &kOne, d.a, d.b, &kZero, d.c, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, ws));
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("spbmm GPU benchmark: %s\n", gpu::status().c_str());
  if (!gpu::available()) {
    std::printf("no device: nothing to measure\n");
    return 0;
  }
  try {
    gpu::Executor ex;
    const auto stream = static_cast<cudaStream_t>(ex.stream());
    cusparseHandle_t h = nullptr;
    CHECK_SPARSE(cusparseCreate(&h));
    CHECK_SPARSE(cusparseSetStream(h, stream));
    std::mt19937_64 rng(20240601);
    const gpu::Bandwidth bw = ex.measure_bandwidth();
    std::printf("pinned copies: H2D %.1f GB/s, D2H %.1f GB/s, latency %.1f us\n",
                bw.h2d_bytes_per_s / 1e9, bw.d2h_bytes_per_s / 1e9, bw.latency_s * 1e6);

    // ---- G1: W3 R-MAT x dense 131072 x 64, A resident.
    {
      const auto t0 = std::chrono::steady_clock::now();
      const Csr a_host = rmat(rng);
      const double gen_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const std::int64_t n = 64;
      std::printf("G1: R-MAT %lld x %lld, nnz %lld (generated in %.2f s), N = %lld\n",
                  static_cast<long long>(a_host.rows()), static_cast<long long>(a_host.cols()),
                  static_cast<long long>(a_host.nnz()), gen_s, static_cast<long long>(n));
      const gpu::DeviceCsrBatch<float, std::int32_t> a(a_host.view());
      const auto b = gpu::DeviceDenseBatch<float>::uniform(1, a_host.cols(), n);
      const auto c = gpu::DeviceDenseBatch<float>::uniform(1, a_host.rows(), n);
      const auto c_raw = gpu::DeviceDenseBatch<float>::uniform(1, a_host.rows(), n);
      fill_random(b, rng);
      const double flops = 2.0 * static_cast<double>(a_host.nnz()) * static_cast<double>(n);
      Descriptors d = describe(a, 0, b.entry(0), c_raw.entry(0));
      gpu::DeviceBuffer ws(std::max<std::size_t>(buffer_size(h, d), 1));
      const double raw = best_ms(stream, [&] { spmm(h, d, ws.data()); });
      add("G1", "raw cusparseSpMM (CSR_ALG2)", "one call", raw, flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      add("G1", "spbmm Executor::spmm", ex.last_report().str(), ours, flops, raw);
      const double ours_b1 = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 1); });
      add("G1", "spbmm Executor::spmm (beta = 1)", "no zeroing of C", ours_b1, flops, raw);
      std::printf("  G1 max relative difference spbmm vs raw: %.2e\n", max_rel_diff(c, c_raw));
      // Host operands: B up, C down, A resident; against the transfer estimate.
      auto hb = b.download();
      auto hc = c.download();
      double host_best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto s0 = std::chrono::steady_clock::now();
        gpu::bmm_into(ex, a, hc.view(), hb.view(), 1, 0);
        host_best =
            std::min(host_best,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
      }
      const double est = gpu::estimate_seconds(spbmm::gpu::dense_bytes<float>(a_host.cols(), n),
                                               spbmm::gpu::dense_bytes<float>(a_host.rows(), n));
      std::printf(
          "  G1 host operands (bmm_into, B up + C down): best %.3f ms; transfer estimate "
          "%.3f ms + kernel %.3f ms\n",
          host_best * 1e3, est * 1e3, ours);
      rows.push_back({"G1", "spbmm bmm_into, host B and C", "transfers included", host_best * 1e3,
                      flops / host_best / 1e9, raw / (host_best * 1e3)});
      destroy(d);
    }

    // ---- G2: W4, 32 entries of 4096 x 4096 at density 0.002, x dense 4096 x 64.
    {
      const std::size_t batch = 32;
      const std::int64_t m = 4096, n = 64;
      const auto nnz = static_cast<std::int64_t>(std::llround(0.002 * m * m));
      std::vector<Csr> list;
      for (std::size_t i = 0; i < batch; ++i) list.push_back(uniform_random(m, m, nnz, rng));
      std::printf("G2: %zu entries of %lld x %lld, nnz %lld each, N = %lld\n", batch,
                  static_cast<long long>(m), static_cast<long long>(m), static_cast<long long>(nnz),
                  static_cast<long long>(n));
      const auto host = spbmm::CsrBatch<float, std::int32_t>::from_list(list);
      const gpu::DeviceCsrBatch<float, std::int32_t> a(host);
      const auto b = gpu::DeviceDenseBatch<float>::uniform(batch, m, n);
      const auto c = gpu::DeviceDenseBatch<float>::uniform(batch, m, n);
      const auto c_raw = gpu::DeviceDenseBatch<float>::uniform(batch, m, n);
      fill_random(b, rng);
      const double flops = 2.0 * static_cast<double>(nnz * static_cast<std::int64_t>(batch) * n);
      Descriptors d = describe(a, 0, b.entry(0), c_raw.entry(0));
      CHECK_SPARSE(cusparseCsrSetStridedBatch(d.a, static_cast<int>(batch), m + 1, nnz));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(d.b, static_cast<int>(batch), m * n));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(d.c, static_cast<int>(batch), m * n));
      gpu::DeviceBuffer ws(std::max<std::size_t>(buffer_size(h, d), 1));
      const double raw = best_ms(stream, [&] { spmm(h, d, ws.data()); });
      add("G2", "raw strided-batch cusparseSpMM", "one call", raw, flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      add("G2", "spbmm Executor::spmm", ex.last_report().str(), ours, flops, raw);
      std::printf("  G2 max relative difference spbmm vs raw: %.2e\n", max_rel_diff(c, c_raw));
      gpu::Options o;
      o.force = gpu::Path::BlockDiagonal;
      const double bd = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0, o); });
      add("G2", "spbmm, block-diagonal forced", ex.last_report().str(), bd, flops, raw);
      destroy(d);
    }

    // ---- G3: W8, 512 graphs of 50..2000 nodes, average degree 8, x features N = 128.
    {
      const std::size_t batch = 512;
      const std::int64_t n = 128;
      std::uniform_int_distribution<std::int64_t> nodes(50, 2000);
      std::vector<Csr> list;
      std::vector<std::int64_t> sizes;
      std::int64_t total_nnz = 0;
      for (std::size_t i = 0; i < batch; ++i) {
        sizes.push_back(nodes(rng));
        list.push_back(graph(sizes.back(), rng));
        total_nnz += list.back().nnz();
      }
      std::int64_t total_nodes = 0;
      for (std::int64_t v : sizes) total_nodes += v;
      std::printf("G3: %zu graphs, %lld nodes, nnz %lld, N = %lld\n", batch,
                  static_cast<long long>(total_nodes), static_cast<long long>(total_nnz),
                  static_cast<long long>(n));
      const auto host = spbmm::CsrBatch<float, std::int32_t>::from_list(list);
      const gpu::DeviceCsrBatch<float, std::int32_t> a(host);
      const gpu::DeviceDenseBatch<float> b(sizes, std::vector<std::int64_t>(batch, n));
      const gpu::DeviceDenseBatch<float> c(sizes, std::vector<std::int64_t>(batch, n));
      const gpu::DeviceDenseBatch<float> c_raw(sizes, std::vector<std::int64_t>(batch, n));
      fill_random(b, rng);
      const double flops = 2.0 * static_cast<double>(total_nnz) * static_cast<double>(n);
      std::vector<Descriptors> ds;
      std::size_t bytes = 1;
      for (std::size_t i = 0; i < batch; ++i) {
        ds.push_back(describe(a, i, b.entry(i), c_raw.entry(i)));
        bytes = std::max(bytes, buffer_size(h, ds.back()));
      }
      gpu::DeviceBuffer ws(bytes);
      const double raw = best_ms(stream, [&] {
        for (const auto& d : ds) spmm(h, d, ws.data());
      });
      add("G3", "raw cusparseSpMM loop, one per graph", "512 calls", raw, flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      add("G3", "spbmm Executor::spmm", ex.last_report().str(), ours, flops, raw);
      std::printf("  G3 max relative difference spbmm vs raw: %.2e\n", max_rel_diff(c, c_raw));
      gpu::Options o;
      o.force = gpu::Path::PerEntry;
      const double pe = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0, o); });
      add("G3", "spbmm, per entry forced (4 streams)", ex.last_report().str(), pe, flops, raw);
      for (auto& d : ds) destroy(d);
    }
    cusparseDestroy(h);

    std::printf(
        "\n| workload | implementation | ms | GFLOP/s | vs raw cuSPARSE "
        "|\n|---|---|---|---|---|\n");
    for (const auto& r : rows) {
      std::printf("| %s | %s | %.3f | %.1f | %.2f |\n", r.workload.c_str(), r.impl.c_str(), r.ms,
                  r.gflops, r.ratio);
    }
    if (argc > 1) {
      if (FILE* f = std::fopen(argv[1], "w")) {
        std::fprintf(f, "workload,implementation,ms,gflops,ratio_vs_raw,path\n");
        for (const auto& r : rows) {
          std::fprintf(f, "%s,\"%s\",%.4f,%.2f,%.3f,\"%s\"\n", r.workload.c_str(), r.impl.c_str(),
                       r.ms, r.gflops, r.ratio, r.path.c_str());
        }
        std::fclose(f);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
