#include "collect/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <sstream>

namespace dle::collect {

bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

std::string ProgressLine::format(std::uint64_t done, std::uint64_t total, std::uint64_t done_now, double elapsed_s,
                                 const std::string& item, std::size_t width) {
  std::ostringstream o;
  const double pct = total ? 100.0 * static_cast<double>(done) / static_cast<double>(total) : 100.0;
  o << done << "/" << total << " (" << static_cast<int>(std::floor(pct)) << "%)";
  const double minutes = elapsed_s / 60.0;
  if (done_now > 0 && minutes > 0) {
    const double rate = static_cast<double>(done_now) / minutes;  // measurements per minute
    o.setf(std::ios::fixed);
    o.precision(1);
    o << " | " << rate << " meas/min";
    const double eta_min = rate > 0 ? static_cast<double>(total - std::min(done, total)) / rate : 0.0;
    if (eta_min < 1.0)
      o << " | ETA " << static_cast<int>(std::ceil(eta_min * 60)) << " s";
    else if (eta_min < 120.0)
      o << " | ETA " << static_cast<int>(std::ceil(eta_min)) << " min";
    else
      o << " | ETA " << eta_min / 60.0 << " h";
  }
  if (!item.empty()) o << " | " << item;
  std::string s = o.str();
  if (s.size() > width) s = s.substr(0, width - 3) + "...";
  return s;
}

void ProgressLine::update(std::uint64_t done, std::uint64_t total, std::uint64_t done_now, const std::string& item) {
  if (!enabled_) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  out_ << "\r\033[K" << "collect: " << format(done, total, done_now, elapsed, item) << std::flush;
  drawn_ = true;
}

void ProgressLine::finish() {
  if (enabled_ && drawn_) out_ << "\n" << std::flush;
  drawn_ = false;
}

}  // namespace dle::collect
