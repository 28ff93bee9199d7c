#pragma once
// The progress line on stderr: done/total, measurements per minute, ETA, the item in hand. Redrawn in place
// with '\r'; silent when the stream is not a terminal (logs of batch jobs stay clean).
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace dle::collect {

class ProgressLine {
 public:
  ProgressLine(std::ostream& out, bool enabled) : out_(out), enabled_(enabled), start_(Clock::now()) {}
  // `done_now` counts measurements made by this process (the rate), `done` includes those already stored.
  void update(std::uint64_t done, std::uint64_t total, std::uint64_t done_now, const std::string& item);
  void finish();  // ends the line so later output starts on a fresh one

  // "12/80 (15%) | 4.2 meas/min | ETA 16 min | <item>", cut to `width` characters. Pure, for tests.
  static std::string format(std::uint64_t done, std::uint64_t total, std::uint64_t done_now, double elapsed_s,
                            const std::string& item, std::size_t width = 110);

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool enabled_;
  Clock::time_point start_;
  bool drawn_ = false;
};

// True when file descriptor 2 is a terminal.
bool stderr_is_tty();

}  // namespace dle::collect
