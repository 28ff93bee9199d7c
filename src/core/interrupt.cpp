#include "core/interrupt.hpp"

#include <signal.h>

namespace dle {

namespace {
std::atomic<bool> g_interrupted{false};
volatile sig_atomic_t g_signal = 0;
struct sigaction g_old_int {}, g_old_term {};
bool g_watch_int = false, g_watch_term = false;

extern "C" void on_interrupt(int sig) {
  if (g_signal == 0) g_signal = sig;  // the first signal is the one reported
  g_interrupted.store(true);
  // A second Ctrl-C or SIGTERM, of either kind, ends the process at once.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

// Installs the handler for `sig` unless the signal is ignored (a background job of a script ignores SIGINT so that
// Ctrl-C in the terminal spares it: that choice is kept). Returns whether the handler was installed.
bool watch(int sig, struct sigaction* old) {
  sigaction(sig, nullptr, old);
  if (old->sa_handler == SIG_IGN) return false;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, nullptr);
  return true;
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted.store(false);
  g_signal = 0;
  g_watch_int = watch(SIGINT, &g_old_int);
  g_watch_term = watch(SIGTERM, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
  if (g_watch_int) sigaction(SIGINT, &g_old_int, nullptr);
  if (g_watch_term) sigaction(SIGTERM, &g_old_term, nullptr);
}

const std::atomic<bool>& InterruptGuard::flag() { return g_interrupted; }
int InterruptGuard::signal_number() { return g_signal; }

std::string signal_description(int sig) {
  if (sig == SIGINT) return "Ctrl-C (SIGINT)";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

}  // namespace dle
