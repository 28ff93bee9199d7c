#pragma once
// Writers for `dlenergy validate`: console table, JSON, and predicted-vs-measured plots through gnuplot.
#include <ostream>
#include <string>
#include <vector>

#include "estimate/estimate_report.hpp"
#include "estimate/validate.hpp"

namespace dle::estimate {

struct ValidationContext {
  std::string db_path;
  PredictorsInfo predictors;  // models left empty is fine
  EnergyBasis basis = EnergyBasis::kGross;
  RepeatStatistic repeats = RepeatStatistic::kMedian;
};

void write_validation_table(std::ostream& out, const ValidationResult& r, const ValidationContext& c);
// {"networks":[{"architecture","batch_size","repeats","measured_j","predicted_j","error_pct","complete"}],
//  "architectures":{name:{metrics}}, "layer_types":{type:{metrics}}, "layers":[...], "additivity":[...],
//  "summary":{"n","r2","mape_pct","within_10pct_share","mean_signed_error_pct","max_abs_error_pct"},
//  "predictors":{...}, "database":{...}, "skipped":[...]}. Undefined metrics (NaN) are null.
void write_validation_json(std::ostream& out, const ValidationResult& r, const ValidationContext& c);

// Writes networks.{png,svg} (whole networks, one series per architecture) and, when layers were compared,
// layers.{png,svg} (one series per layer type): predicted vs measured, log-log, with the y = x line and the
// +-10 % band. Also leaves the data (.dat) and the gnuplot script (.gp) in `dir`. Returns the image paths.
// Throws ConfigError when gnuplot is not installed, StorageError when `dir` cannot be written.
std::vector<std::string> write_validation_plots(const std::string& dir, const ValidationResult& r,
                                                const ValidationContext& c);

}  // namespace dle::estimate
