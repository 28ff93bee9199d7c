// dlenergy sensors: every backend, available or not and why, its domains, resolution and update interval.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "report/table.hpp"
#include "sensors/sensor.hpp"

namespace dle::cli {

void add_sensor_flags(CLI::App& sub, SensorFlags& flags) {
  sub.add_option("--powercap-root", flags.powercap_root,
                 "Powercap sysfs root for the rapl sensor (default /sys/class/powercap; env DLENERGY_POWERCAP_ROOT)");
  sub.add_option("--perf-root", flags.perf_root,
                 "perf event_source root for the perf sensor (default /sys/bus/event_source/devices; env "
                 "DLENERGY_PERF_ROOT)");
  sub.add_option("--nvml-library", flags.nvml_library,
                 "NVML library for the nvml sensor (default libnvidia-ml.so.1; env DLENERGY_NVML_LIBRARY)");
  sub.add_option("--watts-per-core", flags.watts_per_core,
                 "Estimated sensor: watts per busy core (default 7.5; env DLENERGY_WATTS_PER_CORE)")
      ->check(
          [](const std::string& v) {
            try {
              std::size_t used = 0;
              const double w = std::stod(v, &used);
              if (used != v.size()) return v + " is not a number";
              sensors::check_watts_per_core(w, "--watts-per-core");
            } catch (const ConfigError& e) {
              return std::string(e.what());
            } catch (const std::exception&) {
              return v + " is not a number";
            }
            return std::string();
          },
          "watts in (0, 1000]");
}

CLI::Option* sensor_choice(CLI::Option* option) {
  return option->check(
      [](const std::string& v) {
        const auto names = sensors::sensor_names();
        if (std::find(names.begin(), names.end(), v) != names.end()) return std::string();
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        return "unknown sensor '" + v + "'; valid names: " + list;
      },
      "sensor name");
}

sensors::SensorOptions sensor_options_from(const CLI::App& sub, const SensorFlags& flags) {
  sensors::SensorOptions o = sensors::SensorOptions::from_environment();
  apply_sensor_flags(sub, flags, o);
  return o;
}

void apply_sensor_flags(const CLI::App& sub, const SensorFlags& flags, sensors::SensorOptions& o) {
  if (sub.count("--powercap-root")) o.powercap_root = flags.powercap_root;
  if (sub.count("--perf-root")) o.perf_root = flags.perf_root;
  if (sub.count("--nvml-library")) o.nvml_library = flags.nvml_library;
  if (sub.count("--watts-per-core")) {
    sensors::check_watts_per_core(flags.watts_per_core, "--watts-per-core");
    o.watts_per_core = flags.watts_per_core;
  }
}

namespace {

struct SensorsOptions {
  SensorFlags flags;
  std::string format;
};

// What `dlenergy sensors` shows for one backend.
struct SensorStatus {
  std::string name;
  std::string description;
  sensors::Probe probe;
  bool estimated = false;
  std::vector<std::string> domains;
  double resolution_j = 0.0;
  double update_interval_s = 0.0;
  std::string assumptions;
};

std::vector<SensorStatus> survey(const sensors::SensorOptions& options) {
  sensors::register_builtin_sensors();
  std::vector<SensorStatus> out;
  for (const auto& name : sensors::sensor_registry().names()) {
    const auto& entry = sensors::sensor_registry().get(name);
    SensorStatus s;
    s.name = name;
    s.description = entry.description;
    s.estimated = name == "estimated";
    s.probe = entry.probe(options);
    if (s.probe.available) {
      // Opening is what reveals the domains; a probe that passed can still fail here (a counter vanished).
      try {
        const auto sensor = entry.create(options);
        s.estimated = sensor->estimated();
        s.domains = sensor->domains();
        s.resolution_j = sensor->resolution_j();
        s.update_interval_s = sensor->update_interval_s();
        s.assumptions = sensor->assumptions();
      } catch (const Error& e) {
        s.probe = {false, e.what()};
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

nlohmann::ordered_json to_json(const std::vector<SensorStatus>& statuses) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& s : statuses) {
    nlohmann::ordered_json j;
    j["name"] = s.name;
    j["available"] = s.probe.available;
    j["reason"] = s.probe.reason;
    j["domains"] = s.domains;
    j["estimated"] = s.estimated;
    j["description"] = s.description;
    j["resolution_j"] = s.probe.available ? nlohmann::ordered_json(s.resolution_j) : nlohmann::ordered_json();
    j["update_interval_s"] = s.probe.available ? nlohmann::ordered_json(s.update_interval_s) : nlohmann::ordered_json();
    j["assumptions"] = s.assumptions;
    list.push_back(j);
  }
  return {{"sensors", list}};
}

void write_table(std::ostream& out, const std::vector<SensorStatus>& statuses) {
  report::Table t({"sensor", "available", "figures", "domains", "resolution_j", "update_interval_s"});
  for (const auto& s : statuses) {
    std::string domains;
    for (const auto& d : s.domains) domains += (domains.empty() ? "" : ",") + d;
    t.add_row({s.name, s.probe.available ? "yes" : "no", s.estimated ? "(estimated)" : "measured",
               domains.empty() ? "-" : domains, s.probe.available ? report::fmt_sig(s.resolution_j, 3) : "-",
               !s.probe.available ? "-" : s.update_interval_s == 0.0 ? "continuous" : report::fmt_sig(s.update_interval_s, 3)});
  }
  t.write_text(out);
  out << "\n";
  for (const auto& s : statuses) out << s.name << ": " << s.probe.reason << "\n";
  for (const auto& s : statuses)
    if (!s.assumptions.empty()) out << "assumptions of " << s.name << ": " << s.assumptions << "\n";
}

void run_sensors(const CLI::App& sub, const SensorsOptions& o) {
  const auto statuses = survey(sensor_options_from(sub, o.flags));
  if (o.format == "json")
    std::cout << to_json(statuses).dump(2) << "\n";
  else
    write_table(std::cout, statuses);
}

}  // namespace

void setup_sensors(CLI::App& app) {
  auto opts = std::make_shared<SensorsOptions>();
  auto* sub = app.add_subcommand("sensors", "List every energy sensor, whether it is usable here and why not.");
  add_sensor_flags(*sub, opts->flags);
  add_format_option(*sub, opts->format, {"table", "json"});
  sub->callback([opts, sub] { run_sensors(*sub, *opts); });
}

}  // namespace dle::cli
