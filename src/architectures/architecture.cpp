#include "architectures/architecture.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/checked_int.hpp"
#include "core/errors.hpp"
#include "layers/spec_fields.hpp"

namespace dle::arch {

using namespace dle::layers;

namespace {

std::string where_of(std::size_t i, const std::string& type) {
  return "layer " + std::to_string(i) + " (" + type + ")";
}

// The file formats share one neutral form: top-level scalars and lists as text, each layer a map of
// field -> text. Both parsers fill it; one builder checks it.
struct RawLayer {
  std::string type;  // empty when missing
  std::map<std::string, std::string> fields;
  bool is_map = true;
};
struct RawFile {
  std::string name;
  bool name_is_text = true;
  bool has_input = false;
  std::vector<std::string> input;  // dimension texts
  bool input_is_list = true;
  bool has_layers = false;
  bool layers_is_list = true;
  std::vector<RawLayer> layers;
  std::vector<std::string> unknown_keys;
  std::vector<std::string> duplicate_keys;  // "top-level key 'layers'", "layer 2 key 'kernel_size'"
};

bool to_dim(const std::string& text, std::int64_t& out) {
  try {
    size_t pos = 0;
    long long v = std::stoll(text, &pos);
    if (pos != text.size()) return false;
    out = v;
    return true;
  } catch (...) {
    return false;
  }
}

Architecture build(const RawFile& raw, const std::string& source) {
  std::vector<std::string> problems;
  Architecture a;
  a.name = raw.name;
  for (const auto& k : raw.unknown_keys)
    problems.push_back("unknown top-level key '" + k + "'; valid keys: name, input, layers");
  for (const auto& k : raw.duplicate_keys)
    problems.push_back(k + " is given twice; keep one (which value was meant is not guessed)");
  const bool control = std::any_of(raw.name.begin(), raw.name.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (!raw.name_is_text || control)
    problems.push_back("name must be one line of text (it heads every report), e.g. name: my-net");
  if (!raw.has_input) {
    problems.push_back("missing required field input (the per-sample input shape, e.g. input: [3, 224, 224])");
  } else if (!raw.input_is_list || raw.input.empty() || raw.input.size() > 3 || raw.input.size() == 2) {
    problems.push_back("input must be a list [C, H, W] or [features]");
  } else {
    for (size_t d = 0; d < raw.input.size(); ++d) {
      std::int64_t v = 0;
      if (!to_dim(raw.input[d], v))
        problems.push_back("input[" + std::to_string(d) + "]: '" + raw.input[d] + "' is not an integer");
      else if (v < 1)
        problems.push_back("input[" + std::to_string(d) + "]: " + std::to_string(v) + " must be >= 1");
      a.input.push_back(v);
    }
  }
  if (!raw.has_layers) {
    problems.push_back("missing required field layers (a list of {type: ..., fields...})");
  } else if (!raw.layers_is_list) {
    problems.push_back("layers must be a list of layers, each {type: ..., fields...} (e.g. layers: [{type: relu}])");
  } else if (raw.layers.empty()) {
    problems.push_back("layers is empty: a network needs at least one layer");
  }
  for (size_t i = 0; i < raw.layers.size(); ++i) {
    const RawLayer& l = raw.layers[i];
    if (!l.is_map) {
      problems.push_back("layer " + std::to_string(i) + ": must be a map with a 'type' field");
      continue;
    }
    if (l.type.empty()) {
      problems.push_back("layer " + std::to_string(i) + ": missing required field type (one of: " + [] {
        std::string s;
        for (const auto& n : type_names()) s += (s.empty() ? "" : ", ") + n;
        return s;
      }() + ")");
      continue;
    }
    a.layers.push_back(make_spec(l.type, l.fields, where_of(i, l.type), problems));
  }
  if (problems.empty()) {
    try {
      infer(a, 1);
    } catch (const ConfigError& e) {
      problems = e.problems();
    }
  }
  if (!problems.empty()) {
    for (auto& p : problems) p = source + ": " + p;
    throw ConfigError(problems);
  }
  if (a.name.empty()) {
    auto slash = source.find_last_of('/');
    std::string base = slash == std::string::npos ? source : source.substr(slash + 1);
    a.name = base.substr(0, base.find('.'));
  }
  return a;
}

// Records `key` in `seen`; a second time, adds "<where> key '<key>'" to `duplicates`.
void note_key(std::set<std::string>& seen, const std::string& key, const std::string& where,
              std::vector<std::string>& duplicates) {
  if (!seen.insert(key).second) duplicates.push_back(where + " key '" + key + "'");
}

std::string yaml_scalar(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : std::string("<not a scalar>"); }

std::string json_scalar(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number_integer()) return std::to_string(j.get<long long>());
  if (j.is_number()) {
    std::ostringstream o;
    o.precision(17);
    o << j.get<double>();
    return o.str();
  }
  return "<not a scalar>";
}

// The layers' counts summed into `total`; false when a sum exceeds 2^63 - 1 (a per-layer overflow is found
// before, layer by layer).
bool sum_counts(const std::vector<InferredLayer>& layers, Counts& total) {
  CheckedInt macs, flops, ops, bytes, params;
  for (const auto& l : layers) {
    macs = macs + l.counts.macs;
    flops = flops + l.counts.flops;
    ops = ops + l.counts.ops;
    bytes = bytes + l.counts.bytes;
    params = params + l.counts.params;
  }
  total.macs = macs.value();
  total.flops = flops.value();
  total.ops = ops.value();
  total.bytes = bytes.value();
  total.params = params.value();
  return !(macs.overflowed() || flops.overflowed() || ops.overflowed() || bytes.overflowed() || params.overflowed());
}

}  // namespace

InferredArchitecture infer(const Architecture& a, std::int64_t batch) {
  std::vector<std::string> problems;
  if (batch < 1) problems.push_back("batch size " + std::to_string(batch) + " must be >= 1");
  InferredArchitecture out;
  out.name = a.name;
  out.batch = batch;
  out.input = a.input;
  Shape shape = a.input;
  bool shape_known = !a.input.empty();
  // An architecture search infers many candidates: no string is built and nothing is validated twice for
  // a layer without problems.
  out.layers.reserve(a.layers.size());
  bool batch_overflows = false;  // some layer's counts overflow at this batch size, not at batch size 1
  for (size_t i = 0; i < a.layers.size(); ++i) {
    const auto& spec = a.layers[i];
    auto own = validate(spec);
    if (!own.empty()) {
      const std::string where = where_of(i, type_name(spec));
      for (const auto& p : own) problems.push_back(where + ": " + p);
    }
    if (!own.empty() || !shape_known) {
      shape_known = false;  // later layers' shapes cannot be checked
      continue;
    }
    auto fit = check_input(spec, shape);
    if (!fit.empty()) {
      const std::string where = where_of(i, type_name(spec));
      for (const auto& p : fit) problems.push_back(where + ": " + p);
    }
    // A channel or feature mismatch still leaves the output shape defined, so checking can go on;
    // a kernel that does not fit or a wrong rank cannot.
    bool can_continue = true;
    for (const auto& p : fit)
      if (p.find("does not match") == std::string::npos) can_continue = false;
    if (!can_continue) {
      shape_known = false;
      continue;
    }
    InferredLayer l;
    l.index = i;
    l.spec = spec;
    l.input = shape;
    // Compute the output with the spec's own rules even when channels mismatched (reported above).
    if (fit.empty()) {  // validate() and check_input() found nothing: no need to check again
      l.output = output_shape_of_valid(spec, shape);
      l.counts = counts_of_valid(spec, shape, batch < 1 ? 1 : batch);
      if (l.counts.overflow) {
        if (counts_of_valid(spec, shape, 1).overflow)
          problems.push_back(where_of(i, type_name(spec)) +
                             ": its counts (MACs, bytes) exceed 2^63 - 1, the largest 64-bit integer, even for one "
                             "sample; check its sizes");
        else
          batch_overflows = true;
      }
    } else {
      Shape fixed = shape;
      if (auto* c = std::get_if<Conv2dSpec>(&spec)) fixed[0] = c->in_channels;
      if (auto* f = std::get_if<LinearSpec>(&spec)) fixed[0] = f->in_features;
      l.output = output_shape(spec, fixed);
    }
    for (auto d : l.output)
      if (d < 1) shape_known = false;
    shape = l.output;
    out.layers.push_back(std::move(l));
  }
  if (!problems.empty()) throw ConfigError(problems);
  if (batch_overflows || !sum_counts(out.layers, out.total)) {
    // A layer's counts or their sums overflow at this batch size but not at 1: the largest batch size at which
    // none does, by bisection (every count grows with the batch size).
    auto fits_at = [&](std::int64_t b) {
      std::vector<InferredLayer> at_b = out.layers;
      for (auto& l : at_b) {
        l.counts = counts_of_valid(l.spec, l.input, b);
        if (l.counts.overflow) return false;
      }
      Counts ignored;
      return sum_counts(at_b, ignored);
    };
    std::int64_t fits = 1, overflows = batch;
    while (overflows - fits > 1) {
      const std::int64_t mid = fits + (overflows - fits) / 2;
      (fits_at(mid) ? fits : overflows) = mid;
    }
    throw ConfigError((a.name.empty() ? std::string("the network") : a.name) + " at batch size " +
                      std::to_string(batch) + " is too large to count: its MACs or bytes per pass would exceed " +
                      "2^63 - 1, the largest 64-bit integer; use a batch size of at most " + std::to_string(fits));
  }
  return out;
}

Architecture parse_yaml(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": malformed YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw ConfigError(source + ": expected a YAML map with keys name, input, layers");
  RawFile raw;
  std::set<std::string> top;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    note_key(top, key, "top-level", raw.duplicate_keys);
    if (key == "name") {
      raw.name = yaml_scalar(v);
      raw.name_is_text = v.IsScalar();
    } else if (key == "input" || key == "input_shape") {
      raw.has_input = true;
      raw.input_is_list = v.IsSequence();
      if (v.IsSequence())
        for (const auto& d : v) raw.input.push_back(yaml_scalar(d));
    } else if (key == "layers") {
      raw.has_layers = true;
      raw.layers_is_list = v.IsSequence();
      if (v.IsSequence())
        for (const auto& l : v) {
          RawLayer rl;
          rl.is_map = l.IsMap();
          std::set<std::string> seen;
          if (l.IsMap())
            for (const auto& f : l) {
              const std::string fk = f.first.as<std::string>();
              note_key(seen, fk, "layer " + std::to_string(raw.layers.size()), raw.duplicate_keys);
              if (fk == "type")
                rl.type = yaml_scalar(f.second);
              else
                rl.fields[fk] = yaml_scalar(f.second);
            }
          raw.layers.push_back(rl);
        }
    } else {
      raw.unknown_keys.push_back(key);
    }
  }
  return build(raw, source);
}

Architecture parse_json(const std::string& text, const std::string& source) {
  nlohmann::json root;
  RawFile raw;
  // nlohmann::json keeps the last of two equal keys; its parser callback sees both, object by object.
  std::vector<std::set<std::string>> open_objects;
  std::size_t layer_objects = 0;  // objects opened inside "layers", to name the layer of a duplicate
  std::string top_key;             // the top-level key whose value is being parsed
  const auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) {
      open_objects.emplace_back();
      if (depth == 2 && top_key == "layers") ++layer_objects;  // {"layers": [ {...} ]}: a layer opens at depth 2
    } else if (event == E::object_end && !open_objects.empty()) {
      open_objects.pop_back();
    } else if (event == E::key && !open_objects.empty()) {
      const std::string key = parsed.get<std::string>();
      if (open_objects.size() == 1) top_key = key;
      const bool in_layer = depth == 3 && top_key == "layers" && layer_objects > 0;
      const std::string where = open_objects.size() == 1 ? "top-level"
                                : in_layer               ? "layer " + std::to_string(layer_objects - 1)
                                                         : "nested";
      note_key(open_objects.back(), key, where, raw.duplicate_keys);
    }
    return true;
  };
  try {
    root = nlohmann::json::parse(text, callback);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(source + ": malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number literal beyond a double's range
    throw ConfigError(source + ": a value cannot be read (" + e.what() + "); a number beyond about 1.8e308 is not a "
                      "double: correct it");
  }
  if (!root.is_object()) throw ConfigError(source + ": expected a JSON object with keys name, input, layers");
  for (auto it = root.begin(); it != root.end(); ++it) {
    const auto& v = it.value();
    if (it.key() == "name") {
      raw.name = json_scalar(v);
      raw.name_is_text = v.is_string() || v.is_number();
    } else if (it.key() == "input" || it.key() == "input_shape") {
      raw.has_input = true;
      raw.input_is_list = v.is_array();
      if (v.is_array())
        for (const auto& d : v) raw.input.push_back(json_scalar(d));
    } else if (it.key() == "layers") {
      raw.has_layers = true;
      raw.layers_is_list = v.is_array();
      if (v.is_array())
        for (const auto& l : v) {
          RawLayer rl;
          rl.is_map = l.is_object();
          if (l.is_object())
            for (auto f = l.begin(); f != l.end(); ++f) {
              if (f.key() == "type")
                rl.type = json_scalar(f.value());
              else
                rl.fields[f.key()] = json_scalar(f.value());
            }
          raw.layers.push_back(rl);
        }
    } else {
      raw.unknown_keys.push_back(it.key());
    }
  }
  return build(raw, source);
}

Architecture load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError("architecture file '" + path + "' is a directory; give a .yaml, .yml or .json file (--model FILE)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot open architecture file '" + path + "': check the path (--model FILE)");
  std::stringstream buf;
  buf << in.rdbuf();
  auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".json")) return parse_json(buf.str(), path);
  if (ends_with(".yaml") || ends_with(".yml")) return parse_yaml(buf.str(), path);
  throw ConfigError("architecture file '" + path + "' must end in .yaml, .yml or .json");
}

}  // namespace dle::arch

namespace dle::arch {
Architecture resolve(const std::string& arch_name, const std::string& model_file) {
  if (!arch_name.empty() && !model_file.empty())
    throw UsageError("give either --arch " + arch_name + " or --model " + model_file + ", not both");
  if (!arch_name.empty()) {
    try {
      return zoo(arch_name);
    } catch (const ConfigError& e) {
      throw UsageError(e.what());  // a name the flag does not take: a usage error, exit 2
    }
  }
  if (!model_file.empty()) return load_file(model_file);
  std::string names;
  for (const auto& n : zoo_names()) names += (names.empty() ? "" : ", ") + n;
  throw UsageError("no network given: pass --arch NAME (one of " + names + ") or --model FILE (.yaml or .json)");
}
}  // namespace dle::arch
