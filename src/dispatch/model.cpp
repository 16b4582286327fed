// The decision model: kernel names, the machine model's text form and defaults, choose_kernel.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/checks.hpp"
#include "dispatch/engine.hpp"
#include "dispatch/model_fields.hpp"
#include "kernels/mkl/mkl.hpp"
#include "spbmm/error.hpp"
#include "spbmm/plan.hpp"

namespace spbmm {

using detail::cat;

const char* to_string(Kernel kernel) noexcept {
  switch (kernel) {
    case Kernel::Auto:
      return "auto";
    case Kernel::Reference:
      return "reference";
    case Kernel::Sparse:
      return "sparse";
    case Kernel::Dense:
      return "dense";
    case Kernel::Eigen:
      return "eigen";
    case Kernel::Gpu:
      return "gpu";
    case Kernel::Mkl:
      return "mkl";
  }
  return "?";
}

namespace dispatch {

double operand_bytes(const EntryStats& s) {
  const double vb = s.value_bytes > 0 ? s.value_bytes : 4;
  const double ib = s.index_bytes > 0 ? s.index_bytes : 4;
  const auto rows = static_cast<double>(s.rows);
  const auto cols = static_cast<double>(s.cols);
  const auto nnz = static_cast<double>(s.nnz);
  double a = 0;
  switch (s.format) {
    case Format::Dense:
      a = rows * cols * vb;
      break;
    case Format::Csr:
      a = (rows + 1) * ib + nnz * (ib + vb);
      break;
    case Format::Coo:
      a = nnz * (2 * ib + vb);
      break;
  }
  const auto n = static_cast<double>(s.n);
  return a + cols * n * vb + rows * n * vb;
}

}  // namespace dispatch

namespace {

// The text form's keys, in output order, with the member each names (model_fields.hpp).
constexpr dispatch::ModelField kFields[] = {
    {"sparse_gflops", &MachineModel::sparse_gflops},
    {"sparse_gflops_small_n", &MachineModel::sparse_gflops_small_n},
    {"dense_gflops_small", &MachineModel::dense_gflops_small},
    {"dense_gflops_large", &MachineModel::dense_gflops_large},
    {"eigen_sparse_gflops", &MachineModel::eigen_sparse_gflops},
    {"eigen_dense_gflops", &MachineModel::eigen_dense_gflops},
    {"convert_gbps", &MachineModel::convert_gbps},
    {"memory_gbps", &MachineModel::memory_gbps},
    {"stream_gbps", &MachineModel::stream_gbps},
    {"cache_mb", &MachineModel::cache_mb},
    {"f64_sparse_factor", &MachineModel::f64_sparse_factor},
    {"f64_dense_factor", &MachineModel::f64_dense_factor},
    {"mkl_sparse_gflops", &MachineModel::mkl_sparse_gflops},
    {"mkl_sparse_gflops_small_n", &MachineModel::mkl_sparse_gflops_small_n},
    {"mkl_dense_gflops_small", &MachineModel::mkl_dense_gflops_small},
    {"mkl_dense_gflops_large", &MachineModel::mkl_dense_gflops_large},
    {"mkl_inspect_gbps", &MachineModel::mkl_inspect_gbps},
    {"gpu_gflops", &MachineModel::gpu_gflops},
    {"gpu_dense_gflops", &MachineModel::gpu_dense_gflops},
    {"gpu_transfer_gbps", &MachineModel::gpu_transfer_gbps},
    {"gpu_launch_seconds", &MachineModel::gpu_launch_seconds},
    {"gpu_d2h_gbps", &MachineModel::gpu_d2h_gbps},
    {"gpu_stage_gbps", &MachineModel::gpu_stage_gbps},
    {"gpu_copy_seconds", &MachineModel::gpu_copy_seconds},
    {"gpu_sync_seconds", &MachineModel::gpu_sync_seconds},
};

// Figures of the reference machine (2-core AMD EPYC with AVX-512, the W1-W9 machine), printed by
//   OMP_NUM_THREADS=2 build/bench/dispatch/bench_w7 --calibrate --threads 2
// i.e. MachineModel::calibrate(2).to_text(). The machine is shared, and other jobs only ever
// slow a calibration down, so these are the fastest complete run of several (with the fp64
// factors, which are ratios, from the two runs whose fp32 figures were least disturbed).
// sparse_gflops is newer: the sparse kernel's rewrite made it 2.4x faster on W7's entries, and
// the figure is the fastest of three `spbmm calibrate --threads 2` runs after it (2-core Intel
// Xeon with AVX-512, the machine W7 is measured on: 37.9, 46.2, 46.3). stream_gbps and cache_mb
// are from that machine too: two threads each summing its own buffer read 12.4-12.8 GB/s per
// thread once the buffers passed 64 MB in all, and 27 GB/s below (its L3 is reported as
// 260 MiB, but other guests share it: the knee moved between 48 and 128 MB across runs). No GPU
// there: the device figures are 0; on a machine with a device they come from the per-device
// cache or a short measurement (gpu_cache.cpp), or from SPBMM_MACHINE_FILE.
constexpr const char* kReferenceCalibration = R"(
sparse_gflops = 46.33
sparse_gflops_small_n = 6.688
dense_gflops_small = 119.0
dense_gflops_large = 125.7
eigen_sparse_gflops = 7.160
eigen_dense_gflops = 48.75
convert_gbps = 31.01
memory_gbps = 65.35
stream_gbps = 12.5
cache_mb = 64
f64_sparse_factor = 0.52
f64_dense_factor = 0.475
gpu_gflops = 0
gpu_dense_gflops = 0
gpu_transfer_gbps = 0
gpu_launch_seconds = 0
threads = 2
)";

MachineModel load_defaults() {
  const char* file = std::getenv("SPBMM_MACHINE_FILE");
  if (file == nullptr || *file == '\0') return MachineModel::from_text(kReferenceCalibration);
  MachineModel m;
  std::ifstream in(file);
  if (!in) throw IoError(cat("SPBMM_MACHINE_FILE: cannot open '", file, "'"));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError(cat("SPBMM_MACHINE_FILE: cannot read '", file, "'"));
  try {
    m = MachineModel::from_text(text.str());
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(cat("SPBMM_MACHINE_FILE '", file, "': ", e.what()));
  }
  m.gpu_source = cat("file ", file, m.gpu_gflops > 0 ? "" : " (no GPU figures)");
  return m;
}

}  // namespace

const MachineModel& MachineModel::defaults() {
  static const MachineModel model = load_defaults();
  return model;
}

std::string MachineModel::to_text() const {
  std::string out = "# spbmm machine model (GFLOP/s per thread, fp32; see spbmm/plan.hpp)\n";
  char line[128];
  for (const dispatch::ModelField& f : kFields) {
    std::snprintf(line, sizeof(line), "%s = %.17g\n", f.key, this->*f.member);
    out += line;
  }
  out += cat("threads = ", threads, "\n");
  return out;
}

MachineModel MachineModel::from_text(const std::string& text) {
  MachineModel m;
  std::istringstream in(text);
  std::string raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    std::string line = raw.substr(0, raw.find('#'));
    line = dispatch::trim_blanks(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw InvalidArgument(
          cat("machine model line ", line_no, ": expected 'key = value', got '", line, "'"));
    }
    const std::string key = dispatch::trim_blanks(line.substr(0, eq));
    const std::string value = dispatch::trim_blanks(line.substr(eq + 1));
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end == nullptr || *end != '\0' || !std::isfinite(v) || v < 0) {
      throw InvalidArgument(cat("machine model line ", line_no, ": value of '", key, "' is '",
                                value, "'; expected a finite number >= 0"));
    }
    if (key == "threads") {
      if (v < 1 || v != std::floor(v) || v > 1e6) {
        throw InvalidArgument(cat("machine model line ", line_no, ": threads is '", value,
                                  "'; expected a positive integer"));
      }
      m.threads = static_cast<int>(v);
      continue;
    }
    const auto* f = std::find_if(std::begin(kFields), std::end(kFields),
                                 [&](const dispatch::ModelField& x) { return key == x.key; });
    if (f == std::end(kFields)) {
      throw InvalidArgument(cat("machine model line ", line_no, ": unknown key '", key, "'"));
    }
    m.*(f->member) = v;
  }
  return m;
}

namespace {

// "0.41 ms", "37 us", "1.9 s": three significant figures in a readable unit.
std::string seconds_str(double s) {
  char buf[32];
  if (s >= 1.0) {
    std::snprintf(buf, sizeof(buf), "%.3g s", s);
  } else if (s >= 1e-4) {
    std::snprintf(buf, sizeof(buf), "%.3g ms", s * 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g us", s * 1e6);
  }
  return buf;
}

// Linear interpolation of y between (x0, y0) and (x1, y1), clamped at both ends.
double lerp_clamped(double x, double x0, double y0, double x1, double y1) {
  if (x <= x0) return y0;
  if (x >= x1) return y1;
  return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
}

// Seconds for `flops` at `gflops` (an absent figure prices the work out of the race).
double at_rate(double flops, double gflops) {
  return gflops > 0 ? flops / (gflops * 1e9) : HUGE_VAL;
}

struct Estimate {
  Kernel kernel;
  double seconds;
  double convert_seconds;     // the amortised conversion share included in `seconds`
  double memory_seconds = 0;  // reading operands that outgrow the cache, included in `seconds`
  double passes = 1;          // how often the kernel reads A (for explain)
  double check_seconds = 0;   // per-call checks of a converted form, included in `seconds`
};

struct Estimates {
  std::array<Estimate, 5> all{};  // the candidates Auto may take: the first `count`
  std::size_t count = 0;
  Estimate sparse{Kernel::Sparse, 0, 0};
  Estimate dense{Kernel::Dense, 0, 0};
  Estimate eigen{Kernel::Eigen, 0, 0};
  Estimate gpu{Kernel::Gpu, 0, 0};
  Estimate mkl{Kernel::Mkl, 0, 0};
  bool mkl_figures = false;       // the model has MKL figures for the entry's format
  bool over_mkl_limit = false;    // the entry does not fit MKL's 32-bit indices
  bool over_dense_limit = false;  // Dense is left out: its copy of A would pass the limit
  double batch_bytes = 0;         // the batch's operands as stored (EntryStats::batch_bytes)
};

// Columns of C per panel of the blocked dense kernel (two AVX-512 vectors): it reads A once per
// panel, so an A that does not stay cached is read from memory ceil(n / panel) times.
constexpr double kDensePanelBytes = 128;

// Bytes the executor packs into pinned staging per chunk before it issues their copy
// (kStageChunk in cuda_plugin.cpp): a host operand of U bytes goes up in ceil(U / chunk) copies.
constexpr double kStageChunkBytes = 4.0 * 1024 * 1024;

Estimates estimate(const EntryStats& s, const Policy& policy, const MachineModel& m) {
  const bool f64 = s.value_bytes >= 8;
  const double vb = s.value_bytes > 0 ? s.value_bytes : 4;
  const double sparse_factor = f64 ? m.f64_sparse_factor : 1.0;
  const double dense_factor = f64 ? m.f64_dense_factor : 1.0;
  const auto rows = static_cast<double>(s.rows);
  const auto cols = static_cast<double>(s.cols);
  const auto n = static_cast<double>(s.n);
  const auto nnz = static_cast<double>(s.nnz);
  const double sparse_flops = 2 * nnz * n;
  const double dense_flops = 2 * rows * cols * n;
  // Every CPU kernel writes all of C; pricing it keeps near-empty entries from looking free.
  const double write = m.memory_gbps > 0 ? rows * n * vb / (m.memory_gbps * 1e9) : 0.0;
  const int calls = std::max(1, policy.expected_calls);
  const double convert =
      m.convert_gbps > 0 ? rows * cols * vb / (m.convert_gbps * 1e9) / calls : HUGE_VAL;
  const bool stored_dense = s.format == Format::Dense;

  Estimates e;
  // A sparse entry whose dense copy would pass the memory limit is not converted.
  if (!stored_dense) {
    const double limit = static_cast<double>(detail::resolve_dense_limit(policy.dense_limit));
    e.over_dense_limit = rows * cols * vb > limit;
  }

  // The sparse kernel loses SIMD width on narrow B: its rate is measured at N = 4 and N = 64
  // and interpolated in log2(N) between 4 and 32.
  const double sparse_rate =
      sparse_factor *
      lerp_clamped(std::log2(std::max(n, 1.0)), 2.0, m.sparse_gflops_small_n, 5.0, m.sparse_gflops);
  // The dense kernel reaches its large-entry rate around 256^3 and its small one around 32^3.
  const double volume = std::max(rows * cols * n, 1.0);
  const double dense_rate =
      dense_factor *
      lerp_clamped(std::log2(volume), 15.0, m.dense_gflops_small, 24.0, m.dense_gflops_large);

  // The rates are measured on operands that stay cached. A batch whose operands outgrow the
  // cache reads each kernel's own form of A, and B, from memory at every call: the sparse kernel
  // its CSR once, the dense kernel its dense A once per column panel of C (and a converted form
  // adds its copy to what the batch holds). The kernels' arithmetic does not hide these reads
  // (with their operands flushed from the cache, one thread ran W7's half-dense entries 13%
  // slower on the sparse kernel and 43% slower on the dense one, which reads A twice), so the
  // time adds to the compute.
  const double ib = s.index_bytes > 0 ? s.index_bytes : 4;
  const double sparse_bytes = (rows + 1) * ib + nnz * (ib + vb);
  const double dense_bytes = rows * cols * vb;
  const double b_bytes = cols * n * vb;
  const double batch = std::max(s.batch_bytes, dispatch::operand_bytes(s));
  e.batch_bytes = batch;
  const double cache = m.cache_mb * 1e6;
  const auto outgrows = [&](double working_set) {
    return m.stream_gbps > 0 && cache > 0 && working_set > cache;
  };
  const auto from_memory = [&](double working_set, double bytes) {
    return outgrows(working_set) ? bytes / (m.stream_gbps * 1e9) : 0.0;
  };
  const double sparse_set = batch + (stored_dense ? sparse_bytes : 0.0);
  const double dense_set = batch + (stored_dense ? 0.0 : dense_bytes);
  const double panel = kDensePanelBytes / vb;
  const double passes = std::max(1.0, std::ceil(n / panel));
  // A converted form costs at every call besides its plan-time conversion: B is scanned for Inf
  // and NaN (which the stored format would propagate differently), and a plan that follows A's
  // values compares them with the copy it converted (a CSR copy of a dense A: the dense A and
  // the CSR values; a dense copy of a sparse A: A's values and the copy of them it keeps).
  const auto check = [&](double working_set, double follow_bytes) {
    const double bytes = b_bytes + (policy.follows_values ? follow_bytes : 0.0);
    const double rate = outgrows(working_set) ? m.stream_gbps : m.memory_gbps;
    return rate > 0 ? bytes / (rate * 1e9) : 0.0;
  };

  e.sparse = {Kernel::Sparse, at_rate(sparse_flops, sparse_rate) + write, 0};
  e.sparse.memory_seconds = from_memory(sparse_set, sparse_bytes + b_bytes);
  if (stored_dense) {
    e.sparse.convert_seconds = convert;
    e.sparse.check_seconds = check(sparse_set, dense_bytes + nnz * vb);
  }
  e.dense = {Kernel::Dense, at_rate(dense_flops, dense_rate) + write, 0};
  e.dense.passes = passes;
  e.dense.memory_seconds = from_memory(dense_set, passes * dense_bytes + b_bytes);
  if (!stored_dense) {
    e.dense.convert_seconds = convert;
    e.dense.check_seconds = check(dense_set, 2 * nnz * vb);
  }
  e.eigen = {Kernel::Eigen,
             (stored_dense ? at_rate(dense_flops, m.eigen_dense_gflops * dense_factor)
                           : at_rate(sparse_flops, m.eigen_sparse_gflops * sparse_factor)) +
                 write,
             0};
  e.eigen.memory_seconds =
      from_memory(batch, (stored_dense ? dense_bytes : sparse_bytes) + b_bytes);
  for (Estimate* x : {&e.sparse, &e.dense, &e.eigen}) {
    x->seconds += x->convert_seconds + x->memory_seconds + x->check_seconds;
  }
  e.gpu = {Kernel::Gpu, estimate_gpu(s, policy, m).total(), 0};

  // MKL runs a dense entry on its gemm and a sparse one on its inspector-executor SpMM over the
  // CSR of op(A) (the sparse kernel's form), whose handle is made once per plan.
  const double mkl_rate =
      stored_dense
          ? dense_factor * lerp_clamped(std::log2(volume), 15.0, m.mkl_dense_gflops_small, 24.0,
                                        m.mkl_dense_gflops_large)
          : sparse_factor * lerp_clamped(std::log2(std::max(n, 1.0)), 2.0,
                                         m.mkl_sparse_gflops_small_n, 5.0, m.mkl_sparse_gflops);
  e.mkl_figures = stored_dense ? m.mkl_dense_gflops_small > 0 && m.mkl_dense_gflops_large > 0
                               : m.mkl_sparse_gflops > 0 && m.mkl_sparse_gflops_small_n > 0;
  constexpr double kMklMaxIndex = 2147483647.0;
  e.over_mkl_limit =
      rows > kMklMaxIndex || cols > kMklMaxIndex || nnz > kMklMaxIndex || n > kMklMaxIndex;
  e.mkl = {Kernel::Mkl, at_rate(stored_dense ? dense_flops : sparse_flops, mkl_rate) + write, 0};
  // gemm reads A in panels too: charged as the dense kernel is, so that the memory term alone
  // never tips a dense entry to MKL (its calibration compares the two on cached operands).
  e.mkl.memory_seconds = stored_dense ? from_memory(batch, passes * dense_bytes + b_bytes)
                                      : from_memory(batch, sparse_bytes + b_bytes);
  e.mkl.passes = stored_dense ? passes : 1;
  if (!stored_dense && m.mkl_inspect_gbps > 0) {
    e.mkl.convert_seconds = sparse_bytes / (m.mkl_inspect_gbps * 1e9) / calls;
  }
  e.mkl.seconds += e.mkl.convert_seconds + e.mkl.memory_seconds;
  if (!e.mkl_figures) {
    // Only a forced Mkl gets here (Auto needs the figures): it is priced as the CPU kernel of the
    // same form, so that the schedule still gives a large product every thread.
    e.mkl = stored_dense ? e.dense : e.sparse;
    e.mkl.kernel = Kernel::Mkl;
  }

  e.all[e.count++] = e.sparse;
  if (!e.over_dense_limit) e.all[e.count++] = e.dense;
  if (m.eigen_sparse_gflops > 0 && m.eigen_dense_gflops > 0) e.all[e.count++] = e.eigen;
  if (m.gpu_gflops > 0 && policy.allow_gpu) e.all[e.count++] = e.gpu;
  if (e.mkl_figures && !e.over_mkl_limit) e.all[e.count++] = e.mkl;
  return e;
}

double estimate_of(const Estimates& e, Kernel k) {
  switch (k) {
    case Kernel::Sparse:
      return e.sparse.seconds;
    case Kernel::Dense:
      return e.dense.seconds;
    case Kernel::Eigen:
      return e.eigen.seconds;
    case Kernel::Gpu:
      return e.gpu.seconds;
    case Kernel::Mkl:
      return e.mkl.seconds;
    default:
      return 0;
  }
}

Kernel stored_kernel(const EntryStats& s) {
  return s.format == Format::Dense ? Kernel::Dense : Kernel::Sparse;
}

}  // namespace

namespace dispatch {

std::span<const ModelField> model_fields() noexcept { return kFields; }

std::span<const ModelField> gpu_model_fields() noexcept {
  const std::span<const ModelField> all = kFields;
  const auto first = std::find_if(all.begin(), all.end(), [](const ModelField& f) {
    return std::string_view(f.key).starts_with("gpu_");
  });
  return all.subspan(static_cast<std::size_t>(first - all.begin()));
}

std::string trim_blanks(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

Choice choose_resolved(const EntryStats& s, Kernel forced, bool forced_per_entry,
                       const Policy& policy, const MachineModel& machine, bool with_reason) {
  const Estimates e = estimate(s, policy, machine);
  Choice c;
  if (forced != Kernel::Auto) {
    c.kernel = forced;
    const double t = estimate_of(e, forced);
    c.estimated_seconds = std::isfinite(t) ? t : 0.0;
    if (with_reason) {
      c.reason = forced_per_entry ? cat("forced for entry ", s.index, " (Policy::per_entry)")
                                  : std::string("forced for every entry (Policy::force)");
    }
    return c;
  }

  const bool empty = s.rows == 0 || s.n == 0 || s.cols == 0 || s.nnz == 0;
  const double volume =
      static_cast<double>(s.rows) * static_cast<double>(s.cols) * static_cast<double>(s.n);
  if (empty || volume < static_cast<double>(kTinyVolume)) {
    c.kernel = stored_kernel(s);
    const double t =
        estimate_of(e, c.kernel) -
        (c.kernel == Kernel::Sparse ? e.sparse.convert_seconds : e.dense.convert_seconds);
    c.estimated_seconds = std::isfinite(t) ? t : 0.0;
    if (with_reason) {
      c.reason = empty ? "empty product: C is only scaled by beta"
                       : cat("tiny entry (", s.rows, "x", s.cols, "x", s.n, " < ", kTinyVolume,
                             "): stays in its stored format");
    }
    return c;
  }

  std::array<Estimate, 5> ranked = e.all;
  const auto ranked_end = ranked.begin() + static_cast<std::ptrdiff_t>(e.count);
  std::stable_sort(ranked.begin(), ranked_end,
                   [](const Estimate& x, const Estimate& y) { return x.seconds < y.seconds; });
  c.kernel = ranked.front().kernel;
  c.estimated_seconds = std::isfinite(ranked.front().seconds) ? ranked.front().seconds : 0.0;
  if (!with_reason) return c;
  std::string why;
  for (std::size_t i = 0; i < e.count; ++i) {
    if (i > 0) why += ranked[i].seconds == ranked[i - 1].seconds ? " = " : " < ";
    why += cat(to_string(ranked[i].kernel), " ",
               std::isfinite(ranked[i].seconds) ? seconds_str(ranked[i].seconds) : "n/a");
  }
  for (auto it = ranked.begin(); it != ranked_end; ++it) {
    const Estimate& x = *it;
    if (x.convert_seconds > 0 && std::isfinite(x.convert_seconds)) {
      why += cat(
          "; ", to_string(x.kernel),
          x.kernel == Kernel::Mkl ? " includes making its handle (" : " includes converting A (",
          seconds_str(x.convert_seconds), " per call over ", std::max(1, policy.expected_calls),
          " expected call", policy.expected_calls > 1 ? "s" : "", ")");
    }
  }
  std::string reads;
  for (auto it = ranked.begin(); it != ranked_end; ++it) {
    const Estimate& x = *it;
    if (!(x.memory_seconds > 0) || !std::isfinite(x.memory_seconds)) continue;
    reads += cat(reads.empty() ? "" : ", ", to_string(x.kernel), " A",
                 x.passes > 1 ? cat(" ", x.passes, " times") : std::string(), " and B (",
                 seconds_str(x.memory_seconds), ")");
  }
  if (!reads.empty()) {
    char mb[96];
    std::snprintf(mb, sizeof(mb), "%.4g MB as stored, with any copy of A a kernel adds",
                  e.batch_bytes / 1e6);
    char cache[48];
    std::snprintf(cache, sizeof(cache), "%.4g MB", machine.cache_mb);
    why += cat("; from memory at each call (the batch's operands, ", mb, ", outgrow the model's ",
               cache, " of cache): ", reads);
  }
  for (auto it = ranked.begin(); it != ranked_end; ++it) {
    const Estimate& x = *it;
    if (x.check_seconds > 0 && std::isfinite(x.check_seconds)) {
      why += cat("; ", to_string(x.kernel), " includes scanning B for Inf and NaN",
                 policy.follows_values ? " and comparing A's values with its converted copy" : "",
                 " (", seconds_str(x.check_seconds), " per call)");
    }
  }
  if (e.over_dense_limit) {
    why +=
        cat("; Dense not considered (a dense copy of op(A) would pass the dense conversion "
            "limit of ",
            detail::resolve_dense_limit(policy.dense_limit), " bytes)");
  }
  if (!e.mkl_figures && kernels::mkl::built()) {
    why += "; mkl not considered (no MKL figures for this format)";
  } else if (e.mkl_figures && e.over_mkl_limit) {
    why += "; mkl not considered (beyond MKL's 32-bit indices)";
  }
  if (machine.gpu_gflops <= 0) {
    why += "; gpu not considered (no device figures)";
  } else if (!policy.allow_gpu) {
    why += "; gpu not allowed by the policy";
  }
  c.reason = why;
  return c;
}

}  // namespace dispatch

GpuEstimate estimate_gpu(const EntryStats& s, const Policy& policy, const MachineModel& m) {
  GpuEstimate g;
  const bool f64 = s.value_bytes >= 8;
  const double vb = s.value_bytes > 0 ? s.value_bytes : 4;
  const double ib = s.index_bytes > 0 ? s.index_bytes : 4;
  const auto rows = static_cast<double>(s.rows);
  const auto cols = static_cast<double>(s.cols);
  const auto n = static_cast<double>(s.n);
  const auto nnz = static_cast<double>(s.nnz);
  const bool stored_dense = s.format == Format::Dense;
  const double rate = (stored_dense && m.gpu_dense_gflops > 0 ? m.gpu_dense_gflops : m.gpu_gflops) *
                      (f64 ? m.f64_dense_factor : 1.0);
  g.compute = at_rate(stored_dense ? 2 * rows * cols * n : 2 * nnz * n, rate);
  g.launch = m.gpu_launch_seconds;

  // What the executor moves (bmm_into / gemm_into in cuda_plugin.cpp): host B, and host C when
  // it is read, packed into pinned memory and copied up chunk by chunk while the rest is packed;
  // host C copied down once and unpacked after the synchronisation. A dense A is staged like B
  // with every call; a sparse A is uploaded once when the plan is made.
  const double b_bytes = policy.gpu_b_on_host ? cols * n * vb : 0.0;
  const double c_bytes = policy.gpu_c_on_host ? rows * n * vb : 0.0;
  const double staged_up =
      b_bytes + (policy.gpu_c_read ? c_bytes : 0.0) + (stored_dense ? rows * cols * vb : 0.0);
  const double down = c_bytes;
  const double a_upload = stored_dense ? 0.0 : ((rows + 1) * ib + nnz * (ib + vb));
  const double h2d = m.gpu_transfer_gbps * 1e9;
  const double d2h = (m.gpu_d2h_gbps > 0 ? m.gpu_d2h_gbps : m.gpu_transfer_gbps) * 1e9;
  const double stage = (m.gpu_stage_gbps > 0 ? m.gpu_stage_gbps : m.memory_gbps) * 1e9;
  const auto over = [](double bytes, double per_s) {
    return bytes <= 0 ? 0.0 : (per_s > 0 ? bytes / per_s : HUGE_VAL);
  };
  // Packing overlaps the copies up, so the slower of the two counts; unpacking waits for the
  // copy down.
  g.transfer = std::max(over(staged_up, h2d), stage > 0 ? staged_up / stage : 0.0) +
               over(down, d2h) + (stage > 0 ? down / stage : 0.0) +
               over(a_upload, h2d) / std::max(1, policy.expected_calls);
  g.copies = static_cast<int>(std::ceil(staged_up / kStageChunkBytes)) + (down > 0 ? 1 : 0);
  // Device-resident operands: the call is issued and returns; nothing waits for the device.
  const bool waits = staged_up > 0 || down > 0;
  g.fixed = g.copies * m.gpu_copy_seconds + (waits ? m.gpu_sync_seconds : 0.0);
  return g;
}

Choice choose_kernel(const EntryStats& s, const Policy& policy, const MachineModel& machine) {
  Kernel forced = policy.force;
  bool per_entry = false;
  for (const auto& [index, k] : policy.per_entry) {
    if (index == s.index) {
      forced = k;
      per_entry = true;
    }
  }
  return dispatch::choose_resolved(s, forced, per_entry, policy, machine, true);
}

}  // namespace spbmm
