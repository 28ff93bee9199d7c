#include "storage/codecarbon_import.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"
#include "core/system_info.hpp"
#include "core/units.hpp"
#include "storage/csv_reader.hpp"
#include "storage/hash.hpp"
#include "storage/network_configs.hpp"
#include "storage/number_format.hpp"

namespace dle::storage {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxProblemsShown = 50;

// PyTorch module class names, as CodeCarbon's project_name holds them, to our layer type names.
// Layer types measured on their own (random configurations) are the configurable ones.
const std::map<std::string, std::string>& module_types() {
  static const std::map<std::string, std::string> m = {
      {"Conv2d", "conv2d"},   {"MaxPool2d", "maxpool2d"}, {"Linear", "linear"},
      {"ReLU", "relu"},       {"Sigmoid", "sigmoid"},     {"Tanh", "tanh"},
      {"Softmax", "softmax"}, {"Dropout", "dropout"},     {"AdaptiveAvgPool2d", "adaptiveavgpool2d"},
      {"Flatten", "flatten"},
  };
  return m;
}

std::string known_modules() {
  std::string s;
  for (const auto& [k, v] : module_types()) s += (s.empty() ? "" : ", ") + k;
  return s + ", AlexNet, VGG";
}

// The whole-network module class for a zoo name: torchvision's AlexNet or VGG.
std::string network_module(const std::string& zoo_name) { return zoo_name == "alexnet" ? "AlexNet" : "VGG"; }

std::optional<double> parse_double(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(begin, &end);
  if (end == begin || *end != '\0') return std::nullopt;
  return v;
}

// An integer written as a number ("6", "6.0"); nullopt for anything else.
std::optional<std::int64_t> parse_integer(const std::string& text) {
  const auto v = parse_double(text);
  if (!v || !std::isfinite(*v) || *v != std::floor(*v) || std::fabs(*v) > 9e15) return std::nullopt;
  return static_cast<std::int64_t>(*v);
}

std::string basename_of(const std::string& path) { return fs::path(path).filename().string(); }

struct ZooCache {
  std::map<std::string, arch::InferredArchitecture> inferred;  // per-sample shapes (batch 1)
  std::map<std::string, std::vector<int>> leaves;              // torchvision leaf index per layer

  const arch::InferredArchitecture& get(const std::string& name) {
    auto it = inferred.find(name);
    if (it == inferred.end()) {
      const auto a = arch::zoo(name);
      leaves[name] = arch::torchvision_leaf_indices(a);
      it = inferred.emplace(name, arch::infer(a, 1)).first;
    }
    return it->second;
  }
};

class FileParser {
 public:
  FileParser(const std::string& name, const std::string& imported_at) : imported_at_(imported_at) { out_.name = name; }

  CodeCarbonFile parse(const std::string& text) {
    const std::string content_hash = stable_hash(text);
    fill_run(content_hash);
    std::vector<CsvRecord> records;
    try {
      records = parse_csv(text, out_.name);
    } catch (const ConfigError& e) {
      out_.problems.push_back(e.what());
      return std::move(out_);
    }
    if (records.empty()) {
      out_.problems.push_back(out_.name + ": the file is empty; expected CodeCarbon's CSV header line "
                                          "(timestamp,project_name,...,cpu_energy,...)");
      return std::move(out_);
    }
    const auto& header = records.front().fields;
    bool columns_ok = true;
    for (std::size_t i = 0; i < header.size(); ++i) {
      const auto [at, fresh] = columns_.emplace(header[i], i);
      if (!fresh && !header[i].empty()) {  // which of two cpu_energy columns holds the energy? Refuse to guess.
        out_.problems.push_back(out_.name + ":1: column '" + header[i] + "' appears twice (columns " +
                                std::to_string(at->second + 1) + " and " + std::to_string(i + 1) +
                                "); keep one and import again");
        columns_ok = false;
      }
    }
    for (const char* required : {"project_name", "duration", "cpu_energy"}) {
      if (!columns_.count(required)) {
        std::string have;
        for (const auto& h : header) have += (have.empty() ? "" : ",") + h;
        out_.problems.push_back(out_.name + ":1: no '" + required +
                                "' column; is this CodeCarbon output? (header: " + have + ")");
        columns_ok = false;
      }
    }
    if (!columns_ok) return std::move(out_);

    for (std::size_t r = 1; r < records.size(); ++r) parse_row(records[r], header.size());
    finish_run(records.size() - 1);
    return std::move(out_);
  }

 private:
  std::string field(const CsvRecord& rec, const std::string& column) const {
    auto it = columns_.find(column);
    if (it == columns_.end() || it->second >= rec.fields.size()) return "";
    return rec.fields[it->second];
  }

  void problem(std::size_t line, const std::string& what) {
    out_.problems.push_back(out_.name + ":" + std::to_string(line) + ": " + what);
  }

  void fill_run(const std::string& content_hash) {
    RunRecord& run = out_.run;
    run.started_at = imported_at_;
    run.source = kCodeCarbonSource;
    run.hostname = "unknown (not in CodeCarbon output)";
    run.sensor = kCodeCarbonSensor;
    run.estimated = false;
    run.libtorch_version = "unknown (PyTorch, via CodeCarbon import)";
    run.blas = "unknown (via CodeCarbon import)";
    run.seed = 0;
    run.threads = 0;  // not recorded by CodeCarbon
    content_hash_ = content_hash;
    run.settings_hash = stable_hash(std::string(kCodeCarbonSource) + "\n" + out_.name + "\n" + content_hash);
  }

  void finish_run(std::size_t rows) {
    RunRecord& run = out_.run;
    run.cpu_model = cpu_models_.empty() ? "unknown (no cpu_model column)" : *cpu_models_.begin();
    run.cores = cores_ ? static_cast<int>(*cores_) : 0;
    nlohmann::ordered_json s;
    s["importer"] = "codecarbon";
    s["file"] = out_.name;
    s["content_hash"] = content_hash_;
    s["rows"] = rows;
    s["energy"] = "energy_j = cpu_energy (kWh) * 3.6e6; ram_energy (CodeCarbon's constant-power formula) not included";
    s["idle_power"] = "unknown: idle_power_w = 0, net energy = gross energy";
    if (!first_timestamp_.empty()) s["first_timestamp"] = first_timestamp_;
    if (!last_timestamp_.empty()) s["last_timestamp"] = last_timestamp_;
    if (cpu_models_.size() > 1) s["cpu_models"] = std::vector<std::string>(cpu_models_.begin(), cpu_models_.end());
    if (!python_version_.empty()) s["python_version"] = python_version_;
    if (!os_.empty()) s["os"] = os_;
    run.settings_json = s.dump();
  }

  void parse_row(const CsvRecord& rec, std::size_t header_size) {
    const std::size_t line = rec.line;
    if (rec.fields.size() != header_size) {
      problem(line, "has " + std::to_string(rec.fields.size()) + " fields, the header has " +
                        std::to_string(header_size) + " (a comma inside an unquoted field?)");
      return;
    }
    const std::size_t problems_before = out_.problems.size();

    // Run facts, from every row.
    const std::string ts = field(rec, "timestamp");
    if (!ts.empty()) {
      if (first_timestamp_.empty()) first_timestamp_ = ts;
      last_timestamp_ = ts;
    }
    const std::string cpu_model = field(rec, "cpu_model");
    if (!cpu_model.empty()) cpu_models_.insert(cpu_model);
    if (!cores_) cores_ = parse_integer(field(rec, "cpu_count"));
    if (python_version_.empty()) python_version_ = field(rec, "python_version");
    if (os_.empty()) os_ = field(rec, "os");

    // project_name: key:value pairs separated by commas.
    std::vector<std::pair<std::string, std::string>> pairs;
    std::map<std::string, std::string> kv;
    {
      std::stringstream ss(field(rec, "project_name"));
      std::string part;
      while (std::getline(ss, part, ',')) {
        const auto colon = part.find(':');
        if (colon == std::string::npos) {
          problem(line, "project_name part '" + part + "' is not key:value");
          continue;
        }
        const std::string key = part.substr(0, colon);
        if (kv.count(key)) {
          problem(line, "project_name has the key '" + key + "' twice");
          continue;
        }
        kv[key] = part.substr(colon + 1);
        pairs.emplace_back(key, kv[key]);
      }
    }
    auto require = [&](const std::string& key) -> std::optional<std::string> {
      auto it = kv.find(key);
      if (it == kv.end()) {
        problem(line, "project_name has no '" + key + "' (CodeCarbon rows of the paper hold module, rep_no, "
                      "batch_size, the layer's parameters, freeText and forward_passes)");
        return std::nullopt;
      }
      return it->second;
    };
    auto require_int = [&](const std::string& key, std::int64_t min) -> std::optional<std::int64_t> {
      const auto text = require(key);
      if (!text) return std::nullopt;
      const auto v = parse_integer(*text);
      if (!v) {
        const auto number = parse_double(*text);
        problem(line, "project_name " + key + " '" + *text + "' is " +
                          (number && std::isfinite(*number) && std::fabs(*number) > 9e15
                               ? "too large (at most 9e15)"
                               : "not an integer"));
        return std::nullopt;
      }
      if (*v < min) {
        problem(line, "project_name " + key + " " + *text + " must be >= " + std::to_string(min));
        return std::nullopt;
      }
      return v;
    };

    const auto module = require("module");
    const auto rep = require_int("rep_no", 1);
    const auto passes = require_int("forward_passes", 0);
    const auto batch = require_int("batch_size", 1);

    // freeText: "architecture=NAME;layer_idx=K" for whole-network rows, empty otherwise.
    std::map<std::string, std::string> free;
    if (kv.count("freeText")) {
      std::stringstream ss(kv["freeText"]);
      std::string part;
      while (std::getline(ss, part, ';')) {
        if (part.empty()) continue;
        const auto eq = part.find('=');
        if (eq == std::string::npos) {
          problem(line, "freeText part '" + part + "' is not key=value");
          continue;
        }
        free[part.substr(0, eq)] = part.substr(eq + 1);
      }
    }

    MeasurementRecord m;
    std::set<std::string> used_keys = {"module", "rep_no", "forward_passes", "batch_size", "macs", "freeText"};
    if (module) {
      // A layer module that spells out its whole configuration is a layer measurement, even when freeText
      // names the network it was taken from (the paper's *-architecture-configs files; their layer_idx counts
      // torchvision leaf modules from 0). Without its configuration it is a layer of that network (layer_idx
      // counts from 1) and the zoo supplies the shapes.
      const auto layer_type = module_types().find(*module);
      bool spelled_out = layer_type != module_types().end() && layers::is_configurable(layer_type->second);
      if (spelled_out)
        for (const auto& name : layers::config_params(layer_type->second))
          if (name != "batch_size" && !kv.count(name)) spelled_out = false;
      if (free.count("architecture") && !spelled_out) {
        parse_network_part(line, *module, free, batch, m);
        used_keys.insert("architecture");
      } else {
        if (free.count("architecture")) {
          try {
            m.architecture = normalise_zoo_name(free.at("architecture"));
          } catch (const ConfigError& e) {
            problem(line, std::string("freeText architecture: ") + e.what());
          }
        }
        auto it = module_types().find(*module);
        if (it == module_types().end() || !layers::is_configurable(it->second)) {
          problem(line, "module '" + *module + "' is not a layer type dlenergy measures alone (" +
                            "known: Conv2d, MaxPool2d, Linear, ReLU, Sigmoid, Tanh, Softmax; whole networks need "
                            "freeText:architecture=NAME;layer_idx=K)");
        } else {
          m.kind = MeasurementKind::kLayer;
          m.config.type = it->second;
          for (const auto& name : layers::config_params(it->second)) {
            used_keys.insert(name);
            if (name == "batch_size") {
              if (batch) m.config.set(name, static_cast<double>(*batch));
              continue;
            }
            if (const auto v = require_int(name, 0)) m.config.set(name, static_cast<double>(*v));
          }
        }
      }
    }

    // Energy and window: cpu_energy (RAPL package via CodeCarbon) in kWh over `duration` seconds.
    const std::string energy_text = field(rec, "cpu_energy");
    const std::string duration_text = field(rec, "duration");
    std::optional<double> energy_kwh;
    if (!energy_text.empty()) {
      energy_kwh = parse_double(energy_text);
      if (!energy_kwh) problem(line, "cpu_energy '" + energy_text + "' is not a number (kWh)");
    }
    std::optional<double> duration;
    if (!duration_text.empty()) {
      duration = parse_double(duration_text);
      if (!duration) problem(line, "duration '" + duration_text + "' is not a number (s)");
    }
    if (out_.problems.size() != problems_before) return;

    m.repeat = static_cast<int>(*rep);
    m.passes = *passes;
    m.duration_s = duration ? *duration : std::numeric_limits<double>::quiet_NaN();
    m.energy_j = energy_kwh ? units::kwh_to_j(*energy_kwh) : std::numeric_limits<double>::quiet_NaN();
    m.domains = {{kCodeCarbonDomain, m.energy_j}};
    m.idle_power_w = 0.0;  // CodeCarbon output has no idle baseline
    m.energy_per_pass_j =
        m.passes > 0 ? m.energy_j / static_cast<double>(m.passes) : std::numeric_limits<double>::quiet_NaN();
    m.net_energy_per_pass_j = m.energy_per_pass_j;
    m.sensor = kCodeCarbonSensor;
    m.estimated = false;
    m.created_at = imported_at_;

    // Rows that cannot give an energy per pass are kept, marked skipped, with the reason.
    std::string reason, detail;
    if (energy_text.empty()) {
      reason = "cpu_energy empty";
      detail = "cpu_energy is empty";
    } else if (std::isnan(*energy_kwh)) {
      reason = "cpu_energy not a number";
      detail = "cpu_energy is " + energy_text;
    } else if (std::isinf(*energy_kwh) || std::isinf(m.energy_j)) {
      reason = "cpu_energy infinite";
      detail = std::isinf(*energy_kwh) ? "cpu_energy is " + energy_text
                                       : "cpu_energy " + energy_text + " kWh is too large to hold in joules";
    } else if (*energy_kwh <= 0) {
      reason = "cpu_energy not positive";
      detail = "cpu_energy " + energy_text + " kWh is not positive (RAPL counter wraparound or read failure)";
    } else if (m.passes == 0) {
      reason = "forward_passes 0";
      detail = "forward_passes is 0: no pass finished in the window";
    } else if (!duration || !(*duration > 0) || std::isinf(*duration)) {
      reason = "duration not positive";
      detail = "duration '" + duration_text + "' s is not a positive number";
    }
    m.status = reason.empty() ? "ok" : "skipped";

    std::string note = out_.name + ":" + std::to_string(line);
    if (!reason.empty()) note = "skipped: " + detail + "; " + note;
    if (!ts.empty()) note += "; measured " + ts + " (CodeCarbon timestamp)";
    if (kv.count("macs")) note += "; paper macs " + kv["macs"];
    const std::string ram_text = field(rec, "ram_energy");
    if (const auto ram = parse_double(ram_text))
      note += "; ram_energy " + round_trip_text(units::kwh_to_j(*ram)) +
              " J not included (CodeCarbon's constant-power formula, not a measurement)";
    for (const auto& [k, v] : pairs)
      if (!used_keys.count(k)) note += "; extra " + k + "=" + v;
    for (const auto& [k, v] : free)
      if (k != "architecture" && k != "layer_idx") note += "; extra freeText " + k + "=" + v;
    if (m.kind == MeasurementKind::kLayer && !m.architecture.empty())
      note += "; configuration of an " + m.architecture + " layer (file's layer_idx " +
              (free.count("layer_idx") ? free.at("layer_idx") : std::string("?")) + ")";
    m.note = note;

    // The published data sometimes drew a configuration twice and measured it again under the same rep_no:
    // both rows are real measurements, so both are kept, the later one as a further occurrence.
    const std::string first_key = m.item_key();
    auto seen = seen_keys_.find(first_key);
    if (seen != seen_keys_.end()) {
      while (all_keys_.count(m.item_key())) ++m.occurrence;
      m.note += "; same configuration and rep_no as line " + std::to_string(seen->second) +
                " (drawn again and measured again; kept as occurrence " + std::to_string(m.occurrence) + ")";
    } else {
      seen_keys_[first_key] = line;
    }
    all_keys_.insert(m.item_key());
    out_.measurements.push_back(std::move(m));
    out_.skip_reasons.push_back(reason);
  }

  void parse_network_part(std::size_t line, const std::string& module, const std::map<std::string, std::string>& free,
                          const std::optional<std::int64_t>& batch, MeasurementRecord& m) {
    std::string name;
    try {
      name = normalise_zoo_name(free.at("architecture"));
    } catch (const ConfigError& e) {
      problem(line, std::string("freeText architecture: ") + e.what());
      return;
    }
    auto idx_it = free.find("layer_idx");
    if (idx_it == free.end()) {
      problem(line, "freeText has architecture=" + free.at("architecture") +
                        " but no layer_idx (0 = whole network, K >= 1 = K-th torchvision leaf module)");
      return;
    }
    const auto k = parse_integer(idx_it->second);
    if (!k || *k < 0) {
      problem(line, "freeText layer_idx '" + idx_it->second + "' must be an integer >= 0");
      return;
    }
    m.architecture = name;
    if (*k == 0) {
      if (module != network_module(name)) {
        problem(line, "module '" + module + "' with layer_idx=0 must be the whole network '" + network_module(name) +
                          "' for " + name);
        return;
      }
      m.kind = MeasurementKind::kNetwork;
      m.layer_index = -1;
      if (batch) m.config = network_config(*batch);
      return;
    }
    const auto& inferred = zoo_.get(name);
    const auto& leaves = zoo_.leaves.at(name);
    const auto pos = std::find(leaves.begin(), leaves.end(), static_cast<int>(*k));
    if (pos == leaves.end()) {
      const int count = *std::max_element(leaves.begin(), leaves.end());
      problem(line, "freeText layer_idx " + std::to_string(*k) + " is beyond " + name + "'s " +
                        std::to_string(count) + " torchvision leaf modules");
      return;
    }
    const auto index = static_cast<std::size_t>(pos - leaves.begin());
    const auto& layer = inferred.layers.at(index);
    const std::string expected = layers::type_name(layer.spec);
    auto mt = module_types().find(module);
    if (mt == module_types().end() || mt->second != expected) {
      problem(line, "module '" + module + "' does not match " + name + " leaf module " + std::to_string(*k) +
                        " (our layer " + std::to_string(index) + ", " + expected + "); known modules: " +
                        known_modules());
      return;
    }
    m.kind = MeasurementKind::kNetworkLayer;
    m.layer_index = static_cast<int>(index);
    if (batch) m.config = network_layer_config(layer, *batch);
  }

  std::string imported_at_;
  CodeCarbonFile out_;
  std::string content_hash_;
  std::map<std::string, std::size_t> columns_;
  std::map<std::string, std::size_t> seen_keys_;  // item key -> line of its first occurrence
  std::set<std::string> all_keys_;                 // every item key stored so far, occurrences included
  std::string first_timestamp_, last_timestamp_, python_version_, os_;
  std::set<std::string> cpu_models_;
  std::optional<std::int64_t> cores_;
  ZooCache zoo_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read CSV file '" + path + "'; check the path and its permissions");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CodeCarbonFile parse_codecarbon(const std::string& text, const std::string& name, const std::string& imported_at) {
  return FileParser(name, imported_at).parse(text);
}

std::vector<std::string> expand_csv_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  std::vector<std::string> problems;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file(ec) && it->path().extension() == ".csv") found.push_back(it->path().string());
      }
      if (ec) problems.push_back("cannot list directory '" + p + "': " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty() && !ec) problems.push_back("directory '" + p + "' holds no .csv files");
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      problems.push_back("CSV file '" + p + "' does not exist; check the path");
    }
  }
  if (!problems.empty()) throw ConfigError(problems);
  return out;
}

std::vector<std::pair<std::string, CodeCarbonFile>> read_codecarbon_files(const std::vector<std::string>& paths) {
  const auto files = expand_csv_paths(paths);
  const std::string now = sys::utc_now_iso8601();
  std::vector<std::pair<std::string, CodeCarbonFile>> parsed;
  std::vector<std::string> problems;
  for (const auto& f : files) {
    parsed.emplace_back(f, parse_codecarbon(read_file(f), basename_of(f), now));
    const auto& p = parsed.back().second.problems;
    problems.insert(problems.end(), p.begin(), p.end());
  }
  if (!problems.empty()) {
    std::vector<std::string> shown(problems.begin(),
                                   problems.begin() + static_cast<long>(std::min(problems.size(), kMaxProblemsShown)));
    if (problems.size() > shown.size())
      shown.push_back("... and " + std::to_string(problems.size() - shown.size()) + " more");
    throw ConfigError(join_problems("import codecarbon: " + std::to_string(problems.size()) +
                                        " problem(s) in the input; nothing was stored. Fix or remove these rows "
                                        "and run the import again:",
                                    shown));
  }
  return parsed;
}

std::vector<ImportReport> store_codecarbon_files(Store& store,
                                                 std::vector<std::pair<std::string, CodeCarbonFile>> files) {
  std::vector<ImportReport> reports;
  // (content hash, file name) of an imported CodeCarbon file, from its run's settings.
  const auto content_of = [](const std::string& settings_json) {
    const auto j = nlohmann::json::parse(settings_json, nullptr, false);
    return j.is_object() && j.contains("content_hash") && j["content_hash"].is_string()
               ? std::make_pair(j["content_hash"].get<std::string>(), j.value("file", std::string()))
               : std::make_pair(std::string(), std::string());
  };
  for (auto& [path, f] : files) {
    ImportReport rep;
    rep.path = path;
    rep.rows = f.measurements.size();
    for (const auto& r : f.skip_reasons) {
      if (r.empty()) {
        ++rep.ok;
      } else {
        ++rep.skipped;
        ++rep.skip_reasons[r];
      }
    }
    // Imported before, under this name or another (same content)? Asked inside the write transaction, so that two
    // imports running at once store a file once.
    const std::string hash = content_of(f.run.settings_json).first;
    const auto earlier = [&]() -> std::optional<std::int64_t> {
      if (auto same = store.find_run_by_settings_hash(f.run.settings_hash)) {
        rep.imported_as = f.name;
        return same->id;
      }
      if (hash.empty()) return std::nullopt;
      for (const auto& run : store.runs())
        if (run.source == kCodeCarbonSource)
          if (const auto [h, name] = content_of(run.settings_json); h == hash) {
            rep.imported_as = name;
            return run.id;
          }
      return std::nullopt;
    };
    const auto [id, added] = store.add_run_with_measurements_unless(f.run, f.measurements, earlier);
    rep.run_id = id;
    rep.already_imported = !added;
    reports.push_back(std::move(rep));
  }
  return reports;
}

std::vector<ImportReport> import_codecarbon(Store& store, const std::vector<std::string>& paths) {
  return store_codecarbon_files(store, read_codecarbon_files(paths));
}

}  // namespace dle::storage
