#pragma once
// A loaded predictor file: one fitted energy model per layer type, and where its training data came from.
// This is the contract between `fit` (which writes the file) and `estimate`/`validate` (which read it).
// File format: docs/predictors.md. No Eigen or JSON types in this header.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/layer_config.hpp"

namespace dle::predict {

// Where the predictors' training data came from: the file's "source" object.
struct PredictorSource {
  std::string description;  // e.g. "paper-data/raw: Getzner et al. 2023, random layer configurations"
  std::string cpu_model;    // hardware the data was measured on
  int cores = 0;
  std::string sensor;       // "rapl (via CodeCarbon)", "estimated", ...
  bool estimated = false;   // true when the training energies came from the estimated sensor
  std::string data_hash;    // hash of the training rows
  std::string created_at;
  std::string recipe;       // "default" or "paper"
};

// How these predictors did against measured whole networks (`dlenergy validate --record`): which measurements, how
// many networks, and the error per batch-size range, so that `estimate` can say how far to trust its figure at
// the batch size asked for. The file's "validations" array (absent when there is none).
struct ValidationRecord {
  struct Range {
    std::int64_t batch_min = 1;
    std::int64_t batch_max = 16;
    std::size_t networks = 0;
    double mape_pct = 0.0;
    double mean_signed_error_pct = 0.0;  // > 0: the predictions were high
    double within_10pct_share = 0.0;
  };
  std::string description;  // what was measured, e.g. "Getzner et al. 2023, 01/02 network runs"
  std::string sensor;       // of the measurements
  bool estimated = false;   // the measurements came from the estimated sensor
  std::string recorded_at;  // UTC, ISO 8601
  std::size_t networks = 0;
  double mape_pct = 0.0;
  double within_10pct_share = 0.0;
  std::vector<Range> ranges;  // ascending

  const Range* range_of(std::int64_t batch) const;  // nullptr when no range holds `batch`
};

class LayerPredictor;  // defined in the predict library

class PredictorSet {
 public:
  // Reads and checks a predictor file. A missing, corrupted or wrong-version file is a FitError (or
  // ConfigError for a missing path) whose message names the file and what is wrong.
  static PredictorSet load(const std::string& path);
  // The same from text already in memory (an embedded default file); `origin` names it in errors.
  static PredictorSet parse(const std::string& json_text, const std::string& origin);

  PredictorSet();
  PredictorSet(PredictorSet&&) noexcept;
  PredictorSet& operator=(PredictorSet&&) noexcept;
  ~PredictorSet();

  const PredictorSource& source() const;
  bool has(const std::string& layer_type) const;
  std::vector<std::string> types() const;  // sorted
  // Predicted energy of one forward pass of the configured layer, in joules. Throws ConfigError when no
  // predictor exists for config.type (listing the supported types).
  double predict_j(const layers::LayerConfig& config) const;
  std::string model_summary(const std::string& layer_type) const;  // "linear on [macs]" etc.
  // The type's predictor, for callers that precompute features once (LayerPredictor::extractor(),
  // predict_features_j); ConfigError like predict_j when there is none. See predict/model.hpp.
  std::shared_ptr<const LayerPredictor> get(const std::string& layer_type) const;

  const std::vector<ValidationRecord>& validations() const;
  // Adds `record`, replacing an earlier one with the same description.
  void add_validation(ValidationRecord record);

  // For the fit side: add or replace a type's predictor, and write the file.
  void set_source(PredictorSource source);
  void put(const std::string& layer_type, std::shared_ptr<const LayerPredictor> predictor);
  // Atomically: a temporary file beside the target, then a rename. A symbolic link is followed (its target is
  // replaced, the link kept), the file's permissions are kept, and an existing path that is not a regular file
  // (a device such as /dev/null, a directory) is refused.
  void save(const std::string& path) const;
  // Reads the file, applies `change` and saves it, holding an exclusive lock on its directory for the whole time,
  // so that two processes updating one file (two `validate --record`) both keep their change.
  static void update(const std::string& path, const std::function<void(PredictorSet&)>& change);
  std::string to_json_text() const;           // the file's content

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dle::predict
