#pragma once
// Energy sensors behind one registry: rapl (powercap sysfs), perf (power PMU), nvml (NVIDIA, dlopen),
// estimated (process CPU time x a stated power per core). Joules inside; raw counters are converted at one
// point per backend. Every sensor has a cheap probe() that says why it is unavailable.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.hpp"

namespace dle::sensors {

struct Probe {
  bool available = false;
  std::string reason;  // why not (or, when available, a short note such as "2 packages")
};

struct DomainEnergy {
  std::string name;  // "package-0", "package-0/dram", "gpu-0", "cpu" (estimated) ...
  double energy_j = 0.0;
};

// What one measurement window saw.
struct Reading {
  std::vector<DomainEnergy> domains;
  double duration_s = 0.0;
  // Sum over domains that do not nest inside or overlap another: rapl/perf add the packages (psys only where
  // there is no package), not their subzones; see docs/sensors.md. An empty top_level adds every domain.
  double total_j() const;
  std::vector<std::string> top_level;  // names of the domains that total_j() adds (filled by the sensor)
};

// Settings shared by all backends. Paths are parameters so tests run on fake trees and a fake NVML.
struct SensorOptions {
  std::string powercap_root = "/sys/class/powercap";
  std::string perf_root = "/sys/bus/event_source/devices";
  std::string nvml_library = "libnvidia-ml.so.1";
  // The estimated sensor's assumption: watts drawn per fully busy core. Default documented in docs/sensors.md.
  double watts_per_core = 7.5;
  // Overrides from DLENERGY_POWERCAP_ROOT, DLENERGY_PERF_ROOT, DLENERGY_NVML_LIBRARY,
  // DLENERGY_WATTS_PER_CORE; a malformed value is a ConfigError naming the variable.
  static SensorOptions from_environment();
};

// An open measurement window: started when created, read once by stop().
class Window {
 public:
  virtual ~Window() = default;
  virtual Reading stop() = 0;
};

class Sensor {
 public:
  virtual ~Sensor() = default;
  virtual std::string name() const = 0;
  // True for figures that are not measured (the `estimated` backend). Shown wherever figures appear.
  virtual bool estimated() const = 0;
  virtual std::vector<std::string> domains() const = 0;
  // Smallest energy step the counter resolves, in joules (0 when not applicable), and how often it updates.
  virtual double resolution_j() const = 0;
  virtual double update_interval_s() const = 0;
  // Human-readable assumptions behind the figures (empty for real counters).
  virtual std::string assumptions() const { return {}; }
  virtual std::unique_ptr<Window> start() = 0;
};

struct SensorEntry {
  std::string description;
  std::function<Probe(const SensorOptions&)> probe;
  std::function<std::unique_ptr<Sensor>(const SensorOptions&)> create;  // throws SensorUnavailable/PermissionDenied
};

// The registry of backends, filled by register_builtin_sensors() (idempotent).
Registry<SensorEntry>& sensor_registry();
void register_builtin_sensors();

// Opens a sensor by name; "auto" picks the first available of rapl, perf, estimated (nvml only by name,
// since it measures GPUs). An unknown name is a ConfigError listing the names.
std::unique_ptr<Sensor> open_sensor(const std::string& name, const SensorOptions& options);
// The same; for "auto", appends to `notes` why each skipped backend was skipped ("rapl: no powercap zones ...").
std::unique_ptr<Sensor> open_sensor(const std::string& name, const SensorOptions& options,
                                    std::vector<std::string>* notes);

// The names open_sensor() accepts: "auto" followed by the registered backends.
std::vector<std::string> sensor_names();

// Checks a power per core for the estimated sensor: a positive, finite number of watts up to 1000 (above that
// it is almost surely a unit mistake, such as milliwatts). `source` names where it came from in the message.
// Throws ConfigError.
void check_watts_per_core(double watts, const std::string& source);

}  // namespace dle::sensors
