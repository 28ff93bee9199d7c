#include "layers/layer_config.hpp"

#include <cmath>
#include <map>
#include <sstream>

#include "core/errors.hpp"

namespace dle::layers {

namespace {

const std::map<std::string, std::vector<std::string>>& schemas() {
  static const std::map<std::string, std::vector<std::string>> s = {
      {"conv2d", {"batch_size", "image_size", "kernel_size", "in_channels", "out_channels", "stride", "padding"}},
      {"maxpool2d", {"batch_size", "image_size", "kernel_size", "in_channels", "stride", "padding"}},
      {"linear", {"batch_size", "input_size", "output_size"}},
      {"relu", {"batch_size", "input_size"}},
      {"sigmoid", {"batch_size", "input_size"}},
      {"tanh", {"batch_size", "input_size"}},
      {"softmax", {"batch_size", "input_size"}},
  };
  return s;
}

std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
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

bool is_configurable(const std::string& type) { return schemas().count(type) != 0; }

const std::vector<std::string>& config_params(const std::string& type) {
  auto it = schemas().find(type);
  if (it == schemas().end()) {
    std::string names;
    for (const auto& n : configurable_types()) names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("layer type '" + type + "' has no measurement schema; types with one: " + names);
  }
  return it->second;
}

LayerConfig to_config(const LayerInstance& inst) {
  LayerConfig c;
  c.type = type_name(inst.spec);
  config_params(c.type);  // throws for types without a schema
  c.set("batch_size", static_cast<double>(inst.batch));
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, Conv2dSpec>) {
          c.set("image_size", static_cast<double>(inst.input.at(1)));
          c.set("kernel_size", static_cast<double>(s.kernel_size));
          c.set("in_channels", static_cast<double>(s.in_channels));
          c.set("out_channels", static_cast<double>(s.out_channels));
          c.set("stride", static_cast<double>(s.stride));
          c.set("padding", static_cast<double>(s.padding));
        } else if constexpr (std::is_same_v<T, MaxPool2dSpec>) {
          c.set("image_size", static_cast<double>(inst.input.at(1)));
          c.set("kernel_size", static_cast<double>(s.kernel_size));
          c.set("in_channels", static_cast<double>(inst.input.at(0)));
          c.set("stride", static_cast<double>(s.effective_stride()));
          c.set("padding", static_cast<double>(s.padding));
        } else if constexpr (std::is_same_v<T, LinearSpec>) {
          c.set("input_size", static_cast<double>(s.in_features));
          c.set("output_size", static_cast<double>(s.out_features));
        } else {
          c.set("input_size", static_cast<double>(elements(inst.input)));
          if constexpr (std::is_same_v<T, ReLUSpec>) {
            if (s.inplace) c.set("inplace", 1.0);
          }
        }
      },
      inst.spec);
  return c;
}

LayerInstance from_config(const LayerConfig& config) {
  const auto& names = config_params(config.type);
  std::vector<std::string> problems;
  // Values in schema order (at most 7); a small array instead of a map keeps this cheap, since the estimator
  // and the feature extractors call it for every layer they prepare.
  std::int64_t values[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& n = names[i];
    const std::pair<std::string, double>* found = nullptr;
    for (const auto& kv : config.values)
      if (kv.first == n) found = &kv;
    if (!found) {
      problems.push_back(config.type + ": missing parameter " + n);
      continue;
    }
    const double x = found->second;
    if (!(x == std::floor(x)) || !std::isfinite(x)) {
      problems.push_back(config.type + ": " + n + " " + number_text(x) + " must be an integer");
      continue;
    }
    values[i] = static_cast<std::int64_t>(x);
  }
  auto v = [&](const char* name) -> std::int64_t {
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return values[i];
    return 0;
  };
  if (!problems.empty()) throw ConfigError(problems);
  if (v("batch_size") < 1) problems.push_back(config.type + ": batch_size " + std::to_string(v("batch_size")) + " must be >= 1");

  LayerInstance inst;
  inst.batch = v("batch_size");
  const std::string& t = config.type;
  if (t == "conv2d" || t == "maxpool2d") {
    if (v("image_size") < 1) problems.push_back(t + ": image_size " + std::to_string(v("image_size")) + " must be >= 1");
    if (v("in_channels") < 1) problems.push_back(t + ": in_channels " + std::to_string(v("in_channels")) + " must be >= 1");
    inst.input = {v("in_channels"), v("image_size"), v("image_size")};
    if (t == "conv2d") {
      inst.spec = Conv2dSpec{v("in_channels"), v("out_channels"), v("kernel_size"), v("stride"), v("padding"), 1, true};
    } else {
      inst.spec = MaxPool2dSpec{v("kernel_size"), v("stride"), v("padding")};
      if (v("stride") < 1) problems.push_back(t + ": stride " + std::to_string(v("stride")) + " must be >= 1");
    }
  } else if (t == "linear") {
    inst.input = {v("input_size")};
    inst.spec = LinearSpec{v("input_size"), v("output_size"), true};
  } else {
    if (v("input_size") < 1) problems.push_back(t + ": input_size " + std::to_string(v("input_size")) + " must be >= 1");
    inst.input = {v("input_size")};
    if (t == "relu") inst.spec = ReLUSpec{config.has("inplace") && config.get("inplace") != 0.0};
    else if (t == "sigmoid") inst.spec = SigmoidSpec{};
    else if (t == "tanh") inst.spec = TanhSpec{};
    else inst.spec = SoftmaxSpec{1};
  }
  if (problems.empty()) {
    for (const auto& p : validate(inst.spec)) problems.push_back(t + ": " + p);
    if (problems.empty())
      for (const auto& p : check_input(inst.spec, inst.input)) problems.push_back(t + ": " + p);
  }
  if (!problems.empty()) throw ConfigError(problems);
  return inst;
}

bool writes_in_place(const LayerConfig& config) {
  return config.type == "relu" && config.has("inplace") && config.get("inplace") != 0.0;
}

Counts config_counts(const LayerConfig& config) {
  const LayerInstance inst = from_config(config);  // validates
  return counts_of_valid(inst.spec, inst.input, inst.batch);
}

}  // namespace dle::layers
