// Auto against Kernel::Mkl and Kernel::Sparse forced, on the sparse workloads W3, W4 and W8 at
// several widths N of B, in the same run: which kernel Auto took, and whether it ran as fast as
// the faster forced one.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "kernels/mkl/mkl.hpp"
#include "spbmm/spbmm.hpp"
#include "workloads.hpp"

namespace {

using I = std::int32_t;
using T = float;
using Clock = std::chrono::steady_clock;

constexpr const char* kHelp =
    "usage: mkl_auto [--threads T] [--reps R] [--n N,N,...]\n"
    "\n"
    "Times plans of W3 (R-MAT 2^17), W4 (32 x CSR 4096^2) and W8 (512 graphs) at each width N of\n"
    "B (default 4,64): Auto, Kernel::Mkl and Kernel::Sparse forced, interleaved round by round,\n"
    "best of R (default 10) after a warm-up. Auto considers MKL only with MKL figures: set\n"
    "SPBMM_MACHINE_FILE to the output of `spbmm calibrate` (with the MKL backend built). Prints\n"
    "auto / faster forced; exit status 1 without the MKL backend.\n";

double seconds(const spbmm::Plan<T, I>& plan, const spbmm::DenseBatchView<T>& c,
               const spbmm::DenseBatchView<const T>& b) {
  const auto start = Clock::now();
  plan.execute(c, b);
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void run(const char* id, const spbmm::CsrBatch<T, I>& a, std::int64_t n, int threads, int reps) {
  const spbmm::BatchView<T, I> av(a);
  const spbmm::DenseBatch<T> b = spbmm::bench::rhs_for<T, I>(a, n);
  std::vector<std::int64_t> rows(a.size()), cols(a.size(), n);
  for (std::size_t i = 0; i < a.size(); ++i) rows[i] = a.rows(i);
  const spbmm::Kernel kernels[] = {spbmm::Kernel::Auto, spbmm::Kernel::Mkl, spbmm::Kernel::Sparse};
  std::vector<spbmm::Plan<T, I>> plans;
  std::vector<spbmm::DenseBatch<T>> out;
  for (const spbmm::Kernel k : kernels) {
    spbmm::PlanOptions po;
    po.threads = threads;
    po.policy.force = k;
    po.policy.allow_gpu = false;
    plans.emplace_back(av, n, po);
    out.emplace_back(rows, cols);
  }
  double best[3] = {1e300, 1e300, 1e300};
  for (int r = -1; r < reps; ++r) {
    for (int k = 0; k < 3; ++k) {
      const double s = seconds(plans[k], out[k].view(), b.view());
      if (r >= 0) best[k] = std::min(best[k], s);
    }
  }
  std::map<std::string, int> chose;
  for (const auto& c : plans[0].choices()) ++chose[spbmm::to_string(c.kernel)];
  std::string took;
  for (const auto& [name, count] : chose) took += " " + name + " " + std::to_string(count);
  const double faster = std::min(best[1], best[2]);
  std::printf(
      "%-3s N=%-4lld auto %8.3f ms  mkl %8.3f ms  sparse %8.3f ms  auto/faster %.2f  auto "
      "took:%s\n",
      id, static_cast<long long>(n), best[0] * 1e3, best[1] * 1e3, best[2] * 1e3, best[0] / faster,
      took.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 10;
  std::vector<std::int64_t> widths = {4, 64};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "mkl_auto: %s needs a value (see --help)\n", arg.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (arg == "--threads") {
      threads = std::atoi(v.c_str());
    } else if (arg == "--reps") {
      reps = std::atoi(v.c_str());
    } else if (arg == "--n") {
      widths.clear();
      for (std::size_t at = 0; at < v.size();) {
        const auto comma = v.find(',', at);
        widths.push_back(std::atoll(v.substr(at, comma - at).c_str()));
        at = comma == std::string::npos ? v.size() : comma + 1;
      }
    } else {
      std::fprintf(stderr, "mkl_auto: unknown option %s (see --help)\n", arg.c_str());
      return 2;
    }
  }
  if (threads < 1 || reps < 1 || widths.empty() ||
      std::any_of(widths.begin(), widths.end(), [](std::int64_t n) { return n < 1; })) {
    std::fputs("mkl_auto: --threads, --reps and every N must be positive\n", stderr);
    return 2;
  }
  if (!spbmm::kernels::mkl::available()) {
    std::fprintf(stderr, "mkl_auto: %s\n", spbmm::kernels::mkl::status().c_str());
    return 1;
  }
  std::printf("mkl_auto: %d threads, best of %d; %s\n", threads, reps,
              spbmm::kernels::mkl::status().c_str());
  std::vector<spbmm::CsrMatrix<T, I>> w3;
  w3.push_back(spbmm::bench::rmat<T, I>());
  const auto w3_batch = spbmm::CsrBatch<T, I>::from_list(w3);
  const auto w4 = spbmm::bench::w4_batch<T, I>();
  const auto w8 = spbmm::bench::w8_batch<T, I>();
  for (const std::int64_t n : widths) {
    run("W3", w3_batch, n, threads, reps);
    run("W4", w4, n, threads, reps);
    run("W8", w8, n, threads, reps);
  }
  return 0;
}
