#pragma once
// The feature-set study behind `dlenergy analyze`: for one layer type, every feature set x model x criterion,
// scored by k-fold cross-validation on the train + validation rows (90 %) and on the held-out test rows (10 %),
// ranked by cross-validated MAPE. This is the paper's "predictive power of feature sets" study, extended with
// the relative and log criteria, and judged on relative error rather than R^2.
#include <cstdint>
#include <string>
#include <vector>

#include "predict/model.hpp"
#include "predict/recipes.hpp"
#include "predict/training_data.hpp"

namespace dle::predict {

// Feature sets (study_feature_sets, 17; run_study drops those naming a parameter the type lacks) x
// {linear, linear-nnls, poly2-interaction+std, poly2+std} x
// {absolute, relative, log}, every one with an intercept.
std::vector<ModelSpec> study_candidates();

struct StudySettings {
  std::size_t folds = 10;
  std::uint32_t seed = 1234;
  const Recipe* recipe = nullptr;   // its model for the type (of its alternatives, the one with the lowest CV
                                    // MAPE) is marked chosen; added when not a candidate
  std::vector<ModelSpec> candidates;  // empty = study_candidates()
};

struct StudyRow {
  ModelSpec spec;
  Metrics cv;
  Metrics test;
  bool chosen = false;
  std::string error;  // why the candidate could not be fitted (then its metrics are NaN)
};

struct StudyResult {
  std::string type;
  std::size_t rows = 0;       // configurations
  std::size_t cv_rows = 0;    // train + validation
  std::size_t test_rows = 0;
  std::vector<StudyRow> ranked;  // by CV MAPE, ascending; failed candidates last
  // The chosen (else best) model: measured vs predicted energies, out-of-fold for the CV rows, then the test rows.
  std::string plotted_model;
  std::vector<double> measured_j;
  std::vector<double> predicted_j;
  std::vector<bool> is_test;
};

StudyResult run_study(const TrainingSet& set, const StudySettings& settings);

// Predicted vs measured (log-log, the y = x line and the +-10 % band) through gnuplot: writes <dir>/<type>.dat,
// <type>.gp, <type>.png and <type>.svg and returns the image paths. `provenance` ("measured (rapl via
// CodeCarbon)", "estimated sensor") goes into the title. ConfigError when gnuplot is not installed or fails.
std::vector<std::string> write_study_plot(const StudyResult& result, const std::string& dir, const std::string& provenance);

}  // namespace dle::predict
