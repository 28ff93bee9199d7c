#pragma once
// NVIDIA GPUs through NVML, loaded with dlopen at run time (no build-time dependency: the few types and
// signatures used are declared in nvml.cpp). One domain per GPU ("gpu-0"). Each GPU uses its total-energy
// counter (nvmlDeviceGetTotalEnergyConsumption, mJ, Volta and newer) where the driver supports it, otherwise a
// sampling thread integrates nvmlDeviceGetPowerUsage (mW) with the trapezoidal rule.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sensors/periodic.hpp"
#include "sensors/sensor.hpp"

namespace dle::sensors {

// Power samples for GPUs without an energy counter: 50 Hz. NVML's power reading itself changes about every
// 100 ms on recent GPUs (not documented by NVIDIA; measured by Yang et al., "Part-time Power Measurements",
// 2024), so sampling faster than that only follows it more closely in time.
inline constexpr double kNvmlSamplePeriodS = 0.02;
inline constexpr double kNvmlUpdateIntervalS = 0.1;
inline constexpr double kNvmlCounterResolutionJ = 1e-3;  // the energy counter counts millijoules

struct NvmlConfig {
  std::string library = "libnvidia-ml.so.1";
  bool background_sampling = true;  // tests turn it off and call sample() themselves
  double sample_period_s = kNvmlSamplePeriodS;
  // Integrate power even where an energy counter exists (to check one path against the other on real GPUs).
  bool force_power_sampling = false;
  Clock clock;  // null: steady clock
};

class NvmlSensor : public Sensor {
 public:
  // Throws SensorUnavailable (library, driver or GPU missing) or PermissionDenied.
  explicit NvmlSensor(NvmlConfig config);
  ~NvmlSensor() override;

  std::string name() const override { return "nvml"; }
  bool estimated() const override { return false; }
  std::vector<std::string> domains() const override;
  double resolution_j() const override;
  double update_interval_s() const override { return kNvmlUpdateIntervalS; }
  std::string assumptions() const override;
  std::unique_ptr<Window> start() override;

  // Takes one power sample of every GPU without an energy counter (the sampling thread calls it; tests call it).
  void sample();
  // Per GPU: true when its energy counter is used, false when its power is sampled.
  std::vector<bool> uses_energy_counter() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<PeriodicThread> sampler_;
};

Probe probe_nvml(const SensorOptions& options);

}  // namespace dle::sensors
