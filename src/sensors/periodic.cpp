#include "sensors/periodic.hpp"

#include <chrono>

namespace dle::sensors {

Clock steady_clock_s() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
}

PeriodicThread::PeriodicThread(double period_s, std::function<void()> tick)
    : period_s_(period_s), tick_(std::move(tick)), thread_([this] { loop(); }) {}

PeriodicThread::~PeriodicThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicThread::loop() {
  const auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(period_s_));
  auto next = std::chrono::steady_clock::now() + period;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    lock.unlock();
    tick_();
    lock.lock();
    // Schedule from the planned time, not from now, so the period does not drift; if a tick overran, start
    // again from now rather than firing a burst of catch-up ticks.
    next += period;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + period;
  }
}

}  // namespace dle::sensors
