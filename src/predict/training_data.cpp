#include "predict/training_data.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "core/errors.hpp"
#include "core/statistics.hpp"
#include "core/units.hpp"
#include "predict/features.hpp"
#include "storage/hash.hpp"
#include "storage/store.hpp"

namespace dle::predict {

namespace {

std::string g17(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The rows as canonical text: one line per configuration with its energy at full precision.
std::string rows_text(const TrainingSet& set) {
  std::string out = set.type + "\n";
  for (std::size_t i = 0; i < set.configs.size(); ++i)
    out += set.configs[i].to_string() + " energy_j=" + g17(set.energy_j[i]) + "\n";
  return out;
}

// Splits one CSV line; fields may be double-quoted with "" for a quote.
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool parse_double(const std::string& s, double& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(out);
}

}  // namespace

std::string training_data_hash(const TrainingSet& set) { return storage::stable_hash(rows_text(set)); }

std::string training_data_hash(const std::map<std::string, TrainingSet>& sets) {
  std::string all;
  for (const auto& [type, set] : sets) all += rows_text(set);
  return storage::stable_hash(all);
}

DatabaseTrainingData load_training_data(const storage::Store& store, const DatabaseSelection& selection) {
  for (const auto& t : selection.layer_types) layers::config_params(t);  // ConfigError for unknown types
  DatabaseTrainingData out;
  std::vector<storage::MeasurementRecord> rows;
  std::vector<storage::MeasurementKind> kinds = {storage::MeasurementKind::kLayer};
  if (selection.include_network_layers) kinds.push_back(storage::MeasurementKind::kNetworkLayer);
  for (auto kind : kinds) {
    storage::MeasurementFilter f;
    f.kind = kind;
    f.layer_types = selection.layer_types;
    auto part = store.measurements(f);
    rows.insert(rows.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }

  struct Acc {
    layers::LayerConfig config;
    std::vector<double> energies;
  };
  std::map<std::string, std::vector<Acc>> acc;
  std::map<std::string, std::unordered_map<std::string, std::size_t>> index;
  std::set<std::int64_t> run_ids;
  std::set<std::string> sensors;
  bool estimated = false;
  std::size_t other_types = 0;
  std::map<std::string, std::size_t> bad_repeats;  // type -> repeats without a positive energy
  for (const auto& m : rows) {
    if (m.status != "ok") continue;  // the store does not hand them out (include_skipped is off); named below
    const std::string& type = m.config.type;
    if (!layers::is_configurable(type)) {
      ++other_types;
      continue;
    }
    const std::string key = m.config.to_string();
    auto& idx = index[type];
    auto it = idx.find(key);
    if (it == idx.end()) {
      it = idx.emplace(key, acc[type].size()).first;
      acc[type].push_back(Acc{m.config, {}});
    }
    // A repeat without a positive, finite energy is not a measurement of the layer (hand-edited data, a sensor that
    // lost its counter): it is left out, not averaged in.
    if (m.energy_per_pass_j > 0.0 && std::isfinite(m.energy_per_pass_j))
      acc[type][it->second].energies.push_back(m.energy_per_pass_j);
    else
      ++bad_repeats[type];
    run_ids.insert(m.run_id);
    if (!m.sensor.empty()) sensors.insert(m.sensor);
    estimated = estimated || m.estimated;
  }
  for (auto& [type, list] : acc) {
    TrainingSet set;
    set.type = type;
    std::size_t dropped = 0;
    for (auto& a : list) {
      if (a.energies.empty()) {
        ++dropped;
        continue;
      }
      const double typical = selection.repeats == RepeatReduction::kMedian ? stats::median(a.energies) : stats::mean(a.energies);
      if (!(typical > 0.0) || !std::isfinite(typical)) {
        ++dropped;
        continue;
      }
      set.configs.push_back(std::move(a.config));
      set.energy_j.push_back(typical);
      set.measurements.push_back(static_cast<int>(a.energies.size()));
    }
    if (bad_repeats.count(type))
      out.notes.push_back(type + ": " + std::to_string(bad_repeats.at(type)) +
                          " repeat(s) left out: their energy per pass is not a positive number");
    if (dropped)
      out.notes.push_back(type + ": " + std::to_string(dropped) +
                          " configuration(s) left out: none of their repeats has a positive energy per pass");
    if (!set.configs.empty()) out.sets.emplace(type, std::move(set));
  }
  // Measurements stored as skipped (a memory guard, a failed counter read, an import row without energy) never
  // reach the rows above; a type that has nothing else would otherwise just be missing. Say so per type.
  std::string skipped_only;
  for (const auto& type : selection.layer_types.empty() ? layers::configurable_types() : selection.layer_types) {
    if (out.sets.count(type)) continue;
    std::size_t skipped = 0;
    for (auto kind : kinds) {
      storage::MeasurementFilter f;
      f.kind = kind;
      f.layer_types = {type};
      f.include_skipped = true;
      skipped += store.count_measurements(f);
    }
    if (skipped) skipped_only += (skipped_only.empty() ? "" : ", ") + type + " (" + std::to_string(skipped) + ")";
  }
  if (!skipped_only.empty())
    out.notes.push_back("layer types whose measurements were all skipped or without energy, so they cannot be "
                        "fitted: " + skipped_only + "; `dlenergy export` shows why in each row's note");
  if (other_types) out.notes.push_back(std::to_string(other_types) + " measurements of layer types without a measurement schema left out");

  // Provenance from the runs that contributed rows.
  std::set<std::string> cpus, sources;
  std::set<int> cores;
  for (const auto& run : store.runs()) {
    if (!run_ids.count(run.id)) continue;
    if (!run.cpu_model.empty()) cpus.insert(run.cpu_model);
    if (run.cores > 0) cores.insert(run.cores);
    if (!run.sensor.empty()) sensors.insert(run.sensor);
    if (!run.source.empty()) sources.insert(run.source);
    estimated = estimated || run.estimated;
  }
  auto join = [](const std::set<std::string>& s) {
    std::string o;
    for (const auto& x : s) o += (o.empty() ? "" : "; ") + x;
    return o;
  };
  out.source.cpu_model = cpus.empty() ? "unknown" : join(cpus);
  out.source.cores = cores.size() == 1 ? *cores.begin() : 0;
  out.source.sensor = sensors.empty() ? "unknown" : join(sensors);
  out.source.estimated = estimated;
  // How the repeats became one energy per configuration is part of where the training data came from.
  out.source.description = "database " + store.path() + " (" + (sources.empty() ? std::string("no runs") : join(sources)) +
                           "; " + std::to_string(run_ids.size()) + " runs; repeats combined by their " +
                           (selection.repeats == RepeatReduction::kMedian ? "median" : "mean") + ")";
  out.source.data_hash = training_data_hash(out.sets);
  return out;
}

RepeatReduction repeat_reduction_from_string(const std::string& s) {
  if (s == "mean") return RepeatReduction::kMean;
  if (s == "median") return RepeatReduction::kMedian;
  throw ConfigError("unknown way to combine repeats '" + s + "'; valid: mean, median");
}

std::string energy_provenance(const PredictorSource& source) {
  if (source.estimated) return "ESTIMATED (sensor: " + source.sensor + "; not measurements)";
  return "measured (" + source.sensor + ")";
}

TrainingSet load_paper_training_set(const std::string& csv_path, const std::string& type) {
  const auto& params = layers::config_params(type);
  std::ifstream in(csv_path);
  if (!in) throw ConfigError("cannot open the paper's training set " + csv_path + ": check the --training-sets directory");
  std::string line;
  if (!std::getline(in, line)) throw ConfigError(csv_path + " is empty: expected a header line");
  const auto header = split_csv(line);
  auto column = [&](const std::string& name) -> std::size_t {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    throw ConfigError(csv_path + ": no column '" + name + "' in the header; is this one of the paper's " + type +
                      " training sets?");
  };
  std::vector<std::size_t> param_cols;
  for (const auto& p : params) param_cols.push_back(column(p));
  const std::size_t energy_col = column("cpu_energy");
  const std::size_t macs_col = column("macs");
  const FeatureExtractor paper_macs(type, {"paper_macs"});

  TrainingSet set;
  set.type = type;
  std::vector<std::string> problems;
  std::map<std::string, std::size_t> row_of;  // configuration text -> its row in `set`
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    const auto f = split_csv(line);
    const std::string where = csv_path + ":" + std::to_string(line_no);
    if (f.size() != header.size()) {
      problems.push_back(where + ": " + std::to_string(f.size()) + " fields, header has " + std::to_string(header.size()));
      continue;
    }
    layers::LayerConfig c;
    c.type = type;
    bool ok = true;
    for (std::size_t i = 0; i < params.size(); ++i) {
      double v = 0.0;
      if (!parse_double(f[param_cols[i]], v)) {
        problems.push_back(where + ": " + params[i] + " '" + f[param_cols[i]] + "' is not a number");
        ok = false;
      }
      c.values.emplace_back(params[i], v);
    }
    double kwh = 0.0, macs = 0.0;
    if (!parse_double(f[energy_col], kwh)) {
      problems.push_back(where + ": cpu_energy '" + f[energy_col] + "' is not a number");
      ok = false;
    } else if (!(kwh > 0.0) || !std::isfinite(units::kwh_to_j(kwh))) {
      problems.push_back(where + ": cpu_energy " + f[energy_col] +
                         " kWh is not a positive energy per pass in joules; remove the row");
      ok = false;
    }
    if (!parse_double(f[macs_col], macs)) {
      problems.push_back(where + ": macs '" + f[macs_col] + "' is not a number");
      ok = false;
    }
    if (!ok) continue;
    try {
      double ours = 0.0;
      paper_macs.extract(c, &ours);
      // The paper's sigmoid/tanh/softmax files carry macs 0 (they did not count them); only check nonzero values.
      if (macs != 0.0 && ours != macs)
        problems.push_back(where + ": macs " + std::to_string(macs) + " differs from paper_macs " +
                           std::to_string(ours) + " computed from the configuration");
    } catch (const ConfigError& e) {
      problems.push_back(where + ": " + e.what());
      continue;
    }
    // A configuration listed twice is one configuration measured twice: one row, the mean energy. Two rows would
    // let cross-validation test on a configuration it trained on and report a score it did not earn.
    const auto [at, fresh] = row_of.emplace(c.to_string(), set.configs.size());
    if (!fresh) {
      const std::size_t r = at->second;
      const int n = set.measurements[r];
      set.energy_j[r] = (set.energy_j[r] * n + units::kwh_to_j(kwh)) / (n + 1);
      set.measurements[r] = n + 1;
      continue;
    }
    set.configs.push_back(std::move(c));
    set.energy_j.push_back(units::kwh_to_j(kwh));
    set.measurements.push_back(1);
  }
  if (!problems.empty()) throw ConfigError(problems);
  if (set.configs.empty()) throw ConfigError(csv_path + " has no data rows");
  return set;
}

}  // namespace dle::predict
