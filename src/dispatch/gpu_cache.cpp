// The per-device cache of the machine model's GPU figures, and the order in which they are
// looked for: cache file, then a short measurement (written to the cache), else none.
#include "dispatch/gpu_cache.hpp"

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>

#include "core/checks.hpp"
#include "dispatch/model_fields.hpp"
#include "io/atomic_file.hpp"
#include "spbmm/error.hpp"

namespace spbmm {
namespace {

void print_warning(const char* line) { std::fprintf(stderr, "spbmm: warning: %s\n", line); }

std::atomic<WarningHandler> g_warning_handler{&print_warning};

}  // namespace

WarningHandler set_warning_handler(WarningHandler handler) noexcept {
  return g_warning_handler.exchange(handler);
}

MachineModel MachineModel::for_device() {
  MachineModel m = defaults();
  if (m.gpu_gflops > 0 || m.gpu_source != MachineModel().gpu_source) return m;
  const dispatch::DeviceFigures& d = dispatch::device_figures();
  if (d.found) dispatch::copy_gpu_figures(d.figures, m);
  return m;
}

namespace dispatch {

using detail::cat;

namespace {

constexpr const char* kHeader = "# spbmm GPU figures";

// Creates `dir` and its parents (mode 0700 for new ones, as a cache of one user's figures).
void make_dirs(const std::string& dir) {
  std::string at;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    at = dir.substr(0, pos);
    if (at.empty()) continue;
    if (mkdir(at.c_str(), 0700) != 0 && errno != EEXIST) {
      throw IoError(cat("cannot create the cache directory '", at, "': ", std::strerror(errno)));
    }
  }
}

}  // namespace

void warn(const std::string& line) noexcept {
  const WarningHandler h = g_warning_handler.load();
  if (h != nullptr) h(line.c_str());
}

std::string device_key(const gpu::DeviceIdentity& id) {
  return cat(id.name, ", sm_", id.major, id.minor, ", driver ", id.driver);
}

std::string gpu_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  // The XDG rules: a relative XDG_CACHE_HOME is invalid and ignored.
  if (xdg != nullptr && xdg[0] == '/') return cat(xdg, "/spbmm");
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return cat(home, "/.cache/spbmm");
  return "";
}

std::string gpu_cache_file(const std::string& dir, const gpu::DeviceIdentity& id) {
  std::string name = device_key(id);
  for (char& ch : name) {
    const bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
    if (!keep) ch = '_';
  }
  return cat(dir, "/gpu-", name, ".txt");
}

void copy_gpu_figures(const MachineModel& from, MachineModel& to) {
  for (const ModelField& f : gpu_model_fields()) to.*(f.member) = from.*(f.member);
  to.gpu_source = from.gpu_source;
}

bool read_gpu_cache(const std::string& path, const std::string& key, MachineModel& out,
                    std::string& why) noexcept {
  why.clear();
  try {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) {
      if (errno != ENOENT) why = cat("cannot read it: ", std::strerror(errno));
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      why = "not a regular file";
      return false;
    }
    if (st.st_size > kGpuCacheMaxBytes) {
      why = cat("it has ", static_cast<long long>(st.st_size), " bytes, more than a cache file (",
                kGpuCacheMaxBytes, ")");
      return false;
    }
    std::ifstream in(path);
    if (!in) {
      why = cat("cannot open it: ", std::strerror(errno));
      return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
      why = "cannot read it";
      return false;
    }
    // The header lines first: format and device; the figures after them.
    std::istringstream lines(text.str());
    std::string raw;
    std::string figures;
    int format = -1;
    std::string device;
    int line_no = 0;
    while (std::getline(lines, raw)) {
      ++line_no;
      const std::string line = trim_blanks(raw);
      if (line.rfind("format =", 0) == 0) {
        const std::string v = trim_blanks(line.substr(8));
        char* end = nullptr;
        const long f = std::strtol(v.c_str(), &end, 10);
        format = (!v.empty() && *end == '\0' && f > 0 && f < 1000) ? static_cast<int>(f) : 0;
        figures += '\n';
      } else if (line.rfind("device =", 0) == 0) {
        device = trim_blanks(line.substr(8));
        figures += '\n';
      } else {
        figures += raw;
        figures += '\n';
      }
    }
    if (format != kGpuCacheFormat) {
      why = format < 0 ? "no 'format =' line: not a spbmm GPU figures file"
                       : cat("format ", format, ", expected ", kGpuCacheFormat);
      return false;
    }
    if (device != key) {
      why = cat("it is for device '", device, "', not '", key, "'");
      return false;
    }
    MachineModel m;
    try {
      m = MachineModel::from_text(figures);
    } catch (const Error& e) {
      why = e.what();
      return false;
    }
    if (!(m.gpu_gflops > 0) || !(m.gpu_transfer_gbps > 0)) {
      why = "gpu_gflops and gpu_transfer_gbps must be positive";
      return false;
    }
    for (const ModelField& f : gpu_model_fields()) out.*(f.member) = m.*(f.member);
    out.gpu_source = cat("cache ", path);
    return true;
  } catch (const std::exception& e) {
    why = e.what();
    return false;
  }
}

void write_gpu_cache(const std::string& path, const std::string& key, const MachineModel& m) {
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) make_dirs(path.substr(0, slash));
  std::string text = cat(kHeader,
                         " of one device (written by spbmm; delete it, or run spbmm calibrate, "
                         "to measure again)\nformat = ",
                         kGpuCacheFormat, "\ndevice = ", key, "\n");
  char line[128];
  for (const ModelField& f : gpu_model_fields()) {
    std::snprintf(line, sizeof(line), "%s = %.17g\n", f.key, m.*(f.member));
    text += line;
  }
  detail::write_file_atomically(path, text);
}

DeviceFigures resolve_device_figures(const FigureSources& src) {
  DeviceFigures d;
  if (src.identity.name.empty()) {
    d.note = src.no_device_note;
    return d;
  }
  const std::string key = device_key(src.identity);
  const std::string path = src.dir.empty() ? std::string() : gpu_cache_file(src.dir, src.identity);
  if (!path.empty()) {
    std::string why;
    if (read_gpu_cache(path, key, d.figures, why)) {
      d.found = true;
      return d;
    }
    if (!why.empty()) warn(cat("ignoring the GPU figures cache '", path, "': ", why));
  }
  if (!src.autocalibrate || src.measure == nullptr) {
    d.note = cat("no GPU figures for ", key, " (SPBMM_GPU_AUTOCALIBRATE=0",
                 path.empty() ? ", no cache directory" : cat(", no usable cache file ", path),
                 "; run spbmm calibrate)");
    return d;
  }
  try {
    MachineModel m;
    src.measure(m);
    if (!(m.gpu_gflops > 0)) throw DeviceError("the measured SpMM rate is 0");
    d.figures = m;
  } catch (const std::exception& e) {
    warn(cat("measuring the GPU figures of ", key, " failed: ", e.what()));
    d.note = cat("measuring the GPU figures failed: ", e.what());
    return d;
  }
  d.found = true;
  if (path.empty()) {
    d.figures.gpu_source = "measured now (not cached: neither XDG_CACHE_HOME nor HOME is set)";
    return d;
  }
  try {
    write_gpu_cache(path, key, d.figures);
    d.figures.gpu_source = cat("measured now, cached in ", path);
  } catch (const std::exception& e) {
    warn(cat("cannot cache the GPU figures: ", e.what()));
    d.figures.gpu_source = cat("measured now (not cached: ", e.what(), ")");
  }
  return d;
}

const DeviceFigures& device_figures() {
  static const DeviceFigures figures = [] {
    FigureSources src;
    if (gpu::available()) src.identity = gpu::identity();
    src.no_device_note = gpu::status();
    src.dir = gpu_cache_dir();
    const char* env = std::getenv("SPBMM_GPU_AUTOCALIBRATE");
    src.autocalibrate = env == nullptr || std::strcmp(env, "0") != 0;
    src.measure = &measure_gpu_figures;
    return resolve_device_figures(src);
  }();
  return figures;
}

std::string refresh_gpu_cache(const MachineModel& m) {
  if (!gpu::available() || !(m.gpu_gflops > 0)) return "";
  const std::string dir = gpu_cache_dir();
  if (dir.empty()) return "";
  const std::string path = gpu_cache_file(dir, gpu::identity());
  write_gpu_cache(path, device_key(gpu::identity()), m);
  return path;
}

}  // namespace dispatch
}  // namespace spbmm
