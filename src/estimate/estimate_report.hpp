#pragma once
// Writers for `dlenergy estimate`: console table, CSV and JSON of an EstimateResult, each saying which
// predictors produced the figures and what hardware and sensor those describe.
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "estimate/estimate.hpp"
#include "predict/predictor_set.hpp"

namespace dle::estimate {

// Provenance of the figures: the predictor file, how it was found, its "source", and the models used.
struct PredictorsInfo {
  std::string path;
  std::string found_by;  // see predictor_files.hpp
  predict::PredictorSource source;
  std::map<std::string, std::string> models;  // layer type -> model summary, for the types the estimate used
  std::vector<predict::ValidationRecord> validations;  // the file's records of validate --record
};

// One record as text for an estimate at `batch`: "<description> (<sensor>, N networks): MAPE x %; at batch sizes
// lo-hi: MAPE y %, mean signed error z % (n networks)", or "...; none measured in the batch-size range of B".
std::string validation_text(const predict::ValidationRecord& v, std::int64_t batch);

// Fills models with predictors.model_summary(type) for every predicted type of `result`.
PredictorsInfo describe_predictors(const predict::PredictorSet& predictors, const std::string& path,
                                   const std::string& found_by, const EstimateResult& result);

// "predicted" or "predicted (from estimated training data)".
std::string provenance_label(const predict::PredictorSource& source);

void write_estimate_table(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p);
// One row per layer, then a "total" row; provenance as leading '#' comment lines.
void write_estimate_csv(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p);
// {"architecture","batch_size","predictors":{...},"layers":[{"index","type","macs","energy_j","share","status",
//  "note"}],"total":{"energy_j","energy_wh","macs","provenance","complete"}, "images":{...}, "co2":{...}}.
// Not-estimated layers have energy_j and share null.
void write_estimate_json(std::ostream& out, const EstimateResult& r, const PredictorsInfo& p);

}  // namespace dle::estimate
