// Finding and opening a backend plugin (libspbmm_cuda.so, libspbmm_mkl.so): shared by the loaders.
#pragma once

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

namespace spbmm::kernels {

// The loader's last error, or a fixed text when it has none.
inline std::string dl_error() {
  const char* e = dlerror();
  return e != nullptr ? e : "unknown dlopen error";
}

// The plugin `name` next to the library that holds `anchor` (a function of libspbmm: build tree
// and installed tree alike), else the bare name for the loader's search path; the environment
// variable `env` overrides both.
inline std::string plugin_path(const char* name, const char* env, const void* anchor) {
  if (const char* given = std::getenv(env); given != nullptr && *given != '\0') return given;
  Dl_info info{};
  if (dladdr(anchor, &info) != 0 && info.dli_fname != nullptr) {
    const std::string self = info.dli_fname;
    const auto slash = self.rfind('/');
    if (slash != std::string::npos) {
      const std::string candidate = self.substr(0, slash + 1) + name;
      struct stat st {};
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
    }
  }
  return name;
}

}  // namespace spbmm::kernels
