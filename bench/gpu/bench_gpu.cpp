// G1-G4 on the GPU: spbmm's executor against raw cuSPARSE calls on the same device buffers, and
// Auto's choice (plans and sddmm with host operands) against each forced kernel.
//
// Usage: bench_gpu [results.csv]. Exits 2 when Auto is more than 1.1x slower than the best
// forced kernel on some workload, or the estimates are off by more than 2x (both are printed).
// fp32, row-major dense operands, CUDA-event timing on one stream, best of 10 runs after 3 warm-up
// runs. GFLOP/s counts 2 * nnz * N. Every timed result (raw and spbmm) is checked against a
// double-precision CPU product on a sample of rows, and a short diagnostic first settles what
// cuSPARSE's strided-batch CSR SpMM computes.
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
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/sparse.hpp"
#include "spbmm/training.hpp"

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

// ---- CPU checks: a double-precision product on a sample of rows of every entry.

constexpr std::int64_t kSampleRows = 64;  // rows checked per entry (evenly spread)
constexpr double kTolerance = 1e-3;       // fp32 products of a few hundred terms stay far below

// Largest relative error |got - want| / max(1, |want|) of C_i = A_i * B_i over sampled rows of
// every entry; `a`, `b` and `c` are row-major host data, entry by entry.
std::vector<double> entry_errors(const std::vector<const Csr*>& a,
                                 const spbmm::DenseBatch<float>& b,
                                 const spbmm::DenseBatch<float>& c) {
  std::vector<double> errors;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const Csr& m = *a[a.size() == 1 ? 0 : i];
    const auto bv = b.entry(b.size() == 1 ? 0 : i);
    const auto cv = c.entry(i);
    const std::int64_t n = cv.cols;
    const std::int64_t step = std::max<std::int64_t>(1, m.rows() / kSampleRows);
    double worst = 0;
    std::vector<double> row(static_cast<std::size_t>(n));
    for (std::int64_t r = 0; r < m.rows(); r += step) {
      std::fill(row.begin(), row.end(), 0.0);
      for (auto p = m.row_ptr()[static_cast<std::size_t>(r)];
           p < m.row_ptr()[static_cast<std::size_t>(r) + 1]; ++p) {
        const auto q = static_cast<std::size_t>(p);
        const double v = m.values()[q];
        const std::int64_t k = m.col_idx()[q];
        for (std::int64_t j = 0; j < n; ++j) row[static_cast<std::size_t>(j)] += v * bv(k, j);
      }
      for (std::int64_t j = 0; j < n; ++j) {
        const double want = row[static_cast<std::size_t>(j)];
        const double d = std::fabs(static_cast<double>(cv(r, j)) - want);
        worst = std::max(worst, d / std::max(1.0, std::fabs(want)));
      }
    }
    errors.push_back(worst);
  }
  return errors;
}

double max_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::isnan(x) ? 1e30 : x);
  return m;
}

std::string verdict(double err) {
  char line[64];
  std::snprintf(line, sizeof line, "%s, max rel error %.1e", err <= kTolerance ? "ok" : "WRONG",
                err);
  return line;
}

// Checks a device result against the CPU and prints one line.
double check_line(const char* workload, const std::string& what, const std::vector<const Csr*>& a,
                  const spbmm::DenseBatch<float>& b, const gpu::DeviceDenseBatch<float>& c) {
  const double err = max_of(entry_errors(a, b, c.download()));
  std::printf("  %-4s check vs CPU reference (%lld sampled rows per entry): %-40s %s\n", workload,
              static_cast<long long>(kSampleRows), what.c_str(), verdict(err).c_str());
  std::fflush(stdout);
  return err;
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

int g_failures = 0;

// Best wall-clock time in ms of f() (host operands: copies and waits included), after one
// warm-up call.
double best_wall_ms(const std::function<void()>& f, int runs = 5) {
  f();
  double best = 1e300;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best * 1e3;
}

// An estimate against a measurement: off by more than 2x either way counts as a failure.
void check_estimate(const char* w, const char* what, double estimate_ms, double measured_ms) {
  const double r = estimate_ms / measured_ms;
  const bool ok = r >= 0.5 && r <= 2.0;
  if (!ok) ++g_failures;
  std::printf("  %-4s estimate %-44s %8.3f ms, measured %8.3f ms (x%.2f) %s\n", w, what,
              estimate_ms, measured_ms, r, ok ? "ok" : "OFF BY MORE THAN 2x");
  std::fflush(stdout);
}

// Plans over host B and C: Auto (the default model, its GPU figures found by itself) against
// every kernel forced, each timed on the same operands.
void auto_vs_forced(const char* w, const spbmm::CsrBatch<float, std::int32_t>& host, std::int64_t n,
                    double flops, const spbmm::MachineModel& machine, std::mt19937_64& rng) {
  using spbmm::Kernel;
  const spbmm::BatchView<float, std::int32_t> av(host);
  std::vector<std::int64_t> b_rows, c_rows;
  for (std::size_t i = 0; i < host.size(); ++i) {
    b_rows.push_back(host.cols(i));
    c_rows.push_back(host.rows(i));
  }
  const std::vector<std::int64_t> ns(host.size(), n);
  spbmm::DenseBatch<float> b(b_rows, ns);
  spbmm::DenseBatch<float> c(c_rows, ns);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (auto& x : b.values()) x = u(rng);
  double best = 1e300;
  std::string best_name;
  for (const Kernel k : {Kernel::Gpu, Kernel::Sparse}) {
    spbmm::PlanOptions po;
    po.policy.force = k;
    po.machine = &machine;
    try {
      const spbmm::Plan<float, std::int32_t> plan(av, n, po);
      const double ms = best_wall_ms([&] { plan.execute(c.view(), b.view()); });
      add(w, std::string("plan, host B and C, forced ") + spbmm::to_string(k), "wall clock", ms,
          flops, ms);
      if (k == Kernel::Gpu) {
        double est = 0;
        for (const auto& ch : plan.choices()) est += ch.estimated_seconds;
        check_estimate(w, "gpu with host operands (sum over entries)", est * 1e3, ms);
      }
      if (ms < best) {
        best = ms;
        best_name = spbmm::to_string(k);
      }
    } catch (const spbmm::Error& e) {
      std::printf("  %-4s forced %s: not run (%s)\n", w, spbmm::to_string(k), e.what());
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const spbmm::Plan<float, std::int32_t> plan(av, n);
  const double plan_ms =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 1e3;
  const double ms = best_wall_ms([&] { plan.execute(c.view(), b.view()); });
  int on_gpu = 0;
  for (const auto& ch : plan.choices()) on_gpu += ch.kernel == Kernel::Gpu ? 1 : 0;
  const std::string text = plan.explain();
  const auto line = [&](const char* key) {
    const auto at = text.find(key);
    return at == std::string::npos ? std::string("-") : text.substr(at, text.find('\n', at) - at);
  };
  const double ratio = ms / best;
  const bool ok = ratio <= 1.1;
  if (!ok) ++g_failures;
  add(w, "plan, host B and C, Auto",
      std::to_string(on_gpu) + " of " + std::to_string(host.size()) + " entries on the gpu", ms,
      flops, best);
  std::printf(
      "  %-4s Auto: %.3f ms vs best forced (%s) %.3f ms: x%.2f %s; plan made in %.1f ms\n"
      "       %s\n       %s\n",
      w, ms, best_name.c_str(), best, ratio, ok ? "ok" : "AUTO MORE THAN 1.1x SLOWER", plan_ms,
      line("gpu figures:").c_str(), line("batch split").c_str());
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

// ---- What cuSPARSE's strided-batch CSR SpMM computes: one small uniform batch, several ways of
// laying out and describing A, each entry checked against the CPU.

struct StridedVariant {
  const char* name;
  bool global_row_ptr;  // row pointers continue across entries (entry i's start at i * nnz)
  bool same_pattern;    // every entry has entry 0's row pointers (nonzeros per row)
  bool shared_a;        // one A broadcast over the batch (batch stride 0)
  std::int64_t cv_stride_factor;  // columnsValuesBatchStride = factor * nnz
};

void strided_diagnostic(cusparseHandle_t h, cudaStream_t stream, std::mt19937_64& rng) {
  const int batch = 8;
  const std::int64_t m = 64, nnz = 400, n = 16;
  std::printf(
      "Strided-batch diagnostic: %d entries of %lld x %lld, nnz %lld each, N = %lld, row-major "
      "B and C\n",
      batch, static_cast<long long>(m), static_cast<long long>(m), static_cast<long long>(nnz),
      static_cast<long long>(n));
  // Entries with distinct row patterns, and entries sharing entry 0's row pointers.
  std::vector<Csr> distinct, same;
  for (int i = 0; i < batch; ++i) distinct.push_back(uniform_random(m, m, nnz, rng));
  {
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    const Csr& p = distinct[0];
    for (int i = 0; i < batch; ++i) {
      std::vector<std::int32_t> ci;
      std::vector<float> v;
      for (std::int64_t r = 0; r < m; ++r) {
        const auto lo = p.row_ptr()[static_cast<std::size_t>(r)];
        const auto hi = p.row_ptr()[static_cast<std::size_t>(r) + 1];
        // Row r keeps its count but takes other columns: a shifted copy of entry 0's.
        std::vector<std::int32_t> cols;
        for (auto q = lo; q < hi; ++q) {
          cols.push_back(
              static_cast<std::int32_t>((p.col_idx()[static_cast<std::size_t>(q)] + 7 * i) % m));
        }
        std::sort(cols.begin(), cols.end());
        for (auto c : cols) {
          ci.push_back(c);
          v.push_back(u(rng));
        }
      }
      same.emplace_back(m, m, p.row_ptr(), std::move(ci), std::move(v));
    }
  }
  const auto hb = [&] {
    auto x = spbmm::DenseBatch<float>::uniform(batch, m, n);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (auto& e : x.values()) e = u(rng);
    return x;
  }();
  const gpu::DeviceDenseBatch<float> b(hb);
  const auto c = gpu::DeviceDenseBatch<float>::uniform(batch, m, n);

  const StridedVariant variants[] = {
      {"(a) per-entry row pointers from 0, offsets stride rows+1, col/val stride nnz", false, false,
       false, 1},
      {"(b) global row pointers, offsets stride rows+1, col/val stride nnz", true, false, false, 1},
      {"(c) global row pointers, offsets stride rows+1, col/val stride 0", true, false, false, 0},
      {"(d) same row pointers in every entry, offsets stride rows+1, col/val stride nnz", false,
       true, false, 1},
      {"(e) one A broadcast: batch count 8, strides 0 and 0; B strided", false, false, true, 1},
  };
  for (const auto& v : variants) {
    const std::vector<Csr>& list = v.same_pattern ? same : distinct;
    std::vector<std::int32_t> rp, ci;
    std::vector<float> vals;
    const int entries = v.shared_a ? 1 : batch;
    for (int i = 0; i < entries; ++i) {
      const Csr& e = list[static_cast<std::size_t>(i)];
      for (auto x : e.row_ptr()) {
        rp.push_back(v.global_row_ptr ? x + static_cast<std::int32_t>(i * nnz) : x);
      }
      ci.insert(ci.end(), e.col_idx().begin(), e.col_idx().end());
      vals.insert(vals.end(), e.values().begin(), e.values().end());
    }
    gpu::DeviceBuffer drp(rp.size() * sizeof(std::int32_t));
    gpu::DeviceBuffer dci(ci.size() * sizeof(std::int32_t));
    gpu::DeviceBuffer dv(vals.size() * sizeof(float));
    drp.upload(rp.data(), rp.size() * sizeof(std::int32_t));
    dci.upload(ci.data(), ci.size() * sizeof(std::int32_t));
    dv.upload(vals.data(), vals.size() * sizeof(float));
    std::vector<const Csr*> ref;
    for (int i = 0; i < entries; ++i) ref.push_back(&list[static_cast<std::size_t>(i)]);
    for (cusparseSpMMAlg_t alg : {CUSPARSE_SPMM_CSR_ALG2, CUSPARSE_SPMM_ALG_DEFAULT}) {
      const char* alg_name = alg == CUSPARSE_SPMM_CSR_ALG2 ? "CSR_ALG2" : "ALG_DEFAULT";
      cusparseSpMatDescr_t da = nullptr;
      cusparseDnMatDescr_t db = nullptr, dc = nullptr;
      CHECK_SPARSE(cusparseCreateCsr(&da, m, m, nnz, drp.as<std::int32_t>(), dci.as<std::int32_t>(),
                                     dv.as<float>(), CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                     CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
      CHECK_SPARSE(cusparseCreateDnMat(&db, m, n, n, b.data(), CUDA_R_32F, CUSPARSE_ORDER_ROW));
      CHECK_SPARSE(cusparseCreateDnMat(&dc, m, n, n, c.data(), CUDA_R_32F, CUSPARSE_ORDER_ROW));
      CHECK_SPARSE(cusparseCsrSetStridedBatch(da, batch, v.shared_a ? 0 : m + 1,
                                              v.shared_a ? 0 : v.cv_stride_factor * nnz));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(db, batch, m * n));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(dc, batch, m * n));
      std::size_t bytes = 0;
      const cusparseStatus_t st = cusparseSpMM_bufferSize(
          h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &kOne, da, db,
          &kZero, dc, CUDA_R_32F, alg, &bytes);
      std::string result;
      if (st != CUSPARSE_STATUS_SUCCESS) {
        result = std::string("refused: ") + cusparseGetErrorString(st);
      } else {
        gpu::DeviceBuffer ws(std::max<std::size_t>(bytes, 1));
        CHECK_CUDA(cudaMemsetAsync(c.data(), 0xff,
                                   static_cast<std::size_t>(batch * m * n) * sizeof(float),
                                   stream));  // NaNs: entries left unwritten show up
        const cusparseStatus_t run =
            cusparseSpMM(h, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                         &kOne, da, db, &kZero, dc, CUDA_R_32F, alg, ws.data());
        CHECK_CUDA(cudaStreamSynchronize(stream));
        if (run != CUSPARSE_STATUS_SUCCESS) {
          result = std::string("cusparseSpMM failed: ") + cusparseGetErrorString(run);
        } else {
          const auto errs = entry_errors(ref, hb, c.download());
          char buf[32];
          for (double e : errs) {
            std::snprintf(buf, sizeof buf, " %.1e", e);
            result += buf;
          }
          result += max_of(errs) <= kTolerance ? "  => CORRECT" : "  => WRONG";
        }
      }
      std::printf("  strided variant %s, %s: max rel error per entry:%s%s\n", v.name, alg_name,
                  st == CUSPARSE_STATUS_SUCCESS ? "" : " ", result.c_str());
      std::fflush(stdout);
      cusparseDestroySpMat(da);
      cusparseDestroyDnMat(db);
      cusparseDestroyDnMat(dc);
    }
  }
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
    strided_diagnostic(h, stream, rng);
    // The figures a plan finds by itself (the per-device cache, or measured now).
    const auto f0 = std::chrono::steady_clock::now();
    const spbmm::MachineModel machine = spbmm::MachineModel::for_device();
    std::printf(
        "GPU figures (%s) in %.1f ms: SpMM %.0f GFLOP/s, GEMM %.0f GFLOP/s, H2D %.1f GB/s, "
        "D2H %.1f GB/s, staging %.1f GB/s, launch %.1f us, copy %.1f us, wait %.1f us\n",
        machine.gpu_source.c_str(),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count() * 1e3,
        machine.gpu_gflops, machine.gpu_dense_gflops, machine.gpu_transfer_gbps,
        machine.gpu_d2h_gbps, machine.gpu_stage_gbps, machine.gpu_launch_seconds * 1e6,
        machine.gpu_copy_seconds * 1e6, machine.gpu_sync_seconds * 1e6);

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
      const auto hb = b.download();
      const std::vector<const Csr*> ref = {&a_host};
      const double raw = best_ms(stream, [&] { spmm(h, d, ws.data()); });
      const double raw_err = check_line("G1", "raw cusparseSpMM (CSR_ALG2)", ref, hb, c_raw);
      add("G1", "raw cusparseSpMM (CSR_ALG2)", "one call; " + verdict(raw_err), raw, flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      // Checked right after the beta = 0 runs: the beta = 1 runs below accumulate into C.
      const double ours_err = check_line("G1", "spbmm Executor::spmm", ref, hb, c);
      add("G1", "spbmm Executor::spmm", ex.last_report().str() + "; " + verdict(ours_err), ours,
          flops, raw);
      const double ours_b1 = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 1); });
      add("G1", "spbmm Executor::spmm (beta = 1)", "no zeroing of C (not checked: accumulates)",
          ours_b1, flops, raw);
      // Host operands: B up, C down, A resident; against the transfer estimate.
      auto hc = c.download();
      double host_best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto s0 = std::chrono::steady_clock::now();
        gpu::bmm_into(ex, a, hc.view(), hb.view(), 1, 0);
        host_best =
            std::min(host_best,
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
      }
      {
        const double err = max_of(entry_errors(ref, hb, hc));
        std::printf("  G1   check vs CPU reference (%lld sampled rows per entry): %-40s %s\n",
                    static_cast<long long>(kSampleRows), "spbmm bmm_into, host B and C",
                    verdict(err).c_str());
      }
      const double est = gpu::estimate_seconds(spbmm::gpu::dense_bytes<float>(a_host.cols(), n),
                                               spbmm::gpu::dense_bytes<float>(a_host.rows(), n));
      std::printf(
          "  G1 host operands (bmm_into, B up + C down): best %.3f ms; transfer estimate "
          "%.3f ms + kernel %.3f ms\n",
          host_best * 1e3, est * 1e3, ours);
      rows.push_back({"G1", "spbmm bmm_into, host B and C", "transfers included", host_best * 1e3,
                      flops / host_best / 1e9, raw / (host_best * 1e3)});
      {
        spbmm::EntryStats st;
        st.rows = a_host.rows();
        st.cols = a_host.cols();
        st.n = n;
        st.nnz = a_host.nnz();
        spbmm::Policy host_ops;
        host_ops.expected_calls = 1 << 30;  // A resident here
        spbmm::Policy resident = host_ops;
        resident.gpu_b_on_host = false;
        resident.gpu_c_on_host = false;
        check_estimate("G1", "gpu, host B and C (bmm_into)",
                       spbmm::estimate_gpu(st, host_ops, machine).total() * 1e3, host_best * 1e3);
        check_estimate("G1", "gpu, device-resident (Executor::spmm)",
                       spbmm::estimate_gpu(st, resident, machine).total() * 1e3, ours);
      }
      auto_vs_forced("G1", spbmm::CsrBatch<float, std::int32_t>::from_list({a_host}), n, flops,
                     machine, rng);
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
      const auto hb = b.download();
      std::vector<const Csr*> ref;
      for (const auto& e : list) ref.push_back(&e);
      // Raw baseline: the block-diagonal matrix diag(A_0, ..., A_31) times the stacked B, one
      // cusparseSpMM written directly on the arrays DeviceCsrBatch uploaded.
      Descriptors bd;
      CHECK_SPARSE(cusparseCreateCsr(&bd.a, a.total_rows(), a.total_cols(), a.total_nnz(),
                                     const_cast<std::int32_t*>(a.stacked_row_ptr()),
                                     const_cast<std::int32_t*>(a.block_col_idx()),
                                     const_cast<float*>(a.all_values()), CUSPARSE_INDEX_32I,
                                     CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
      CHECK_SPARSE(cusparseCreateDnMat(&bd.b, a.total_cols(), n, n, b.data(), CUDA_R_32F,
                                       CUSPARSE_ORDER_ROW));
      CHECK_SPARSE(cusparseCreateDnMat(&bd.c, a.total_rows(), n, n, c_raw.data(), CUDA_R_32F,
                                       CUSPARSE_ORDER_ROW));
      gpu::DeviceBuffer ws_bd(std::max<std::size_t>(buffer_size(h, bd), 1));
      const double raw = best_ms(stream, [&] { spmm(h, bd, ws_bd.data()); });
      const double raw_err = check_line("G2", "raw block-diagonal cusparseSpMM", ref, hb, c_raw);
      add("G2", "raw block-diagonal cusparseSpMM", "one call; baseline; " + verdict(raw_err), raw,
          flops, raw);
      // The strided-batch call as cuSPARSE documents it (per-entry row pointers from 0, offsets
      // stride rows + 1, column/value stride nnz), timed and checked; its ratio is against the
      // block-diagonal baseline above.
      Descriptors d = describe(a, 0, b.entry(0), c_raw.entry(0));
      CHECK_SPARSE(cusparseCsrSetStridedBatch(d.a, static_cast<int>(batch), m + 1, nnz));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(d.b, static_cast<int>(batch), m * n));
      CHECK_SPARSE(cusparseDnMatSetStridedBatch(d.c, static_cast<int>(batch), m * n));
      gpu::DeviceBuffer ws(std::max<std::size_t>(buffer_size(h, d), 1));
      const double strided = best_ms(stream, [&] { spmm(h, d, ws.data()); });
      const double strided_err = check_line("G2", "raw strided-batch cusparseSpMM", ref, hb, c_raw);
      add("G2",
          strided_err <= kTolerance ? "raw strided-batch cusparseSpMM"
                                    : "raw strided-batch cusparseSpMM (WRONG RESULTS)",
          "one call; " + verdict(strided_err), strided, flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      const double ours_err = check_line("G2", "spbmm Executor::spmm", ref, hb, c);
      add("G2", "spbmm Executor::spmm", ex.last_report().str() + "; " + verdict(ours_err), ours,
          flops, raw);
      gpu::Options o;
      o.force = gpu::Path::PerEntry;
      const double pe = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0, o); });
      const double pe_err = check_line("G2", "spbmm, per entry forced", ref, hb, c);
      add("G2", "spbmm, per entry forced (4 streams)",
          ex.last_report().str() + "; " + verdict(pe_err), pe, flops, raw);
      destroy(d);
      destroy(bd);
      auto_vs_forced("G2", host, n, flops, machine, rng);
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
      const auto hb = b.download();
      std::vector<const Csr*> ref;
      for (const auto& e : list) ref.push_back(&e);
      const double raw_err = check_line("G3", "raw cusparseSpMM loop", ref, hb, c_raw);
      add("G3", "raw cusparseSpMM loop, one per graph", "512 calls; " + verdict(raw_err), raw,
          flops, raw);
      const double ours = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0); });
      const double ours_err = check_line("G3", "spbmm Executor::spmm", ref, hb, c);
      add("G3", "spbmm Executor::spmm", ex.last_report().str() + "; " + verdict(ours_err), ours,
          flops, raw);
      gpu::Options o;
      o.force = gpu::Path::PerEntry;
      const double pe = best_ms(stream, [&] { ex.spmm(a, b.view(), c.view(), 1, 0, o); });
      const double pe_err = check_line("G3", "spbmm, per entry forced", ref, hb, c);
      add("G3", "spbmm, per entry forced (4 streams)",
          ex.last_report().str() + "; " + verdict(pe_err), pe, flops, raw);
      for (auto& d : ds) destroy(d);
      auto_vs_forced("G3", host, n, flops, machine, rng);

      // ---- G4: W10, SDDMM at the pattern of the G3 graphs, k = 128.
      const std::int64_t k = 128;
      std::printf("G4: SDDMM on the G3 graphs, nnz %lld, k = %lld\n",
                  static_cast<long long>(total_nnz), static_cast<long long>(k));
      const std::vector<std::int64_t> ks(batch, k);
      const gpu::DeviceDenseBatch<float> dx(sizes, ks), dy(sizes, ks);
      fill_random(dx, rng);
      fill_random(dy, rng);
      const double sddmm_flops = 2.0 * static_cast<double>(total_nnz) * static_cast<double>(k);
      const auto nnz_bytes = static_cast<std::size_t>(total_nnz) * sizeof(float);
      gpu::DeviceBuffer out(nnz_bytes), out_raw(nnz_bytes);
      struct SddmmDesc {
        cusparseSpMatDescr_t c = nullptr;
        cusparseDnMatDescr_t x = nullptr, y = nullptr;
      };
      std::vector<SddmmDesc> sd(batch);
      std::size_t sd_bytes = 1;
      const float one = 1.0f, zero = 0.0f;
      const auto op = CUSPARSE_OPERATION_NON_TRANSPOSE;
      for (std::size_t i = 0; i < batch; ++i) {
        const std::int64_t off = a.values(i) - a.all_values();
        CHECK_SPARSE(cusparseCreateCsr(
            &sd[i].c, a.rows(i), a.cols(i), a.nnz(i), const_cast<std::int32_t*>(a.row_ptr(i)),
            const_cast<std::int32_t*>(a.col_idx(i)), out_raw.as<float>() + off, CUSPARSE_INDEX_32I,
            CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F));
        CHECK_SPARSE(cusparseCreateDnMat(&sd[i].x, sizes[i], k, k, dx.entry(i).data, CUDA_R_32F,
                                         CUSPARSE_ORDER_ROW));
        // Y_i^T: Y_i (row-major cols x k) read as a column-major k x cols matrix.
        CHECK_SPARSE(cusparseCreateDnMat(&sd[i].y, k, sizes[i], k, dy.entry(i).data, CUDA_R_32F,
                                         CUSPARSE_ORDER_COL));
        std::size_t need = 0;
        CHECK_SPARSE(cusparseSDDMM_bufferSize(h, op, op, &one, sd[i].x, sd[i].y, &zero, sd[i].c,
                                              CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, &need));
        sd_bytes = std::max(sd_bytes, need);
      }
      gpu::DeviceBuffer sd_ws(sd_bytes);
      const double raw_sddmm = best_ms(stream, [&] {
        for (const auto& d : sd) {
          CHECK_SPARSE(cusparseSDDMM(h, op, op, &one, d.x, d.y, &zero, d.c, CUDA_R_32F,
                                     CUSPARSE_SDDMM_ALG_DEFAULT, sd_ws.data()));
        }
      });
      const double ours_sddmm = best_ms(stream, [&] {
        ex.sddmm<float, std::int32_t>(a, dx.view(), dy.view(), out.as<float>(), 1, 0);
      });
      const std::string sddmm_path = ex.last_report().str();
      // Checked against the CPU kernel on the same operands.
      const auto hx = dx.download();
      const auto hy = dy.download();
      const auto want =
          spbmm::sddmm(host, hx.view(), hy.view(), 1.0f, 0.0f, {.kernel = spbmm::Kernel::Sparse});
      const auto rel_err = [&](const gpu::DeviceBuffer& buf) {
        std::vector<float> got(static_cast<std::size_t>(total_nnz));
        buf.download(got.data(), nnz_bytes);
        double worst = 0;
        for (std::size_t q = 0; q < got.size(); ++q) {
          const double w = want.values()[q];
          const double e = std::fabs(got[q] - w) / std::max(1.0, std::fabs(w));
          worst = std::max(worst, std::isnan(e) ? 1e30 : e);
        }
        return worst;
      };
      add("G4", "raw cusparseSDDMM loop, one per graph", "512 calls; " + verdict(rel_err(out_raw)),
          raw_sddmm, sddmm_flops, raw_sddmm);
      add("G4", "spbmm Executor::sddmm", sddmm_path + "; " + verdict(rel_err(out)), ours_sddmm,
          sddmm_flops, raw_sddmm);
      for (auto& d : sd) {
        cusparseDestroySpMat(d.c);
        cusparseDestroyDnMat(d.x);
        cusparseDestroyDnMat(d.y);
      }
      // The training API with host operands: Auto against each kernel forced.
      std::vector<float> vals(static_cast<std::size_t>(total_nnz));
      double best_forced = 1e300;
      std::string best_name;
      for (const spbmm::Kernel kern : {spbmm::Kernel::Gpu, spbmm::Kernel::Sparse}) {
        const double ms = best_wall_ms([&] {
          spbmm::sddmm_into(std::span<float>(vals), host, hx.view(), hy.view(), 1.0f, 0.0f,
                            {.kernel = kern});
        });
        add("G4", std::string("sddmm, host X and Y, forced ") + spbmm::to_string(kern),
            "wall clock", ms, sddmm_flops, raw_sddmm);
        if (ms < best_forced) {
          best_forced = ms;
          best_name = spbmm::to_string(kern);
        }
      }
      const double auto_ms = best_wall_ms([&] {
        spbmm::sddmm_into(std::span<float>(vals), host, hx.view(), hy.view(), 1.0f, 0.0f);
      });
      add("G4", "sddmm, host X and Y, Auto", "wall clock", auto_ms, sddmm_flops, raw_sddmm);
      const bool auto_ok = auto_ms / best_forced <= 1.1;
      if (!auto_ok) ++g_failures;
      std::printf("  G4   Auto: %.3f ms vs best forced (%s) %.3f ms: x%.2f %s\n", auto_ms,
                  best_name.c_str(), best_forced, auto_ms / best_forced,
                  auto_ok ? "ok" : "AUTO MORE THAN 1.1x SLOWER");
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
  if (g_failures > 0) {
    std::printf(
        "bench_gpu: %d check(s) failed (Auto slower than 1.1x the best forced kernel, or "
        "an estimate off by more than 2x)\n",
        g_failures);
    return 2;
  }
  return 0;
}
