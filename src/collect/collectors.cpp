#include "collect/collectors.hpp"

#include <cmath>

#include "collect/collectors/builtin.hpp"

namespace dle::collect {

std::uint64_t ParamRange::size() const {
  if (!values.empty()) return values.size();
  if (hi < lo || step < 1) return 0;
  return static_cast<std::uint64_t>((hi - lo) / step) + 1;
}

std::int64_t ParamRange::at(std::uint64_t i) const {
  if (!values.empty()) return values.at(i);
  return lo + static_cast<std::int64_t>(i) * step;
}

std::string ParamRange::to_string() const {
  if (!values.empty()) {
    std::string out;
    for (auto v : values) out += (out.empty() ? "" : ",") + std::to_string(v);
    return out;
  }
  std::string out = std::to_string(lo) + ":" + std::to_string(hi);
  if (step != 1) out += ":" + std::to_string(step);
  return out;
}

bool fixed_at_default(const std::string& type, const ParamRange& r) {
  const layers::OptionalParam* optional = layers::find_optional_param(type, r.name);
  return optional && r.size() == 1 && r.at(0) == optional->default_value;
}

Registry<Collector>& collector_registry() {
  static Registry<Collector> r("collector");
  return r;
}

void register_builtin_collectors() {
  auto& r = collector_registry();
  if (r.contains("conv2d")) return;
  // Order = layers::configurable_types(), then architectures.
  for (auto make : {builtin::conv2d, builtin::maxpool2d, builtin::linear, builtin::relu, builtin::sigmoid,
                    builtin::tanh, builtin::softmax, builtin::architectures}) {
    Collector c = make();
    const std::string name = c.name;
    r.add(name, std::move(c));
  }
}

const Collector& collector(const std::string& name) {
  register_builtin_collectors();
  return collector_registry().get(name);
}

std::vector<std::string> check_config(const Collector& c, const layers::LayerConfig& config) {
  std::vector<std::string> problems;
  const std::string values = config.to_string().substr(config.type.size());
  for (const auto& rule : c.rules) {
    bool ok = false;
    try {
      ok = rule.holds(config);
    } catch (const ConfigError& e) {  // a parameter the rule reads is missing
      problems.push_back(config.type + ": cannot check rule `" + rule.text + "`: " + e.what());
      continue;
    }
    if (!ok) problems.push_back(config.type + ": breaks rule `" + rule.text + "` (" + (values.empty() ? values : values.substr(1)) + ")");
  }
  if (!problems.empty()) return problems;
  try {
    layers::from_config(config);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  return {};
}

}  // namespace dle::collect
