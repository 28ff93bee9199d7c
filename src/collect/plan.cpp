#include "collect/plan.hpp"

#include <algorithm>
#include <limits>

#include "collect/collectors.hpp"
#include "collect/sampling.hpp"
#include "core/errors.hpp"
#include "storage/network_configs.hpp"

namespace dle::collect {

namespace {

void add_architecture_items(const CollectSettings& s, std::vector<PlanItem>& items) {
  const auto batches = s.batch_sizes.empty() ? kDefaultBatchSizes : s.batch_sizes;
  for (const auto& name : s.architectures) {
    const arch::Architecture a = arch::zoo(name);
    for (const auto batch : batches) {
      const auto inferred = arch::infer(a, batch);
      PlanItem net;
      net.kind = storage::MeasurementKind::kNetwork;
      net.config = storage::network_config(batch);
      net.architecture = name;
      net.batch = batch;
      net.collector = "architectures";
      items.push_back(net);
      if (!s.with_layers) continue;
      for (const auto& l : inferred.layers) {
        PlanItem item;
        item.kind = storage::MeasurementKind::kNetworkLayer;
        item.config = storage::network_layer_config(l, batch);
        item.architecture = name;
        item.layer_index = static_cast<int>(l.index);
        item.batch = batch;
        item.instance = layers::LayerInstance{l.spec, l.input, batch};
        item.collector = "architectures";
        items.push_back(item);
      }
    }
  }
}

}  // namespace

storage::MeasurementRecord PlanItem::record(int repeat) const {
  storage::MeasurementRecord m;
  m.kind = kind;
  m.config = config;
  m.architecture = architecture;
  m.layer_index = layer_index;
  m.repeat = repeat;
  return m;
}

std::string PlanItem::label() const {
  if (kind == storage::MeasurementKind::kNetwork) return architecture + " batch_size=" + std::to_string(batch);
  if (kind == storage::MeasurementKind::kNetworkLayer)
    return architecture + " layer " + std::to_string(layer_index) + " (" + config.to_string() + ")";
  return config.to_string();
}

Plan make_plan(const CollectSettings& s) {
  validate(s);
  Plan plan;
  plan.repeats = s.repeats;
  std::vector<PlanItem> all;
  const auto batches = s.batch_sizes.empty() ? kDefaultBatchSizes : s.batch_sizes;
  std::vector<std::string> problems;
  for (const auto& name : selected_collectors(s)) {
    const Collector& c = collector(name);
    const std::size_t first = all.size();
    CollectorPlan cp;
    cp.collector = name;
    if (c.kind == CollectorKind::kArchitectures) {
      add_architecture_items(s, all);
    } else {
      Sample sample;
      if (!s.from_architectures.empty()) {
        sample = sample_from_architectures(c, s.from_architectures, batches);
        if (sample.configs.empty())
          problems.push_back("--from-architectures: no " + name + " layer in " + s.from_architectures.front() +
                             (s.from_architectures.size() > 1 ? " and the others" : ""));
      } else {
        const auto ranges = resolve_ranges(c, s.ranges, problems);
        sample = s.sampler == "grid" ? sample_grid(c, ranges)
                                     : sample_random(c, ranges, s.configs.value_or(kDefaultConfigs), s.seed);
        if (sample.configs.empty()) problems.push_back(name + ": the grid has no valid point");
      }
      cp.draws = sample.draws;
      cp.rejected = sample.rejected;
      for (auto& cfg : sample.configs) {
        PlanItem item;
        item.kind = storage::MeasurementKind::kLayer;
        item.instance = layers::from_config(cfg);
        item.batch = item.instance.batch;
        item.config = std::move(cfg);
        item.collector = name;
        all.push_back(std::move(item));
      }
    }
    cp.items = all.size() - first;  // before sharding; corrected below
    plan.per_collector.push_back(cp);
  }
  if (!problems.empty()) throw ConfigError(join_problems("cannot plan the collection:", problems));
  plan.items_before_shard = all.size();
  for (auto& cp : plan.per_collector) cp.items = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(s.shard.count)) != s.shard.index - 1) continue;
    for (auto& cp : plan.per_collector)
      if (cp.collector == all[i].collector) ++cp.items;
    plan.items.push_back(std::move(all[i]));
  }
  if (plan.items.empty() && !all.empty())
    throw ConfigError("--shard " + s.shard.to_string() + " gets none of the plan's " + std::to_string(all.size()) +
                      (all.size() == 1 ? " item" : " items") + " (item i goes to shard i mod N + 1); use at most " +
                      std::to_string(all.size()) + (all.size() == 1 ? " shard" : " shards"));
  return plan;
}

std::int64_t bytes_needed(const PlanItem& item) {
  constexpr std::int64_t kFloat = 4;
  double bytes = 0;
  if (item.kind == storage::MeasurementKind::kNetwork) {
    const arch::Architecture a = arch::zoo(item.architecture);
    const auto inferred = arch::infer(a, item.batch);
    std::int64_t largest = 0;
    for (const auto& l : inferred.layers) largest = std::max(largest, layers::elements(l.output));
    // In double: the batch size is the user's, and the product must not wrap.
    bytes = (static_cast<double>(item.batch) * static_cast<double>(layers::elements(a.input) + largest) +
             static_cast<double>(inferred.total.params)) *
            kFloat;
  } else {
    const auto& inst = item.instance;
    const layers::Counts c = layers::counts(inst.spec, inst.input, inst.batch, kFloat);
    // Bytes past 2^63 - 1 fit in no memory: the guard skips the item.
    if (c.overflow) return std::numeric_limits<std::int64_t>::max();
    // (batch x (input + output) + params) x 4; a layer that does no work (flatten, dropout) counts no bytes moved,
    // but its input tensor is still allocated for the pass.
    bytes = std::max(static_cast<double>(c.bytes), static_cast<double>(c.inputs) * kFloat);
  }
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  const double needed = bytes * kMemorySafetyFactor;
  return needed >= static_cast<double>(kMax) ? kMax : static_cast<std::int64_t>(needed);
}

}  // namespace dle::collect
