#pragma once
// Value objects the store keeps. Collectors and importers produce them; predictors, the validator and the
// writers read them. Energies in joules, durations in seconds, power in watts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layers/layer_config.hpp"

namespace dle::storage {

struct DomainEnergy {
  std::string name;
  double energy_j = 0.0;
};

// One collection run (or one import): everything needed to judge where its figures came from.
struct RunRecord {
  std::int64_t id = 0;
  std::string started_at;  // ISO 8601 UTC
  std::string source;      // "dlenergy collect", "codecarbon import", "merge"
  std::string hostname;
  std::string cpu_model;
  int cores = 0;
  int threads = 0;  // LibTorch intra-op threads used
  std::string sensor;  // "rapl", "perf", "nvml", "estimated", "rapl (via CodeCarbon)"
  bool estimated = false;
  std::string libtorch_version;
  std::string blas;
  std::uint64_t seed = 0;
  std::string settings_json;  // sampler, ranges, protocol, shard: the arguments of the run, as JSON
  std::string settings_hash;  // hash of settings_json; collect resumes the run with the same hash
};

enum class MeasurementKind {
  kLayer,         // a layer configuration measured alone (random, grid or from a network's shapes)
  kNetwork,       // a whole network's forward pass
  kNetworkLayer,  // one layer of a network measured alone at the network's batch size and shapes
};
std::string to_string(MeasurementKind k);  // "layer", "network", "network_layer"
MeasurementKind kind_from_string(const std::string& s);  // throws StorageError on unknown text

// One measurement window: raw totals plus the derived per-pass energies.
struct MeasurementRecord {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  MeasurementKind kind = MeasurementKind::kLayer;
  // For kLayer and kNetworkLayer: the layer configuration (type + schema values; layer types without a
  // measurement schema, such as dropout, carry batch_size and their spec's params). For kNetwork: type
  // "network" with values {batch_size}.
  layers::LayerConfig config;
  // kNetwork, kNetworkLayer: zoo name or file name. kLayer: the network the configuration was taken from
  // (collect --from-architectures, or the paper's architecture-config files); empty for random configurations.
  std::string architecture;
  int layer_index = -1;      // kNetworkLayer: our 0-based layer index in `architecture`
  int repeat = 1;            // 1-based repetition number
  // 1 normally; n when the same item appears for the n-th time in one run (published data sometimes drew a
  // configuration twice and measured it again: every row is kept). Part of item_key() when > 1.
  int occurrence = 1;
  std::int64_t passes = 0;   // forward passes in the window
  double duration_s = 0.0;   // window length
  std::vector<DomainEnergy> domains;  // raw energy per domain over the window
  double energy_j = 0.0;              // window total (gross), J
  double idle_power_w = 0.0;          // baseline of the run at measurement time, W (0 when unknown)
  double energy_per_pass_j = 0.0;     // gross: energy_j / passes
  double net_energy_per_pass_j = 0.0; // (energy_j - idle_power_w * duration_s) / passes
  std::string sensor;
  bool estimated = false;
  std::string status = "ok";  // "ok" or "skipped" (a memory guard or a failure refused it)
  std::string note;           // why skipped, or import provenance ("00_conv2d-raw.csv:17")
  std::string created_at;

  // Identity of a planned item, used by resume: kind, architecture, layer index, config and repeat.
  std::string item_key() const;
};

}  // namespace dle::storage
