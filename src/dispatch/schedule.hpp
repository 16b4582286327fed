// The CPU schedule of a batch: which products run alone with every thread, which share the
// threads one product each. A pure function of the estimates.
#pragma once

#include <cstddef>
#include <vector>

namespace spbmm::dispatch {

// One product of the batch for the CPU schedule.
struct Task {
  std::size_t product = 0;
  double seconds = 0;   // estimated, single thread
  bool splits = false;  // its kernel can use every thread by itself
};

// An entry this many estimated seconds or more may be worth all threads inside its kernel; below
// it the fork/join costs more than a thread's idle tail.
inline constexpr double kMinSplitSeconds = 200e-6;

// `alone` run first, one after another, each with every thread inside its kernel; then `loop`
// runs one product per thread, handed out in this order as threads come free.
struct Schedule {
  std::vector<std::size_t> alone;
  std::vector<std::size_t> loop;
};

// Largest estimate first (ties keep their order), so that the last products to start are the
// short ones. A task that splits, takes at least min_split_seconds and alone outweighs half a
// thread's fair share (seconds * threads > total / 2) would straggle in the loop: it runs alone.
// With one thread everything is in the loop.
Schedule schedule(std::vector<Task> tasks, int threads,
                  double min_split_seconds = kMinSplitSeconds);

}  // namespace spbmm::dispatch
