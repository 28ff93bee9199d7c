// dlenergy idle: the idle power per domain over N seconds (the collectors' baseline).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "report/table.hpp"
#include "sensors/sensor.hpp"

namespace dle::cli {

namespace {

struct IdleOptions {
  SensorFlags flags;
  std::string sensor = "auto";
  std::string format;
  double seconds = 10.0;
};

void run_idle(const CLI::App& sub, const IdleOptions& o) {
  const sensors::SensorOptions options = sensor_options_from(sub, o.flags);
  std::vector<std::string> notes;
  const auto sensor = sensors::open_sensor(o.sensor, options, &notes);
  auto window = sensor->start();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  const sensors::Reading r = window->stop();
  const double total_j = r.total_j();
  const double total_w = r.duration_s > 0 ? total_j / r.duration_s : 0.0;
  const std::string label = sensor->estimated() ? "estimated" : "measured";

  if (o.format == "json") {
    nlohmann::ordered_json domains = nlohmann::ordered_json::array();
    for (const auto& d : r.domains)
      domains.push_back({{"name", d.name}, {"energy_j", d.energy_j}, {"power_w", r.duration_s > 0 ? d.energy_j / r.duration_s : 0.0}});
    nlohmann::ordered_json j;
    j["sensor"] = sensor->name();
    j["estimated"] = sensor->estimated();
    j["duration_s"] = r.duration_s;
    j["domains"] = domains;
    j["total_energy_j"] = total_j;
    j["total_power_w"] = total_w;
    j["total_domains"] = r.top_level;
    j["assumptions"] = sensor->assumptions();
    j["sensor_notes"] = notes;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "sensor: " << sensor->name() << " (" << label << ")\n";
  for (const auto& n : notes) std::cout << "  auto skipped " << n << "\n";
  std::cout << "\n";
  report::Table t({"domain", "idle_power_w (" + label + ")", "energy_j (" + label + ")"});
  t.align_right({1, 2});
  for (const auto& d : r.domains)
    t.add_row({d.name, report::fmt_sig(r.duration_s > 0 ? d.energy_j / r.duration_s : 0.0, 4), report::fmt_sig(d.energy_j, 6)});
  t.write_text(std::cout);
  std::cout << "\ntotal idle_power_w: " << report::fmt_sig(total_w, 4) << " W (" << label << ")\n"
            << "duration_s: " << report::fmt_sig(r.duration_s, 6) << " s (measured, steady clock)\n";
  if (sensor->estimated())
    std::cout << "note: the estimated sensor counts this process's CPU time, so its idle power is about 0 W by "
                 "construction\n";
  if (!sensor->assumptions().empty()) std::cout << "assumptions: " << sensor->assumptions() << "\n";
}

}  // namespace

void setup_idle(CLI::App& app) {
  auto opts = std::make_shared<IdleOptions>();
  auto* sub = app.add_subcommand("idle", "Measure the idle power per domain over a number of seconds.");
  finite_in_range(sub->add_option("--seconds", opts->seconds, "How long to measure, in seconds (> 0)")->required(),
                  0.001, 86400.0);
  sensor_choice(sub->add_option("--sensor", opts->sensor, "Sensor: auto, rapl, perf, nvml, estimated")->capture_default_str());
  add_format_option(*sub, opts->format, {"table", "json"});
  add_sensor_flags(*sub, opts->flags);
  sub->callback([opts, sub] { run_idle(*sub, *opts); });
}

}  // namespace dle::cli
