#include "estimate/estimate.hpp"

#include <gtest/gtest.h>

#include <functional>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "core/errors.hpp"
#include "predict/features.hpp"
#include "predict/model.hpp"
#include "synthetic_predictors.hpp"

namespace dle::estimate {
namespace {

using testing::kJPerComparison;
using testing::kJPerElement;
using testing::kJPerMac;
using testing::mac_predictors;

// AlexNet (torchvision) at batch size 1, by hand:
//   conv MACs   = Cout * Hout * Wout * Cin * K^2
//   maxpool ops = C * Hout * Wout * K^2 comparisons
//   relu ops    = elements of its input
struct Expected {
  std::size_t index;
  const char* type;
  double energy_j;
};
const std::vector<Expected>& alexnet_batch1() {
  static const std::vector<Expected> e = {
      {0, "conv2d", 64.0 * 55 * 55 * 3 * 121 * kJPerMac},           // 70,276,800 MACs
      {1, "relu", 64.0 * 55 * 55 * kJPerElement},                    // 193,600 elements
      {2, "maxpool2d", 64.0 * 27 * 27 * 9 * kJPerComparison},        // 419,904 comparisons
      {3, "conv2d", 192.0 * 27 * 27 * 64 * 25 * kJPerMac},           // 223,948,800
      {4, "relu", 192.0 * 27 * 27 * kJPerElement},
      {5, "maxpool2d", 192.0 * 13 * 13 * 9 * kJPerComparison},
      {6, "conv2d", 384.0 * 13 * 13 * 192 * 9 * kJPerMac},
      {7, "relu", 384.0 * 13 * 13 * kJPerElement},
      {8, "conv2d", 256.0 * 13 * 13 * 384 * 9 * kJPerMac},
      {9, "relu", 256.0 * 13 * 13 * kJPerElement},
      {10, "conv2d", 256.0 * 13 * 13 * 256 * 9 * kJPerMac},
      {11, "relu", 256.0 * 13 * 13 * kJPerElement},
      {12, "maxpool2d", 256.0 * 6 * 6 * 9 * kJPerComparison},
      {13, "adaptiveavgpool2d", 0.0},
      {14, "flatten", 0.0},
      {15, "dropout", 0.0},
      {16, "linear", 9216.0 * 4096 * kJPerMac},
      {17, "relu", 4096.0 * kJPerElement},
      {18, "dropout", 0.0},
      {19, "linear", 4096.0 * 4096 * kJPerMac},
      {20, "relu", 4096.0 * kJPerElement},
      {21, "linear", 4096.0 * 1000 * kJPerMac},
  };
  return e;
}

// 714,188,480 MACs * 1e-9 + 493,184 elements * 2e-10 + 794,880 comparisons * 5e-10
constexpr double kAlexnetBatch1J = 0.714188480 + 493184 * 2e-10 + 794880 * 5e-10;

TEST(Estimate, MacOnlyPredictorsGiveHandComputedEnergiesForAlexNet) {
  const auto predictors = mac_predictors();
  for (std::int64_t batch : {1, 4}) {
    const auto r = estimate(arch::infer(arch::zoo("alexnet"), batch), predictors);
    ASSERT_EQ(r.layers.size(), alexnet_batch1().size());
    for (const auto& e : alexnet_batch1()) {
      const auto& row = r.layers[e.index];
      EXPECT_EQ(row.index, e.index);
      EXPECT_EQ(row.type, e.type) << e.index;
      EXPECT_NEAR(row.energy_j, e.energy_j * batch, 1e-15 * batch) << "layer " << e.index << " batch " << batch;
    }
    EXPECT_NEAR(r.energy_j, kAlexnetBatch1J * batch, 1e-12 * batch);
    EXPECT_NEAR(r.energy_wh, kAlexnetBatch1J * batch / 3600.0, 1e-15 * batch);
    EXPECT_EQ(r.macs, 714188480LL * batch);
    EXPECT_EQ(r.layers[0].macs, 70276800LL * batch);
    EXPECT_TRUE(r.complete());
  }
  EXPECT_NEAR(kAlexnetBatch1J, 0.7146845568, 1e-13);
}

TEST(Estimate, TotalEqualsTheSumOfTheRowsAndSharesSumToOne) {
  const auto predictors = mac_predictors();
  for (const auto& name : arch::zoo_names()) {
    for (std::int64_t batch : {1, 3, 64}) {
      const auto r = estimate(arch::infer(arch::zoo(name), batch), predictors);
      double sum = 0.0, shares = 0.0;
      std::int64_t macs = 0;
      for (const auto& l : r.layers) {
        sum += l.energy_j;
        shares += l.share;
        macs += l.macs;
        EXPECT_DOUBLE_EQ(l.share, l.energy_j / r.energy_j);
      }
      EXPECT_EQ(r.energy_j, sum) << name << " batch " << batch;  // summed in row order: bit-identical
      EXPECT_EQ(r.macs, macs);
      EXPECT_NEAR(shares, 1.0, 1e-12);
      EXPECT_GT(r.energy_j, 0.0);
    }
  }
}

TEST(Estimate, LayersWithoutWorkAreZeroByDefinitionAndSaySo) {
  const auto r = estimate(arch::infer(arch::zoo("vgg16"), 2), mac_predictors());
  int zero = 0;
  for (const auto& l : r.layers) {
    if (l.type == "dropout" || l.type == "flatten" || l.type == "adaptiveavgpool2d") {
      ++zero;
      EXPECT_EQ(l.status, LayerStatus::kZeroWork) << l.index;
      EXPECT_EQ(l.energy_j, 0.0);
      EXPECT_NE(l.note.find("0 J by definition"), std::string::npos) << l.note;
    } else {
      EXPECT_EQ(l.status, LayerStatus::kPredicted) << l.index;
      EXPECT_GT(l.energy_j, 0.0);
      EXPECT_TRUE(l.note.empty());
    }
  }
  EXPECT_EQ(zero, 4);  // avgpool (7x7 -> 7x7), flatten, 2 dropouts
  EXPECT_EQ(to_string(LayerStatus::kZeroWork), "zero-work");
}

TEST(Estimate, MissingPredictorIsAnErrorListingTheSupportedTypes) {
  const auto predictors = mac_predictors({"conv2d", "linear", "maxpool2d"});
  try {
    estimate(arch::infer(arch::zoo("alexnet"), 1), predictors);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no predictor for layer type 'relu' (layers 1, 4, 7, 9, 11, 17, 20)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the predictors cover: conv2d, linear, maxpool2d"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--allow-missing"), std::string::npos) << msg;
  }
}

TEST(Estimate, AllowMissingGivesNotEstimatedRowsAndAnIncompleteTotal) {
  const auto predictors = mac_predictors({"conv2d", "linear", "maxpool2d"});
  EstimateOptions o;
  o.allow_missing = true;
  const auto r = estimate(arch::infer(arch::zoo("alexnet"), 1), predictors, o);
  EXPECT_FALSE(r.complete());
  EXPECT_EQ(r.missing_types, std::vector<std::string>{"relu"});
  double expected = 0.0;
  for (const auto& e : alexnet_batch1())
    if (std::string(e.type) != "relu") expected += e.energy_j;
  EXPECT_NEAR(r.energy_j, expected, 1e-12);
  for (const auto& l : r.layers) {
    if (l.type != "relu") continue;
    EXPECT_EQ(l.status, LayerStatus::kNotEstimated);
    EXPECT_EQ(l.energy_j, 0.0);
    EXPECT_EQ(l.share, 0.0);
    EXPECT_NE(l.note.find("no predictor for layer type 'relu'"), std::string::npos) << l.note;
  }
}

TEST(Estimate, ImagesRunFullPassesPlusOneSmallerPass) {
  const auto predictors = mac_predictors();
  EstimateOptions o;
  o.images = 10;
  o.carbon_g_per_kwh = 400.0;
  const auto r = estimate(arch::infer(arch::zoo("alexnet"), 4), predictors, o);
  ASSERT_TRUE(r.images.has_value());
  EXPECT_EQ(r.images->full_passes, 2);
  EXPECT_EQ(r.images->last_batch, 2);
  EXPECT_EQ(r.images->passes, 3);
  const Estimator est(arch::zoo("alexnet"), predictors);
  EXPECT_DOUBLE_EQ(r.images->energy_j, 2 * est.energy_j(4) + est.energy_j(2));
  EXPECT_NEAR(r.images->energy_j, 10 * kAlexnetBatch1J, 1e-11);  // the synthetic predictors are linear in batch
  EXPECT_NEAR(r.images->energy_wh, 10 * kAlexnetBatch1J / 3600.0, 1e-14);
  // g = J / 3.6e6 J/kWh * 400 g/kWh
  ASSERT_TRUE(r.co2_g.has_value());
  EXPECT_NEAR(*r.co2_g, 4 * kAlexnetBatch1J / 3.6e6 * 400.0, 1e-15);
  EXPECT_NEAR(*r.images->co2_g, 10 * kAlexnetBatch1J / 3.6e6 * 400.0, 1e-15);

  o.images = 8;  // a multiple of the batch size: no extra pass
  const auto r8 = estimate(arch::infer(arch::zoo("alexnet"), 4), predictors, o);
  EXPECT_EQ(r8.images->passes, 2);
  EXPECT_EQ(r8.images->last_batch, 0);
  EXPECT_DOUBLE_EQ(r8.images->energy_j, 2 * r8.energy_j);
}

TEST(Estimator, HotPathAgreesWithTheFullResultAtEveryBatchSize) {
  const auto predictors = mac_predictors();
  const Estimator est(arch::zoo("vgg16"), predictors);
  const std::vector<std::int64_t> batches = {1, 2, 7, 64, 256};
  const auto totals = est.energies_j(batches);
  ASSERT_EQ(totals.size(), batches.size());
  for (std::size_t i = 0; i < batches.size(); ++i) {
    const auto full = est.estimate(batches[i]);
    EXPECT_NEAR(totals[i], full.energy_j, 1e-12 * full.energy_j) << batches[i];
    EXPECT_NEAR(est.energy_j(batches[i]), full.energy_j, 1e-12 * full.energy_j);
  }
  EXPECT_THROW(est.energy_j(0), ConfigError);
}

TEST(Estimator, LayersTheSchemaCannotDescribeAreNotGuessed) {
  // A grouped convolution: the conv2d schema has no groups, so its predictor would see a 4x larger layer.
  arch::Architecture a{"grouped", {8, 16, 16}, {layers::Conv2dSpec{8, 8, 3, 1, 1, 4, true}, layers::ReLUSpec{}}};
  const auto predictors = mac_predictors();
  try {
    Estimator est(a, predictors);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0 (conv2d)"), std::string::npos) << e.what();
  }
  const Estimator est(a, predictors, /*allow_missing=*/true);
  const auto r = est.estimate(1);
  EXPECT_EQ(r.layers[0].status, LayerStatus::kNotEstimated);
  EXPECT_EQ(r.layers[1].status, LayerStatus::kPredicted);
  EXPECT_NEAR(r.energy_j, 8.0 * 16 * 16 * kJPerElement, 1e-18);
}

TEST(Estimate, RejectsBadOptions) {
  const auto predictors = mac_predictors();
  const Estimator est(arch::zoo("alexnet"), predictors);
  EstimateOptions o;
  o.images = -1;
  EXPECT_THROW(est.estimate(1, o), ConfigError);
  o.images = 0;
  o.carbon_g_per_kwh = -5.0;
  EXPECT_THROW(est.estimate(1, o), ConfigError);
}

TEST(Estimate, FixtureFileEqualsTheSyntheticSet) {
  // After a change of the predictor file format: DLE_REGENERATE_FIXTURES=1 ./estimate_test rewrites them.
  if (std::getenv("DLE_REGENERATE_FIXTURES") != nullptr) {
    mac_predictors().save(DLE_FIXTURES_DIR "/mac_predictors.json");
    mac_predictors({"conv2d", "linear", "maxpool2d"}).save(DLE_FIXTURES_DIR "/no_relu_predictors.json");
  }
  const auto file = predict::PredictorSet::load(DLE_FIXTURES_DIR "/mac_predictors.json");
  const auto code = mac_predictors();
  EXPECT_EQ(file.types(), code.types());
  const auto a = estimate(arch::infer(arch::zoo("alexnet"), 3), file);
  const auto b = estimate(arch::infer(arch::zoo("alexnet"), 3), code);
  EXPECT_EQ(a.energy_j, b.energy_j);
}

}  // namespace
}  // namespace dle::estimate

namespace dle::estimate {
namespace {

// A deliberately rich predictor (every feature group, log1p columns, interaction polynomial, standard scaler,
// log criterion) so that the Estimator's affine-in-batch fast path is checked against the predictor's own.
std::shared_ptr<const predict::LayerPredictor> rich_predictor(const std::string& type) {
  predict::LayerPredictor::State s;
  s.type = type;
  s.spec.feature_set = "base+log1p+macs+bytes";
  s.spec.polynomial = predict::Polynomial::kInteraction;
  s.spec.standard_scaler = true;
  s.spec.criterion = predict::Criterion::kLog;
  s.features = predict::expand_feature_set(type, s.spec.feature_set);
  const auto names = predict::polynomial_names(s.features, s.spec.polynomial);
  // Scaler fitted on the zoo's layers of this type at two batch sizes, so scaled columns are O(1).
  const predict::FeatureExtractor fx(type, s.features);
  std::vector<layers::LayerConfig> configs;
  for (const auto& name : arch::zoo_names())
    for (std::int64_t b : {1, 64})
      for (const auto& l : arch::infer(arch::zoo(name), b).layers)
        if (layers::type_name(l.spec) == type) configs.push_back(layers::to_config({l.spec, l.input, b}));
  const auto expanded = predict::polynomial_expand(fx.extract(configs), s.spec.polynomial);
  s.scaler_mean.assign(names.size(), 0.0);
  s.scaler_scale.assign(names.size(), 0.0);
  for (std::size_t c = 0; c < names.size(); ++c) {
    double m = 0.0, v = 0.0;
    for (std::size_t r = 0; r < expanded.rows; ++r) m += expanded.row(r)[c];
    m /= static_cast<double>(expanded.rows);
    for (std::size_t r = 0; r < expanded.rows; ++r) v += (expanded.row(r)[c] - m) * (expanded.row(r)[c] - m);
    s.scaler_mean[c] = m;
    s.scaler_scale[c] = v > 0 ? std::sqrt(v / static_cast<double>(expanded.rows)) : 1.0;
    s.coefficients.push_back(0.1 * (static_cast<double>(c % 7) - 3.0) / static_cast<double>(names.size()));
  }
  s.intercept = -2.0;
  return std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(std::move(s)));
}

TEST(Estimator, FastPathEqualsThePredictorsOwnPathForRichModels) {
  predict::PredictorSet set;
  for (const auto& t : {"conv2d", "linear", "maxpool2d", "relu"}) set.put(t, rich_predictor(t));
  for (const auto& name : arch::zoo_names()) {
    const Estimator est(arch::zoo(name), set);
    for (std::int64_t b : {1, 2, 5, 17, 128, 1024}) {
      const auto r = est.estimate(b);
      const auto inferred = arch::infer(arch::zoo(name), b);
      double direct_total = 0.0;
      for (const auto& l : inferred.layers) {
        const auto& row = r.layers[l.index];
        if (row.status != LayerStatus::kPredicted) continue;
        const double direct = set.predict_j(layers::to_config({l.spec, l.input, b}));
        EXPECT_NEAR(row.energy_j, direct, 1e-11 * direct) << name << " layer " << l.index << " batch " << b;
        direct_total += direct;
      }
      EXPECT_NEAR(r.energy_j, direct_total, 1e-11 * direct_total);
      EXPECT_GT(r.energy_j, 0.0);
    }
  }
}

// Per-work activation models (the shipped kind): the fast path carries the work as one more affine column and
// holds the features within the trained range, as the predictor's own path does, at every batch size.
TEST(Estimator, FastPathEqualsThePredictorsOwnPathForPerWorkModels) {
  predict::ModelSpec spec;
  spec.feature_set = "macs";
  spec.polynomial = predict::Polynomial::kFull;
  spec.standard_scaler = true;
  spec.criterion = predict::Criterion::kLog;
  spec.per_work = true;
  predict::PredictorSet set;
  for (const char* type : {"tanh", "sigmoid", "softmax"}) {
    std::vector<layers::LayerConfig> configs;
    std::vector<double> energy;
    for (double b : {1.0, 8.0, 64.0})
      for (double n : {5e4, 2e5, 1e6}) {
        configs.push_back({type, {{"batch_size", b}, {"input_size", n}}});
        energy.push_back(b * n * 40e-9 * (1.0 + std::log(b * n) / 40.0));
      }
    const predict::FeatureExtractor fx(type, predict::model_columns(type, spec));
    set.put(type, std::make_shared<const predict::LayerPredictor>(
                      predict::LayerPredictor::fit(type, spec, fx.extract(configs), energy)));
  }
  const auto net = arch::parse_yaml(
      "name: heads\ninput: [64]\nlayers:\n  - {type: tanh}\n  - {type: sigmoid}\n  - {type: softmax}\n", "heads.yaml");
  const Estimator est(net, set);
  // 64 elements per sample: batch 1 to 781 lie below the trained 50,000 elements (64 x 781 = 49,984), 782 to
  // 1,000,000 inside (at most 64 x 1,000,000 elements were trained on).
  for (std::int64_t b : {1, 3, 780, 781, 4096, 1000000, 1000001}) {
    const auto r = est.estimate(b);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& row = r.layers[i];
      ASSERT_EQ(row.status, LayerStatus::kPredicted);
      const double direct = set.predict_j(layers::to_config({net.layers[i], {64}, b}));
      EXPECT_NEAR(row.energy_j, direct, 1e-12 * direct) << row.type << " batch " << b;
      EXPECT_NEAR(est.energy_j(b), r.energy_j, 1e-12 * r.energy_j);
    }
    EXPECT_EQ(r.layers[0].note.find("extrapolated") != std::string::npos, b < 782 || b > 1000000) << b;
  }
  // Below the data the energy is proportional to the batch: the energy per element of 50,000 elements.
  EXPECT_NEAR(est.estimate(3).energy_j, 3.0 * est.estimate(1).energy_j, 1e-12 * est.estimate(3).energy_j);
}

// The one-shot estimate (the CLI's path) predicts each distinct layer once through the predictor's own path:
// its rows equal PredictorSet::predict_j exactly, not just closely.
TEST(Estimate, OneShotRowsEqualThePredictorsOwnPathExactly) {
  predict::PredictorSet set;
  for (const auto& t : {"conv2d", "linear", "maxpool2d", "relu"}) set.put(t, rich_predictor(t));
  for (const auto& name : arch::zoo_names()) {
    for (std::int64_t b : {1, 7, 64, 1000}) {
      const auto inferred = arch::infer(arch::zoo(name), b);
      const auto r = estimate(inferred, set);
      std::size_t predicted = 0;
      for (const auto& l : inferred.layers) {
        const auto& row = r.layers[l.index];
        if (row.status != LayerStatus::kPredicted) continue;
        ++predicted;
        EXPECT_EQ(row.energy_j, std::max(0.0, set.predict_j(layers::to_config({l.spec, l.input, b}))))
            << name << " layer " << l.index << " batch " << b;
      }
      EXPECT_GE(predicted, 16u) << name;  // AlexNet has 16 predicted layers, the VGGs more
    }
  }
}

}  // namespace
}  // namespace dle::estimate

namespace dle::estimate {
namespace {

TEST(Estimator, AGroupedConvolutionIsNotTakenForAnEqualLookingPlainOne) {
  // Same to_config() as layer 0, but grouped: it must not reuse layer 0's prediction.
  arch::Architecture a{"mixed", {8, 16, 16}, {layers::Conv2dSpec{8, 8, 3, 1, 1, 1, true}, layers::Conv2dSpec{8, 8, 3, 1, 1, 4, true}}};
  const auto predictors = testing::mac_predictors();
  const Estimator est(a, predictors, /*allow_missing=*/true);
  const auto r = est.estimate(2);
  EXPECT_EQ(r.layers[0].status, LayerStatus::kPredicted);
  EXPECT_EQ(r.layers[1].status, LayerStatus::kNotEstimated);
  EXPECT_NEAR(r.energy_j, 2.0 * 8 * 16 * 16 * 8 * 9 * testing::kJPerMac, 1e-15);
  EXPECT_EQ(r.energy_j, est.energy_j(2));
}

}  // namespace
}  // namespace dle::estimate

namespace dle::estimate {
namespace {

TEST(Estimator, APredictorBelowZeroCountsAsZeroWithANoteAndAWarning) {
  auto predictors = testing::mac_predictors();
  // relu: 1e-9 J per element - 1e-4 J: negative below 100,000 elements (alexnet's relus 7, 9, 11, 17, 20).
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(
                             predict::LayerPredictor::linear("relu", {"macs"}, {1e-9}, -1e-4)));
  const Estimator est(arch::zoo("alexnet"), predictors);
  const auto r = est.estimate(1);
  EXPECT_EQ(r.layers[17].energy_j, 0.0);
  EXPECT_EQ(r.layers[17].status, LayerStatus::kPredicted);
  EXPECT_NE(r.layers[17].note.find("counted as 0 J"), std::string::npos) << r.layers[17].note;
  EXPECT_NEAR(r.layers[1].energy_j, 193600 * 1e-9 - 1e-4, 1e-15);  // positive: kept
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_NE(r.warnings[0].find("relu predictor gives a negative energy for 5 layers"), std::string::npos) << r.warnings[0];
  // The synthetic predictors record no training ranges: the estimate says it cannot check for extrapolation.
  EXPECT_EQ(r.warnings[1],
            "alexnet: the predictors for conv2d, maxpool2d, linear, relu record no training ranges (a predictor file "
            "written before dlenergy recorded them, or by hand), so their rows cannot be checked for extrapolation; "
            "refit with `dlenergy fit` to record them");
  EXPECT_NEAR(est.energy_j(1), r.energy_j, 1e-15);
  for (const auto& l : r.layers) EXPECT_GE(l.energy_j, 0.0);
}

// A log-criterion model far outside its data can underflow to exactly 0 J: not an energy for a layer that does work.
TEST(Estimator, AZeroPredictionForALayerThatDoesWorkIsNamedNotPassedOff) {
  auto predictors = testing::mac_predictors();
  predict::LayerPredictor::State s =
      predict::LayerPredictor::linear("relu", {"macs"}, {-1.0}, 0.0).state();  // exp(-elements): 0 J above ~745
  s.spec.criterion = predict::Criterion::kLog;
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  for (const bool one_shot : {false, true}) {
    const auto r = one_shot ? estimate(arch::infer(arch::zoo("alexnet"), 1), predictors)
                            : Estimator(arch::zoo("alexnet"), predictors).estimate(1);
    EXPECT_EQ(r.layers[1].energy_j, 0.0);
    EXPECT_EQ(r.layers[1].note,
              "the relu predictor gives 0 J here, nothing for a layer that does work (its model falls below the "
              "smallest number far outside its data)");
    ASSERT_GE(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0],
              "alexnet: the relu predictor gives 0 J for 7 layers at batch size 1, which do work: its model is "
              "unusable for them, so the total is low by their true energy; refit it on data that covers such layers");
  }
}

TEST(Estimator, LayersOutsideTheTrainingRangesAreMarkedExtrapolated) {
  auto predictors = testing::mac_predictors();
  // relu trained on 100,000-1,000,000 elements per pass: AlexNet at batch 1 has 193,600, 139,968 (inside),
  // 64,896, 43,264, 43,264 and 4,096 twice (outside).
  predict::LayerPredictor::State s = predict::LayerPredictor::linear("relu", {"macs"}, {testing::kJPerElement}, 0.0).state();
  s.training.feature_ranges = {{1e5, 1e6}};
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  for (const auto columns : {true, false}) {  // a prepared Estimator, and the one-shot estimate()
    const auto r = columns ? Estimator(arch::zoo("alexnet"), predictors).estimate(1)
                           : estimate(arch::infer(arch::zoo("alexnet"), 1), predictors);
    EXPECT_FALSE(r.layers[1].extrapolated);
    EXPECT_EQ(r.layers[1].note, "");
    EXPECT_TRUE(r.layers[17].extrapolated);
    EXPECT_EQ(r.layers[17].note, "extrapolated (elements 4096 is outside the 1e+05-1e+06 it was trained on)");
    EXPECT_EQ(r.layers[17].energy_j, 4096 * testing::kJPerElement);  // still predicted, and counted
    EXPECT_FALSE(r.layers[0].extrapolated);  // conv2d's predictor records no ranges
    int marked = 0;
    for (const auto& l : r.layers) marked += l.extrapolated;
    EXPECT_EQ(marked, 5);
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[0].rfind("alexnet: the predictors for conv2d, maxpool2d, linear record no training ranges", 0),
              0u)  // relu's has ranges now
        << r.warnings[0];
    EXPECT_EQ(r.warnings[1],
              "alexnet: 5 layers lie outside the ranges their predictors were trained on at batch size 1 (layers "
              "7, 9, 11, 17, 20): their energies are extrapolations; the rows' notes say which feature");
  }
  // At batch 4 every relu of AlexNet but the classifier's (16,384 elements) lies inside.
  const auto r4 = Estimator(arch::zoo("alexnet"), predictors).estimate(4);
  EXPECT_FALSE(r4.layers[11].extrapolated);
  EXPECT_TRUE(r4.layers[20].extrapolated);
  EXPECT_EQ(r4.layers[20].note, "extrapolated (elements 1.638e+04 is outside the 1e+05-1e+06 it was trained on)");
}

TEST(Estimator, ExtrapolationOfALayerOffTheFastPathMatchesTheOneShotEstimate) {
  // An out-of-place ReLU's fresh_outputs jumps from 0 to every output element once its output passes 32 MiB,
  // so it is not affine in the batch size and a prepared Estimator describes it from the extracted features.
  auto predictors = testing::mac_predictors();
  predict::LayerPredictor::State s =
      predict::LayerPredictor::linear("relu", {"macs", "fresh_outputs"}, {testing::kJPerElement, 0.0}, 0.0).state();
  s.training.feature_ranges = {{1e5, 1e8}, {0.0, 0.0}};
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  const arch::Architecture a{"oop", {64, 55, 55}, {layers::ReLUSpec{false}}};  // 193,600 elements per sample
  const Estimator est(a, predictors);
  for (const std::int64_t b : {1, 4, 100}) {
    const auto prepared = est.estimate(b);
    const auto one_shot = estimate(arch::infer(a, b), predictors);
    EXPECT_EQ(prepared.layers[0].note, one_shot.layers[0].note) << b;
    EXPECT_EQ(prepared.layers[0].extrapolated, b == 100) << b;
  }
  // At batch 100 the output is 77 MB: the elements lie inside, the fresh pages outside.
  EXPECT_EQ(est.estimate(100).layers[0].note, "extrapolated (fresh_outputs 1.936e+07 elements is outside the 0-0 elements it was trained on)");
}

TEST(Estimator, ANonFinitePredictionIsAFitError) {
  predict::LayerPredictor::State s;
  s.type = "conv2d";
  s.spec.criterion = predict::Criterion::kLog;
  s.features = {"macs"};
  s.coefficients = {1.0};  // exp(macs): overflows
  auto predictors = testing::mac_predictors();
  predictors.put("conv2d", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  const Estimator est(arch::zoo("alexnet"), predictors);
  EXPECT_THROW(est.energy_j(1), FitError);
  try {
    est.estimate(1);
    FAIL() << "expected FitError";
  } catch (const FitError& e) {
    EXPECT_NE(std::string(e.what()).find("the conv2d predictor gives an infinite energy for conv2d batch_size=1"),
              std::string::npos)
        << e.what();
  }
  // Coefficients that overflow in opposite directions give no number at all (inf - inf): said so, not "-nan J".
  s.spec.criterion = predict::Criterion::kAbsolute;
  s.features = {"macs", "bytes"};
  s.coefficients = {1e308, -1e308};
  predictors.put("conv2d", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  try {
    Estimator(arch::zoo("alexnet"), predictors).estimate(1);
    FAIL() << "expected FitError";
  } catch (const FitError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("the conv2d predictor gives no number (NaN) for conv2d batch_size=1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("or check the predictor file's coefficients if it was edited by hand"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("nan J"), std::string::npos) << msg;
  }
}

TEST(Estimator, AnEmptyPredictorSetSaysSoInsteadOfListingNothing) {
  const predict::PredictorSet none;
  try {
    Estimator(arch::zoo("alexnet"), none);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().back(),
              "the predictor file holds no predictors; use predictors that cover these types, or pass --allow-missing "
              "to estimate the other layers and mark these 'not estimated'");
  }
}

TEST(Estimator, FiniteLayersWhoseSumOverflowsAreAFitErrorNotAnInfiniteTotal) {
  auto predictors = testing::mac_predictors();
  // 5e302 J per element: every ReLU row is finite (the largest, 193,600 elements, 9.7e307 J; a double holds up to
  // 1.8e308), their sum over AlexNet's 493,184 ReLU elements (2.5e308 J) is not.
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(
                             predict::LayerPredictor::linear("relu", {"macs"}, {5e302}, 0.0)));
  const Estimator est(arch::zoo("alexnet"), predictors);
  for (const auto& run : {std::function<void()>([&] { est.estimate(1); }), std::function<void()>([&] { est.energy_j(1); })}) {
    try {
      run();
      ADD_FAILURE() << "expected FitError";
    } catch (const FitError& e) {
      EXPECT_NE(std::string(e.what()).find("alexnet at batch size 1: the predicted energy of one pass is too large to "
                                           "represent"),
                std::string::npos)
          << e.what();
    }
  }
  // Finite per pass, infinite over many images: the images' total is checked too.
  predictors.put("relu", std::make_shared<const predict::LayerPredictor>(
                             predict::LayerPredictor::linear("relu", {"macs"}, {1e290}, 0.0)));
  const Estimator many(arch::zoo("alexnet"), predictors);
  EstimateOptions options;
  options.images = 1LL << 50;
  EXPECT_THROW(many.estimate(1, options), FitError);
  EXPECT_TRUE(std::isfinite(many.estimate(1).energy_j));
}

}  // namespace
}  // namespace dle::estimate
