#include "core/interrupt.hpp"

#include <signal.h>

namespace dle {

namespace {
std::atomic<bool> g_interrupted{false};
volatile sig_atomic_t g_signal = 0;

extern "C" void on_interrupt(int sig) {
  g_interrupted.store(true);
  g_signal = sig;
  signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted.store(false);
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

InterruptGuard::~InterruptGuard() {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
}

const std::atomic<bool>& InterruptGuard::flag() { return g_interrupted; }
int InterruptGuard::signal_number() { return g_signal; }

std::string signal_description(int sig) {
  if (sig == SIGINT) return "Ctrl-C (SIGINT)";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

}  // namespace dle
