#pragma once
// Collectors: one per measurable layer type (conv2d, maxpool2d, linear, relu, sigmoid, tanh, softmax) plus
// `architectures` (whole zoo networks and their layers), behind one registry. A layer collector is data: the
// parameter ranges it samples by default (the paper's) and the validity rules a sampled configuration must
// satisfy, each with a text, so a rejected configuration says which rule it breaks.
//
// Adding a layer type: give it a spec and schema in src/layers, write src/collect/collectors/<type>.cpp
// returning its Collector, and add one line to register_builtin_collectors().
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "layers/layer_config.hpp"

namespace dle::collect {

// The values one parameter may take: every integer in [lo, hi] (step 1), every step-th from lo (lo:hi:step),
// or an explicit list.
struct ParamRange {
  ParamRange() = default;
  ParamRange(std::string name_, std::int64_t lo_, std::int64_t hi_, std::int64_t step_ = 1)
      : name(std::move(name_)), lo(lo_), hi(hi_), step(step_) {}

  std::string name;
  std::int64_t lo = 0;
  std::int64_t hi = 0;
  std::int64_t step = 1;
  std::vector<std::int64_t> values;  // when non-empty, the only allowed values (lo/hi/step unused)

  // Number of values and the i-th value, in increasing order for ranges, in given order for lists.
  std::uint64_t size() const;
  std::int64_t at(std::uint64_t i) const;
  std::string to_string() const;  // "1:256", "1:9:2", "1,3,5"
};

// True when `r` is an optional value of the type (layers::optional_params) whose only value is its default:
// samplers then leave it out of configurations and settings, as before the value existed.
bool fixed_at_default(const std::string& type, const ParamRange& r);

struct ValidityRule {
  std::string text;  // "kernel_size <= image_size"
  std::function<bool(const layers::LayerConfig&)> holds;
};

enum class CollectorKind { kLayer, kArchitectures };

struct Collector {
  std::string name;
  std::string description;
  CollectorKind kind = CollectorKind::kLayer;
  // kLayer: one per layers::config_params(name), in that order, then one per layers::optional_params(name)
  std::vector<ParamRange> ranges;
  std::vector<ValidityRule> rules;
};

Registry<Collector>& collector_registry();
void register_builtin_collectors();  // idempotent
// Registers the built-ins and returns the named collector (ConfigError listing the names when unknown).
const Collector& collector(const std::string& name);

// Every problem with a configuration: each broken rule as "<type>: breaks rule `<text>` (<values>)", then,
// when no rule is broken, what layers::from_config finds. Empty when the configuration can be measured.
std::vector<std::string> check_config(const Collector& c, const layers::LayerConfig& config);

}  // namespace dle::collect
