// spbmm_scaling: the 1D row-partition scaling model. `measure` (under mpirun -np 2) measures
// message latency, bandwidth and the sparse kernel's rate here; `strong` prints, for one Matrix
// Market pattern, the exact exchange per rank from predict() at 1..1024 ranks and the predicted
// time; `weak` does the same for generated graphs that grow with the ranks.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "spbmm/matrix_market.hpp"
#include "spbmm/mpi.hpp"
#include "spbmm/plan.hpp"

namespace {

namespace sm = spbmm::mpi;
using Csr = spbmm::CsrMatrix<float, std::int64_t>;

constexpr const char* kHelp =
    "usage: spbmm_scaling measure [A.mtx] [--n N]        (under mpirun -np 2)\n"
    "       spbmm_scaling strong A.mtx [--n N] [--max-ranks P] PARAMS\n"
    "       spbmm_scaling weak grid|random [--rows-per-rank R] [--degree D] [--n N] PARAMS\n"
    "PARAMS: --latency SECONDS --bandwidth BYTES_PER_SECOND --rate FLOPS_PER_SECOND\n"
    "\n"
    "measure: ping-pong latency (8 bytes) and bandwidth (4 MiB) between ranks 0 and 1 with the\n"
    "MPI in use, and the CPU sparse kernel's rate on A (default: a random graph) on one rank.\n"
    "strong: for ranks 1, 2, 4, ..., P (default 1024), the exact words and messages each rank\n"
    "sends and receives for one product with N (default 64) columns of B under the nnz-balanced\n"
    "1D row partition, and the predicted time max over ranks of\n"
    "  2 nnz_p N / rate + messages_p latency + words_p bytes / bandwidth\n"
    "(the exchange not overlapped, messages of a rank sent one after the other).\n"
    "weak: the same with R rows per rank (default 2000) of a 2D grid (5-point) or a random graph\n"
    "of D (default 8) nonzeros per row, the matrix growing with the ranks.\n"
    "Output: CSV lines on stdout (the header line first).\n";

struct Params {
  double latency = 0, bandwidth = 0, rate = 0;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Csr random_graph(std::int64_t rows, std::int64_t degree, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> col(0, std::max<std::int64_t>(rows - 1, 0));
  std::vector<std::int64_t> rp(static_cast<std::size_t>(rows) + 1, 0), ci;
  for (std::int64_t r = 0; r < rows; ++r) {
    std::vector<std::int64_t> row;
    for (std::int64_t k = 0; k < degree; ++k) row.push_back(col(rng));
    std::sort(row.begin(), row.end());
    row.erase(std::unique(row.begin(), row.end()), row.end());
    ci.insert(ci.end(), row.begin(), row.end());
    rp[static_cast<std::size_t>(r) + 1] = static_cast<std::int64_t>(ci.size());
  }
  std::vector<float> v(ci.size(), 1.0f);
  return Csr(rows, rows, std::move(rp), std::move(ci), std::move(v));
}

// A side x side 5-point grid, rows numbered row by row.
Csr grid_graph(std::int64_t side) {
  const std::int64_t rows = side * side;
  std::vector<std::int64_t> rp(static_cast<std::size_t>(rows) + 1, 0), ci;
  for (std::int64_t y = 0; y < side; ++y) {
    for (std::int64_t x = 0; x < side; ++x) {
      const std::int64_t r = y * side + x;
      if (y > 0) ci.push_back(r - side);
      if (x > 0) ci.push_back(r - 1);
      ci.push_back(r);
      if (x + 1 < side) ci.push_back(r + 1);
      if (y + 1 < side) ci.push_back(r + side);
      rp[static_cast<std::size_t>(r) + 1] = static_cast<std::int64_t>(ci.size());
    }
  }
  std::vector<float> v(ci.size(), 1.0f);
  return Csr(rows, rows, std::move(rp), std::move(ci), std::move(v));
}

// One CSV line per rank count: the exchange of the busiest rank and the predicted time.
void model_line(const Csr& a, int ranks, std::int64_t n, const Params& p, double t1,
                const char* label) {
  const sm::RowPartition part = sm::partition_rows(a.view(), ranks);
  const std::vector<sm::CommCounts> c = sm::predict(a.view(), part, n);
  double worst = 0, total_words = 0;
  std::int64_t max_words = 0, max_msgs = 0, max_nnz = 0;
  for (int q = 0; q < ranks; ++q) {
    std::int64_t nnz = 0;
    for (const std::int64_t r : part.rows_of(q)) nnz += a.row_ptr()[r + 1] - a.row_ptr()[r];
    const sm::CommCounts& k = c[static_cast<std::size_t>(q)];
    const std::int64_t words = std::max(k.words_sent, k.words_received);
    const std::int64_t msgs = std::max(k.messages_sent, k.messages_received);
    const double t = 2.0 * static_cast<double>(nnz) * static_cast<double>(n) / p.rate +
                     static_cast<double>(msgs) * p.latency +
                     static_cast<double>(words) * sizeof(float) / p.bandwidth;
    worst = std::max(worst, t);
    total_words += static_cast<double>(k.words_received);
    max_words = std::max(max_words, words);
    max_msgs = std::max(max_msgs, msgs);
    max_nnz = std::max(max_nnz, nnz);
  }
  const double base = t1 > 0 ? t1 : worst;
  std::printf("%s,%d,%lld,%lld,%lld,%lld,%.0f,%.6g,%.4g,%.4g\n", label, ranks,
              static_cast<long long>(a.rows()), static_cast<long long>(max_nnz),
              static_cast<long long>(max_words), static_cast<long long>(max_msgs), total_words,
              worst, base / worst, base / worst / ranks);
}

const char* kCsvHeader =
    "matrix,ranks,rows,max_nnz_per_rank,max_words_per_rank,max_messages_per_rank,total_words,"
    "predicted_seconds,speedup,efficiency\n";

double single_rank_time(const Csr& a, std::int64_t n, const Params& p) {
  return 2.0 * static_cast<double>(a.nnz()) * static_cast<double>(n) / p.rate;
}

int measure(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::int64_t n = 64;
  std::string path;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--n") == 0 && i + 1 < argc) {
      n = std::atoll(argv[++i]);
    } else {
      path = argv[i];
    }
  }
  double latency = 0, bandwidth = 0;
  if (size >= 2 && rank < 2) {
    const int other = 1 - rank;
    std::vector<char> buf(4 << 20);
    const auto pingpong = [&](int bytes, int reps) {
      MPI_Barrier(MPI_COMM_WORLD);
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const double t0 = now();
        for (int k = 0; k < reps; ++k) {
          if (rank == 0) {
            MPI_Send(buf.data(), bytes, MPI_CHAR, other, 0, MPI_COMM_WORLD);
            MPI_Recv(buf.data(), bytes, MPI_CHAR, other, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          } else {
            MPI_Recv(buf.data(), bytes, MPI_CHAR, other, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf.data(), bytes, MPI_CHAR, other, 0, MPI_COMM_WORLD);
          }
        }
        best = std::min(best, (now() - t0) / (2.0 * reps));
      }
      return best;
    };
    latency = pingpong(8, 2000);
    const double t_big = pingpong(4 << 20, 20);
    bandwidth = static_cast<double>(4 << 20) / std::max(t_big - latency, 1e-12);
  } else if (size >= 2) {
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
  }
  double rate = 0;
  if (rank == 0) {
    const Csr a = path.empty() ? random_graph(200000, 16, 1)
                               : spbmm::read_matrix_market_csr<float, std::int64_t>(path);
    std::mt19937_64 rng(2);
    spbmm::DenseMatrix<float> b(a.cols(), n), c(a.rows(), n);
    for (auto& x : b.values()) x = std::uniform_real_distribution<float>(-1, 1)(rng);
    spbmm::PlanOptions po;
    po.threads = 1;
    po.policy.force = spbmm::Kernel::Sparse;
    po.policy.allow_gpu = false;
    const spbmm::Plan<float, std::int64_t> plan(
        spbmm::BatchView<float, std::int64_t>({spbmm::MatrixView<float, std::int64_t>(a.view())}),
        n, po);
    double best = 1e30;
    for (int rep = 0; rep < 7; ++rep) {
      const double t0 = now();
      plan.execute(spbmm::DenseBatchView<float>::single(c.view()),
                   spbmm::DenseBatchView<const float>::single(b.view()));
      best = std::min(best, now() - t0);
    }
    rate = 2.0 * static_cast<double>(a.nnz()) * static_cast<double>(n) / best;
    std::printf(
        "latency_seconds,bandwidth_bytes_per_second,rate_flops_per_second,ranks,n,matrix\n");
    std::printf("%.4g,%.4g,%.4g,%d,%lld,%s\n", latency, bandwidth, rate, size,
                static_cast<long long>(n),
                path.empty() ? "random 200000 rows, 16 per row" : path.c_str());
  }
  MPI_Finalize();
  if (size < 2 && rank == 0) {
    std::fprintf(stderr, "spbmm_scaling measure: latency and bandwidth need mpirun -np 2\n");
  }
  return 0;
}

bool parse_params(int argc, char** argv, int first, Params& p, std::int64_t& n, int& max_ranks,
                  std::int64_t& rows_per_rank, std::int64_t& degree,
                  std::vector<std::string>& rest) {
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--latency" && has) {
      p.latency = std::atof(argv[++i]);
    } else if (a == "--bandwidth" && has) {
      p.bandwidth = std::atof(argv[++i]);
    } else if (a == "--rate" && has) {
      p.rate = std::atof(argv[++i]);
    } else if (a == "--n" && has) {
      n = std::atoll(argv[++i]);
    } else if (a == "--max-ranks" && has) {
      max_ranks = std::atoi(argv[++i]);
    } else if (a == "--rows-per-rank" && has) {
      rows_per_rank = std::atoll(argv[++i]);
    } else if (a == "--degree" && has) {
      degree = std::atoll(argv[++i]);
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "spbmm_scaling: unknown option '%s'\n%s", a.c_str(), kHelp);
      return false;
    } else {
      rest.push_back(a);
    }
  }
  if (p.latency < 0 || p.bandwidth <= 0 || p.rate <= 0 || n < 1 || max_ranks < 1 ||
      rows_per_rank < 1 || degree < 1) {
    std::fprintf(stderr, "spbmm_scaling: give --latency >= 0, --bandwidth > 0, --rate > 0\n%s",
                 kHelp);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs(kHelp, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "measure") return measure(argc, argv);
    Params p;
    std::int64_t n = 64, rows_per_rank = 2000, degree = 8;
    int max_ranks = 1024;
    std::vector<std::string> rest;
    if (!parse_params(argc, argv, 2, p, n, max_ranks, rows_per_rank, degree, rest)) return 2;
    if (mode == "strong" && rest.size() == 1) {
      const Csr a = spbmm::read_matrix_market_csr<float, std::int64_t>(rest[0]);
      std::fputs(kCsvHeader, stdout);
      const std::string label = rest[0].substr(rest[0].find_last_of('/') + 1);
      const double t1 = single_rank_time(a, n, p);
      for (int ranks = 1; ranks <= max_ranks; ranks *= 2)
        model_line(a, ranks, n, p, t1, label.c_str());
      return 0;
    }
    if (mode == "weak" && rest.size() == 1 && (rest[0] == "grid" || rest[0] == "random")) {
      std::fputs(kCsvHeader, stdout);
      double t1 = 0;
      for (int ranks = 1; ranks <= max_ranks; ranks *= 2) {
        const std::int64_t rows = rows_per_rank * ranks;
        Csr a;
        if (rest[0] == "grid") {
          // The nearest square grid with at least this many rows.
          auto side = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(rows))));
          a = grid_graph(side);
        } else {
          a = random_graph(rows, degree, 7);
        }
        if (ranks == 1) t1 = single_rank_time(a, n, p);
        // Weak scaling: efficiency is t1 / t(P) (the work per rank stays the same).
        model_line(a, ranks, n, p, t1 * ranks, rest[0].c_str());
      }
      return 0;
    }
    std::fprintf(stderr, "spbmm_scaling: bad arguments\n%s", kHelp);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spbmm_scaling: %s\n", e.what());
    return 1;
  }
}
