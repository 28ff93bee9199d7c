#pragma once
// Recipes: which model each layer type gets, as a table (one row per type, easy to change), plus the protocol
// that fits and scores it. "paper" reproduces Getzner et al. 2023; "default" is dlenergy's own choice,
// selected on relative error (docs/predictors.md says why).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "predict/model.hpp"
#include "predict/predictor_set.hpp"
#include "predict/training_data.hpp"

namespace dle::predict {

struct RecipeEntry {
  std::string type;
  ModelSpec spec;
  std::string reason;  // why this model, for docs and `fit` output
  // Fallbacks for data that cannot support `spec` (too few rows of a rare regime for its extra coefficients):
  // fit keeps whichever of spec and these has the lowest cross-validated MAPE on the data it is given.
  std::vector<ModelSpec> alternatives = {};

  std::vector<ModelSpec> specs() const;  // spec, then the alternatives
};

// Of several models fitted to the same rows, the index of the one with the lowest cross-validated MAPE (a model
// without a finite CV figure loses to any that has one; ties keep the earlier).
std::size_t best_by_cv(const std::vector<double>& cv_mape_pct);

// A 0/1 feature (narrow_input, aligned_rows) gets its own coefficients in a polynomial model; with only a few rows
// at one of its values they rest on those rows alone, cross-validation hardly sees it (few folds hold such a row),
// and every layer the flag marks gets whatever they say: the paper's 1000 random Linear layers hold one whose rows
// are a multiple of 4 KiB, while every classifier layer of AlexNet and VGG is flagged.
inline constexpr std::size_t kMinRowsPerIndicatorValue = 10;
// Why `spec` is not supported by `set`: its first column that takes only the values 0 and 1 and takes one of them
// in fewer than kMinRowsPerIndicatorValue rows, e.g. "aligned_rows is 1 in 1 of 1000 rows"; empty when none.
std::string indicator_shortfall(const TrainingSet& set, const ModelSpec& spec);
// The model fit keeps of several fitted to the same rows: best_by_cv among those without a shortfall (all of
// them when every one has one).
std::size_t choose_model(const std::vector<double>& cv_mape_pct, const std::vector<std::string>& shortfalls);

// How a recipe fits and scores: split 70/20/10 with `seed`; coefficients from the training rows (plus the
// validation rows when fit_on_validation_too); metrics on the held-out test rows, on the validation rows when
// they were not used, and k-fold cross-validation over the rows the coefficients were fitted on.
struct FitProtocol {
  std::uint32_t seed = 1234;
  std::size_t folds = 10;
  bool fit_on_validation_too = true;
};

struct Recipe {
  std::string name;
  std::string description;
  FitProtocol protocol;
  std::vector<RecipeEntry> entries;
  const RecipeEntry* find(const std::string& type) const;  // nullptr when the recipe has no such type
};

// "default" and "paper". Unknown names are a ConfigError listing these.
const Registry<Recipe>& recipes();

// Fits one type under the protocol and fills the predictor's metrics and training info.
LayerPredictor fit_with_protocol(const TrainingSet& set, const ModelSpec& spec, const FitProtocol& protocol);

struct FitOutcome {
  PredictorSet predictors;
  // Types in the data but not in the recipe, and the reverse; which alternative a type got, and why.
  std::vector<std::string> notes;
  // Predictors not to be trusted (features constant in the data, negative R^2 out of sample), and types left out.
  std::vector<std::string> warnings;
};
// Fits every type of `sets` the recipe covers; of a type's models, those that can be fitted compete. A type none of
// whose models can be fitted (too few rows) is a FitError listing every such type, unless `skip_unfittable_types`
// (then it is left out with a warning, as long as another type is fitted). FitError when no type is covered.
FitOutcome fit_recipe(const Recipe& recipe, const std::map<std::string, TrainingSet>& sets, PredictorSource source,
                      bool skip_unfittable_types = false);

// The paper's training sets under DIR (<type>.csv for each type of the paper recipe that has a file).
// ConfigError when DIR holds none of them.
std::map<std::string, TrainingSet> load_paper_training_sets(const std::string& dir);
// Where the paper's training sets were measured (its README): Intel Xeon Gold 5120, 2 cores, RAPL package
// energy read by CodeCarbon. The training-set CSVs do not carry the CPU model themselves.
PredictorSource paper_training_sets_source(const std::string& dir);

}  // namespace dle::predict
