#include "collect/settings.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "architectures/architecture.hpp"
#include "collect/collectors.hpp"
#include "collect/sampling.hpp"
#include "core/errors.hpp"
#include "report/table.hpp"
#include "storage/hash.hpp"

namespace dle::collect {

namespace {

std::string normalise_key(std::string k) {
  std::replace(k.begin(), k.end(), '_', '-');
  return k;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    if (ch == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (ch != ' ') {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// A scalar or a sequence of scalars, as strings ("relu, conv2d" and [relu, conv2d] are the same).
std::vector<std::string> string_list(const YAML::Node& n) {
  std::vector<std::string> out;
  if (n.IsSequence()) {
    for (const auto& item : n) {
      if (!item.IsScalar()) throw ConfigError("expected a list of names or numbers");
      for (auto& part : split_list(item.as<std::string>())) out.push_back(part);
    }
  } else if (n.IsScalar()) {
    out = split_list(n.as<std::string>());
  } else {
    throw ConfigError("expected a name, a comma list or a YAML list");
  }
  return out;
}

template <typename T>
T scalar(const YAML::Node& n, const char* what) {
  if (!n.IsScalar()) throw ConfigError(std::string("expected ") + what);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError(std::string("expected ") + what + ", got '" + n.as<std::string>() + "'");
  }
}

std::string range_text(const YAML::Node& n) {
  if (n.IsSequence()) {
    std::string out;
    for (const auto& v : n) out += (out.empty() ? "" : ",") + scalar<std::string>(v, "a number");
    return out;
  }
  return scalar<std::string>(n, "a range such as 1:8, a number or a list");
}

}  // namespace

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  bool ok = slash != std::string::npos;
  if (ok) {
    try {
      std::size_t a = 0, b = 0;
      s.index = std::stoi(text.substr(0, slash), &a);
      s.count = std::stoi(text.substr(slash + 1), &b);
      ok = a == slash && b == text.size() - slash - 1;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  if (!ok) throw ConfigError("shard '" + text + "' must be K/N, e.g. 2/8 for the second of eight parts");
  if (s.count < 1 || s.index < 1 || s.index > s.count)
    throw ConfigError("shard " + text + ": K must be between 1 and N (N >= 1), e.g. 1/" +
                      std::to_string(std::max(1, s.count)));
  return s;
}

void apply_yaml_text(const std::string& text, const std::string& source, CollectSettings& s) {
  YAML::Node root;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (documents.size() > 1)
      throw ConfigError(source + ": holds " + std::to_string(documents.size()) +
                        " YAML documents (separated by ---); a config file is one document: merge them");
    if (!documents.empty()) root = documents.front();
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": not valid YAML: " + e.what());
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(source + ": expected a mapping of setting names to values (e.g. `repeats: 3`)");
  std::vector<std::string> problems;
  std::map<std::string, std::string> seen;  // normalised key -> the spelling first seen
  for (const auto& kv : root) {
    const std::string raw_key = kv.first.as<std::string>();
    const std::string key = normalise_key(raw_key);
    const YAML::Node& v = kv.second;
    if (const auto [it, fresh] = seen.emplace(key, raw_key); !fresh) {  // min_time and min-time are one setting
      problems.push_back(source + ":" + std::to_string(kv.first.Mark().line + 1) + ": " + raw_key +
                         ": the setting is given twice (also as " + it->second + "); keep one");
      continue;
    }
    try {
      if (key == "layers") s.layers = string_list(v);
      else if (key == "sampler") s.sampler = scalar<std::string>(v, "random or grid");
      else if (key == "configs") s.configs = scalar<std::uint64_t>(v, "a count >= 1");
      else if (key == "seed") s.seed = scalar<std::uint64_t>(v, "a non-negative integer");
      else if (key == "ranges" || key == "range") {
        if (v.IsMap()) {
          std::set<std::string> names;
          for (const auto& r : v) {
            const std::string name = r.first.as<std::string>();
            if (!names.insert(name).second) throw ConfigError("range " + name + " is given twice; keep one");
            s.ranges.push_back(name + "=" + range_text(r.second));
          }
        } else if (v.IsSequence()) {
          for (const auto& r : v) s.ranges.push_back(scalar<std::string>(r, "a name=lo:hi entry"));
        } else {
          throw ConfigError("expected a mapping such as {batch_size: \"1:8\", conv2d.kernel_size: [1, 3]}");
        }
      } else if (key == "from-architectures") s.from_architectures = string_list(v);
      else if (key == "architectures") s.architectures = string_list(v);
      else if (key == "batch-sizes") {
        s.batch_sizes.clear();
        for (const auto& b : string_list(v)) {
          try {
            s.batch_sizes.push_back(std::stoll(b));
          } catch (const std::exception&) {
            throw ConfigError("batch size '" + b + "' is not an integer");
          }
        }
      } else if (key == "with-layers") s.with_layers = scalar<bool>(v, "true or false");
      else if (key == "repeats") s.repeats = scalar<int>(v, "an integer >= 1");
      else if (key == "min-time") s.min_time_s = scalar<double>(v, "seconds");
      else if (key == "min-passes") s.min_passes = scalar<int>(v, "an integer >= 1");
      else if (key == "warmup") s.warmup = scalar<int>(v, "an integer >= 0");
      else if (key == "threads") s.threads = scalar<int>(v, "an integer >= 1");
      else if (key == "idle-seconds") s.idle_seconds = scalar<double>(v, "seconds");
      else if (key == "memory-limit-mb") s.memory_limit_mb = scalar<double>(v, "megabytes");
      else if (key == "max-pass-seconds") s.max_pass_seconds = scalar<double>(v, "seconds");
      else if (key == "shard") s.shard = parse_shard(scalar<std::string>(v, "K/N"));
      else if (key == "sensor") s.sensor = scalar<std::string>(v, "a sensor name");
      else if (key == "powercap-root") s.sensor_options.powercap_root = scalar<std::string>(v, "a path");
      else if (key == "perf-root") s.sensor_options.perf_root = scalar<std::string>(v, "a path");
      else if (key == "nvml-library") s.sensor_options.nvml_library = scalar<std::string>(v, "a path");
      else if (key == "watts-per-core") s.sensor_options.watts_per_core = scalar<double>(v, "watts");
      else if (key == "db") s.db = scalar<std::string>(v, "a file path");
      else if (key == "dry-run") s.dry_run = scalar<bool>(v, "true or false");
      else
        throw ConfigError("unknown setting; known: layers, sampler, configs, seed, ranges, from-architectures, "
                          "architectures, batch-sizes, with-layers, repeats, min-time, min-passes, warmup, threads, "
                          "idle-seconds, memory-limit-mb, max-pass-seconds, shard, sensor, powercap-root, perf-root, "
                          "nvml-library, watts-per-core, db, dry-run");
    } catch (const ConfigError& e) {
      const auto line = kv.first.Mark().line + 1;
      problems.push_back(source + ":" + std::to_string(line) + ": " + raw_key + ": " + e.what());
    } catch (const YAML::Exception& e) {
      const auto line = kv.first.Mark().line + 1;
      problems.push_back(source + ":" + std::to_string(line) + ": " + raw_key + ": " + e.what());
    }
  }
  if (!problems.empty()) throw ConfigError(problems);
}

void apply_yaml_file(const std::string& path, CollectSettings& s) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError("config file " + path + " is a directory; give a YAML file (--config FILE.yaml)");
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read config file " + path + "; check the path (--config FILE.yaml)");
  std::ostringstream text;
  text << in.rdbuf();
  apply_yaml_text(text.str(), path, s);
}

std::vector<std::string> selected_collectors(const CollectSettings& s) {
  register_builtin_collectors();
  std::set<std::string> wanted(s.layers.begin(), s.layers.end());
  if (!s.architectures.empty()) wanted.insert("architectures");
  std::vector<std::string> out;
  for (const auto& name : collector_registry().names())
    if (wanted.count(name)) out.push_back(name);
  return out;
}

namespace {
// The longest measurement window or idle baseline a setting may ask for: an hour.
constexpr double kMaxWindowSeconds = 3600.0;
}  // namespace

void validate(const CollectSettings& s) {
  register_builtin_collectors();
  std::vector<std::string> problems;
  for (const auto& name : s.layers)
    if (!collector_registry().contains(name))
      problems.push_back("unknown layer type '" + name + "' in --layers; collectors: " + collector_registry().names_joined());
  std::set<std::string> seen;
  for (const auto& name : s.layers)
    if (!seen.insert(name).second) problems.push_back("--layers names '" + name + "' twice");
  const auto selected = selected_collectors(s);
  if (selected.empty())
    problems.push_back("nothing to collect: choose layer types with --layers (" + collector_registry().names_joined() +
                       ") or networks with --architectures");
  if (s.sampler != "random" && s.sampler != "grid")
    problems.push_back("sampler '" + s.sampler + "' is unknown; use random or grid");
  if (s.configs && *s.configs < 1) problems.push_back("--configs must be >= 1");
  if (s.configs && s.sampler == "grid")
    problems.push_back("--configs applies to the random sampler; the grid measures every valid point of the ranges");
  if (s.configs && !s.from_architectures.empty())
    problems.push_back("--configs applies to the random sampler; --from-architectures takes every distinct layer");
  for (const auto& list : {s.from_architectures, s.architectures})
    for (const auto& a : list)
      if (!arch::in_zoo(a)) {
        std::string names;
        for (const auto& n : arch::zoo_names()) names += (names.empty() ? "" : ", ") + n;
        problems.push_back("unknown built-in architecture '" + a + "'; built-in: " + names);
      }
  if (std::find(s.layers.begin(), s.layers.end(), "architectures") != s.layers.end() && s.architectures.empty())
    problems.push_back("--layers architectures needs --architectures NAME,... to say which networks");
  for (auto b : s.batch_sizes)
    if (b < 1) problems.push_back("batch size " + std::to_string(b) + " in --batch-sizes must be >= 1");
  if (!s.batch_sizes.empty() && s.architectures.empty() && s.from_architectures.empty())
    problems.push_back("--batch-sizes applies to --architectures and --from-architectures; sample batch_size with "
                       "--range batch_size=lo:hi instead");
  if (!s.from_architectures.empty())
    for (const auto& name : s.layers)
      if (name != "architectures" && !layers::is_configurable(name))
        problems.push_back("--from-architectures cannot take configurations for '" + name + "'");
  std::vector<std::string> types;
  for (const auto& n : selected)
    if (layers::is_configurable(n)) types.push_back(n);
  check_overrides(s.ranges, types, problems);
  for (const auto& name : types) {
    resolve_ranges(collector(name), s.ranges, problems);
  }
  if (s.repeats < 1) problems.push_back("--repeats " + std::to_string(s.repeats) + " must be >= 1");
  // Durations are finite and bounded: an infinite window never ends (and never reaches a point where it could
  // stop for a signal).
  const auto seconds = [&](const char* flag, double v, bool zero_ok, double hi, const char* meaning) {
    const bool ok = std::isfinite(v) && v <= hi && (v > 0.0 || (zero_ok && v == 0.0));
    if (!ok) problems.push_back(std::string(flag) + " " + report::fmt_sig(v, 6) + " must be " + meaning);
  };
  if (s.min_time_s) seconds("--min-time", *s.min_time_s, false, kMaxWindowSeconds, "a number of seconds > 0 and <= 3600");
  seconds("--idle-seconds", s.idle_seconds, true, kMaxWindowSeconds,
          "a number of seconds from 0 (no idle baseline) to 3600");
  seconds("--max-pass-seconds", s.max_pass_seconds, false, 86400.0, "a number of seconds > 0 and <= 86400");
  if (s.memory_limit_mb && !(*s.memory_limit_mb > 0 && std::isfinite(*s.memory_limit_mb)))
    problems.push_back("--memory-limit-mb " + report::fmt_sig(*s.memory_limit_mb, 6) + " must be a number of MiB > 0");
  if (s.min_passes < 1) problems.push_back("--min-passes " + std::to_string(s.min_passes) + " must be >= 1");
  if (s.warmup < 0) problems.push_back("--warmup " + std::to_string(s.warmup) + " must be >= 0");
  if (s.threads && *s.threads < 1) problems.push_back("--threads " + std::to_string(*s.threads) + " must be >= 1");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (s.threads && *s.threads > 4 * cores)
    problems.push_back("--threads " + std::to_string(*s.threads) + " is more than 4x this machine's " +
                       std::to_string(cores) + " cores: oversubscribed threads measure contention, not the layer; "
                       "use at most " + std::to_string(4 * cores));
  if (s.configs && *s.configs > kMaxGridPoints)
    problems.push_back("--configs " + std::to_string(*s.configs) + " is more than " + std::to_string(kMaxGridPoints) +
                       " per layer type (the grid's limit too); split the work with --shard K/N instead");
  const auto no_repeats = [&](const char* flag, const auto& list) {
    std::set<std::string> seen_values;
    for (const auto& v : list) {
      std::ostringstream text;
      text << v;
      if (!seen_values.insert(text.str()).second)
        problems.push_back(std::string(flag) + " names " + text.str() + " twice; name each once");
    }
  };
  no_repeats("--architectures", s.architectures);
  no_repeats("--from-architectures", s.from_architectures);
  no_repeats("--batch-sizes", s.batch_sizes);
  std::set<std::string> range_names;
  for (const auto& r : s.ranges) {
    const std::string name = r.substr(0, r.find('='));
    if (!range_names.insert(name).second)
      problems.push_back("--range " + name + " is given twice; give each parameter one range");
  }
  // Flags that would be ignored are refused, as --configs with the grid is.
  const bool samples_layers = std::any_of(s.layers.begin(), s.layers.end(),
                                          [](const std::string& n) { return layers::is_configurable(n); });
  if (!s.from_architectures.empty() && !s.ranges.empty())
    problems.push_back("--range applies to the random and grid samplers; --from-architectures takes the networks' own "
                       "layer shapes");
  if (!s.from_architectures.empty() && s.sampler == "grid")
    problems.push_back("--sampler grid does not apply with --from-architectures (it takes the networks' own layers)");
  if (!samples_layers && s.configs)
    problems.push_back("--configs applies to sampled layer types (--layers); --architectures measures whole networks");
  if (!samples_layers && s.sampler == "grid")
    problems.push_back("--sampler grid applies to sampled layer types (--layers); --architectures measures whole "
                       "networks");
  if (!s.with_layers && s.architectures.empty())
    problems.push_back("--no-with-layers applies to --architectures (each network's layers measured alone)");
  if (s.shard.count < 1 || s.shard.index < 1 || s.shard.index > s.shard.count)
    problems.push_back("--shard " + s.shard.to_string() + ": K must be between 1 and N");
  if (!s.dry_run && s.db.empty()) problems.push_back("--db FILE is required (where measurements are stored)");
  if (!problems.empty()) throw ConfigError(join_problems("invalid collect settings:", problems));
}

double min_time_for_sensor(double update_interval_s) {
  return std::max(0.2, 100.0 * std::max(0.0, update_interval_s));
}

std::string settings_json(const CollectSettings& s, const ResolvedSettings& r) {
  nlohmann::json j;  // std::map underneath: keys come out sorted, so the text is canonical
  const auto selected = selected_collectors(s);
  j["collectors"] = selected;
  j["sampler"] = s.from_architectures.empty() ? s.sampler : "from-architectures";
  j["seed"] = s.seed;
  j["configs"] = s.configs.value_or(kDefaultConfigs);
  nlohmann::json ranges = nlohmann::json::object();
  std::vector<std::string> ignored;
  for (const auto& name : selected) {
    if (!layers::is_configurable(name)) continue;
    nlohmann::json per = nlohmann::json::object();
    for (const auto& range : resolve_ranges(collector(name), s.ranges, ignored)) {
      // An optional value at its default is left out, so that settings written before it existed keep their
      // hash (and their collections can be resumed).
      if (fixed_at_default(name, range)) continue;
      per[range.name] = range.to_string();
    }
    ranges[name] = per;
  }
  j["ranges"] = ranges;
  j["from_architectures"] = s.from_architectures;
  j["architectures"] = s.architectures;
  j["batch_sizes"] = s.batch_sizes.empty() ? kDefaultBatchSizes : s.batch_sizes;
  j["with_layers"] = s.with_layers;
  j["repeats"] = s.repeats;
  j["min_time_s"] = r.min_time_s;
  j["min_passes"] = s.min_passes;
  j["warmup"] = s.warmup;
  j["threads"] = r.threads;
  j["idle_seconds"] = s.idle_seconds;
  // "auto" (half of MemAvailable) is stored as such: free memory differs between a run and its resume.
  j["memory_limit_mb"] = s.memory_limit_mb ? nlohmann::json(*s.memory_limit_mb) : nlohmann::json("auto");
  j["max_pass_seconds"] = s.max_pass_seconds;
  j["shard"] = s.shard.to_string();
  j["sensor"] = r.sensor;
  if (r.sensor == "estimated") j["watts_per_core"] = s.sensor_options.watts_per_core;
  return j.dump();
}

std::string settings_hash(const std::string& text) { return storage::stable_hash(text); }

}  // namespace dle::collect
