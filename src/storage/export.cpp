#include "storage/export.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "layers/layer_config.hpp"
#include "report/table.hpp"
#include "storage/number_format.hpp"

namespace dle::storage {

namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json json_number(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
  return v;
}

}  // namespace

const std::vector<std::string>& export_fixed_columns() {
  static const std::vector<std::string> c = {
      "id",       "run_id",     "kind",     "layer_type",        "architecture",          "layer_index",
      "repeat",   "passes",     "duration_s", "energy_j",        "energy_per_pass_j",     "net_energy_per_pass_j",
      "idle_power_w", "sensor", "estimated", "status"};
  return c;
}

std::vector<std::string> export_config_columns(const std::vector<MeasurementRecord>& ms) {
  std::vector<std::string> schema_order;
  for (const auto& t : layers::configurable_types())
    for (const auto& n : layers::config_params(t))
      if (std::find(schema_order.begin(), schema_order.end(), n) == schema_order.end()) schema_order.push_back(n);
  std::set<std::string> present;
  std::vector<std::string> others;
  for (const auto& m : ms)
    for (const auto& [k, v] : m.config.values) {
      if (present.insert(k).second &&
          std::find(schema_order.begin(), schema_order.end(), k) == schema_order.end())
        others.push_back(k);
    }
  std::vector<std::string> out;
  for (const auto& n : schema_order)
    if (present.count(n)) out.push_back(n);
  out.insert(out.end(), others.begin(), others.end());
  return out;
}

void write_measurements_csv(std::ostream& out, const std::vector<MeasurementRecord>& ms) {
  const auto config_columns = export_config_columns(ms);
  std::vector<std::string> header = export_fixed_columns();
  header.insert(header.end(), config_columns.begin(), config_columns.end());
  header.push_back("note");
  for (std::size_t i = 0; i < header.size(); ++i) out << (i ? "," : "") << report::csv_escape(header[i]);
  out << '\n';
  auto num = [](double v) { return round_trip_text(v); };
  for (const auto& m : ms) {
    std::vector<std::string> cells = {std::to_string(m.id),
                                      std::to_string(m.run_id),
                                      to_string(m.kind),
                                      m.config.type,
                                      m.architecture,
                                      std::to_string(m.layer_index),
                                      std::to_string(m.repeat),
                                      std::to_string(m.passes),
                                      num(m.duration_s),
                                      num(m.energy_j),
                                      num(m.energy_per_pass_j),
                                      num(m.net_energy_per_pass_j),
                                      num(m.idle_power_w),
                                      m.sensor,
                                      m.estimated ? "true" : "false",
                                      m.status};
    for (const auto& c : config_columns) cells.push_back(m.config.has(c) ? num(m.config.get(c)) : "");
    cells.push_back(m.note);
    for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << report::csv_escape(cells[i]);
    out << '\n';
  }
}

void write_measurements_json(std::ostream& out, const std::vector<MeasurementRecord>& ms) {
  ordered_json list = ordered_json::array();
  for (const auto& m : ms) {
    ordered_json j;
    j["id"] = m.id;
    j["run_id"] = m.run_id;
    j["kind"] = to_string(m.kind);
    j["layer_type"] = m.config.type;
    j["architecture"] = m.architecture;
    j["layer_index"] = m.layer_index;
    j["repeat"] = m.repeat;
    j["passes"] = m.passes;
    j["duration_s"] = json_number(m.duration_s);
    j["energy_j"] = json_number(m.energy_j);
    j["energy_per_pass_j"] = json_number(m.energy_per_pass_j);
    j["net_energy_per_pass_j"] = json_number(m.net_energy_per_pass_j);
    j["idle_power_w"] = json_number(m.idle_power_w);
    j["sensor"] = m.sensor;
    j["estimated"] = m.estimated;
    j["status"] = m.status;
    ordered_json config = ordered_json::object();
    for (const auto& [k, v] : m.config.values) config[k] = json_number(v);
    j["config"] = config;
    ordered_json domains = ordered_json::array();
    for (const auto& d : m.domains) domains.push_back({{"name", d.name}, {"energy_j", json_number(d.energy_j)}});
    j["domains"] = domains;
    j["note"] = m.note;
    list.push_back(std::move(j));
  }
  ordered_json doc;
  doc["measurements"] = std::move(list);
  out << doc.dump(2) << '\n';
}

}  // namespace dle::storage
