// Progress lines for long steps of the `spbmm` command. A step that takes longer than a second
// shows "<what>... 1.2 s" on stderr, updated while it runs and closed with the total when it
// ends, but only when stderr is a terminal and the command was not asked to be quiet: pipes,
// files and scripts see nothing.
#pragma once

#include <memory>
#include <string>

namespace spbmm::cli {

// Whether progress may be shown at all: stderr is a terminal and `quiet` is false.
bool progress_allowed(bool quiet);

// Shows progress for one step from construction to destruction (or done()).
class Progress {
 public:
  Progress(std::string what, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Ends the step now; a step that printed anything is closed with its total time.
  void done();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace spbmm::cli
