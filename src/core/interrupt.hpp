#pragma once
// Ctrl-C (SIGINT) and SIGTERM (SLURM's time limit, `timeout`) as a flag that long-running commands poll between
// units of work they commit whole (a measurement, a merged run), so that they stop at the next boundary and say
// how far they got instead of dying mid-write.
#include <atomic>
#include <string>

namespace dle {

// While a guard lives, SIGINT and SIGTERM set flag(); the first one also restores the default action of both, so a
// second signal ends the process at once (committed work is safe). A signal the process was started with ignored
// (a background job of a script) stays ignored. The guard's end restores what was there before. One guard at a time.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  static const std::atomic<bool>& flag();
  static int signal_number();  // the first signal received, 0 if none
};

// "Ctrl-C (SIGINT)", "SIGTERM", or "signal N".
std::string signal_description(int sig);

}  // namespace dle
