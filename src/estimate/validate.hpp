#pragma once
// Validation of the estimator against measured networks: predicted vs measured energy per forward pass for
// whole networks (kind network), for layers of networks measured alone (kind network_layer), and the
// additivity of the layers measured alone against the whole network.
//
// No I/O: takes measurements (from Store::measurements) and a PredictorSet, returns value objects.
// Repeats are combined per group before comparing: networks by (architecture, batch size), layers by
// (architecture, layer index, batch size); by default with the median, which one window hit by a RAPL
// counter wraparound (the paper's data has such windows, 40-50 % low) cannot move, or with the mean.
// Measurements with a status other than "ok" and those of kind layer are ignored.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "predict/predictor_set.hpp"
#include "storage/records.hpp"

namespace dle::estimate {

// Metrics of predicted vs measured (both > 0). Undefined values (R² with fewer than two points or constant
// measurements) are NaN.
struct Metrics {
  std::size_t n = 0;
  double r2 = 0.0;
  double mape_pct = 0.0;                // mean |p - m| / m * 100
  double within_10pct_share = 0.0;      // share of |p - m| / m <= 0.10
  double mean_signed_error_pct = 0.0;   // mean (p - m) / m * 100: > 0 overestimates
  double max_abs_error_pct = 0.0;
};
Metrics compute_metrics(const std::vector<double>& measured, const std::vector<double>& predicted);

// Which per-pass energy of a measurement is compared.
enum class EnergyBasis {
  kGross,  // energy_per_pass_j: the window's energy / passes (what CodeCarbon imports and the paper report)
  kNet,    // net_energy_per_pass_j: idle baseline subtracted
};

struct NetworkComparison {
  std::string architecture;
  std::int64_t batch = 0;
  int repeats = 0;          // measurements combined
  double measured_j = 0.0;  // median (or mean) per forward pass
  double predicted_j = 0.0;
  double error_pct = 0.0;   // (predicted - measured) / measured * 100
  bool complete = true;     // false when some layer types had no predictor (the prediction leaves them out)
};

struct LayerComparison {
  std::string architecture;
  int layer_index = -1;
  std::string type;
  std::int64_t batch = 0;
  int repeats = 0;
  double measured_j = 0.0;
  double predicted_j = 0.0;
  double error_pct = 0.0;
  std::string status;  // "predicted" or "zero-work"
  bool extrapolated = false;  // outside the ranges its predictor was trained on (estimate.hpp)
};

// Layers that are 0 J by definition (Dropout, Flatten, identity pooling) but were measured alone: what running
// them cost, so that the figure is visible without counting as a prediction error.
struct ZeroWorkType {
  std::size_t n = 0;           // layer/batch-size points
  double mean_measured_j = 0;  // per forward pass
  double max_share_pct = 0;    // largest share of its whole network's measured energy (0 when none measured)
};

struct AdditivityRow {
  std::string architecture;
  std::int64_t batch = 0;
  double network_j = 0.0;     // whole network measured, per pass (repeats combined)
  double layers_sum_j = 0.0;  // sum of the layers measured alone (each with its repeats combined)
  int layers_measured = 0;
  int layers_expected = 0;    // layers of the architecture that torchvision has (Flatten excluded)
  double difference_pct = 0.0;  // (layers_sum - network) / network * 100
  double predicted_j = 0.0;     // the estimator's whole-network prediction, for comparison
};

// How the repeats of one group become its measured energy.
enum class RepeatStatistic { kMedian, kMean };

struct ValidationOptions {
  EnergyBasis basis = EnergyBasis::kGross;
  RepeatStatistic repeats = RepeatStatistic::kMedian;
};

// Batch sizes in ranges that grow by 4x: 1-16, 17-64, 65-256, 257-1024, ... Small batches run other kernels
// (a GEMM with few rows streams its weights), so the predictors' error can depend on the batch size.
struct BatchRange {
  std::int64_t lo = 1;
  std::int64_t hi = 16;
  Metrics metrics;  // over the whole networks measured at a batch size in [lo, hi]
};
// The range of `batch` (>= 1).
BatchRange batch_range_of(std::int64_t batch);

struct ValidationResult {
  std::vector<NetworkComparison> networks;            // sorted by architecture, batch
  std::map<std::string, Metrics> architectures;       // per architecture, over its batch sizes
  std::vector<BatchRange> batch_ranges;                // per batch-size range holding networks, ascending
  Metrics summary;                                    // over all networks
  std::vector<LayerComparison> layers;                // sorted by architecture, batch, layer index
  std::map<std::string, Metrics> layer_types;         // per predicted layer type, over layers measured alone
  // The same split by the estimate's label: layers inside their predictor's training ranges, and layers outside
  // (extrapolated). A type appears in a map only when it has such layers.
  std::map<std::string, Metrics> layer_types_inside;
  std::map<std::string, Metrics> layer_types_extrapolated;
  std::map<std::string, ZeroWorkType> zero_work_types;  // layer types that are 0 J by definition
  std::vector<AdditivityRow> additivity;              // sorted by architecture, batch
  std::vector<std::string> skipped;  // groups not compared, each with the reason (unknown architecture, ...)
  std::size_t measurements_used = 0;
  std::vector<std::string> sensors;  // distinct sensor labels of the measurements used
  bool any_estimated = false;        // some measurements came from the estimated sensor
};

// The whole-network part of `r` as a record for the predictor file (dlenergy validate --record): overall MAPE
// and share within 10 %, and per batch-size range. ConfigError when `r` compared no whole network.
predict::ValidationRecord to_record(const ValidationResult& r, const std::string& description);

ValidationResult validate(const std::vector<storage::MeasurementRecord>& measurements,
                          const predict::PredictorSet& predictors, const ValidationOptions& options = {});

}  // namespace dle::estimate
