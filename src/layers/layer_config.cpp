#include "layers/layer_config.hpp"

#include <cmath>
#include <cstdint>
#include <sstream>

#include "core/errors.hpp"

namespace dle::layers {

namespace {

// One measurement schema: its parameter names in order and where each known parameter sits in that order
// (-1: not part of the type's schema), so that to_config and from_config read and write parameters by
// position instead of searching them by name (the estimator converts every layer it prepares), and the
// optional values the type may carry after them.
struct Schema {
  std::string type;
  std::vector<std::string> names;
  std::vector<OptionalParam> optional;
  int batch_size = -1, image_size = -1, kernel_size = -1, in_channels = -1, out_channels = -1, stride = -1,
      padding = -1, input_size = -1, output_size = -1;
};

Schema make_schema(std::string type, std::vector<std::string> names, std::vector<OptionalParam> optional = {}) {
  Schema s{std::move(type), std::move(names), std::move(optional)};
  for (std::size_t i = 0; i < s.names.size(); ++i) {
    const std::string& n = s.names[i];
    const int at = static_cast<int>(i);
    if (n == "batch_size") s.batch_size = at;
    else if (n == "image_size") s.image_size = at;
    else if (n == "kernel_size") s.kernel_size = at;
    else if (n == "in_channels") s.in_channels = at;
    else if (n == "out_channels") s.out_channels = at;
    else if (n == "stride") s.stride = at;
    else if (n == "padding") s.padding = at;
    else if (n == "input_size") s.input_size = at;
    else if (n == "output_size") s.output_size = at;
  }
  return s;
}

// In configurable_types() order (fill_instance's Kind relies on it).
const std::vector<Schema>& schemas() {
  static const std::vector<Schema> s = {
      make_schema("conv2d", {"batch_size", "image_size", "kernel_size", "in_channels", "out_channels", "stride", "padding"}),
      make_schema("maxpool2d", {"batch_size", "image_size", "kernel_size", "in_channels", "stride", "padding"}),
      make_schema("linear", {"batch_size", "input_size", "output_size"}),
      make_schema("relu", {"batch_size", "input_size"},
                  {{"inplace", 0, {0, 1}, "1: overwrites its input, as in torchvision's networks; 0: a new output"}}),
      make_schema("sigmoid", {"batch_size", "input_size"}),
      make_schema("tanh", {"batch_size", "input_size"}),
      make_schema("softmax", {"batch_size", "input_size"}),
  };
  return s;
}

// nullptr for a type without a measurement schema.
const Schema* find_schema(const std::string& type) {
  for (const auto& s : schemas())
    if (s.type == type) return &s;
  return nullptr;
}

// The schema of each LayerSpec alternative (nullptr for types without one), indexed like the variant, so
// that to_config finds it without comparing names.
const Schema* schema_of_kind(std::size_t variant_index) {
  static const std::vector<const Schema*> by_kind = [] {
    std::vector<const Schema*> v;
    for (const auto& name : type_names()) v.push_back(find_schema(name));  // type_names() is in variant order
    return v;
  }();
  return by_kind[variant_index];
}

// config_params' ConfigError for types without a schema.
const Schema& schema_of(const std::string& type) {
  if (const Schema* s = find_schema(type)) return *s;
  std::string names;
  for (const auto& n : configurable_types()) names += (names.empty() ? "" : ", ") + n;
  throw ConfigError("layer type '" + type + "' has no measurement schema; types with one: " + names);
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

// x == floor(x) for a finite x, without a call to floor: from 2^52 on every double is an integer, below it
// the conversion to int64 truncates exactly.
bool is_integer(double x) {
  if (!std::isfinite(x)) return false;
  if (std::fabs(x) >= 4503599627370496.0) return true;  // 2^52
  return x == static_cast<double>(static_cast<std::int64_t>(x));
}

}  // namespace

bool LayerConfig::has(const std::string& name) const {
  for (const auto& [k, v] : values)
    if (k == name) return true;
  return false;
}

double LayerConfig::get(const std::string& name) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  throw ConfigError(type + " configuration has no parameter '" + name + "' (has: " + to_string() + ")");
}

void LayerConfig::set(const std::string& name, double value) {
  for (auto& [k, v] : values)
    if (k == name) {
      v = value;
      return;
    }
  values.emplace_back(name, value);
}

std::string LayerConfig::to_string() const {
  std::string out = type;
  for (const auto& [k, v] : values) out += " " + k + "=" + number_text(v);
  return out;
}

const std::vector<std::string>& configurable_types() {
  static const std::vector<std::string> t = {"conv2d", "maxpool2d", "linear", "relu", "sigmoid", "tanh", "softmax"};
  return t;
}

bool is_configurable(const std::string& type) { return find_schema(type) != nullptr; }

std::string param_unit(const std::string& type, const std::string& param) {
  if (param == "batch_size") return "samples";
  if (param == "image_size" || param == "kernel_size" || param == "stride" || param == "padding") return "pixels";
  if (param == "in_channels" || param == "out_channels") return "channels";
  if (param == "output_size" || (param == "input_size" && type == "linear")) return "features";
  if (param == "input_size") return "elements per sample";
  return "";
}

const std::vector<std::string>& config_params(const std::string& type) { return schema_of(type).names; }

const std::vector<OptionalParam>& optional_params(const std::string& type) { return schema_of(type).optional; }

const OptionalParam* find_optional_param(const std::string& type, const std::string& name) {
  const Schema* s = find_schema(type);
  if (!s) return nullptr;
  for (const auto& p : s->optional)
    if (p.name == name) return &p;
  return nullptr;
}

LayerConfig to_config(const LayerInstance& inst) { return to_config(inst.spec, inst.input, inst.batch); }

LayerConfig to_config(const LayerSpec& spec, const Shape& input, std::int64_t batch) {
  const Schema* known = schema_of_kind(spec.index());
  const Schema& schema = known ? *known : schema_of(type_name(spec));  // throws for types without a schema
  LayerConfig c;
  c.type = schema.type;
  // Every name is added once, in schema order: appending is what LayerConfig::set would do.
  c.values.reserve(schema.names.size() + 1);
  auto add = [&](int at, std::int64_t v) { c.values.emplace_back(schema.names[at], static_cast<double>(v)); };
  add(schema.batch_size, batch);
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, Conv2dSpec>) {
          add(schema.image_size, input.at(1));
          add(schema.kernel_size, s.kernel_size);
          add(schema.in_channels, s.in_channels);
          add(schema.out_channels, s.out_channels);
          add(schema.stride, s.stride);
          add(schema.padding, s.padding);
        } else if constexpr (std::is_same_v<T, MaxPool2dSpec>) {
          add(schema.image_size, input.at(1));
          add(schema.kernel_size, s.kernel_size);
          add(schema.in_channels, input.at(0));
          add(schema.stride, s.effective_stride());
          add(schema.padding, s.padding);
        } else if constexpr (std::is_same_v<T, LinearSpec>) {
          add(schema.input_size, s.in_features);
          add(schema.output_size, s.out_features);
        } else {
          add(schema.input_size, elements(input));
          if constexpr (std::is_same_v<T, ReLUSpec>) {
            if (s.inplace) c.values.emplace_back("inplace", 1.0);
          }
        }
      },
      spec);
  return c;
}

namespace {

// relu's optional "inplace" value: its first entry, as has() and get() find it. Anything but 0 or 1 is a
// problem (appended when `problems` is given).
bool inplace_of(const LayerConfig& config, std::vector<std::string>* problems = nullptr) {
  static const std::string kInplace = "inplace";
  for (const auto& kv : config.values)
    if (kv.first == kInplace) {
      if (problems && kv.second != 0.0 && kv.second != 1.0)
        problems->push_back(config.type + ": inplace " + number_text(kv.second) +
                            " must be 0 (a new output) or 1 (overwrites its input)");
      return kv.second != 0.0;
    }
  return false;
}

// from_config into an existing instance, so that config_counts can reuse one (no allocation per call).
void fill_instance(const LayerConfig& config, LayerInstance& inst) {
  const Schema& schema = schema_of(config.type);
  const auto& names = schema.names;
  std::vector<std::string> problems;
  // Values in schema order (at most 7): the estimator and the feature extractors call this for every layer
  // they prepare, so it reads parameters by position instead of by name.
  std::int64_t values[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  // The last entry of a name counts. A configuration made by to_config (or read from the store) starts with
  // the schema's names in order, perhaps followed by extra values (relu's inplace): then only the extras
  // can hold a later entry of a schema name, and the rest is found by position.
  const auto& kvs = config.values;
  bool in_order = kvs.size() >= names.size();
  for (std::size_t i = 0; in_order && i < names.size(); ++i) in_order = kvs[i].first == names[i];
  auto last_of = [&](std::size_t i) -> const std::pair<std::string, double>* {
    const std::string& n = names[i];
    const std::size_t stop = in_order ? names.size() : 0;
    for (std::size_t k = kvs.size(); k-- > stop;)
      if (kvs[k].first == n) return &kvs[k];
    return in_order ? &kvs[i] : nullptr;
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& n = names[i];
    const std::pair<std::string, double>* found = last_of(i);
    if (!found) {
      problems.push_back(config.type + ": missing parameter " + n);
      continue;
    }
    const double x = found->second;
    if (!is_integer(x)) {
      problems.push_back(config.type + ": " + n + " " + number_text(x) + " must be an integer");
      continue;
    }
    values[i] = static_cast<std::int64_t>(x);
  }
  struct At {
    const std::int64_t* values;
    std::int64_t operator()(int index) const { return index < 0 ? 0 : values[index]; }
  } at{values};
  const std::int64_t batch_size = at(schema.batch_size), image_size = at(schema.image_size),
                     kernel_size = at(schema.kernel_size), in_channels = at(schema.in_channels),
                     out_channels = at(schema.out_channels), stride = at(schema.stride), padding = at(schema.padding),
                     input_size = at(schema.input_size), output_size = at(schema.output_size);
  if (!problems.empty()) throw ConfigError(problems);
  if (batch_size < 1) problems.push_back(config.type + ": batch_size " + std::to_string(batch_size) + " must be >= 1");

  inst.batch = batch_size;
  const std::string& t = config.type;
  // Position in schemas() (configurable_types() order) instead of comparing the type name again.
  enum Kind { kConv2d, kMaxPool2d, kLinear, kRelu, kSigmoid, kTanh, kSoftmax };
  const auto kind = static_cast<Kind>(&schema - schemas().data());
  if (kind == kConv2d || kind == kMaxPool2d) {
    if (image_size < 1) problems.push_back(t + ": image_size " + std::to_string(image_size) + " must be >= 1");
    if (in_channels < 1) problems.push_back(t + ": in_channels " + std::to_string(in_channels) + " must be >= 1");
    inst.input = {in_channels, image_size, image_size};
    if (kind == kConv2d) {
      inst.spec = Conv2dSpec{in_channels, out_channels, kernel_size, stride, padding, 1, true};
    } else {
      inst.spec = MaxPool2dSpec{kernel_size, stride, padding};
      if (stride < 1) problems.push_back(t + ": stride " + std::to_string(stride) + " must be >= 1");
    }
  } else if (kind == kLinear) {
    inst.input = {input_size};
    inst.spec = LinearSpec{input_size, output_size, true};
  } else {
    if (input_size < 1) problems.push_back(t + ": input_size " + std::to_string(input_size) + " must be >= 1");
    inst.input = {input_size};
    if (kind == kRelu) inst.spec = ReLUSpec{inplace_of(config, &problems)};
    else if (kind == kSigmoid) inst.spec = SigmoidSpec{};
    else if (kind == kTanh) inst.spec = TanhSpec{};
    else inst.spec = SoftmaxSpec{1};
  }
  if (problems.empty()) {
    for (const auto& p : validate(inst.spec)) problems.push_back(t + ": " + p);
    if (problems.empty())
      for (const auto& p : check_input(inst.spec, inst.input)) problems.push_back(t + ": " + p);
  }
  if (!problems.empty()) throw ConfigError(problems);
}

}  // namespace

LayerInstance from_config(const LayerConfig& config) {
  LayerInstance inst;
  fill_instance(config, inst);
  return inst;
}

bool writes_in_place(const LayerConfig& config) {
  static const std::string kRelu = "relu";  // a std::string: compared length first, without strlen
  return config.type == kRelu && inplace_of(config);
}

Counts config_counts(const LayerConfig& config) {
  // One instance per thread: its input shape keeps its storage from call to call.
  thread_local LayerInstance scratch;
  fill_instance(config, scratch);  // validates
  Counts c = counts_of_valid(scratch.spec, scratch.input, scratch.batch);
  if (c.overflow)
    throw ConfigError(config.to_string() + ": its counts (MACs, bytes) exceed 2^63 - 1, the largest 64-bit integer; "
                      "use a smaller batch size or smaller sizes");
  return c;
}

}  // namespace dle::layers
