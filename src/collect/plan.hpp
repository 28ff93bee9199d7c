#pragma once
// The plan: the ordered list of items to measure (each measured `repeats` times), derived deterministically
// from the settings, so that a resumed run and every shard see the same list.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "architectures/architecture.hpp"
#include "collect/settings.hpp"
#include "layers/layer_config.hpp"
#include "storage/records.hpp"

namespace dle::collect {

struct PlanItem {
  storage::MeasurementKind kind = storage::MeasurementKind::kLayer;
  // Layer configuration (kLayer, kNetworkLayer) or {type "network", batch_size} (kNetwork).
  layers::LayerConfig config;
  std::string architecture;  // kNetwork, kNetworkLayer
  int layer_index = -1;      // kNetworkLayer: 0-based index in the architecture
  std::int64_t batch = 1;
  // kLayer, kNetworkLayer: what runs (the real spec for network layers, e.g. ReLU in place).
  layers::LayerInstance instance;
  std::string collector;  // collector name, for counts and progress

  // A record with this item's identity (kind, config, architecture, layer index) and `repeat`.
  storage::MeasurementRecord record(int repeat) const;
  std::string label() const;  // "conv2d batch_size=8 ..." or "vgg16 layer 3 (relu) batch_size=1"
};

struct CollectorPlan {
  std::string collector;
  std::uint64_t items = 0;  // after sharding
  std::uint64_t draws = 0;
  std::map<std::string, std::uint64_t> rejected;  // broken rule -> count (random and grid samplers)
};

struct Plan {
  std::vector<PlanItem> items;  // this shard's items, in plan order
  std::uint64_t items_before_shard = 0;
  int repeats = 1;
  std::vector<CollectorPlan> per_collector;
  std::uint64_t measurements() const { return items.size() * static_cast<std::uint64_t>(repeats); }
};

// Builds the plan; calls validate(s) first. Shard K/N keeps the items whose 0-based plan index i satisfies
// i % N == K - 1 (all repeats of an item stay together).
Plan make_plan(const CollectSettings& s);

// Memory needed to run an item (float32): input + output + weights, times kMemorySafetyFactor. Networks:
// input + their largest activation + all weights, times the factor. The factor covers what LibTorch allocates
// besides: the output of the previous pass still alive while the next is computed, oneDNN's reordered weights
// and per-thread workspaces (slow_conv2d's im2col buffer is larger, but LibTorch takes that path only for small
// inputs, where oneDNN's heuristics decline).
inline constexpr double kMemorySafetyFactor = 2.0;
std::int64_t bytes_needed(const PlanItem& item);

}  // namespace dle::collect
