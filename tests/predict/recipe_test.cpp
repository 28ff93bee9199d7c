#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/errors.hpp"
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
  // The feature range covers every row (1,000 to 80,000 elements), not only the rows the model was fitted on,
  // and describe() says so.
  ASSERT_EQ(p->state().training.feature_ranges.size(), 1u);
  EXPECT_EQ(p->state().training.feature_ranges[0], (std::pair<double, double>{1000.0, 80000.0}));
  const double small[] = {500.0};
  EXPECT_EQ(p->describe(p->extrapolation(small)), "elements 500 is outside the 1000-8e+04 it was trained on");
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

TEST(ChooseModel, ModelsWithTooFewRowsAtAFlagValueLoseUnlessAllDo) {
  EXPECT_EQ(choose_model({5.0, 10.0}, {"aligned_rows is 1 in 1 of 100 rows", ""}), 1u);
  EXPECT_EQ(choose_model({5.0, 10.0}, {"", ""}), 0u);
  EXPECT_EQ(choose_model({5.0, 10.0}, {"a", "b"}), 0u);  // none supported: plain best_by_cv
  EXPECT_EQ(choose_model({kNaN, 10.0, 4.0}, {"", "", "c"}), 1u);
}

// Linear layers at batch 4 whose energy is 1 nJ per MAC, twice that when the weight rows are a multiple of 4 KiB
// (input_size a multiple of 1024), with `aligned` such rows among 100.
TrainingSet linear_set(int aligned) {
  TrainingSet s;
  s.type = "linear";
  for (int i = 0; i < 100; ++i) {
    const double in = i < aligned ? 1024.0 * (1 + i % 9) : 1001.0 + 38.0 * i;  // odd: never aligned
    const double out = 500.0 + 53.0 * (i % 17);
    s.configs.push_back({"linear", {{"batch_size", 4.0}, {"input_size", in}, {"output_size", out}}});
    s.energy_j.push_back(1e-9 * 4 * in * out * (i < aligned ? 2.0 : 1.0));
    s.measurements.push_back(1);
  }
  return s;
}

ModelSpec log_poly(const std::string& features) {
  ModelSpec s;
  s.feature_set = features;
  s.criterion = Criterion::kLog;
  s.polynomial = Polynomial::kFull;
  s.standard_scaler = true;
  return s;
}

TEST(IndicatorShortfall, NamesTheFlagAndHowFewRowsCarryIt) {
  const ModelSpec flagged = log_poly("log1p_macs+aligned_rows");
  EXPECT_EQ(indicator_shortfall(linear_set(3), flagged), "aligned_rows is 1 in 3 of 100 rows");
  EXPECT_EQ(indicator_shortfall(linear_set(0), flagged), "aligned_rows is never 1 in the 100 rows");
  EXPECT_EQ(indicator_shortfall(linear_set(95), flagged), "aligned_rows is 0 in 5 of 100 rows");
  EXPECT_EQ(indicator_shortfall(linear_set(10), flagged), "");
  EXPECT_EQ(indicator_shortfall(linear_set(3), log_poly("log1p_macs+log1p_bytes")), "");  // no 0/1 column
}

TEST(IndicatorShortfall, FitUsesTheFlagOnlyWithEnoughRowsCarryingIt) {
  Recipe r;
  r.name = "test";
  r.protocol = {1234, 5, true};
  r.entries = {{"linear", log_poly("log1p_macs+aligned_rows"), "flag", {log_poly("log1p_macs")}}};

  // 30 aligned rows: the flag's model is exact (x2 for aligned rows) and kept.
  const FitOutcome with = fit_recipe(r, {{"linear", linear_set(30)}}, PredictorSource{});
  const auto p = with.predictors.get("linear");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->spec().feature_set, "log1p_macs+aligned_rows");
  const layers::LayerConfig alexnet_fc1{"linear",
                                        {{"batch_size", 4.0}, {"input_size", 9216.0}, {"output_size", 4096.0}}};
  EXPECT_NEAR(p->predict_j(alexnet_fc1) / (2e-9 * 4 * 9216 * 4096), 1.0, 0.02);

  // 3 aligned rows: the flag model is not used, whatever its cross-validated MAPE, and the note says why.
  const FitOutcome without = fit_recipe(r, {{"linear", linear_set(3)}}, PredictorSource{});
  EXPECT_EQ(without.predictors.get("linear")->spec().feature_set, "log1p_macs");
  ASSERT_EQ(without.notes.size(), 1u);
  EXPECT_NE(without.notes[0].find("not used: aligned_rows is 1 in 3 of 100 rows, fewer than 10"), std::string::npos)
      << without.notes[0];

  // analyze marks the same model.
  StudySettings settings;
  settings.folds = 5;
  settings.recipe = &r;
  settings.candidates = {log_poly("log1p_macs")};
  int chosen = 0;
  for (const auto& row : run_study(linear_set(3), settings).ranked)
    if (row.chosen) {
      ++chosen;
      EXPECT_EQ(row.spec.feature_set, "log1p_macs");
    }
  EXPECT_EQ(chosen, 1);
}

// Linear layers at a few configurations, energy 1 nJ per MAC plus a little per byte.
TrainingSet few_linear_layers(int configs) {
  TrainingSet s;
  s.type = "linear";
  for (int i = 0; i < configs; ++i) {
    const double b = 1 + i % 4, in = 300 + 97 * i, out = 200 + 61 * i;
    s.configs.push_back({"linear", {{"batch_size", b}, {"input_size", in}, {"output_size", out}}});
    s.energy_j.push_back(1e-9 * b * in * out * (1.0 + 0.01 * (i % 3)) + 1e-11 * (in * out + b * (in + out)) * 4);
    s.measurements.push_back(1);
  }
  return s;
}

// Of a type's models, one that cannot be fitted (more coefficients than rows) is named, not fatal; a type none of
// whose models can be fitted is left out with a warning when fitting everything, and fails the fit otherwise.
TEST(FitRecipe, ModelsThatCannotBeFittedAreNamedAndTypesWithTooLittleDataLeftOut) {
  const Recipe& recipe = recipes().get("default");
  std::map<std::string, TrainingSet> sets = {{"linear", few_linear_layers(11)}};
  // 90 % of 11 rows: 9, fewer than the 10 coefficients of the model with aligned_rows; the one without needs 6.
  FitOutcome out = fit_recipe(recipe, sets, {});
  ASSERT_TRUE(out.predictors.has("linear"));
  EXPECT_EQ(out.predictors.get("linear")->spec().feature_set, "log1p_macs+log1p_bytes");
  ASSERT_EQ(out.notes.size(), 7u) << out.notes[0];  // the note on linear, and 6 types without rows
  EXPECT_NE(out.notes[0].find("not fitted: poly2+std on [log1p_macs+log1p_bytes+aligned_rows], log error, intercept: "
                              "linear: 9 training rows cannot determine 10 coefficients"),
            std::string::npos)
      << out.notes[0];

  TrainingSet one = exact_relu_set();
  one.type = "conv2d";
  one.configs = {{"conv2d", {{"batch_size", 1}, {"image_size", 8}, {"kernel_size", 3}, {"in_channels", 3},
                             {"out_channels", 8}, {"stride", 1}, {"padding", 1}}}};
  one.energy_j = {0.01};
  one.measurements = {1};
  sets.emplace("conv2d", one);
  try {
    fit_recipe(recipe, sets, {});
    FAIL() << "fitted";
  } catch (const FitError& e) {
    EXPECT_NE(std::string(e.what()).find("conv2d: 1 configuration(s) leave no training rows"), std::string::npos)
        << e.what();
  }
  out = fit_recipe(recipe, sets, {}, true);
  EXPECT_TRUE(out.predictors.has("linear"));
  EXPECT_FALSE(out.predictors.has("conv2d"));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0].rfind("no predictor for poly2+std on [log1p_blocked_macs+log1p_io+log1p_stride+"
                                  "narrow_input], log error, intercept: conv2d: 1 configuration(s) leave no training rows",
                                  0),
            0u)
      << out.warnings[0];
}

// A fitted model whose features never vary, or that predicts unseen rows worse than their mean, is fitted but
// comes with a warning.
TEST(FitRecipe, AModelOnFeaturesThatNeverVaryIsWarnedAbout) {
  TrainingSet same;
  same.type = "tanh";
  for (int i = 0; i < 40; ++i) {
    const double b = 1 << (i % 8);
    same.configs.push_back({"tanh", {{"batch_size", b}, {"input_size", 1048576.0 / b}}});
    same.energy_j.push_back(0.04 * (1.0 + 0.05 * (i % 7)));
    same.measurements.push_back(1);
  }
  const FitOutcome out = fit_recipe(recipes().get("default"), {{"tanh", same}}, {});
  ASSERT_TRUE(out.predictors.has("tanh"));
  ASSERT_EQ(out.warnings.size(), 1u);
  EXPECT_EQ(out.warnings[0].rfind("tanh: the feature(s) macs have one value in every training row, so they cannot "
                                  "tell configurations apart",
                                  0),
            0u)
      << out.warnings[0];
  EXPECT_NE(out.warnings[0].find("its energies are unreliable: measure more varied configurations"), std::string::npos);
  const double p = out.predictors.predict_j({"tanh", {{"batch_size", 4}, {"input_size", 262144}}});
  EXPECT_NEAR(p, 0.04 * 1.15, 0.04 * 0.05);  // about the mean
}

}  // namespace
}  // namespace dle::predict
