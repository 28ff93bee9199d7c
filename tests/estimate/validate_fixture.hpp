#pragma once
// A small hand-made measurement database with known answers for validate, built with the Store API.
// Energies are chosen against the MAC-only synthetic predictors (synthetic_predictors.hpp):
//   networks:  alexnet b1 = P/1.05 (3 repeats, one of them a 50 % low window the median ignores) -> +5 %
//              alexnet b2 = 2P exactly (2 repeats)                                                 ->  0 %
//              vgg11 b1   = Pvgg11/0.8                                                             -> -20 %
//              resnet50 b1 (not a known architecture: reported, not compared)
//   alexnet b1 layers measured alone: conv 0 = E0/1.25 (+25 %), relu 1 = 2*E1 (-50 %),
//              conv 3 = E3 (0 %), dropout 15 = 1 mJ (0 J by definition: listed apart, not scored)
//   ignored:   a kind "layer" row and a "skipped" network row.
#include <string>

#include "architectures/architecture.hpp"
#include "estimate/estimate.hpp"
#include "storage/store.hpp"
#include "synthetic_predictors.hpp"

namespace dle::estimate::fixture {

// AlexNet at batch 1 under the synthetic predictors: 714,188,480 MACs * 1e-9 + 493,184 * 2e-10 + 794,880 * 5e-10.
inline constexpr double kAlexnetJ = 0.714188480 + 493184 * 2e-10 + 794880 * 5e-10;
inline constexpr double kConv0J = 70276800 * 1e-9;
inline constexpr double kRelu1J = 193600 * 2e-10;
inline constexpr double kConv3J = 223948800 * 1e-9;
inline constexpr double kDropoutJ = 1e-3;
inline constexpr double kAlexnetLayersSumJ = kConv0J / 1.25 + 2 * kRelu1J + kConv3J + kDropoutJ;

inline double vgg11_batch1_j() {
  const auto p = testing::mac_predictors();
  return Estimator(arch::zoo("vgg11"), p).energy_j(1);
}

inline storage::MeasurementRecord network(const std::string& arch, std::int64_t batch, int repeat, double j) {
  storage::MeasurementRecord m;
  m.kind = storage::MeasurementKind::kNetwork;
  m.config.type = "network";
  m.config.set("batch_size", static_cast<double>(batch));
  m.architecture = arch;
  m.repeat = repeat;
  m.passes = 10;
  m.duration_s = 1.0;
  m.energy_j = 10 * j;
  m.energy_per_pass_j = j;
  m.net_energy_per_pass_j = j;
  m.sensor = "rapl (test)";
  return m;
}

inline storage::MeasurementRecord network_layer(const std::string& arch, int index, std::int64_t batch, double j) {
  const auto a = arch::zoo(arch);
  const auto inferred = arch::infer(a, batch);
  const auto& l = inferred.layers.at(static_cast<std::size_t>(index));
  storage::MeasurementRecord m = network(arch, batch, 1, j);
  m.kind = storage::MeasurementKind::kNetworkLayer;
  m.layer_index = index;
  if (layers::is_configurable(layers::type_name(l.spec))) {
    m.config = layers::to_config({l.spec, l.input, batch});
  } else {
    m.config = layers::LayerConfig{layers::type_name(l.spec), {{"batch_size", static_cast<double>(batch)}}};
    for (const auto& p : layers::params(l.spec)) m.config.set(p.name, p.value);
  }
  return m;
}

inline void write_hand_made_db(const std::string& path) {
  auto store = storage::Store::open(path);
  storage::RunRecord run;
  run.started_at = "2024-01-01T00:00:00Z";
  run.source = "validate test";
  run.hostname = "test";
  run.cpu_model = "Test CPU";
  run.cores = 2;
  run.sensor = "rapl (test)";
  run.settings_json = "{}";
  run.settings_hash = "validate-test";
  const auto run_id = store.add_run(run);
  std::vector<storage::MeasurementRecord> ms = {
      network("alexnet", 1, 1, kAlexnetJ / 1.05),
      network("alexnet", 1, 2, kAlexnetJ / 1.05),
      network("alexnet", 1, 3, kAlexnetJ / 1.05 * 0.5),
      network("alexnet", 2, 1, 2 * kAlexnetJ),
      network("alexnet", 2, 2, 2 * kAlexnetJ),
      network("vgg11", 1, 1, vgg11_batch1_j() / 0.8),
      network("resnet50", 1, 1, 1.0),
      network_layer("alexnet", 0, 1, kConv0J / 1.25),
      network_layer("alexnet", 1, 1, 2 * kRelu1J),
      network_layer("alexnet", 3, 1, kConv3J),
      network_layer("alexnet", 15, 1, kDropoutJ),
  };
  auto skipped = network("alexnet", 1, 4, 100.0);
  skipped.status = "skipped";
  skipped.note = "memory guard";
  ms.push_back(skipped);
  storage::MeasurementRecord layer = network_layer("alexnet", 0, 1, 5.0);
  layer.kind = storage::MeasurementKind::kLayer;
  layer.architecture.clear();
  layer.layer_index = -1;
  ms.push_back(layer);
  for (auto& m : ms) {
    m.run_id = run_id;
    store.add_measurement(m);
  }
}

}  // namespace dle::estimate::fixture
