#include "sensors/estimated.hpp"

#include <sys/resource.h>

#include <cmath>
#include <sstream>

#include "core/errors.hpp"

namespace dle::sensors {

namespace {

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec); }

double rusage_cpu_s(int who) {
  rusage ru{};
  if (::getrusage(who, &ru) != 0) return 0.0;  // cannot fail for RUSAGE_SELF/CHILDREN with a valid pointer
  return seconds(ru.ru_utime) + seconds(ru.ru_stime);
}

class EstimatedWindow : public Window {
 public:
  EstimatedWindow(double watts_per_core, CpuTimeSource cpu_time, Clock clock)
      : watts_per_core_(watts_per_core), cpu_time_(std::move(cpu_time)), clock_(std::move(clock)),
        start_cpu_s_(cpu_time_()), start_s_(clock_()) {}

  Reading stop() override {
    const double cpu_s = cpu_time_() - start_cpu_s_;
    Reading r;
    r.duration_s = clock_() - start_s_;
    r.domains.push_back({"cpu", cpu_s * watts_per_core_});
    r.top_level.push_back("cpu");
    return r;
  }

 private:
  double watts_per_core_;
  CpuTimeSource cpu_time_;
  Clock clock_;
  double start_cpu_s_;
  double start_s_;
};

}  // namespace

CpuTimeSource process_cpu_time_s() {
  return [] { return rusage_cpu_s(RUSAGE_SELF) + rusage_cpu_s(RUSAGE_CHILDREN); };
}

std::string estimated_assumptions(double watts_per_core) {
  std::ostringstream out;
  out << "NOT a measurement: energy_j = CPU seconds of this process and the children it waited for (user + "
         "system, getrusage) x "
      << watts_per_core
      << " W per busy core (--watts-per-core / DLENERGY_WATTS_PER_CORE; default 7.5 W = Intel Xeon Gold 5120, "
         "105 W TDP / 14 cores, the paper's CPU). Idle power, memory, uncore and other processes are not counted.";
  return out.str();
}

EstimatedSensor::EstimatedSensor(EstimatedConfig config)
    : watts_per_core_(config.watts_per_core),
      cpu_time_(config.cpu_time ? config.cpu_time : process_cpu_time_s()),
      clock_(config.clock ? config.clock : steady_clock_s()) {
  if (!std::isfinite(watts_per_core_) || watts_per_core_ <= 0.0) {
    std::ostringstream out;
    out << "watts per core " << watts_per_core_ << " is not a positive number of watts; pass e.g. --watts-per-core 7.5";
    throw ConfigError(out.str());
  }
}

std::string EstimatedSensor::assumptions() const { return estimated_assumptions(watts_per_core_); }

std::unique_ptr<Window> EstimatedSensor::start() {
  return std::make_unique<EstimatedWindow>(watts_per_core_, cpu_time_, clock_);
}

}  // namespace dle::sensors
