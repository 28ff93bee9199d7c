#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "predict/recipes.hpp"
#include "predict/study.hpp"

namespace dle::predict {
namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(BestByCv, LowestFiniteMapeWinsTiesKeepTheEarlier) {
  EXPECT_EQ(best_by_cv({12.0, 7.5, 30.0}), 1u);
  EXPECT_EQ(best_by_cv({kNaN, 40.0}), 1u);  // no CV figure loses to any figure
  EXPECT_EQ(best_by_cv({5.0, 5.0}), 0u);
  EXPECT_EQ(best_by_cv({kNaN, kNaN}), 0u);
  EXPECT_EQ(best_by_cv({3.0}), 0u);
}

// ReLU energies of exactly 2 nJ per element: a model on the batch size alone cannot follow the input size,
// one on the elements (macs) is exact.
TrainingSet exact_relu_set() {
  TrainingSet s;
  s.type = "relu";
  for (int b = 1; b <= 8; ++b)
    for (int n = 1; n <= 10; ++n) {
      const double elements = b * n * 1000.0;
      s.configs.push_back({"relu", {{"batch_size", double(b)}, {"input_size", n * 1000.0}}});
      s.energy_j.push_back(2e-9 * elements);
      s.measurements.push_back(1);
    }
  return s;
}

ModelSpec relative(const std::string& features) {
  ModelSpec s;
  s.feature_set = features;
  s.criterion = Criterion::kRelative;
  s.intercept = false;
  return s;
}

Recipe recipe_with_alternative() {
  Recipe r;
  r.name = "test";
  r.protocol = {1234, 5, true};
  r.entries = {{"relu", relative("batch_size"), "first choice", {relative("macs")}}};
  return r;
}

TEST(RecipeAlternatives, FitKeepsTheLowestCrossValidatedMapeAndSaysSo) {
  const Recipe r = recipe_with_alternative();
  ASSERT_EQ(r.entries[0].specs().size(), 2u);
  const FitOutcome out = fit_recipe(r, {{"relu", exact_relu_set()}}, PredictorSource{});
  const auto p = out.predictors.get("relu");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->spec().feature_set, "macs");
  ASSERT_EQ(p->state().coefficients.size(), 1u);
  EXPECT_NEAR(p->state().coefficients[0], 2e-9, 1e-15);
  EXPECT_NEAR(p->state().metrics.at("cv").mape_pct, 0.0, 1e-6);
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_NE(out.notes[0].find("relu: linear on [macs]"), std::string::npos) << out.notes[0];
  EXPECT_NE(out.notes[0].find("rather than linear on [batch_size]"), std::string::npos) << out.notes[0];

  // With the alternative first, the same model wins: the order only breaks ties.
  Recipe swapped = r;
  std::swap(swapped.entries[0].spec, swapped.entries[0].alternatives[0]);
  EXPECT_EQ(fit_recipe(swapped, {{"relu", exact_relu_set()}}, PredictorSource{}).predictors.get("relu")->spec().feature_set,
            "macs");
}

TEST(RecipeAlternatives, TheNoteListsEveryModelNotKept) {
  Recipe r = recipe_with_alternative();
  r.entries[0].alternatives.push_back(relative("base"));
  const FitOutcome out = fit_recipe(r, {{"relu", exact_relu_set()}}, PredictorSource{});
  EXPECT_EQ(out.predictors.get("relu")->spec().feature_set, "macs");
  ASSERT_EQ(out.notes.size(), 1u);
  const std::string& note = out.notes[0];
  const auto first = note.find("rather than linear on [batch_size], relative error, no intercept (");
  const auto second = note.find("), linear on [base], relative error, no intercept (");
  EXPECT_NE(first, std::string::npos) << note;
  EXPECT_NE(second, std::string::npos) << note;
  EXPECT_LT(first, second) << note;
}

TEST(RecipeAlternatives, StudyMarksTheAlternativeFitWouldKeep) {
  const Recipe r = recipe_with_alternative();
  StudySettings settings;
  settings.folds = 5;
  settings.recipe = &r;
  settings.candidates = {relative("batch_size"), relative("base")};  // "macs" is added as the recipe's
  const StudyResult result = run_study(exact_relu_set(), settings);
  ASSERT_EQ(result.ranked.size(), 3u);
  int chosen = 0;
  for (const auto& row : result.ranked)
    if (row.chosen) {
      ++chosen;
      EXPECT_EQ(row.spec.feature_set, "macs");
    }
  EXPECT_EQ(chosen, 1);
}

}  // namespace
}  // namespace dle::predict
