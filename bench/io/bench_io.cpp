// Matrix Market read/write throughput on the W3 R-MAT matrix (workloads W6 and W9).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "spbmm/matrix_market.hpp"
#include "spbmm/sparse.hpp"
#include "workloads.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kHelp =
    "usage: bench_io [FILE] [--runs N] [--threads 1,2,...] [--keep] [--peak FILE]\n"
    "\n"
    "Generates the W3 matrix (R-MAT scale 17, 2,000,000 edges, quadrant probabilities\n"
    "0.57/0.19/0.19/0.05, duplicates summed, values uniform in [0,1), the shared bench seed),\n"
    "writes it to FILE (default: a file in the temporary directory) as coordinate real general\n"
    "with 17 significant digits, and prints read (W6) and write (W9) throughput for each thread\n"
    "count (default 1,2), best of N runs (default 5). --keep leaves FILE in place. --peak FILE\n"
    "only reads FILE once into CSR (2 threads) and prints the peak resident memory.\n"
    "\n"
    "example: bench_io /tmp/w3.mtx --runs 5 --threads 1,2\n";

template <class Fn>
double best_seconds(int runs, Fn&& fn) {
  double best = 1e300;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

double max_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // kilobytes on Linux
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  int runs = 5;
  bool keep = false;
  std::string peak;
  std::vector<int> thread_counts = {1, 2};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      for (const char* p = argv[++i]; *p;) {
        char* end = nullptr;
        const long t = std::strtol(p, &end, 10);
        if (end == p || t < 1) break;
        thread_counts.push_back(static_cast<int>(t));
        p = *end == ',' ? end + 1 : end;
      }
      if (thread_counts.empty()) thread_counts = {1, 2};
    } else if (a == "--keep") {
      keep = true;
    } else if (a == "--peak" && i + 1 < argc) {
      peak = argv[++i];
    } else if (!a.empty() && a[0] != '-') {
      path = a;
    } else {
      std::fprintf(stderr, "bench_io: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  try {
    if (!peak.empty()) {
      const double before = max_rss_mb();
      spbmm::MmReadOptions o;
      o.threads = 2;
      const auto m = spbmm::read_matrix_market_csr<double, std::int32_t>(peak, o);
      const double file_mb = static_cast<double>(std::filesystem::file_size(peak)) / 1048576.0;
      const double mat_mb = static_cast<double>(m.nnz() * 12 + (m.rows() + 1) * 4) / 1048576.0;
      std::printf(
          "peak RSS %.1f MiB (before read %.1f MiB); file %.1f MiB; CSR %.1f MiB; "
          "budget file + 2 x matrix = %.1f MiB\n",
          max_rss_mb(), before, file_mb, mat_mb, file_mb + 2 * mat_mb);
      return 0;
    }
    if (path.empty()) {
      path = (std::filesystem::temp_directory_path() / "spbmm_bench_w3.mtx").string();
    }
    const auto t0 = Clock::now();
    const auto w3 = spbmm::bench::rmat<double, std::int32_t>();  // W3, the shared generator
    std::printf("W3: %lld x %lld, nnz %lld (generated in %.2f s)\n",
                static_cast<long long>(w3.rows()), static_cast<long long>(w3.cols()),
                static_cast<long long>(w3.nnz()),
                std::chrono::duration<double>(Clock::now() - t0).count());

    spbmm::MmWriteOptions wo;
    wo.precision = 17;
    spbmm::write_matrix_market(path, w3.view(), wo);
    const double mb = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
    std::printf("file: %s, %.1f MB (coordinate real general, 17 significant digits)\n",
                path.c_str(), mb);

    for (int threads : thread_counts) {
      spbmm::MmReadOptions ro;
      ro.threads = threads;
      const double coo = best_seconds(runs, [&] {
        const auto m = spbmm::read_matrix_market_coo<double, std::int32_t>(path, ro);
        if (m.nnz() != w3.nnz()) std::abort();
      });
      const double csr = best_seconds(runs, [&] {
        const auto m = spbmm::read_matrix_market_csr<double, std::int32_t>(path, ro);
        if (m.nnz() != w3.nnz()) std::abort();
      });
      std::printf("W6 read  %d thread%s: COO %7.1f MB/s (%.3f s), CSR %7.1f MB/s (%.3f s)\n",
                  threads, threads > 1 ? "s" : " ", mb / coo, coo, mb / csr, csr);
    }
    const std::string out = path + ".out";
    for (int threads : thread_counts) {
      spbmm::MmWriteOptions o17 = wo;
      o17.threads = threads;
      const double w17 =
          best_seconds(runs, [&] { spbmm::write_matrix_market(out, w3.view(), o17); });
      const double mb17 = static_cast<double>(std::filesystem::file_size(out)) / 1e6;
      spbmm::MmWriteOptions shortest;
      shortest.threads = threads;
      const double ws =
          best_seconds(runs, [&] { spbmm::write_matrix_market(out, w3.view(), shortest); });
      const double mbs = static_cast<double>(std::filesystem::file_size(out)) / 1e6;
      std::printf(
          "W9 write %d thread%s: 17 digits %7.1f MB/s (%.3f s), shortest %7.1f MB/s "
          "(%.3f s, %.1f MB)\n",
          threads, threads > 1 ? "s" : " ", mb17 / w17, w17, mbs / ws, ws, mbs);
    }
    std::filesystem::remove(out);
    if (!keep) std::filesystem::remove(path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_io: %s\n", e.what());
    return 1;
  }
  return 0;
}
