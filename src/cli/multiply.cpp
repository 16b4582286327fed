// `spbmm multiply`: C_i = alpha * op(A_i) * B_i + beta * C_i over Matrix Market files, through a
// Plan.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "io/atomic_file.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/config.hpp"
#include "spbmm/gpu.hpp"
#include "spbmm/plan.hpp"
#include "spbmm/spbmm.hpp"

namespace spbmm::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kMultiplyHelp =
    "usage: spbmm multiply A... (--rhs B | --random-rhs N [--seed S]) -o OUT [options]\n"
    "\n"
    "Computes C_i = alpha * op(A_i) * B_i + beta * C_i for every entry i of a ragged batch and\n"
    "writes each C_i as a Matrix Market array file. A is one or more Matrix Market files, or one\n"
    "directory whose .mtx files (sorted by name) form the batch. Coordinate files are multiplied\n"
    "as sparse (CSR) entries, array files as dense entries; the dispatcher picks a kernel per\n"
    "entry unless --kernel forces one.\n"
    "\n"
    "operands:\n"
    "  --rhs B            one file used for every entry, or a directory with one file per\n"
    "                     entry (matched to A in name order; the counts must agree)\n"
    "  --random-rhs N     a random dense B_i per entry, cols(op(A_i)) x N, values in [-1, 1)\n"
    "  --seed S           seed for --random-rhs (default 1)\n"
    "  --save-rhs PATH    write the B of --random-rhs there (a file for one entry, else a\n"
    "                     directory of files named after the A files), to check C elsewhere\n"
    "  --c-in C           the C that beta scales: a file, or a directory with one file per entry\n"
    "                     (name order); required when --beta is not 0. C may be the same path as\n"
    "                     OUT: it is read completely before anything is written.\n"
    "output:\n"
    "  -o OUT             a file when A is a single file (or OUT/<name of A> if OUT is an "
    "existing\n"
    "                     directory); otherwise a directory, created if needed, holding one file\n"
    "                     per entry named after its A file. OUT is checked (a directory\n"
    "                     created) before anything is read; files are replaced only when\n"
    "                     every one is complete\n"
    "options:\n"
    "  --transpose-a      multiply by the transpose of each A_i\n"
    "  --transpose-b      multiply by the transpose of each B_i (a B file then holds N x k)\n"
    "  --alpha X          default 1\n"
    "  --beta Y           default 0 (C is then not read)\n"
    "  --kernel K         auto (default), reference, sparse, dense, eigen, gpu or mkl\n"
    "  --threads T        threads for reading and multiplying (default: the OpenMP default)\n"
    "  --explain          print the plan (entry, shape, nnz, density, kernel and why) first\n"
    "  --machine FILE     the dispatcher's machine figures from `spbmm calibrate -o FILE`\n"
    "  --double           compute in double precision (default: float)\n"
    "  --quiet            no progress lines and no summary line (errors are still printed)\n"
    "  --distribute D     under mpirun (spbmm built with MPI), with --random-rhs: entries (the\n"
    "                     default there: each rank reads, runs and writes its own entries) or\n"
    "                     rows (one A split by rows); the output bytes are those of one process\n"
    "  --coo              read coordinate A files as COO entries rather than CSR (no row\n"
    "                     pointers: for matrices with far more rows than entries)\n"
    "  --max-memory SIZE  the most the dense B (--random-rhs) and C may take together, checked\n"
    "                     from the files' headers before anything is read or allocated (bytes,\n"
    "                     or with K, M, G, T; default 8G, the library's dense limit)\n"
    "  --max-output SIZE  the most Matrix Market text the output may take (default 1G)\n"
    "Reading, multiplying and writing show their progress on stderr when a step takes longer\n"
    "than a second and stderr is a terminal.\n"
    "Indices are 32-bit unless a file needs 64-bit ones. Output values are written with the\n"
    "shortest text that reads back to the same value.\n"
    "Exit status: 0 on success, 1 for bad input (unreadable or malformed file, shapes that do\n"
    "not fit), 2 for bad usage.\n"
    "\n"
    "example: spbmm multiply graphs/ --random-rhs 64 --explain -o out/\n";

constexpr const char* kCmd = "multiply";

struct Args {
  std::vector<std::string> a;
  std::optional<std::string> rhs;
  std::optional<std::int64_t> random_n;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> c_in;
  std::optional<std::string> machine;
  std::optional<std::string> save_rhs;
  std::string out;
  bool transpose_a = false;
  bool transpose_b = false;
  double alpha = 1;
  double beta = 0;
  Kernel kernel = Kernel::Auto;
  int threads = 0;
  bool explain = false;
  bool use_double = false;
  bool quiet = false;
  bool coo = false;  // coordinate A files as COO entries (no rows + 1 row pointers)
  std::optional<std::uint64_t> max_memory;
  std::uint64_t max_output = std::uint64_t{1} << 30;
};

// A usage problem: exit status 2.
struct UsageError {
  std::string message;
};

// Thrown by the 32-bit index pass when a file needs 64-bit indices.
struct NeedWideIndex {};

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "spbmm %s: %s (see spbmm %s --help)\n", kCmd, msg.c_str(), kCmd);
  return 2;
}

bool parse_double(const char* s, double& out) {
  char* end = nullptr;
  out = std::strtod(s, &end);
  return *s != '\0' && *end == '\0' && std::isfinite(out);
}

// "8G", "512M", "100000": bytes, with an optional K, M, G or T (powers of 1024).
bool parse_size(const char* s, std::uint64_t& out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s, &end);
  if (end == s || errno != 0 || !(v >= 0)) return false;
  double scale = 1;
  if (*end != '\0') {
    const std::string unit(end);
    const std::string units = "KMGT";
    const auto k = units.find(static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))));
    if (k == std::string::npos ||
        (unit.size() > 1 && unit.substr(1) != "B" && unit.substr(1) != "iB"))
      return false;
    scale = std::pow(1024.0, static_cast<double>(k + 1));
  }
  const double bytes = v * scale;
  if (bytes >= 1.8e19) return false;
  out = static_cast<std::uint64_t>(bytes);
  return true;
}

bool parse_int(const char* s, long long lo, long long hi, long long& out) {
  char* end = nullptr;
  out = std::strtoll(s, &end, 10);
  return *s != '\0' && *end == '\0' && out >= lo && out <= hi;
}

std::optional<Kernel> parse_kernel(const std::string& s) {
  if (s == "auto") return Kernel::Auto;
  if (s == "reference") return Kernel::Reference;
  if (s == "sparse") return Kernel::Sparse;
  if (s == "dense") return Kernel::Dense;
  if (s == "eigen") return Kernel::Eigen;
  if (s == "gpu") return Kernel::Gpu;
  if (s == "mkl") return Kernel::Mkl;
  return std::nullopt;
}

// Parses argv into Args; throws UsageError.
Args parse_args(int argc, char** argv, bool& help) {
  Args args;
  help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw UsageError{arg + " needs a value"};
      return argv[++i];
    };
    const auto bad = [&](const char* v) {
      return UsageError{"bad value '" + std::string(v) + "' for " + arg};
    };
    if (arg == "--help" || arg == "-h") {
      help = true;
      return args;
    } else if (arg == "--rhs") {
      args.rhs = value();
    } else if (arg == "--random-rhs") {
      const char* v = value();
      long long n = 0;
      if (!parse_int(v, 1, 1000000000, n)) throw bad(v);
      args.random_n = n;
    } else if (arg == "--seed") {
      const char* v = value();
      long long s = 0;
      if (!parse_int(v, 0, INT64_MAX, s)) throw bad(v);
      args.seed = static_cast<std::uint64_t>(s);
    } else if (arg == "--c-in") {
      args.c_in = value();
    } else if (arg == "--machine") {
      args.machine = value();
    } else if (arg == "-o" || arg == "--output") {
      args.out = value();
      if (args.out.empty()) throw UsageError{arg + " needs a non-empty path"};
    } else if (arg == "--transpose-a") {
      args.transpose_a = true;
    } else if (arg == "--transpose-b") {
      args.transpose_b = true;
    } else if (arg == "--alpha" || arg == "--beta") {
      const char* v = value();
      double x = 0;
      if (!parse_double(v, x)) throw bad(v);
      (arg == "--alpha" ? args.alpha : args.beta) = x;
    } else if (arg == "--kernel") {
      const char* v = value();
      const auto k = parse_kernel(v);
      if (!k) {
        throw UsageError{
            "--kernel must be auto, reference, sparse, dense, eigen, gpu or mkl, not '" +
            std::string(v) + "'"};
      }
      args.kernel = *k;
    } else if (arg == "--threads") {
      const char* v = value();
      long long t = 0;
      if (!parse_int(v, 0, 4096, t)) throw bad(v);
      args.threads = static_cast<int>(t);
    } else if (arg == "--explain") {
      args.explain = true;
    } else if (arg == "--double") {
      args.use_double = true;
    } else if (arg == "--quiet" || arg == "-q") {
      args.quiet = true;
    } else if (arg == "--save-rhs") {
      args.save_rhs = value();
      if (args.save_rhs->empty()) throw UsageError{arg + " needs a non-empty path"};
    } else if (arg == "--coo") {
      args.coo = true;
    } else if (arg == "--max-memory" || arg == "--max-output") {
      const char* v = value();
      std::uint64_t bytes = 0;
      if (!parse_size(v, bytes)) throw bad(v);
      if (arg == "--max-memory") {
        args.max_memory = bytes;
      } else {
        args.max_output = bytes;
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw UsageError{"unknown option '" + arg + "'"};
    } else {
      args.a.push_back(arg);
    }
  }
  if (args.a.empty()) throw UsageError{"no A files given"};
  if (args.rhs && args.random_n) throw UsageError{"give either --rhs or --random-rhs, not both"};
  if (!args.rhs && !args.random_n) throw UsageError{"give --rhs B or --random-rhs N"};
  if (args.seed && !args.random_n) throw UsageError{"--seed needs --random-rhs"};
  if (args.save_rhs && !args.random_n) throw UsageError{"--save-rhs needs --random-rhs"};
  if (args.out.empty()) throw UsageError{"no output given (-o OUT)"};
  if (args.beta != 0 && !args.c_in) {
    throw UsageError{"--beta other than 0 needs --c-in C (the C that beta scales)"};
  }
  return args;
}

bool is_dir(const std::string& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

std::string name_of(const std::string& path) { return fs::path(path).filename().string(); }

std::string shape_str(std::int64_t r, std::int64_t c) {
  return std::to_string(r) + "x" + std::to_string(c);
}

// The files of a batch operand given as one directory; IoError when unreadable or empty.
std::vector<std::string> dir_files(const std::string& dir, const char* what) {
  std::vector<std::string> files = list_matrix_market_files(dir);
  // Other files are not part of the batch; say so rather than skip them without a word.
  std::vector<std::string> others;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() != ".mtx" && name[0] != '.') others.push_back(name);
  }
  if (!others.empty()) {
    std::sort(others.begin(), others.end());
    std::string list;
    for (std::size_t k = 0; k < others.size() && k < 5; ++k) list += (k ? ", " : "") + others[k];
    if (others.size() > 5) list += ", ...";
    std::fprintf(
        stderr,
        "spbmm multiply: note: %s directory '%s': %zu %s not ending in .mtx left out (%s)\n", what,
        dir.c_str(), others.size(), others.size() == 1 ? "entry" : "entries", list.c_str());
  }
  if (files.empty()) {
    throw IoError(std::string(what) + " directory '" + dir + "' has no .mtx files");
  }
  return files;
}

// Everything derived from the arguments that does not depend on T and I.
struct Paths {
  std::vector<std::string> a_files;
  bool out_is_dir = false;
  std::string out_single;            // the output file when !out_is_dir
  std::vector<std::string> b_files;  // empty with --random-rhs; one file when shared
  std::vector<std::string> c_files;
};

Paths resolve_paths(const Args& args) {
  Paths p;
  const bool a_dir = args.a.size() == 1 && is_dir(args.a[0]);
  if (a_dir) {
    p.a_files = dir_files(args.a[0], "A");
  } else {
    for (const auto& a : args.a) {
      if (is_dir(a)) throw UsageError{"give A either as files or as one directory, not both"};
    }
    p.a_files = args.a;
  }
  p.out_is_dir = a_dir || p.a_files.size() > 1;
  if (!p.out_is_dir) {
    p.out_single =
        is_dir(args.out) ? (fs::path(args.out) / name_of(p.a_files[0])).string() : args.out;
  } else {
    std::set<std::string> names;
    for (const auto& f : p.a_files) {
      if (!names.insert(name_of(f)).second) {
        throw UsageError{"two A files are named '" + name_of(f) +
                         "'; the output files are named after them"};
      }
    }
  }
  const auto batch_files = [&](const std::string& path, const char* what) {
    std::vector<std::string> files;
    if (is_dir(path)) {
      files = dir_files(path, what);
      if (files.size() != p.a_files.size()) {
        const std::string a_desc =
            a_dir ? "A directory '" + args.a[0] + "'" : std::string("the A files");
        throw InvalidArgument(a_desc + " has " + std::to_string(p.a_files.size()) +
                              " entries but " + what + " directory '" + path + "' has " +
                              std::to_string(files.size()) + " .mtx files");
      }
    } else {
      files = {path};
    }
    return files;
  };
  if (args.rhs) p.b_files = batch_files(*args.rhs, "B");
  if (args.c_in) {
    p.c_files = batch_files(*args.c_in, "C");
    if (p.c_files.size() == 1 && p.a_files.size() > 1) {
      throw InvalidArgument("--c-in '" + *args.c_in + "' is one file but the batch has " +
                            std::to_string(p.a_files.size()) + " entries (give a directory)");
    }
  }
  return p;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string bytes_str(double bytes) {
  char buf[64];
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

// The dense operands and the text this command will make, from the files' headers alone, against
// the limits: a header may claim any size, and nothing is read or allocated before this passes.
template <Value T>
void check_sizes(const Args& args, const Paths& p, const std::vector<MatrixMarketHeader>& a_h) {
  const std::size_t n_entries = a_h.size();
  std::vector<MatrixMarketHeader> b_h;
  for (const auto& f : p.b_files) b_h.push_back(read_matrix_market_header(f));
  double b_values = 0;  // B made here (--random-rhs); B files are checked by the reader
  double c_values = 0;
  std::string largest;
  double largest_values = -1;
  for (std::size_t i = 0; i < n_entries; ++i) {
    const double rows = static_cast<double>(args.transpose_a ? a_h[i].cols : a_h[i].rows);
    const double inner = static_cast<double>(args.transpose_a ? a_h[i].rows : a_h[i].cols);
    const MatrixMarketHeader* bh = b_h.empty() ? nullptr : &b_h[b_h.size() == 1 ? 0 : i];
    const double n = args.random_n      ? static_cast<double>(*args.random_n)
                     : args.transpose_b ? static_cast<double>(bh->rows)
                                        : static_cast<double>(bh->cols);
    if (args.random_n) b_values += inner * n;
    c_values += rows * n;
    if (rows * n > largest_values) {
      largest_values = rows * n;
      largest = "'" + p.a_files[i] + "' gives a " +
                std::to_string(static_cast<std::int64_t>(rows)) + " x " +
                std::to_string(static_cast<std::int64_t>(n)) + " C";
    }
  }
  const double memory = (b_values + c_values) * static_cast<double>(sizeof(T));
  const double memory_limit =
      static_cast<double>(args.max_memory ? *args.max_memory : dense_limit());
  if (memory > memory_limit) {
    throw LimitError("the dense operands would take " + bytes_str(memory) + " (C" +
                     (args.random_n ? std::string(" and the B of --random-rhs") : "") + ": " +
                     std::to_string(static_cast<std::uint64_t>(b_values + c_values)) + " values; " +
                     largest + "), above the limit of " + bytes_str(memory_limit) +
                     "; raise it with --max-memory SIZE");
  }
  // An array file holds at least two characters per value ("0\n").
  const double text = 2 * c_values;
  if (text > static_cast<double>(args.max_output)) {
    throw LimitError("the output would take at least " + bytes_str(text) +
                     " of Matrix Market text (" +
                     std::to_string(static_cast<std::uint64_t>(c_values)) + " values; " + largest +
                     "), above the limit of " + bytes_str(static_cast<double>(args.max_output)) +
                     "; raise it with --max-output SIZE");
  }
}

template <Value T, Index I>
int run(const Args& args, const Paths& p, const MachineModel* machine) {
  MmReadOptions ro;
  ro.threads = args.threads;
  const std::size_t n_entries = p.a_files.size();
  std::vector<MatrixMarketHeader> headers;
  for (const auto& f : p.a_files) headers.push_back(read_matrix_market_header(f));
  check_sizes<T>(args, p, headers);

  // A: coordinate files as CSR, array files as dense. Both stores are reserved up front so that
  // the views taken below stay valid.
  std::vector<CsrMatrix<T, I>> csr;
  std::vector<CooMatrix<T, I>> coo;
  std::vector<DenseMatrix<T>> dense;
  csr.reserve(n_entries);
  coo.reserve(n_entries);
  dense.reserve(n_entries);
  enum class Kind { Dense, Csr, Coo };
  std::vector<std::pair<Kind, std::size_t>> where(n_entries);
  Progress reading(
      "reading " + std::to_string(n_entries) + " A " + (n_entries == 1 ? "file" : "files"),
      args.quiet);
  for (std::size_t i = 0; i < n_entries; ++i) {
    const MatrixMarketHeader& h = headers[i];
    if (h.format == MmFormat::Array && h.field != MmField::Complex) {
      where[i] = {Kind::Dense, dense.size()};
      dense.push_back(read_matrix_market_dense<T>(p.a_files[i], Layout::RowMajor, ro));
    } else {
      try {
        if (args.coo) {
          where[i] = {Kind::Coo, coo.size()};
          coo.push_back(read_matrix_market_coo<T, I>(p.a_files[i], ro));
        } else {
          where[i] = {Kind::Csr, csr.size()};
          csr.push_back(read_matrix_market_csr<T, I>(p.a_files[i], ro));
        }
      } catch (const LimitError& e) {
        if constexpr (std::is_same_v<I, std::int32_t>) throw NeedWideIndex{};
        if (!args.coo && std::string(e.what()).find("as COO") != std::string::npos) {
          throw LimitError(std::string(e.what()) + ": give --coo");
        }
        throw;
      }
    }
  }
  reading.done();
  BatchView<T, I> a;
  std::vector<std::int64_t> a_rows(n_entries), a_cols(n_entries);
  for (std::size_t i = 0; i < n_entries; ++i) {
    const auto [kind, k] = where[i];
    if (kind == Kind::Dense) {
      a.push_back(MatrixView<T, I>(DenseView<const T>(dense[k].view())));
      a_rows[i] = dense[k].rows();
      a_cols[i] = dense[k].cols();
    } else if (kind == Kind::Coo) {
      a.push_back(MatrixView<T, I>(coo[k].view()));
      a_rows[i] = coo[k].rows();
      a_cols[i] = coo[k].cols();
    } else {
      a.push_back(MatrixView<T, I>(csr[k].view()));
      a_rows[i] = csr[k].rows();
      a_cols[i] = csr[k].cols();
    }
    if (args.transpose_a) std::swap(a_rows[i], a_cols[i]);
  }
  // "A 'f.mtx'" or "A^T of 'f.mtx'": how messages name entry i's left operand.
  const auto a_name = [&](std::size_t i) {
    return (args.transpose_a ? "A^T of '" : "A '") + p.a_files[i] + "'";
  };

  // B: files, or random with the inner dimension of each entry.
  std::vector<DenseMatrix<T>> b_list;
  if (args.random_n) {
    std::mt19937_64 rng(args.seed.value_or(1));
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (std::size_t i = 0; i < n_entries; ++i) {
      DenseMatrix<T> bi = args.transpose_b ? DenseMatrix<T>(*args.random_n, a_cols[i])
                                           : DenseMatrix<T>(a_cols[i], *args.random_n);
      for (auto& x : bi.values()) x = static_cast<T>(u(rng));
      b_list.push_back(std::move(bi));
    }
    if (args.save_rhs) {
      MmWriteOptions bo;
      bo.format = MmFormat::Array;
      bo.threads = args.threads;
      if (n_entries == 1 && !is_dir(*args.save_rhs)) {
        write_matrix_market<T>(*args.save_rhs, DenseView<const T>(b_list[0].view()), bo);
      } else {
        std::error_code ec;
        fs::create_directories(*args.save_rhs, ec);
        if (ec || !is_dir(*args.save_rhs)) {
          throw IoError("cannot create the --save-rhs directory '" + *args.save_rhs + "'" +
                        (ec ? ": " + ec.message() : std::string()));
        }
        for (std::size_t i = 0; i < n_entries; ++i) {
          write_matrix_market<T>((fs::path(*args.save_rhs) / name_of(p.a_files[i])).string(),
                                 DenseView<const T>(b_list[i].view()), bo);
        }
      }
    }
  } else {
    for (const auto& f : p.b_files) {
      b_list.push_back(read_matrix_market_dense<T>(f, Layout::RowMajor, ro));
    }
  }
  std::vector<DenseView<const T>> b_views;
  for (const auto& bi : b_list) b_views.push_back(bi.view());
  std::vector<std::int64_t> n(n_entries);
  for (std::size_t i = 0; i < n_entries; ++i) {
    const std::size_t bi = b_list.size() == 1 ? 0 : i;
    const DenseMatrix<T>& b = b_list[bi];
    const std::int64_t inner = args.transpose_b ? b.cols() : b.rows();
    if (inner != a_cols[i]) {
      const std::string b_name = p.b_files.empty() ? std::string("B") : "B '" + p.b_files[bi] + "'";
      throw ShapeError(
          a_name(i) + " is " + shape_str(a_rows[i], a_cols[i]) + " but " +
          (args.transpose_b ? "the transpose of " : "") + b_name + " is " +
          (args.transpose_b ? shape_str(b.cols(), b.rows()) : shape_str(b.rows(), b.cols())) +
          " (inner dimensions " + std::to_string(a_cols[i]) + " != " + std::to_string(inner) + ")");
    }
    n[i] = args.transpose_b ? b.rows() : b.cols();
  }

  // C: zeros, or the --c-in files that beta scales.
  DenseBatch<T> c(a_rows, n);
  if (!p.c_files.empty() && args.beta != 0) {
    for (std::size_t i = 0; i < n_entries; ++i) {
      const DenseMatrix<T> ci = read_matrix_market_dense<T>(p.c_files[i], Layout::RowMajor, ro);
      if (ci.rows() != a_rows[i] || ci.cols() != n[i]) {
        throw ShapeError("C '" + p.c_files[i] + "' is " + shape_str(ci.rows(), ci.cols()) +
                         " but " + a_name(i) + " times B is " + shape_str(a_rows[i], n[i]));
      }
      std::copy(ci.values().begin(), ci.values().end(), c.values().begin() + c.offset(i));
    }
  }

  PlanOptions po;
  po.machine = machine;
  po.op_a = args.transpose_a ? Op::T : Op::N;
  po.op_b = args.transpose_b ? Op::T : Op::N;
  po.threads = args.threads;
  po.policy.force = args.kernel;
  const auto t_plan = std::chrono::steady_clock::now();
  const Plan<T, I> plan(a, n, po);
  const double plan_s = seconds_since(t_plan);
  if (args.explain) {
    std::fputs(plan.explain().c_str(), stdout);
    std::fflush(stdout);
  }
  Progress running(
      "multiplying " + std::to_string(n_entries) + (n_entries == 1 ? " entry" : " entries"),
      args.quiet);
  const auto t_run = std::chrono::steady_clock::now();
  plan.execute(c.view(), DenseBatchView<const T>(b_views), static_cast<T>(args.alpha),
               static_cast<T>(args.beta));
  const double run_s = seconds_since(t_run);
  running.done();
  Progress writing("writing " + std::to_string(n_entries) + (n_entries == 1 ? " file" : " files"),
                   args.quiet);

  MmWriteOptions wo;
  wo.format = MmFormat::Array;
  wo.threads = args.threads;
  if (p.out_is_dir) {
    // All files or none: a failure part way replaces none of them.
    std::vector<std::string> names;
    for (const auto& f : p.a_files) names.push_back(name_of(f));
    write_matrix_market_dir<T>(args.out, c, wo, names);
  } else {
    write_matrix_market<T>(p.out_single, DenseView<const T>(c.entry(0)), wo);
  }
  writing.done();
  if (args.quiet) return 0;
  std::printf("spbmm multiply: %zu %s (%s, %s indices): plan %.3f ms, run %.3f ms; wrote %s\n",
              n_entries, n_entries == 1 ? "entry" : "entries",
              std::is_same_v<T, float> ? "float" : "double",
              std::is_same_v<I, std::int32_t> ? "32-bit" : "64-bit", plan_s * 1e3, run_s * 1e3,
              p.out_is_dir ? args.out.c_str() : p.out_single.c_str());
  return 0;
}

template <Value T>
int run_value(const Args& args, const Paths& p) {
  std::optional<MachineModel> machine;
  if (args.machine) {
    std::ifstream f(*args.machine, std::ios::binary);
    if (!f.is_open()) throw IoError("cannot read machine file '" + *args.machine + "'");
    std::stringstream text;
    text << f.rdbuf();
    machine = MachineModel::from_text(text.str());
  }
  const MachineModel* m = machine ? &*machine : nullptr;
  try {
    return run<T, std::int32_t>(args, p, m);
  } catch (const NeedWideIndex&) {
    return run<T, std::int64_t>(args, p, m);
  }
}

}  // namespace

int cmd_multiply(int argc, char** argv) {
  if (int status = 0; multiply_distributed(argc, argv, status)) return status;
  Args args;
  Paths paths;
  try {
    bool help = false;
    args = parse_args(argc, argv, help);
    if (help) {
      std::fputs(kMultiplyHelp, stdout);
      return 0;
    }
  } catch (const UsageError& e) {
    return usage_error(e.message);
  }
  try {
    if (args.max_memory) set_dense_limit(*args.max_memory);
    // Before any file is read: a forced GPU that cannot run says so in the option's own words.
    if (args.kernel == Kernel::Gpu && !gpu::available()) {
      if (!SPBMM_HAVE_CUDA) throw NotCompiled("--kernel gpu: " + gpu::status());
      throw DeviceError("--kernel gpu: no GPU is usable: " + gpu::status());
    }
    if (args.kernel == Kernel::Mkl) spbmm::kernels::mkl::require("--kernel mkl");
    paths = resolve_paths(args);
    // Outputs first: an output that cannot be written fails now, not after the work.
    if (paths.out_is_dir) {
      detail::make_output_dir(args.out);
    } else {
      detail::check_output_file(paths.out_single);
    }
    return args.use_double ? run_value<double>(args, paths) : run_value<float>(args, paths);
  } catch (const UsageError& e) {
    return usage_error(e.message);
  } catch (const Error& e) {
    std::fprintf(stderr, "spbmm %s: %s\n", kCmd, e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "spbmm %s: out of memory\n", kCmd);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spbmm %s: %s\n", kCmd, e.what());
    return 1;
  }
}

}  // namespace spbmm::cli
