// The CPU schedule of a batch (see schedule.hpp).
#include "dispatch/schedule.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

namespace spbmm::dispatch {

Schedule schedule(std::vector<Task> tasks, int threads, double min_split_seconds) {
  const auto larger = [](const Task& x, const Task& y) { return x.seconds > y.seconds; };
  if (!std::is_sorted(tasks.begin(), tasks.end(), larger)) {
    std::stable_sort(tasks.begin(), tasks.end(), larger);
  }
  const double total = std::accumulate(tasks.begin(), tasks.end(), 0.0,
                                       [](double s, const Task& t) { return s + t.seconds; });
  Schedule out;
  out.loop.reserve(tasks.size());
  for (const Task& t : tasks) {
    if (threads > 1 && t.splits && t.seconds >= min_split_seconds &&
        t.seconds * threads > 0.5 * total) {
      out.alone.push_back(t.product);
    } else {
      out.loop.push_back(t.product);
    }
  }
  return out;
}

}  // namespace spbmm::dispatch
