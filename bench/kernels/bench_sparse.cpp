// Benchmarks spbmm's CPU sparse x dense kernel against Eigen on workloads W3, W4 and W8.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "baselines_sparse.hpp"
#include "kernels/cpu/isa.hpp"
#include "kernels/kernels.hpp"
#include "spbmm/convert.hpp"
#include "spbmm/dense.hpp"
#include "spbmm/sparse.hpp"
#include "workloads.hpp"

namespace {

using spbmm::CsrBatch;
using spbmm::DenseBatch;
using spbmm::DenseBatchView;
using spbmm::DenseView;
using spbmm::Op;
namespace cpu = spbmm::kernels::cpu;

// With cpu_clock the process's CPU time instead of wall time: on a loaded machine the time a
// single-threaded run spends descheduled then does not count.
bool cpu_clock = false;

struct Args {
  int threads = 2;
  int reps = 7;
  std::vector<std::string> workloads;
  std::vector<std::string> precisions;
  std::string isa;      // "" keeps the detected ISA
  std::string against;  // "" compares with Eigen, else with spbmm's kernel on this ISA
  cpu::Isa ours_isa = cpu::active_isa();
  cpu::Isa base_isa = cpu::Isa::Generic;
  std::int64_t fold = 0;  // > 0: column indices taken modulo this (B of that many rows)
};

bool parse_isa(const std::string& s, cpu::Isa& isa) {
  if (s == "generic") {
    isa = cpu::Isa::Generic;
  } else if (s == "avx2") {
    isa = cpu::Isa::Avx2Fma;
  } else if (s == "avx512") {
    isa = cpu::Isa::Avx512;
  } else {
    return false;
  }
  return true;
}

void usage() {
  std::fprintf(stderr,
               "usage: bench_sparse [--threads T] [--reps R] [--precision fp32|fp64]\n"
               "                    [--isa generic|avx2|avx512] [--against generic|avx2|avx512]\n"
               "                    [--cpu-time] [--fold-columns M] [W3] [W4] [W8]\n"
               "Runs spbmm's CPU CSR x dense kernel and Eigen interleaved (one warm-up, best of\n"
               "R >= 7 runs each) and prints GFLOP/s (2 * nnz * N per second) and the ratio.\n"
               "--against replaces Eigen by spbmm's kernel on another code path (--isa picks the\n"
               "first one), so two paths are compared under the same load. --cpu-time times\n"
               "with the process's CPU time (meaningful with --threads 1 on a loaded machine).\n"
               "W3 is one product; W4 runs as a loop of products and with entries over threads;\n"
               "W8 runs with entries over threads (the kernel serial inside each).\n"
               "--fold-columns M takes every column index modulo M (B then has M rows): the\n"
               "same gathers from a B small enough to stay in cache, to see what the gathers\n"
               "from a large B cost.\n");
}

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (s == "--threads" || s == "--reps") {
      const char* v = value();
      if (v == nullptr) return false;
      (s == "--threads" ? args.threads : args.reps) = std::atoi(v);
    } else if (s == "--precision" || s == "--isa" || s == "--against") {
      const char* v = value();
      if (v == nullptr) return false;
      if (s == "--isa") {
        args.isa = v;
      } else if (s == "--against") {
        args.against = v;
      } else {
        args.precisions.emplace_back(v);
      }
    } else if (s == "--cpu-time") {
      cpu_clock = true;
    } else if (s == "--fold-columns") {
      const char* v = value();
      if (v == nullptr) return false;
      args.fold = std::atoll(v);
      if (args.fold < 1) return false;
    } else if (s == "W3" || s == "W4" || s == "W8") {
      args.workloads.push_back(s);
    } else {
      return false;
    }
  }
  if (args.threads < 1 || args.reps < 1) return false;
  if (args.reps < 7) args.reps = 7;
  if (args.workloads.empty()) args.workloads = {"W3", "W4", "W8"};
  if (args.precisions.empty()) args.precisions = {"fp32", "fp64"};
  return true;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double seconds(const std::function<void()>& f) {
  if (cpu_clock) {
    const double t0 = cpu_seconds();
    f();
    return cpu_seconds() - t0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One warm-up of each, then `reps` rounds alternating the two so that load from other
// processes hits both alike; the best time of each is kept.
std::pair<double, double> best_interleaved(const std::function<void()>& ours,
                                           const std::function<void()>& theirs, int reps) {
  ours();
  theirs();
  double a = 1e300, b = 1e300;
  for (int r = 0; r < reps; ++r) {
    a = std::min(a, seconds(ours));
    b = std::min(b, seconds(theirs));
  }
  return {a, b};
}

// max |x - y| / max |y| over all entries of the batch.
template <class T>
double relative_error(const DenseBatch<T>& x, const DenseBatch<T>& y) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < x.values().size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(x.values()[i]) - y.values()[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(y.values()[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

struct Row {
  std::string workload, precision, how;
  double flops, ours, theirs, error;
};

void print(const Row& r) {
  std::printf("%-4s %-5s %-34s %10.2f %10.2f %7.2fx %9.1e\n", r.workload.c_str(),
              r.precision.c_str(), r.how.c_str(), r.flops / r.ours * 1e-9,
              r.flops / r.theirs * 1e-9, r.theirs / r.ours, r.error);
  std::fflush(stdout);
}

// The same rows with every column index taken modulo `fold` (entries that meet are summed): the
// same number of gathers per row, now from a B of `fold` rows, which stays in cache when small.
template <class T, class I>
CsrBatch<T, I> fold_columns(const CsrBatch<T, I>& a, std::int64_t fold) {
  std::vector<spbmm::CsrMatrix<T, I>> out;
  for (std::size_t k = 0; k < a.size(); ++k) {
    const auto e = a.entry(k);
    const std::int64_t cols = std::min<std::int64_t>(fold, e.cols);
    std::vector<I> r, c;
    std::vector<T> v;
    for (std::int64_t i = 0; i < e.rows; ++i) {
      for (auto p = e.row_ptr[i]; p < e.row_ptr[i + 1]; ++p) {
        r.push_back(static_cast<I>(i));
        c.push_back(static_cast<I>(e.col_idx[p] % cols));
        v.push_back(e.values[p]);
      }
    }
    const spbmm::CooMatrix<T, I> coo(e.rows, cols, std::move(r), std::move(c), std::move(v));
    out.push_back(spbmm::to_csr(coo.view()));
  }
  return CsrBatch<T, I>::from_list(out);
}

// over_entries: one entry per thread with the kernel serial inside (as the dispatcher runs many
// small entries); otherwise a loop over entries, each product using every thread.
template <class T>
Row run(const std::string& workload, const std::string& precision, const Args& args,
        bool over_entries) {
  using I = std::int32_t;
  constexpr std::int64_t kNW3 = 64, kNW4 = 64, kNW8 = 128;
  CsrBatch<T, I> a;
  std::int64_t n = 0;
  if (workload == "W3") {
    a = CsrBatch<T, I>::from_list({spbmm::bench::rmat<T, I>()});
    n = kNW3;
  } else if (workload == "W4") {
    a = spbmm::bench::w4_batch<T, I>();
    n = kNW4;
  } else {
    a = spbmm::bench::w8_batch<T, I>();
    n = kNW8;
  }
  if (args.fold > 0) a = fold_columns(a, args.fold);
  const DenseBatch<T> b = spbmm::bench::rhs_for(a, n);
  std::vector<std::int64_t> rows(a.size()), cols(a.size(), n);
  for (std::size_t i = 0; i < a.size(); ++i) rows[i] = a.rows(i);
  DenseBatch<T> c_ours(rows, cols), c_theirs(rows, cols);
  const DenseBatchView<const T> bv = b.view();
  const DenseBatchView<T> co = c_ours.view(), ct = c_theirs.view();
  const auto entries = static_cast<std::int64_t>(a.size());
  const double flops = 2.0 * static_cast<double>(a.total_nnz()) * static_cast<double>(n);

  omp_set_num_threads(args.threads);
  std::function<void()> ours, theirs;
  std::string how;
  // spbmm's kernel over the batch, writing `out`.
  std::function<void(const DenseBatchView<T>&)> kernel;
  if (over_entries) {
    how = "entries over threads (dynamic)";
    kernel = [&](const DenseBatchView<T>& out) {
#pragma omp parallel for schedule(dynamic)
      for (std::int64_t i = 0; i < entries; ++i) {
        const auto k = static_cast<std::size_t>(i);
        cpu::csr_dense<T, I>(Op::N, Op::N, T(1), a.entry(k), bv[k], T(0), out[k]);
      }
    };
    theirs = [&] { spbmm::bench::eigen_csr_dense_batch(a, bv, ct, args.threads); };
  } else {
    how = entries == 1 ? "one product, threads inside" : "loop of entries, threads inside";
    kernel = [&](const DenseBatchView<T>& out) {
      for (std::size_t k = 0; k < a.size(); ++k) {
        cpu::csr_dense<T, I>(Op::N, Op::N, T(1), a.entry(k), bv[k], T(0), out[k]);
      }
    };
    theirs = [&] {
      const spbmm::bench::EigenThreads scope(args.threads);
      for (std::size_t k = 0; k < a.size(); ++k) {
        spbmm::bench::eigen_csr_dense(a.entry(k), bv[k], ct[k]);
      }
    };
  }
  ours = [&] {
    cpu::force_isa(args.ours_isa);
    kernel(co);
  };
  if (!args.against.empty()) {
    how = (over_entries ? "entries/threads " : "threads inside ") +
          std::string(cpu::to_string(args.ours_isa)) + " vs " + cpu::to_string(args.base_isa);
    theirs = [&] {
      cpu::force_isa(args.base_isa);
      kernel(ct);
    };
  }
  const auto [t_ours, t_theirs] = best_interleaved(ours, theirs, args.reps);
  return {workload, precision, how, flops, t_ours, t_theirs, relative_error(c_ours, c_theirs)};
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, args)) {
    usage();
    return 2;
  }
  if ((!args.isa.empty() && !parse_isa(args.isa, args.ours_isa)) ||
      (!args.against.empty() && !parse_isa(args.against, args.base_isa))) {
    usage();
    return 2;
  }
  args.ours_isa = cpu::force_isa(args.ours_isa);
  if (!args.against.empty()) {
    // Both paths write their own output, compared with each other.
    args.base_isa = cpu::force_isa(args.base_isa);
    cpu::force_isa(args.ours_isa);
  }
  std::printf("threads %d, best of %d, spbmm path %s\n", args.threads, args.reps,
              cpu::to_string(cpu::active_isa()));
  std::printf("%-4s %-5s %-34s %10s %10s %8s %9s\n", "work", "prec", "how", "spbmm GF/s",
              args.against.empty() ? "Eigen GF/s" : "base GF/s", "ratio", "rel err");
  for (const auto& w : args.workloads) {
    for (const auto& p : args.precisions) {
      // W4 both ways: its entries are large enough for either.
      std::vector<bool> modes = {w == "W8"};
      if (w == "W4") modes.push_back(true);
      for (bool over_entries : modes) {
        if (p == "fp32") {
          print(run<float>(w, p, args, over_entries));
        } else if (p == "fp64") {
          print(run<double>(w, p, args, over_entries));
        } else {
          usage();
          return 2;
        }
      }
    }
  }
  return 0;
}
