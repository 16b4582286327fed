// `spbmm multiply` under MPI: a batch sharded over the ranks (--distribute entries) or one matrix
// partitioned by rows (--distribute rows), writing the same bytes as one process.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "cli/commands.hpp"
#include "spbmm/spbmm.hpp"

#if SPBMM_CLI_MPI
#include "spbmm/mpi.hpp"
#endif

namespace spbmm::cli {

namespace {

constexpr const char* kCmd = "multiply";

// Under an MPI launcher with more than one rank (Open MPI, MPICH/Hydra, or PMIx), the ranks
// share the work instead of each repeating it.
int launched_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return std::atoi(v);
  }
  return 1;
}

}  // namespace

#if SPBMM_CLI_MPI

namespace {

namespace fs = std::filesystem;
namespace sm = spbmm::mpi;

struct MpiArgs {
  std::vector<std::string> a;
  std::string distribute = "entries";
  std::int64_t random_n = 0;
  std::uint64_t seed = 1;
  std::string out;
  double alpha = 1;
  bool transpose_a = false;
  Kernel kernel = Kernel::Auto;
  int threads = 0;
  bool use_double = false;
  bool quiet = false;
};

struct Usage {
  std::string message;
};

bool parse_number(const char* s, double lo, double hi, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return *s != '\0' && *end == '\0' && out >= lo && out <= hi;
}

MpiArgs parse(int argc, char** argv) {
  MpiArgs args;
  bool have_rhs = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw Usage{arg + " needs a value"};
      return argv[++i];
    };
    double x = 0;
    if (arg == "--distribute") {
      args.distribute = value();
      if (args.distribute != "entries" && args.distribute != "rows") {
        throw Usage{"--distribute must be entries or rows, not '" + args.distribute + "'"};
      }
    } else if (arg == "--random-rhs") {
      const char* v = value();
      if (!parse_number(v, 1, 1e9, x) || x != static_cast<double>(static_cast<std::int64_t>(x))) {
        throw Usage{"bad value '" + std::string(v) + "' for " + arg};
      }
      args.random_n = static_cast<std::int64_t>(x);
      have_rhs = true;
    } else if (arg == "--seed") {
      const char* v = value();
      char* end = nullptr;
      const long long s = std::strtoll(v, &end, 10);
      if (*v == '\0' || *end != '\0' || s < 0)
        throw Usage{"bad value '" + std::string(v) + "' for " + arg};
      args.seed = static_cast<std::uint64_t>(s);
    } else if (arg == "-o" || arg == "--output") {
      args.out = value();
    } else if (arg == "--alpha") {
      const char* v = value();
      if (!parse_number(v, -1e308, 1e308, x))
        throw Usage{"bad value '" + std::string(v) + "' for " + arg};
      args.alpha = x;
    } else if (arg == "--transpose-a") {
      args.transpose_a = true;
    } else if (arg == "--kernel") {
      const std::string k = value();
      if (k == "auto") {
        args.kernel = Kernel::Auto;
      } else if (k == "sparse") {
        args.kernel = Kernel::Sparse;
      } else if (k == "dense") {
        args.kernel = Kernel::Dense;
      } else if (k == "eigen") {
        args.kernel = Kernel::Eigen;
      } else if (k == "reference") {
        args.kernel = Kernel::Reference;
      } else {
        throw Usage{"--kernel under MPI must be auto, reference, sparse, dense or eigen, not '" +
                    k + "'"};
      }
    } else if (arg == "--threads") {
      const char* v = value();
      if (!parse_number(v, 0, 4096, x))
        throw Usage{"bad value '" + std::string(v) + "' for " + arg};
      args.threads = static_cast<int>(x);
    } else if (arg == "--double") {
      args.use_double = true;
    } else if (arg == "--quiet" || arg == "-q") {
      args.quiet = true;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw Usage{"'" + arg +
                  "' is not available under MPI (there: --distribute, --random-rhs, --seed, -o, "
                  "--alpha, --transpose-a, --kernel, --threads, --double, --quiet)"};
    } else {
      args.a.push_back(arg);
    }
  }
  if (args.a.empty()) throw Usage{"no A files given"};
  if (!have_rhs) throw Usage{"under MPI, give --random-rhs N (each rank makes its own rows of B)"};
  if (args.out.empty()) throw Usage{"no output given (-o OUT)"};
  if (args.distribute == "rows") {
    if (args.a.size() != 1) throw Usage{"--distribute rows takes one A file"};
    if (args.transpose_a) throw Usage{"--distribute rows does not take --transpose-a"};
    if (args.kernel != Kernel::Auto && args.kernel != Kernel::Sparse) {
      throw Usage{"--distribute rows runs the sparse kernel; --kernel must be sparse or auto"};
    }
  }
  return args;
}

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

// The output file of a single A, as the one-process command names it.
std::string single_output(const MpiArgs& args, const std::string& a) {
  return is_dir(args.out) ? (fs::path(args.out) / name_of(a)).string() : args.out;
}

MmWriteOptions write_options(const MpiArgs& args) {
  MmWriteOptions wo;
  wo.format = MmFormat::Array;
  wo.threads = args.threads;
  return wo;
}

// Raised by the 32-bit pass when a file needs 64-bit indices (on every rank alike).
struct NeedWide {};

template <Value T, Index I>
int run_entries(const MpiArgs& args, int rank, int ranks) {
  // The batch: one directory or a list of files, as the one-process command forms it.
  std::vector<std::string> files;
  const bool a_dir = args.a.size() == 1 && is_dir(args.a[0]);
  std::exception_ptr error;
  try {
    files = a_dir ? list_matrix_market_files(args.a[0]) : args.a;
    if (files.empty()) throw IoError("A directory '" + args.a[0] + "' has no .mtx files");
  } catch (...) {
    error = std::current_exception();
  }
  sm::agree(MPI_COMM_WORLD, error);
  const bool out_dir = a_dir || files.size() > 1;

  sm::ShardOptions options;
  options.plan.op_a = args.transpose_a ? Op::T : Op::N;
  options.plan.threads = args.threads;
  options.plan.policy.force = args.kernel;
  options.read.threads = args.threads;
  std::optional<sm::ShardedPlan<T, I>> plan;
  try {
    plan.emplace(MPI_COMM_WORLD, files, std::vector<std::int64_t>{args.random_n}, options);
  } catch (const LimitError&) {
    if constexpr (std::is_same_v<I, std::int32_t>) throw NeedWide{};
    throw;
  }

  // B_i as one process draws them: one stream over the entries in order, each B_i row-major.
  // A rank skips the draws of the entries it does not own.
  const std::vector<Shape> a_shapes = plan->a_shapes();
  std::mt19937_64 rng(args.seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<DenseMatrix<T>> b;
  std::vector<DenseView<const T>> b_views;
  std::size_t next = 0;
  const auto& mine = plan->local_entries();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const std::int64_t draws = a_shapes[i].cols * args.random_n;
    if (next < mine.size() && mine[next] == i) {
      DenseMatrix<T> bi(a_shapes[i].cols, args.random_n);
      for (auto& x : bi.values()) x = static_cast<T>(u(rng));
      b.push_back(std::move(bi));
      ++next;
    } else {
      rng.discard(static_cast<unsigned long long>(draws));
    }
  }
  for (const auto& bi : b) b_views.push_back(bi.view());
  const DenseBatch<T> c =
      plan->execute(DenseBatchView<const T>(b_views), static_cast<T>(args.alpha));

  // Each rank writes its own results; the directory exists before any rank writes into it.
  error = nullptr;
  try {
    if (out_dir && rank == 0) {
      std::error_code ec;
      fs::create_directories(args.out, ec);
      if (ec || !is_dir(args.out)) {
        throw IoError("cannot create output directory '" + args.out + "'" +
                      (ec ? ": " + ec.message() : std::string()));
      }
    }
  } catch (...) {
    error = std::current_exception();
  }
  sm::agree(MPI_COMM_WORLD, error);
  error = nullptr;
  try {
    for (std::size_t k = 0; k < mine.size(); ++k) {
      const std::string& a = files[mine[k]];
      const std::string path =
          out_dir ? (fs::path(args.out) / name_of(a)).string() : single_output(args, a);
      write_matrix_market<T>(path, DenseView<const T>(c.entry(k)), write_options(args));
    }
  } catch (...) {
    error = std::current_exception();
  }
  sm::agree(MPI_COMM_WORLD, error);
  if (rank == 0 && !args.quiet) {
    std::printf("spbmm multiply: %zu %s over %d ranks (%s, %s indices); wrote %s\n", files.size(),
                files.size() == 1 ? "entry" : "entries", ranks,
                std::is_same_v<T, float> ? "float" : "double",
                std::is_same_v<I, std::int32_t> ? "32-bit" : "64-bit",
                out_dir ? args.out.c_str() : single_output(args, files[0]).c_str());
  }
  return 0;
}

template <Value T, Index I>
int run_rows(const MpiArgs& args, int rank, int ranks) {
  CsrMatrix<T, I> a;
  std::exception_ptr error;
  bool wide = false;
  try {
    a = read_matrix_market_csr<T, I>(args.a[0]);
  } catch (const LimitError&) {
    wide = std::is_same_v<I, std::int32_t>;
    if (!wide) error = std::current_exception();
  } catch (...) {
    error = std::current_exception();
  }
  sm::agree(MPI_COMM_WORLD, error);
  int any_wide = wide ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &any_wide, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any_wide != 0) throw NeedWide{};

  const std::int64_t n = args.random_n;
  sm::RowPlan<T, I> plan(MPI_COMM_WORLD, a.view(), n);
  // Without a row order every rank's rows of B are one run [first, first + count) of B's rows,
  // which one process draws after first * n values of its stream.
  const auto& b_rows = plan.local_b_rows();
  DenseMatrix<T> local_b(static_cast<std::int64_t>(b_rows.size()), n);
  std::mt19937_64 rng(args.seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  if (!b_rows.empty()) rng.discard(static_cast<unsigned long long>(b_rows.front() * n));
  for (auto& x : local_b.values()) x = static_cast<T>(u(rng));
  const DenseMatrix<T> local_c = plan.execute(local_b.view(), static_cast<T>(args.alpha));
  const DenseMatrix<T> c = plan.gather(local_c.view(), 0);
  const std::string path = single_output(args, args.a[0]);
  error = nullptr;
  try {
    if (rank == 0) write_matrix_market<T>(path, c.view(), write_options(args));
  } catch (...) {
    error = std::current_exception();
  }
  sm::agree(MPI_COMM_WORLD, error);
  if (rank == 0 && !args.quiet) {
    const sm::CommCounts cc = plan.counters();
    std::printf(
        "spbmm multiply: %lldx%lld, %lld nonzeros, rows over %d ranks (%s, %s indices); rank 0 "
        "sent %lld and received %lld words in %lld and %lld messages; wrote %s\n",
        static_cast<long long>(a.rows()), static_cast<long long>(a.cols()),
        static_cast<long long>(a.nnz()), ranks, std::is_same_v<T, float> ? "float" : "double",
        std::is_same_v<I, std::int32_t> ? "32-bit" : "64-bit",
        static_cast<long long>(cc.words_sent), static_cast<long long>(cc.words_received),
        static_cast<long long>(cc.messages_sent), static_cast<long long>(cc.messages_received),
        path.c_str());
  }
  return 0;
}

template <Value T>
int run_value(const MpiArgs& args, int rank, int ranks) {
  const bool rows = args.distribute == "rows";
  try {
    return rows ? run_rows<T, std::int32_t>(args, rank, ranks)
                : run_entries<T, std::int32_t>(args, rank, ranks);
  } catch (const NeedWide&) {
    return rows ? run_rows<T, std::int64_t>(args, rank, ranks)
                : run_entries<T, std::int64_t>(args, rank, ranks);
  }
}

int run_mpi(int argc, char** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized == 0) MPI_Init(nullptr, nullptr);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int status = 0;
  // Every rank parses the same arguments, so all of them reach the same verdict; rank 0 speaks.
  try {
    const MpiArgs args = parse(argc, argv);
    status = args.use_double ? run_value<double>(args, rank, ranks)
                             : run_value<float>(args, rank, ranks);
  } catch (const Usage& e) {
    if (rank == 0) {
      std::fprintf(stderr, "spbmm %s: %s (see spbmm %s --help)\n", kCmd, e.message.c_str(), kCmd);
    }
    status = 2;
  } catch (const Error& e) {
    // Errors inside the library's collectives reach every rank alike; one line is enough.
    if (rank == 0) std::fprintf(stderr, "spbmm %s: %s\n", kCmd, e.what());
    status = 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "spbmm %s: rank %d: out of memory\n", kCmd, rank);
    status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spbmm %s: rank %d: %s\n", kCmd, rank, e.what());
    status = 1;
  }
  if (initialized == 0) MPI_Finalize();
  return status;
}

}  // namespace

bool multiply_distributed(int argc, char** argv, int& status) {
  bool asked = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return false;
    if (std::strcmp(argv[i], "--distribute") == 0) asked = true;
  }
  if (!asked && launched_ranks() <= 1) return false;
  status = run_mpi(argc, argv);
  return true;
}

#else

bool multiply_distributed(int argc, char** argv, int& status) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--distribute") == 0) {
      std::fprintf(stderr,
                   "spbmm %s: --distribute needs spbmm built with MPI (meson -Dmpi=enabled)\n",
                   kCmd);
      status = 2;
      return true;
    }
  }
  // Under a launcher without MPI built in, every rank would repeat the whole job.
  if (launched_ranks() > 1) {
    std::fprintf(stderr,
                 "spbmm %s: started as one of %d MPI ranks, but spbmm was built without MPI "
                 "(meson -Dmpi=enabled)\n",
                 kCmd, launched_ranks());
    status = 2;
    return true;
  }
  return false;
}

#endif

}  // namespace spbmm::cli
