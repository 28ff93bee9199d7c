#pragma once
// RAPL through perf_event_open on the kernel's `power` PMU (energy-pkg, energy-ram, energy-cores, ...). The
// PMU type, each event's encoding, scale and unit are read from sysfs (<perf_root>/power/...), never
// hard-coded. One counter per event per package: the PMU's cpumask lists one CPU per package. The kernel
// accumulates the 32-bit MSR into a 64-bit count itself (with its own overflow timer), so no poller is needed.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sensors/periodic.hpp"
#include "sensors/sensor.hpp"
#include "sensors/sysfs.hpp"

namespace dle::sensors {

inline constexpr double kPerfUpdateIntervalS = 0.001;  // the RAPL MSRs behind the PMU update about every 1 ms
// A VM can list the power PMU without backing it: on the Firecracker H200 machines the PMU offers energy-psys,
// opens fine and counts 0 forever. A real package or platform counter advances within milliseconds (it updates
// every ~1 ms and a running package draws watts), so each top-level counter must advance within this long.
inline constexpr double kPerfLivenessTimeoutS = 0.1;

// The encoding of one event, as perf_event_attr wants it.
struct PerfEventAttr {
  std::uint32_t type = 0;
  std::uint64_t config = 0;
  std::uint64_t config1 = 0;
  std::uint64_t config2 = 0;
};

// The system calls behind the perf backend, so tests can fake them.
class PerfEventApi {
 public:
  virtual ~PerfEventApi() = default;
  // Opens a system-wide counter on `cpu`; returns a file descriptor >= 0, or -errno.
  virtual int open(const PerfEventAttr& attr, int cpu) = 0;
  // The counter's current 64-bit value; throws SensorUnavailable when it cannot be read.
  virtual std::uint64_t read(int fd) = 0;
  virtual void close(int fd) = 0;
};
std::shared_ptr<PerfEventApi> real_perf_event_api();

// One energy-* event as sysfs describes it.
struct PerfEventSpec {
  std::string event;       // "energy-pkg"
  PerfEventAttr attr;
  double scale = 0.0;      // the .scale file: one count is `scale` `unit`s
  std::string unit;        // the .unit file, e.g. "Joules"
  double joules_per_count = 0.0;  // scale converted to joules: the one conversion point of this backend
};

struct PerfPowerPmu {
  std::uint32_t type = 0;
  std::vector<int> cpus;              // one per package, from cpumask
  std::vector<PerfEventSpec> events;  // sorted by name
  std::vector<std::string> skipped;   // events that could not be used, with the reason
};

// Parses <perf_root>/power: type, cpumask, events/energy-*{,.scale,.unit} and the format/ files that place each
// term of an event's encoding. Throws SensorUnavailable naming what is missing.
PerfPowerPmu read_power_pmu(const std::string& perf_root, const FileReader& reader);

// "0", "0,14", "0-3,8" -> CPU numbers; throws SensorUnavailable on malformed text.
std::vector<int> parse_cpu_list(const std::string& text, const std::string& path);
// Joules per one `unit` ("Joules" -> 1); throws SensorUnavailable for a unit that is not an energy.
double perf_unit_to_joules(const std::string& unit);
// Domain names shared with the rapl backend: energy-pkg -> "package-0", energy-ram -> "package-0/dram",
// energy-cores -> "package-0/core", energy-gpu -> "package-0/uncore", energy-psys -> "psys" (package 0) or
// "psys-N", energy-X -> "package-0/X".
std::string perf_domain_name(const std::string& event, size_t package_index);

struct PerfConfig {
  std::string root = "/sys/bus/event_source/devices";
  std::shared_ptr<const FileReader> reader;  // null: the real file system
  std::shared_ptr<PerfEventApi> api;         // null: the real perf_event_open
  Clock clock;                               // null: steady clock
  // Check that every top-level counter (energy-pkg, or energy-psys) advances within kPerfLivenessTimeoutS;
  // tests with fake counters that only move when told turn it off.
  bool verify_counters_advance = true;
};

class PerfSensor : public Sensor {
 public:
  explicit PerfSensor(PerfConfig config);
  ~PerfSensor() override;

  std::string name() const override { return "perf"; }
  bool estimated() const override { return false; }
  std::vector<std::string> domains() const override;
  double resolution_j() const override;
  double update_interval_s() const override { return kPerfUpdateIntervalS; }
  std::unique_ptr<Window> start() override;

  const PerfPowerPmu& pmu() const { return pmu_; }

  struct Counter;  // an open fd (RAII) with its event and domain

 private:
  void check_counters_advance() const;

  PerfPowerPmu pmu_;
  std::shared_ptr<PerfEventApi> api_;
  Clock clock_;
  std::shared_ptr<std::vector<Counter>> counters_;
};

// Opens the sensor (every counter, plus the liveness check) and closes it again; the reason says why not.
Probe probe_perf(const SensorOptions& options, std::shared_ptr<const FileReader> reader,
                 std::shared_ptr<PerfEventApi> api);

}  // namespace dle::sensors
