#pragma once
// Time source and a background thread that calls a function at a fixed period. Both are parameters of the
// backends so tests can drive time and polling by hand.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace dle::sensors {

// Seconds on some monotonic clock; only differences matter.
using Clock = std::function<double()>;
Clock steady_clock_s();

// RAII: starts a thread that calls `tick` every `period_s` seconds (first call one period after start) until
// destruction, which wakes it and joins. `tick` must not throw (the owners catch and record their errors).
class PeriodicThread {
 public:
  PeriodicThread(double period_s, std::function<void()> tick);
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  double period_s() const { return period_s_; }

 private:
  void loop();

  double period_s_;
  std::function<void()> tick_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace dle::sensors
