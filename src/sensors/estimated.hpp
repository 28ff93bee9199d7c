#pragma once
// The `estimated` sensor, for machines without energy counters (VMs, containers): energy = CPU time of this
// process and its waited-for children (user + system, getrusage) x a stated power per busy core. It is NOT a
// measurement: every figure it produces is labelled estimated, and assumptions() says how it was made.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sensors/periodic.hpp"
#include "sensors/sensor.hpp"

namespace dle::sensors {

// The default power per busy core: the paper's CPU, an Intel Xeon Gold 5120 (105 W TDP, 14 cores) -> 7.5 W.
inline constexpr double kDefaultWattsPerCore = 105.0 / 14.0;

// Seconds of CPU time consumed so far; the default reads getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN),
// user + system, so `dlenergy measure` counts the command it waited for.
using CpuTimeSource = std::function<double()>;
CpuTimeSource process_cpu_time_s();

struct EstimatedConfig {
  double watts_per_core = kDefaultWattsPerCore;
  CpuTimeSource cpu_time;  // null: process_cpu_time_s()
  Clock clock;             // null: steady clock
};

class EstimatedSensor : public Sensor {
 public:
  // Throws ConfigError when watts_per_core is not a positive, finite number.
  explicit EstimatedSensor(EstimatedConfig config);

  std::string name() const override { return "estimated"; }
  bool estimated() const override { return true; }
  std::vector<std::string> domains() const override { return {"cpu"}; }
  // getrusage reports microseconds of CPU time.
  double resolution_j() const override { return 1e-6 * watts_per_core_; }
  double update_interval_s() const override { return 0.0; }  // CPU time advances continuously
  std::string assumptions() const override;
  std::unique_ptr<Window> start() override;

  double watts_per_core() const { return watts_per_core_; }

 private:
  double watts_per_core_;
  CpuTimeSource cpu_time_;
  Clock clock_;
};

// The assumptions text for a given power per core (shown by `dlenergy sensors` before a sensor is opened).
std::string estimated_assumptions(double watts_per_core);

}  // namespace dle::sensors
