// The batch split between CPU and GPU (see split.hpp).
#include "dispatch/split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace spbmm::dispatch {

std::string Split::str() const {
  const auto ms = [](double s) { return std::isfinite(s) ? s * 1e3 : -1.0; };
  std::size_t g = 0;
  for (const unsigned char x : on_gpu) g += x;
  char line[256];
  std::snprintf(line, sizeof(line),
                "batch split: %zu of %zu entries on the gpu (%.3g ms) while the cpu runs the rest "
                "(%.3g ms); cpu alone %.3g ms, gpu alone %.3g ms",
                g, on_gpu.size(), ms(gpu_seconds), ms(cpu_seconds), ms(cpu_alone), ms(gpu_alone));
  return line;
}

Split split_batch(const std::vector<SplitEntry>& entries, double gpu_call_seconds, int threads) {
  const double t = std::max(threads, 1);
  Split s;
  s.on_gpu.assign(entries.size(), 0);
  double cpu_fixed = 0;
  double gpu_fixed = 0;
  bool any_fixed_gpu = false;
  std::vector<std::size_t> movable;
  double cpu_movable = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const SplitEntry& e = entries[i];
    if (!e.movable) {
      s.on_gpu[i] = e.on_gpu ? 1 : 0;
      if (e.on_gpu) {
        gpu_fixed += e.gpu_seconds;
        any_fixed_gpu = true;
      } else {
        cpu_fixed += e.cpu_seconds;
      }
      continue;
    }
    cpu_movable += e.cpu_seconds;
    movable.push_back(i);
  }
  const auto ratio = [&](std::size_t i) {
    const SplitEntry& e = entries[i];
    return e.cpu_seconds > 0 ? e.gpu_seconds / e.cpu_seconds : HUGE_VAL;
  };
  std::stable_sort(movable.begin(), movable.end(),
                   [&](std::size_t x, std::size_t y) { return ratio(x) < ratio(y); });
  const auto gpu_time = [&](double variable, bool any) {
    return any ? gpu_call_seconds + gpu_fixed + variable : 0.0;
  };
  // Prefix k: the first k movable entries on the device.
  double best = HUGE_VAL;
  std::size_t best_k = 0;
  double gpu_var = 0;
  double cpu_rest = cpu_movable;
  for (std::size_t k = 0; k <= movable.size(); ++k) {
    if (k > 0) {
      const SplitEntry& e = entries[movable[k - 1]];
      if (!std::isfinite(e.gpu_seconds)) break;  // sorted: none after it can go either
      gpu_var += e.gpu_seconds;
      cpu_rest -= e.cpu_seconds;
    }
    const double cpu = std::max(0.0, cpu_fixed + cpu_rest) / t;
    const double gpu = gpu_time(gpu_var, any_fixed_gpu || k > 0);
    const double total = std::max(cpu, gpu);
    if (k == 0) s.cpu_alone = cpu;
    if (total < best) {
      best = total;
      best_k = k;
      s.cpu_seconds = cpu;
      s.gpu_seconds = gpu;
    }
  }
  // gpu_alone: the device with every entry it can take (the rest, if any, still on the CPU).
  {
    double var = 0;
    bool any = any_fixed_gpu;
    double rest = cpu_fixed;
    for (const std::size_t i : movable) {
      if (std::isfinite(entries[i].gpu_seconds)) {
        var += entries[i].gpu_seconds;
        any = true;
      } else {
        rest += entries[i].cpu_seconds;
      }
    }
    s.gpu_alone = std::max(gpu_time(var, any), rest / t);
  }
  for (std::size_t k = 0; k < best_k; ++k) s.on_gpu[movable[k]] = 1;
  s.seconds = best;
  return s;
}

}  // namespace spbmm::dispatch
