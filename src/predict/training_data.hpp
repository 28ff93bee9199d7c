#pragma once
// Training rows for the predictors: per layer type, configurations with their energy of one forward pass (J).
// From a dlenergy database (the repeats of a configuration averaged, as the paper did) or from the paper's own
// training sets (/work/shared/paper-data/training-sets/<layer>.csv, cpu_energy in kWh per pass).
#include <map>
#include <string>
#include <vector>

#include "layers/layer_config.hpp"
#include "predict/predictor_set.hpp"

namespace dle::storage {
class Store;
}

namespace dle::predict {

struct TrainingSet {
  std::string type;
  std::vector<layers::LayerConfig> configs;
  std::vector<double> energy_j;   // per forward pass, same order as configs
  std::vector<int> measurements;  // how many measurements (repeats) each row summarises
};

// Stable hash of the rows (configs and energies, as text with 17 significant digits): 16 hex digits, FNV-1a.
std::string training_data_hash(const TrainingSet& set);
std::string training_data_hash(const std::map<std::string, TrainingSet>& sets);

// How the repeats of one configuration become one training row.
//   mean:   the paper's choice and the default: the expected energy, the right target for sums over a network.
//   median: ignores one corrupted window out of three. The paper dropped windows its cluster log flagged as
//           RAPL failures; a database keeps them (24 of the 1000 conv2d configurations of the paper's raw data
//           have one repeat 20-55 % low). But the repeats of sigmoid and tanh are genuinely bimodal (one window
//           often 2.7x the others), and there the median picks one mode at random and doubles the CV error.
enum class RepeatReduction { kMean, kMedian };
RepeatReduction repeat_reduction_from_string(const std::string& s);  // "mean", "median"; ConfigError otherwise

struct DatabaseSelection {
  std::vector<std::string> layer_types;  // empty = every configurable type present
  bool include_network_layers = false;   // also use layers measured inside networks' shapes (network_layer)
  RepeatReduction repeats = RepeatReduction::kMean;
};

struct DatabaseTrainingData {
  std::map<std::string, TrainingSet> sets;
  PredictorSource source;              // hardware and sensor of the runs the rows came from
  std::vector<std::string> notes;      // what was left out and why, for the user
};

// Reads status "ok" measurements of kind layer (and network_layer when asked) and reduces the gross
// energy_per_pass_j of the repeats of each configuration to one value (selection.repeats), in first-appearance
// order. Configurations whose value is not a positive finite number are dropped (noted). ConfigError for a
// requested type without a schema.
DatabaseTrainingData load_training_data(const storage::Store& store, const DatabaseSelection& selection);

// "measured (rapl (via CodeCarbon))" or "ESTIMATED (sensor: estimated; not measurements)": how to label
// energies from this source in every output.
std::string energy_provenance(const PredictorSource& source);

// One of the paper's training sets. The schema parameters come from the columns of the same names, the energy
// from cpu_energy (kWh per pass, converted to J). The file's macs column is checked against our paper_macs
// feature (ConfigError naming file:line on a mismatch or a malformed value). A configuration on several rows is one
// row of the set: the mean energy, `measurements` the number of rows.
TrainingSet load_paper_training_set(const std::string& csv_path, const std::string& type);

}  // namespace dle::predict
