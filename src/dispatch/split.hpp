// The batch split between CPU and GPU: which entries the device takes so that the CPU share,
// run at the same time, and the device share finish soonest (a pure, tested function).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace spbmm::dispatch {

// One entry as the split sees it: its estimate on the best CPU kernel (seconds on one thread),
// and on the device without the per-call costs, which the device share pays once.
struct SplitEntry {
  double cpu_seconds = 0;
  double gpu_seconds = 0;  // +inf where the entry cannot go to the device
  bool movable = true;     // false: the entry stays where `on_gpu` puts it (a forced kernel)
  bool on_gpu = false;     // where a fixed entry runs
};

struct Split {
  std::vector<unsigned char> on_gpu;  // per entry
  double cpu_seconds = 0;             // the CPU share over `threads` threads
  double gpu_seconds = 0;             // the device share, per-call costs included
  double seconds = 0;                 // max of the two: they run at the same time
  double cpu_alone = 0;               // every movable entry on the CPU
  double gpu_alone = 0;               // every movable entry that can go on the device there
  bool mixed() const noexcept { return cpu_seconds > 0 && gpu_seconds > 0; }
  std::string str() const;  // one line for explain()
};

// Entries are offered to the device in the order of their device-to-CPU time ratio (best for the
// device first); the split is the prefix with the smallest max(CPU share / threads, device share).
// gpu_call_seconds: what one device call costs whatever it holds (launch, copies, wait).
Split split_batch(const std::vector<SplitEntry>& entries, double gpu_call_seconds, int threads);

}  // namespace spbmm::dispatch
