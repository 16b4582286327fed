// MachineModel::calibrate: times the kernels on small synthetic problems to fill the model.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

#include "dispatch/gpu_cache.hpp"
#include "kernels/cpu/dense_dense.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/cpu/xsmm.hpp"
#include "kernels/kernels.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"

namespace spbmm {
namespace {

using Clock = std::chrono::steady_clock;

// Each thread multiplies its own copy of the operands, as in the batch loop, so the per-thread
// rates include the memory bandwidth the threads share.
template <class Problem>
double per_thread_seconds(int threads, Problem& make, double target_seconds) {
  const int t = std::max(threads, 1);
  std::vector<typename Problem::State> states;
  states.reserve(static_cast<std::size_t>(t));
  for (int i = 0; i < t; ++i) states.push_back(make.state(static_cast<std::uint64_t>(i)));
  // One untimed call per thread warms caches and page mappings, then the call count doubles
  // until a round lasts long enough that the parallel region's own cost does not count.
  auto round = [&](int calls) {
    const auto start = Clock::now();
#ifdef _OPENMP
#pragma omp parallel num_threads(t)
#endif
    {
#ifdef _OPENMP
      auto& s = states[static_cast<std::size_t>(omp_get_thread_num())];
#else
      auto& s = states[0];
#endif
      for (int k = 0; k < calls; ++k) make.run(s);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  round(1);
  int calls = 1;
  double took = round(calls);
  while (took < target_seconds / 4 && calls < 1000000) {
    calls *= 2;
    took = round(calls);
  }
  // Best of several rounds: other processes on the machine only ever make a round slower.
  double best = took / calls;
  for (int r = 0; r < 9; ++r) best = std::min(best, round(calls) / calls);
  return best;
}

template <class T>
std::vector<T> random_values(std::size_t count, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}

template <class T>
CsrMatrix<T, std::int32_t> random_csr(std::int64_t rows, std::int64_t cols, double density,
                                      std::mt19937_64& rng) {
  std::bernoulli_distribution keep(density);
  std::uniform_real_distribution<double> val(-1.0, 1.0);
  std::vector<std::int32_t> rp{0}, ci;
  std::vector<T> vals;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      if (keep(rng)) {
        ci.push_back(static_cast<std::int32_t>(c));
        vals.push_back(static_cast<T>(val(rng)));
      }
    }
    rp.push_back(static_cast<std::int32_t>(ci.size()));
  }
  return CsrMatrix<T, std::int32_t>(rows, cols, std::move(rp), std::move(ci), std::move(vals));
}

enum class Which { Cpu, Eigen };

template <class T>
struct SparseProblem {
  std::int64_t rows, cols, n;
  double density;
  Which which;
  struct State {
    CsrMatrix<T, std::int32_t> a;
    DenseMatrix<T> b, c;
  };
  State state(std::uint64_t seed) {
    std::mt19937_64 rng(seed + 11);
    State s{random_csr<T>(rows, cols, density, rng), DenseMatrix<T>(cols, n),
            DenseMatrix<T>(rows, n)};
    s.b.values() = random_values<T>(static_cast<std::size_t>(cols * n), rng);
    return s;
  }
  void run(State& s) {
    if (which == Which::Cpu) {
      kernels::cpu::csr_dense<T, std::int32_t>(Op::N, Op::N, T(1), s.a.view(), s.b.view(), T(0),
                                               s.c.view());
    } else {
      kernels::eigen::csr_dense<T, std::int32_t>(Op::N, Op::N, T(1), s.a.view(), s.b.view(), T(0),
                                                 s.c.view());
    }
  }
  double flops(const State& s) const { return 2.0 * static_cast<double>(s.a.nnz() * n); }
};

template <class T>
struct DenseProblem {
  std::int64_t m, k, n;
  Which which;
  struct State {
    DenseMatrix<T> a, b, c;
  };
  State state(std::uint64_t seed) {
    std::mt19937_64 rng(seed + 23);
    State s{DenseMatrix<T>(m, k), DenseMatrix<T>(k, n), DenseMatrix<T>(m, n)};
    s.a.values() = random_values<T>(static_cast<std::size_t>(m * k), rng);
    s.b.values() = random_values<T>(static_cast<std::size_t>(k * n), rng);
    return s;
  }
  void run(State& s) {
    if (which == Which::Cpu) {
      kernels::cpu::dense_dense<T>(Op::N, Op::N, T(1), s.a.view(), s.b.view(), T(0), s.c.view());
    } else {
      kernels::eigen::dense_dense<T>(Op::N, Op::N, T(1), s.a.view(), s.b.view(), T(0), s.c.view());
    }
  }
  double flops() const { return 2.0 * static_cast<double>(m * k * n); }
};

struct ConvertProblem {
  struct State {
    CsrMatrix<float, std::int32_t> a;
  };
  State state(std::uint64_t seed) {
    std::mt19937_64 rng(seed + 31);
    return {random_csr<float>(512, 512, 0.1, rng)};
  }
  void run(State& s) {
    const DenseMatrix<float> d = to_dense(s.a.view());
    if (d.values().empty()) throw Error("empty conversion");
  }
  static double bytes() { return 512.0 * 512.0 * sizeof(float); }
};

// Writing a C-sized block that does not stay in cache, as a product's output stream.
struct WriteProblem {
  struct State {
    std::vector<float> c;
  };
  State state(std::uint64_t) { return {std::vector<float>(std::size_t{1} << 22, 1.0f)}; }
  void run(State& s) {
    const float v = s.c[1] + 1.0f;
    std::fill(s.c.begin(), s.c.end(), v);
  }
  static double bytes() { return static_cast<double>(std::size_t{1} << 22) * sizeof(float); }
};

// Reading a block that no cache holds, as a batch whose operands outgrow the cache reads them:
// each thread sums its own share. The sum uses the widest loads the kernels use (AVX-512 where
// the CPU has it): with the baseline's 16-byte loads the same buffers read a third slower.
#if defined(__x86_64__)
__attribute__((target("avx512f"))) float sum_avx512(const float* x, std::size_t count) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(s0, s1));
  float s = 0;
  for (const float l : lanes) s += l;
  for (; i < count; ++i) s += x[i];
  return s;
}
#endif

float sum_floats(const float* x, std::size_t count) {
#if defined(__x86_64__)
  if (kernels::cpu::cpu_has_avx512()) return sum_avx512(x, count);
#endif
  // Eight partial sums keep the loop bound by the loads, not by the latency of the additions.
  float part[8] = {};
  const std::size_t whole = count / 8 * 8;
  for (std::size_t i = 0; i < whole; i += 8) {
    for (int j = 0; j < 8; ++j) part[j] += x[i + static_cast<std::size_t>(j)];
  }
  float s = 0;
  for (const float p : part) s += p;
  for (std::size_t i = whole; i < count; ++i) s += x[i];
  return s;
}

struct StreamProblem {
  std::size_t floats;
  struct State {
    std::vector<float> x;
    float sum = 0;
  };
  State state(std::uint64_t) { return {std::vector<float>(floats, 1.0f), 0.0f}; }
  void run(State& s) { s.sum += sum_floats(s.x.data(), s.x.size()); }
};

// The last-level cache the operating system reports, in MB (0 when it says nothing).
double reported_cache_mb() {
#ifdef _SC_LEVEL3_CACHE_SIZE
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) return static_cast<double>(l3) / 1e6;
#endif
#ifdef _SC_LEVEL2_CACHE_SIZE
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l2 > 0) return static_cast<double>(l2) / 1e6;
#endif
  return 0;
}

template <class T>
double sparse_rate(int threads, std::int64_t n, Which which) {
  SparseProblem<T> p{2048, 2048, n, 0.01, which};
  const auto probe = p.state(0);
  return p.flops(probe) / per_thread_seconds(threads, p, 0.05) / 1e9;
}

template <class T>
double dense_rate(int threads, std::int64_t size, Which which) {
  DenseProblem<T> p{size, size, size, which};
  return p.flops() / per_thread_seconds(threads, p, 0.05) / 1e9;
}

// Making and optimizing one MKL handle (one thread), as CSR bytes per second.
double measure_mkl_inspect() {
  std::mt19937_64 rng(41);
  const CsrMatrix<float, std::int32_t> a = random_csr<float>(2048, 2048, 0.01, rng);
  double best = 1e300;
  for (int r = 0; r < 5; ++r) {
    const auto start = Clock::now();
    const auto h = kernels::mkl::SparseHandle::create<float, std::int32_t>(a.view(), 64, 100, 1);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
  }
  const double bytes = static_cast<double>(a.rows() + 1) * 4 + static_cast<double>(a.nnz()) * 8;
  return bytes / std::max(best, 1e-9) / 1e9;
}

// A CSR of `rows` x `rows` with `per_row` distinct random columns in each row (no draw per
// element: the streaming probe below makes hundreds of these).
template <class T>
CsrMatrix<T, std::int32_t> rows_of_k(std::int64_t rows, std::int64_t per_row,
                                     std::mt19937_64& rng) {
  std::uniform_int_distribution<std::int32_t> col(0, static_cast<std::int32_t>(rows - 1));
  std::vector<std::int32_t> rp{0}, ci, row;
  ci.reserve(static_cast<std::size_t>(rows * per_row));
  for (std::int64_t r = 0; r < rows; ++r) {
    row.clear();
    while (static_cast<std::int64_t>(row.size()) < per_row) {
      const std::int32_t c = col(rng);
      if (std::find(row.begin(), row.end(), c) == row.end()) row.push_back(c);
    }
    std::sort(row.begin(), row.end());
    ci.insert(ci.end(), row.begin(), row.end());
    rp.push_back(static_cast<std::int32_t>(ci.size()));
  }
  std::vector<T> vals(ci.size(), T(0.5));
  return CsrMatrix<T, std::int32_t>(rows, rows, std::move(rp), std::move(ci), std::move(vals));
}

// The best CPU round's time over the best MKL round's, after one warm-up of each: round(mkl)
// runs and times one round of the CPU kernel (false) or MKL (true), alternately `rounds` times.
template <class Round>
double cpu_over_mkl(const Round& round, int rounds) {
  round(false);
  round(true);
  double cpu = 1e300, mkl = 1e300;
  for (int r = 0; r < rounds; ++r) {
    cpu = std::min(cpu, round(false));
    mkl = std::min(mkl, round(true));
  }
  return cpu / std::max(mkl, 1e-12);
}

// MKL's SpMM time over the CPU sparse kernel's on the same products, every thread multiplying its
// own entries one after another (as the batch loop runs them), the two kernels in alternate
// rounds so that other load on the machine slows both alike. Cached: one 2048-row entry with 20
// entries per row per thread; streaming: entries of 4096 rows with 8 per row (a graph batch), as
// many as make the threads' operands twice `cache_mb`, so that they come from memory.
double mkl_sparse_speedup(int threads, std::int64_t n, bool streaming, double cache_mb) {
  using T = float;
  struct Entry {
    CsrMatrix<T, std::int32_t> a;
    DenseMatrix<T> b, c;
    std::unique_ptr<kernels::mkl::SparseHandle> h;
  };
  const int t = std::max(threads, 1);
  const std::int64_t rows = streaming ? 4096 : 2048, per_row = streaming ? 8 : 20;
  const double entry_bytes = static_cast<double>(rows) * (4.0 + 8.0 * static_cast<double>(per_row) +
                                                          8.0 * static_cast<double>(n));
  const auto per_thread = static_cast<std::size_t>(
      streaming ? std::clamp(2 * cache_mb * 1e6 / entry_bytes / t, 2.0, 256.0) : 1.0);
  std::vector<std::vector<Entry>> entries(static_cast<std::size_t>(t));
  const auto each_thread = [&](auto&& body) {
#ifdef _OPENMP
#pragma omp parallel num_threads(t)
    body(static_cast<std::size_t>(omp_get_thread_num()));
#else
    body(std::size_t{0});
#endif
  };
  // Each thread makes its own entries, so that their memory is near it.
  each_thread([&](std::size_t me) {
    std::mt19937_64 rng(97 + me);
    for (std::size_t e = 0; e < per_thread; ++e) {
      Entry x{rows_of_k<T>(rows, per_row, rng), DenseMatrix<T>(rows, n), DenseMatrix<T>(rows, n),
              nullptr};
      std::fill(x.b.values().begin(), x.b.values().end(), T(0.25));
      x.h = kernels::mkl::SparseHandle::create<T, std::int32_t>(x.a.view(), n, 100, 1);
      entries[me].push_back(std::move(x));
    }
  });
  // A cached round repeats its one product, so that a round lasts long enough to time.
  const int repeats = streaming ? 1 : 16;
  const auto round = [&](bool mkl) {
    const auto start = Clock::now();
    each_thread([&](std::size_t me) {
      for (int k = 0; k < repeats; ++k) {
        for (Entry& x : entries[me]) {
          if (mkl) {
            x.h->template multiply<T>(Op::N, T(1), x.b.view(), T(0), x.c.view());
          } else {
            kernels::cpu::csr_dense<T, std::int32_t>(Op::N, Op::N, T(1), x.a.view(), x.b.view(),
                                                     T(0), x.c.view());
          }
        }
      }
    });
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  return cpu_over_mkl(round, 15);
}

// MKL's gemm_batch time over the CPU dense kernel's on one batch of `count` products of size^3
// as a plan runs an all-dense batch (dense_batch, with LIBXSMM's generated kernels where the
// build has them), with `threads` threads, in alternate rounds.
double mkl_dense_speedup(int threads, std::int64_t size, std::size_t count) {
  using T = float;
  namespace cpu = kernels::cpu;
  std::mt19937_64 rng(53);
  std::vector<DenseMatrix<T>> a, b, c;
  std::vector<DenseView<const T>> av, bv;
  std::vector<DenseView<T>> cv;
  for (std::size_t i = 0; i < count; ++i) {
    a.emplace_back(size, size);
    b.emplace_back(size, size);
    c.emplace_back(size, size);
    a.back().values() = random_values<T>(static_cast<std::size_t>(size * size), rng);
    b.back().values() = random_values<T>(static_cast<std::size_t>(size * size), rng);
  }
  for (std::size_t i = 0; i < count; ++i) {
    av.push_back(a[i].view());
    bv.push_back(b[i].view());
    cv.push_back(c[i].view());
  }
  std::vector<cpu::SmallGemm> small;
  if (cpu::small_gemm_built() && size <= cpu::kSmallGemmMaxNK) {
    small.assign(count, cpu::make_small_gemm<T>(size, size, size, size, size, size));
  }
  const auto round = [&](bool mkl) {
    const auto start = Clock::now();
    if (mkl) {
      kernels::mkl::gemm_batch<T>(Op::N, Op::N, T(1), av, bv, T(0), cv, threads);
    } else {
      cpu::dense_batch<T>(Op::N, Op::N, T(1), av, bv, T(0), cv, threads,
                          small.empty() ? nullptr : &small);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  return cpu_over_mkl(round, 9);
}

}  // namespace

MachineModel MachineModel::calibrate(int threads) {
#ifdef _OPENMP
  const int t = threads > 0 ? threads : omp_get_max_threads();
#else
  const int t = 1;
#endif
  // One product per thread: BLAS threads inside them would oversubscribe the cores.
  kernels::cpu::BlasThreadsScope blas(1);
  MachineModel m;
  m.threads = t;
  m.sparse_gflops = sparse_rate<float>(t, 64, Which::Cpu);
  m.sparse_gflops_small_n = sparse_rate<float>(t, 4, Which::Cpu);
  m.dense_gflops_small = dense_rate<float>(t, 32, Which::Cpu);
  m.dense_gflops_large = dense_rate<float>(t, 256, Which::Cpu);
  m.eigen_sparse_gflops = sparse_rate<float>(t, 64, Which::Eigen);
  m.eigen_dense_gflops = dense_rate<float>(t, 128, Which::Eigen);
  m.f64_sparse_factor = sparse_rate<double>(t, 64, Which::Cpu) / m.sparse_gflops;
  m.f64_dense_factor = dense_rate<double>(t, 256, Which::Cpu) / m.dense_gflops_large;
  ConvertProblem convert;
  m.convert_gbps = ConvertProblem::bytes() / per_thread_seconds(t, convert, 0.05) / 1e9;
  WriteProblem write;
  m.memory_gbps = WriteProblem::bytes() / per_thread_seconds(t, write, 0.05) / 1e9;
  // A batch keeps a quarter of the reported last-level cache between calls: on the reference
  // machine (260 MiB reported, shared with other guests) reads slowed to the memory's speed once
  // the buffers passed 48 to 128 MB. The stream is read from 4 times that (at least 64 MB, at
  // most 1 GB in all).
  const double reported = reported_cache_mb();
  m.cache_mb = reported > 0 ? reported / 4 : 32;
  const double total = std::min(1e9, std::max(64e6, 4 * m.cache_mb * 1e6));
  StreamProblem stream{static_cast<std::size_t>(total / t / sizeof(float))};
  m.stream_gbps = static_cast<double>(stream.floats * sizeof(float)) /
                  per_thread_seconds(t, stream, 0.05) / 1e9;
  if (kernels::mkl::available()) {
    // MKL's SpMM as a multiple of the CPU sparse kernel's rate, the smaller of its speedup on
    // cached and on streaming operands: Auto takes MKL only where it won both. (With operands in
    // cache MKL won by 1.1-1.5x at N = 64 on the 2-core Xeon, 2026-12-07; on W4's and W8's
    // batches, from memory, it lost by 0.75-0.9x, which the cached figure alone would not see.)
    m.mkl_sparse_gflops = m.sparse_gflops * std::min(mkl_sparse_speedup(t, 64, false, m.cache_mb),
                                                     mkl_sparse_speedup(t, 64, true, m.cache_mb));
    m.mkl_sparse_gflops_small_n =
        m.sparse_gflops_small_n * std::min(mkl_sparse_speedup(t, 4, false, m.cache_mb),
                                           mkl_sparse_speedup(t, 4, true, m.cache_mb));
    // Likewise gemm_batch against the CPU dense kernel on a batch as plans run it (with its
    // generated kernels, which the per-product dense rates above do not see: on W1, 64 x 256^3,
    // the CPU's batch ran 1.1x faster than MKL's while those rates said MKL was).
    m.mkl_dense_gflops_small = m.dense_gflops_small * mkl_dense_speedup(t, 32, 1024);
    m.mkl_dense_gflops_large = m.dense_gflops_large * mkl_dense_speedup(t, 256, 16);
    m.mkl_inspect_gbps = measure_mkl_inspect();
  }
  if (gpu::available()) {
    dispatch::measure_gpu_figures(m);
    m.gpu_source = "measured now";
  }
  return m;
}

namespace dispatch {

// Short by design (it runs unasked the first time a plan could use the device): the operands
// are built without a random draw per element, and each rate is the best of a few rounds of ten
// calls. Most of its time is the CUDA context and library handles that the first use of the
// device creates anyway.
void measure_gpu_figures(MachineModel& m) {
  using T = float;
  using I = std::int32_t;
  gpu::Executor ex;
  const gpu::Bandwidth bw = ex.measure_bandwidth(std::size_t{16} << 20);
  m.gpu_transfer_gbps = bw.h2d_bytes_per_s / 1e9;
  m.gpu_d2h_gbps = bw.d2h_bytes_per_s / 1e9;
  m.gpu_copy_seconds = bw.latency_s;
  {
    // What packing host operands into staging runs at: one thread copying a block that does not
    // stay in cache.
    const std::size_t count = std::size_t{4} << 20;
    std::vector<T> from(count, 1.0f);
    std::vector<T> to(count, 0.0f);
    double best = 1e300;
    for (int r = 0; r < 4; ++r) {
      const auto start = Clock::now();
      std::copy(from.begin(), from.end(), to.begin());
      best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
      from[static_cast<std::size_t>(r)] = to[count - 1 - static_cast<std::size_t>(r)];
    }
    m.gpu_stage_gbps = static_cast<double>(count * sizeof(T)) / std::max(best, 1e-9) / 1e9;
  }
  const auto time = [&](auto&& call) {
    call();
    ex.synchronize();
    double best = 1e300;
    for (int r = 0; r < 3; ++r) {
      const auto start = Clock::now();
      for (int k = 0; k < 10; ++k) call();
      ex.synchronize();
      best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / 10);
    }
    return best;
  };
  // 4096 x 4096 with 41 nonzeros per row (1%), columns spread by an odd stride (so distinct).
  const std::int64_t size = 4096, per_row = 41, n = 64;
  std::vector<I> rp(static_cast<std::size_t>(size + 1));
  std::vector<I> ci;
  ci.reserve(static_cast<std::size_t>(size * per_row));
  for (std::int64_t r = 0; r < size; ++r) {
    rp[static_cast<std::size_t>(r)] = static_cast<I>(r * per_row);
    const std::size_t first = ci.size();
    for (std::int64_t k = 0; k < per_row; ++k)
      ci.push_back(static_cast<I>((r * 7 + k * 97) % size));
    std::sort(ci.begin() + static_cast<std::ptrdiff_t>(first), ci.end());
  }
  rp.back() = static_cast<I>(size * per_row);
  std::vector<T> values(ci.size(), 0.5f);
  const CsrMatrix<T, I> a(size, size, std::move(rp), std::move(ci), std::move(values));
  const gpu::DeviceCsrBatch<T, I> da(a.view());
  DenseBatch<T> hb = DenseBatch<T>::uniform(1, size, n);
  std::fill(hb.values().begin(), hb.values().end(), 0.25f);
  const gpu::DeviceDenseBatch<T> db(hb);
  gpu::DeviceDenseBatch<T> dc = gpu::DeviceDenseBatch<T>::uniform(1, size, n);
  const double spmm = time([&] { ex.spmm<T, I>(da, db.view(), dc.view(), 1.0f, 0.0f); });
  m.gpu_gflops = 2.0 * static_cast<double>(a.nnz() * n) / spmm / 1e9;
  const std::int64_t d = 1024;
  DenseBatch<T> ha = DenseBatch<T>::uniform(1, d, d);
  std::fill(ha.values().begin(), ha.values().end(), 0.5f);
  const gpu::DeviceDenseBatch<T> dda(ha);
  gpu::DeviceDenseBatch<T> ddc = gpu::DeviceDenseBatch<T>::uniform(1, d, d);
  const double gemm = time([&] { ex.gemm<T>(dda.view(), dda.view(), ddc.view(), 1.0f, 0.0f); });
  m.gpu_dense_gflops = 2.0 * static_cast<double>(d * d * d) / gemm / 1e9;
  // A 1x1 product is all overhead: on device operands the launch, with host operands also the
  // staging, two copies and the wait at the end.
  const CsrMatrix<T, I> tiny(1, 1, {0, 1}, {0}, {1.0f});
  const gpu::DeviceCsrBatch<T, I> dt(tiny.view());
  const gpu::DeviceDenseBatch<T> tb = gpu::DeviceDenseBatch<T>::uniform(1, 1, 1);
  gpu::DeviceDenseBatch<T> tc = gpu::DeviceDenseBatch<T>::uniform(1, 1, 1);
  m.gpu_launch_seconds = time([&] { ex.spmm<T, I>(dt, tb.view(), tc.view(), 1.0f, 0.0f); });
  DenseBatch<T> hb1 = DenseBatch<T>::uniform(1, 1, 1);
  DenseBatch<T> hc1 = DenseBatch<T>::uniform(1, 1, 1);
  const double host_call = time(
      [&] { gpu::bmm_into<T, I>(ex, dt, hc1.view(), DenseBatchView<const T>(hb1.view()), 1, 0); });
  m.gpu_sync_seconds = std::max(0.0, host_call - m.gpu_launch_seconds - 2 * m.gpu_copy_seconds);
}

}  // namespace dispatch
}  // namespace spbmm
