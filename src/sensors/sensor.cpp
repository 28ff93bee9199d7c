#include "sensors/sensor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "core/errors.hpp"
#include "sensors/estimated.hpp"
#include "sensors/nvml.hpp"
#include "sensors/perf.hpp"
#include "sensors/rapl.hpp"
#include "sensors/sysfs.hpp"

namespace dle::sensors {

double Reading::total_j() const {
  double sum = 0.0;
  for (const auto& d : domains) {
    // A reading without a top-level list (built by hand) has no nesting to respect: every domain counts.
    if (top_level.empty() || std::find(top_level.begin(), top_level.end(), d.name) != top_level.end()) sum += d.energy_j;
  }
  return sum;
}

void check_watts_per_core(double watts, const std::string& source) {
  if (!std::isfinite(watts) || watts <= 0.0 || watts > 1000.0) {
    std::ostringstream out;
    out << source << " = " << watts
        << " is not a plausible power per busy core; give watts between 0 and 1000, e.g. 7.5 (the default)";
    throw ConfigError(out.str());
  }
}

SensorOptions SensorOptions::from_environment() {
  SensorOptions o;
  std::vector<std::string> problems;
  auto path_var = [&](const char* var, std::string& target) {
    const char* v = std::getenv(var);
    if (!v) return;
    if (*v == '\0') {
      problems.push_back(std::string(var) + " is set but empty; give a path or unset it");
      return;
    }
    target = v;
  };
  path_var("DLENERGY_POWERCAP_ROOT", o.powercap_root);
  path_var("DLENERGY_PERF_ROOT", o.perf_root);
  path_var("DLENERGY_NVML_LIBRARY", o.nvml_library);
  if (const char* v = std::getenv("DLENERGY_WATTS_PER_CORE")) {
    const std::string text = trim(v);
    char* end = nullptr;
    const double w = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) {
      problems.push_back("DLENERGY_WATTS_PER_CORE='" + std::string(v) +
                         "' is not a number of watts per core; set it to e.g. 7.5 or unset it");
    } else {
      try {
        check_watts_per_core(w, "DLENERGY_WATTS_PER_CORE");
        o.watts_per_core = w;
      } catch (const ConfigError& e) {
        problems.push_back(e.what());
      }
    }
  }
  if (!problems.empty()) throw ConfigError(problems);
  return o;
}

Registry<SensorEntry>& sensor_registry() {
  static Registry<SensorEntry> registry("sensor");
  return registry;
}

void register_builtin_sensors() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& r = sensor_registry();
    r.add("rapl", {"RAPL energy counters through Linux powercap sysfs (packages and their subzones), wraparound "
                   "corrected by a background poller",
                   [](const SensorOptions& o) { return probe_rapl(o, *real_file_reader()); },
                   [](const SensorOptions& o) -> std::unique_ptr<Sensor> {
                     RaplConfig c;
                     c.root = o.powercap_root;
                     return std::make_unique<RaplSensor>(c);
                   }});
    r.add("perf", {"RAPL energy counters through perf_event_open on the kernel's power PMU",
                   [](const SensorOptions& o) { return probe_perf(o, real_file_reader(), real_perf_event_api()); },
                   [](const SensorOptions& o) -> std::unique_ptr<Sensor> {
                     PerfConfig c;
                     c.root = o.perf_root;
                     return std::make_unique<PerfSensor>(c);
                   }});
#ifdef DLENERGY_NO_NVML
    const std::string off = "built without NVML support (configure with -DDLENERGY_WITH_NVML=ON to enable it)";
    r.add("nvml", {"NVIDIA GPUs through NVML (disabled in this build)",
                   [off](const SensorOptions&) { return Probe{false, off}; },
                   [off](const SensorOptions&) -> std::unique_ptr<Sensor> { throw SensorUnavailable(off); }});
#else
    r.add("nvml", {"NVIDIA GPUs through NVML (libnvidia-ml loaded at run time): energy counter or power sampling",
                   [](const SensorOptions& o) { return probe_nvml(o); },
                   [](const SensorOptions& o) -> std::unique_ptr<Sensor> {
                     NvmlConfig c;
                     c.library = o.nvml_library;
                     return std::make_unique<NvmlSensor>(c);
                   }});
#endif
    r.add("estimated", {"NOT a measurement: process CPU time x a stated power per busy core",
                        [](const SensorOptions& o) {
                          try {
                            check_watts_per_core(o.watts_per_core, "watts per core");
                          } catch (const ConfigError& e) {
                            return Probe{false, e.what()};
                          }
                          std::ostringstream note;
                          note << "always available: CPU time x " << o.watts_per_core << " W per busy core (NOT a measurement)";
                          return Probe{true, note.str()};
                        },
                        [](const SensorOptions& o) -> std::unique_ptr<Sensor> {
                          check_watts_per_core(o.watts_per_core, "watts per core");
                          EstimatedConfig c;
                          c.watts_per_core = o.watts_per_core;
                          return std::make_unique<EstimatedSensor>(c);
                        }});
  });
}

std::vector<std::string> sensor_names() {
  register_builtin_sensors();
  std::vector<std::string> names{"auto"};
  for (const auto& n : sensor_registry().names()) names.push_back(n);
  return names;
}

std::unique_ptr<Sensor> open_sensor(const std::string& name, const SensorOptions& options) {
  return open_sensor(name, options, nullptr);
}

std::unique_ptr<Sensor> open_sensor(const std::string& name, const SensorOptions& options,
                                    std::vector<std::string>* notes) {
  register_builtin_sensors();
  auto& registry = sensor_registry();
  if (name == "auto") {
    // nvml only by name: it measures GPUs, not the CPU that runs the layers.
    for (const char* candidate : {"rapl", "perf", "estimated"}) {
      const auto& entry = registry.get(candidate);
      const Probe p = entry.probe(options);
      if (!p.available) {
        if (notes) notes->push_back(std::string(candidate) + ": " + p.reason);
        continue;
      }
      try {
        return entry.create(options);
      } catch (const Error& e) {
        if (notes) notes->push_back(std::string(candidate) + ": " + e.what());
      }
    }
    std::string why;
    if (notes)
      for (const auto& n : *notes) why += "\n  - " + n;
    throw SensorUnavailable("no sensor is usable (--sensor auto tried rapl, perf, estimated)" + why);
  }
  if (!registry.contains(name)) {
    std::string list;
    for (const auto& n : sensor_names()) list += (list.empty() ? "" : ", ") + n;
    throw ConfigError("unknown sensor '" + name + "'; valid names: " + list);
  }
  const auto& entry = registry.get(name);
  try {
    return entry.create(options);
  } catch (const PermissionDenied& e) {
    throw PermissionDenied("sensor " + name + ": " + e.what());
  } catch (const SensorUnavailable& e) {
    throw SensorUnavailable("sensor " + name + " is unavailable: " + e.what());
  }
}

}  // namespace dle::sensors
