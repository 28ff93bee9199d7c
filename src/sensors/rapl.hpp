#pragma once
// RAPL through the Linux powercap sysfs tree: every intel-rapl:N zone (a package, or psys) and its
// intel-rapl:N:M subzones (core, uncore, dram). energy_uj is a free-running counter in microjoules that wraps
// to 0 after max_energy_range_uj; a background poller reads every zone often enough that it can never wrap
// twice between two reads, so each read sees at most one wrap and the accumulated energy is exact.
// Derivation of the poll period: docs/sensors.md, section "RAPL wraparound".
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sensors/periodic.hpp"
#include "sensors/sensor.hpp"
#include "sensors/sysfs.hpp"

namespace dle::sensors {

// Poll-period rule: period = range_j / (kRaplPlausibleMaxPowerW * kRaplPollsPerWrap), clamped to
// [kRaplMinPollS, kRaplMaxPollS]. 500 W is above any single CPU package's TDP today (Xeon 9282: 400 W,
// EPYC 9754: 360 W); 4 polls per wrap leave a 4x margin on top; 1 s caps the period because a poll costs
// a few sysfs reads (tens of microseconds) and the cap protects against a range or power assumption being
// wrong by 100x. 1 ms is the counters' own update interval; polling faster gains nothing.
inline constexpr double kRaplPlausibleMaxPowerW = 500.0;
inline constexpr double kRaplPollsPerWrap = 4.0;
inline constexpr double kRaplMaxPollS = 1.0;
inline constexpr double kRaplMinPollS = 0.001;
inline constexpr double kRaplUpdateIntervalS = 0.001;  // Intel SDM: energy status updates about every 1 ms
inline constexpr double kRaplResolutionJ = 1e-6;       // energy_uj's unit (the hardware step is coarser)
// A hypervisor can list RAPL zones whose counters it does not back; they read 0 forever. A real package counter
// is free-running since boot and advances within milliseconds, so a package or psys zone that reads 0 and still
// reads 0 after this long is refused. (Only the stuck-at-0 signature: a counter that is merely still for 0.1 s
// cannot happen on hardware, and fake trees in tests hold still at other values.)
inline constexpr double kRaplLivenessTimeoutS = 0.1;

struct RaplZone {
  std::string id;           // "intel-rapl:0", "intel-rapl:0:2"
  std::string domain;       // "package-0", "package-0/dram", "psys"
  std::string energy_path;  // <root>/<id>/energy_uj
  std::uint64_t range_uj = 0;  // max_energy_range_uj: the counter wraps to 0 after this value
  bool top_level = false;      // added by Reading::total_j()
  double max_power_w = kRaplPlausibleMaxPowerW;  // plausible maximum drawn through the zone, for the period
};

// Finds every zone under `root` and reads its name and range; checks that energy_uj can be read. Throws
// SensorUnavailable (no zones, missing or malformed files) or PermissionDenied (rapl_permission_message).
std::vector<RaplZone> discover_rapl_zones(const std::string& root, const FileReader& reader);

// Throws SensorUnavailable when a top-level zone reads 0 uJ and does not advance within kRaplLivenessTimeoutS.
void check_rapl_zones_advance(const std::vector<RaplZone>& zones, const FileReader& reader);

// The energy between two raw readings of one counter in microjoules, assuming at most one wrap: a reading
// below the previous one means the counter passed range_uj and restarted at 0.
std::uint64_t rapl_delta_uj(std::uint64_t before_uj, std::uint64_t after_uj, std::uint64_t range_uj);

// The poll period for a counter of `range_uj` at `max_power_w` (see the rule above).
double rapl_poll_period_s(std::uint64_t range_uj, double max_power_w);

struct RaplConfig {
  std::string root = "/sys/class/powercap";
  std::shared_ptr<const FileReader> reader;  // null: the real file system
  bool background_poll = true;               // tests turn it off and call poll() themselves
  Clock clock;                               // null: steady clock
  bool verify_counters_advance = true;       // the stuck-at-0 check (kRaplLivenessTimeoutS)
};

class RaplSensor : public Sensor {
 public:
  explicit RaplSensor(RaplConfig config);
  ~RaplSensor() override;

  std::string name() const override { return "rapl"; }
  bool estimated() const override { return false; }
  std::vector<std::string> domains() const override;
  double resolution_j() const override { return kRaplResolutionJ; }
  double update_interval_s() const override { return kRaplUpdateIntervalS; }
  std::unique_ptr<Window> start() override;

  // Reads every zone once and adds the wrap-corrected increments. The poller calls it; tests call it directly.
  void poll();
  double poll_period_s() const { return poll_period_s_; }
  const std::vector<RaplZone>& zones() const;

  struct State;  // shared with open windows

 private:
  std::shared_ptr<State> state_;
  double poll_period_s_ = kRaplMaxPollS;
  std::unique_ptr<PeriodicThread> poller_;
};

Probe probe_rapl(const SensorOptions& options, const FileReader& reader);

}  // namespace dle::sensors
