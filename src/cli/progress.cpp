#include "cli/progress.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

namespace spbmm::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Steps shorter than this print nothing.
constexpr std::chrono::milliseconds kDelay{1000};
// How often a shown line is refreshed.
constexpr std::chrono::milliseconds kRefresh{250};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

bool progress_allowed(bool quiet) { return !quiet && isatty(STDERR_FILENO) == 1; }

struct Progress::State {
  std::string what;
  Clock::time_point start = Clock::now();
  std::mutex mutex;
  std::condition_variable wake;
  bool finished = false;
  bool shown = false;
  std::thread ticker;

  void run() {
    std::unique_lock<std::mutex> lock(mutex);
    if (wake.wait_for(lock, kDelay, [&] { return finished; })) return;
    while (!finished) {
      std::fprintf(stderr, "\r%s... %.1f s", what.c_str(), seconds(Clock::now() - start));
      std::fflush(stderr);
      shown = true;
      wake.wait_for(lock, kRefresh, [&] { return finished; });
    }
  }
};

Progress::Progress(std::string what, bool quiet) {
  if (!progress_allowed(quiet)) return;
  state_ = std::make_unique<State>();
  state_->what = std::move(what);
  try {
    state_->ticker = std::thread([s = state_.get()] { s->run(); });
  } catch (...) {
    state_.reset();  // no thread, no progress: the step itself goes on
  }
}

Progress::~Progress() { done(); }

void Progress::done() {
  if (!state_) return;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->finished = true;
  }
  state_->wake.notify_all();
  state_->ticker.join();
  if (state_->shown) {
    std::fprintf(stderr, "\r%s... done in %.1f s\n", state_->what.c_str(),
                 seconds(Clock::now() - state_->start));
    std::fflush(stderr);
  }
  state_.reset();
}

}  // namespace spbmm::cli
