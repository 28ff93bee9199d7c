#include "estimate/validate.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"
#include "estimate/estimate.hpp"
#include "estimate/validate_report.hpp"
#include "storage/store.hpp"
#include "synthetic_predictors.hpp"
#include "validate_fixture.hpp"

namespace dle::estimate {
namespace {

namespace fs = std::filesystem;

TEST(ValidationMetrics, KnownAnswers) {
  // residuals 0.1, -0.2, 0, 0.4; SS_res = 0.21, SS_tot = 5 -> R2 = 0.958
  const Metrics m = compute_metrics({1, 2, 3, 4}, {1.1, 1.8, 3, 4.4});
  EXPECT_EQ(m.n, 4u);
  EXPECT_NEAR(m.r2, 1.0 - 0.21 / 5.0, 1e-12);
  EXPECT_NEAR(m.mape_pct, 7.5, 1e-9);             // (10 + 10 + 0 + 10) / 4
  EXPECT_NEAR(m.within_10pct_share, 1.0, 1e-12);   // exactly 10 % counts as within
  EXPECT_NEAR(m.mean_signed_error_pct, 2.5, 1e-9);  // (10 - 10 + 0 + 10) / 4
  EXPECT_NEAR(m.max_abs_error_pct, 10.0, 1e-9);
  const Metrics one = compute_metrics({2}, {3});
  EXPECT_TRUE(std::isnan(one.r2));  // undefined for a single point
  EXPECT_NEAR(one.mape_pct, 50.0, 1e-12);
  EXPECT_TRUE(std::isnan(compute_metrics({}, {}).mape_pct));
}

TEST(BatchRanges, GrowByFourFromSixteen) {
  for (const auto& [batch, lo, hi] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {1, 1, 16}, {16, 1, 16}, {17, 17, 64}, {64, 17, 64}, {65, 65, 256}, {256, 65, 256}, {257, 257, 1024},
           {5000, 4097, 16384}}) {
    const BatchRange r = batch_range_of(batch);
    EXPECT_EQ(r.lo, lo) << batch;
    EXPECT_EQ(r.hi, hi) << batch;
  }
}

TEST(BatchRanges, NetworksAreScoredPerRange) {
  // AlexNet measured at batch 1 (exact), 20 (predicted +10 %), 30 (-10 %) and 100 (+20 %).
  const auto predictors = testing::mac_predictors();
  const Estimator est(arch::zoo("alexnet"), predictors);
  std::vector<storage::MeasurementRecord> ms;
  const std::vector<std::pair<std::int64_t, double>> errors = {{1, 0.0}, {20, 0.1}, {30, -0.1}, {100, 0.2}};
  for (const auto& [batch, error] : errors)
    ms.push_back(fixture::network("alexnet", batch, 1, est.energy_j(batch) / (1.0 + error)));
  const auto r = validate(ms, predictors);
  ASSERT_EQ(r.batch_ranges.size(), 3u);  // no network in 257-1024: no row
  EXPECT_EQ(r.batch_ranges[0].lo, 1);
  EXPECT_EQ(r.batch_ranges[0].metrics.n, 1u);
  EXPECT_NEAR(r.batch_ranges[0].metrics.mape_pct, 0.0, 1e-9);
  EXPECT_EQ(r.batch_ranges[1].lo, 17);
  EXPECT_EQ(r.batch_ranges[1].hi, 64);
  EXPECT_EQ(r.batch_ranges[1].metrics.n, 2u);
  EXPECT_NEAR(r.batch_ranges[1].metrics.mape_pct, 10.0, 1e-9);
  EXPECT_NEAR(r.batch_ranges[1].metrics.mean_signed_error_pct, 0.0, 1e-9);
  EXPECT_NEAR(r.batch_ranges[2].metrics.mean_signed_error_pct, 20.0, 1e-9);

  ValidationContext c;
  c.predictors.source = predictors.source();
  std::ostringstream json_out, table;
  write_validation_json(json_out, r, c);
  const auto j = nlohmann::json::parse(json_out.str());
  ASSERT_EQ(j["batch_ranges"].size(), 3u);
  EXPECT_EQ(j["batch_ranges"][1]["batch_size_min"].get<int>(), 17);
  EXPECT_EQ(j["batch_ranges"][1]["batch_size_max"].get<int>(), 64);
  EXPECT_EQ(j["batch_ranges"][1]["n"].get<int>(), 2);
  EXPECT_NEAR(j["batch_ranges"][2]["mean_signed_error_pct"].get<double>(), 20.0, 1e-9);
  write_validation_table(table, r, c);
  const std::string t = table.str();
  const auto at = t.find("per batch-size range");
  ASSERT_NE(at, std::string::npos) << t;
  EXPECT_NE(t.find("17-64", at), std::string::npos) << t;
  EXPECT_NE(t.find("65-256", at), std::string::npos) << t;
}

class ValidateHandMadeDb : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dle_validate_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "hand.sqlite").string();
    fixture::write_hand_made_db(db_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::vector<storage::MeasurementRecord> measurements() const {
    return storage::Store::open_existing(db_).measurements();
  }
  fs::path dir_;
  std::string db_;
};

TEST_F(ValidateHandMadeDb, WholeNetworkMetricsHaveKnownAnswers) {
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  ASSERT_EQ(r.networks.size(), 3u);
  // Sorted by architecture, then batch size.
  EXPECT_EQ(r.networks[0].architecture, "alexnet");
  EXPECT_EQ(r.networks[0].batch, 1);
  EXPECT_EQ(r.networks[0].repeats, 3);
  EXPECT_NEAR(r.networks[0].predicted_j, fixture::kAlexnetJ, 1e-12);
  EXPECT_NEAR(r.networks[0].measured_j, fixture::kAlexnetJ / 1.05, 1e-12);  // median ignores the 50 % window
  EXPECT_NEAR(r.networks[0].error_pct, 5.0, 1e-9);
  EXPECT_NEAR(r.networks[1].error_pct, 0.0, 1e-9);  // alexnet batch 2
  EXPECT_EQ(r.networks[2].architecture, "vgg11");
  EXPECT_NEAR(r.networks[2].error_pct, -20.0, 1e-9);

  EXPECT_EQ(r.summary.n, 3u);
  EXPECT_NEAR(r.summary.mape_pct, 25.0 / 3.0, 1e-9);
  EXPECT_NEAR(r.summary.within_10pct_share, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.summary.mean_signed_error_pct, -5.0, 1e-9);
  EXPECT_NEAR(r.summary.max_abs_error_pct, 20.0, 1e-9);
  // R2 by hand over the three pairs.
  std::vector<double> m, p;
  for (const auto& n : r.networks) {
    m.push_back(n.measured_j);
    p.push_back(n.predicted_j);
  }
  const double mean = (m[0] + m[1] + m[2]) / 3.0;
  double res = 0, tot = 0;
  for (int i = 0; i < 3; ++i) {
    res += (m[i] - p[i]) * (m[i] - p[i]);
    tot += (m[i] - mean) * (m[i] - mean);
  }
  EXPECT_NEAR(r.summary.r2, 1.0 - res / tot, 1e-12);

  ASSERT_EQ(r.architectures.count("alexnet"), 1u);
  EXPECT_EQ(r.architectures.at("alexnet").n, 2u);
  EXPECT_NEAR(r.architectures.at("alexnet").mean_signed_error_pct, 2.5, 1e-9);
  EXPECT_NEAR(r.architectures.at("vgg11").mape_pct, 20.0, 1e-9);
  EXPECT_TRUE(std::isnan(r.architectures.at("vgg11").r2));
}

TEST_F(ValidateHandMadeDb, RecordForThePredictorFile) {
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  const predict::ValidationRecord rec = to_record(r, "hand-made networks");
  EXPECT_EQ(rec.description, "hand-made networks");
  EXPECT_EQ(rec.sensor, "rapl (test)");
  EXPECT_FALSE(rec.estimated);
  EXPECT_EQ(rec.networks, 3u);
  EXPECT_NEAR(rec.mape_pct, 25.0 / 3.0, 1e-9);
  EXPECT_NEAR(rec.within_10pct_share, 2.0 / 3.0, 1e-12);
  ASSERT_EQ(rec.ranges.size(), 1u);  // batch 1 and 2 only
  EXPECT_EQ(rec.ranges[0].batch_min, 1);
  EXPECT_EQ(rec.ranges[0].batch_max, 16);
  EXPECT_NEAR(rec.ranges[0].mean_signed_error_pct, -5.0, 1e-9);
  EXPECT_FALSE(rec.recorded_at.empty());
  // Nothing to record without whole networks.
  EXPECT_THROW(to_record(ValidationResult{}, "empty"), ConfigError);
}

TEST_F(ValidateHandMadeDb, MeanOfRepeatsWhenAsked) {
  const auto predictors = testing::mac_predictors();
  ValidationOptions o;
  o.repeats = RepeatStatistic::kMean;
  const auto r = validate(measurements(), predictors, o);
  EXPECT_NEAR(r.networks[0].measured_j, fixture::kAlexnetJ / 1.05 * 2.5 / 3.0, 1e-12);
}

TEST_F(ValidateHandMadeDb, LayerTypesAndAdditivityHaveKnownAnswers) {
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  ASSERT_EQ(r.layers.size(), 4u);
  ASSERT_EQ(r.layer_types.count("conv2d"), 1u);
  const Metrics& conv = r.layer_types.at("conv2d");
  EXPECT_EQ(conv.n, 2u);
  EXPECT_NEAR(conv.mape_pct, 12.5, 1e-9);  // +25 % and 0 %
  EXPECT_NEAR(conv.mean_signed_error_pct, 12.5, 1e-9);
  EXPECT_NEAR(conv.within_10pct_share, 0.5, 1e-12);
  EXPECT_NEAR(r.layer_types.at("relu").mean_signed_error_pct, -50.0, 1e-9);
  // Dropout is 0 J by definition: listed with what it cost measured alone, not scored as a -100 % miss.
  EXPECT_EQ(r.layer_types.count("dropout"), 0u);
  ASSERT_EQ(r.zero_work_types.count("dropout"), 1u);
  const ZeroWorkType& z = r.zero_work_types.at("dropout");
  EXPECT_EQ(z.n, 1u);
  EXPECT_NEAR(z.mean_measured_j, fixture::kDropoutJ, 1e-15);
  EXPECT_NEAR(z.max_share_pct, 100.0 * fixture::kDropoutJ / (fixture::kAlexnetJ / 1.05), 1e-9);
  for (const auto& l : r.layers)
    if (l.type == "dropout") {
      EXPECT_EQ(l.status, "zero-work");
      EXPECT_EQ(l.predicted_j, 0.0);
    }

  ASSERT_EQ(r.additivity.size(), 1u);
  const AdditivityRow& a = r.additivity[0];
  EXPECT_EQ(a.architecture, "alexnet");
  EXPECT_EQ(a.batch, 1);
  EXPECT_EQ(a.layers_measured, 4);
  EXPECT_EQ(a.layers_expected, 21);  // 22 layers, torchvision has no Flatten
  EXPECT_NEAR(a.layers_sum_j, fixture::kAlexnetLayersSumJ, 1e-12);
  EXPECT_NEAR(a.network_j, fixture::kAlexnetJ / 1.05, 1e-12);
  EXPECT_NEAR(a.difference_pct, (fixture::kAlexnetLayersSumJ - a.network_j) / a.network_j * 100.0, 1e-9);
  EXPECT_NEAR(a.predicted_j, fixture::kAlexnetJ, 1e-12);
}

TEST_F(ValidateHandMadeDb, LayerTypesSplitByTheExtrapolatedLabel) {
  // conv2d trained on 1e7-1e8 MACs: AlexNet's conv 0 (70,276,800 MACs, +25 %) lies inside, conv 3 (223,948,800,
  // 0 %) outside. relu records no ranges: its layer counts as inside.
  auto predictors = testing::mac_predictors();
  predict::LayerPredictor::State s = predict::LayerPredictor::linear("conv2d", {"macs"}, {testing::kJPerMac}, 0.0).state();
  s.training.feature_ranges = {{1e7, 1e8}};
  predictors.put("conv2d", std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor(s)));
  const auto r = validate(measurements(), predictors);
  EXPECT_EQ(r.layer_types.at("conv2d").n, 2u);  // the whole type is unchanged
  ASSERT_EQ(r.layer_types_inside.count("conv2d"), 1u);
  ASSERT_EQ(r.layer_types_extrapolated.count("conv2d"), 1u);
  EXPECT_EQ(r.layer_types_inside.at("conv2d").n, 1u);
  EXPECT_NEAR(r.layer_types_inside.at("conv2d").mean_signed_error_pct, 25.0, 1e-9);
  EXPECT_EQ(r.layer_types_extrapolated.at("conv2d").n, 1u);
  EXPECT_NEAR(r.layer_types_extrapolated.at("conv2d").mape_pct, 0.0, 1e-9);
  EXPECT_EQ(r.layer_types_extrapolated.count("relu"), 0u);
  EXPECT_NEAR(r.layer_types_inside.at("relu").mean_signed_error_pct, -50.0, 1e-9);
  for (const auto& l : r.layers) EXPECT_EQ(l.extrapolated, l.type == "conv2d" && l.layer_index == 3) << l.layer_index;

  std::ostringstream table;
  ValidationContext c;
  write_validation_table(table, r, c);
  EXPECT_NE(table.str().find("conv2d extrapolated"), std::string::npos) << table.str();
  // Without ranges nothing is split, and the table has no such section.
  const auto plain = validate(measurements(), testing::mac_predictors());
  EXPECT_TRUE(plain.layer_types_extrapolated.empty());
  std::ostringstream t2;
  write_validation_table(t2, plain, c);
  EXPECT_EQ(t2.str().find("extrapolated"), std::string::npos);
}

// `collect --architectures` also measures the zoo's Flatten (torchvision has none): then it is expected too.
TEST_F(ValidateHandMadeDb, AdditivityExpectsFlattenWhenTheSourceMeasuredIt) {
  auto ms = measurements();
  storage::MeasurementRecord flatten = fixture::network_layer("alexnet", 14, 1, 1e-6);
  flatten.run_id = ms.front().run_id;
  ms.push_back(flatten);
  const auto r = validate(ms, testing::mac_predictors());
  ASSERT_EQ(r.additivity.size(), 1u);
  EXPECT_EQ(r.additivity[0].layers_measured, 5);
  EXPECT_EQ(r.additivity[0].layers_expected, 22);
  EXPECT_NEAR(r.additivity[0].layers_sum_j, fixture::kAlexnetLayersSumJ + 1e-6, 1e-12);
}

TEST_F(ValidateHandMadeDb, UnknownArchitecturesAndBadRowsAreReportedNotCompared) {
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  bool unknown = false;
  for (const auto& s : r.skipped) unknown = unknown || s.find("architecture 'resnet50'") != std::string::npos;
  EXPECT_TRUE(unknown);
  // kind layer and status skipped rows are ignored: 3 + 1 + 1 networks, 4 layers, the resnet row.
  EXPECT_EQ(r.measurements_used, 3u + 2u + 1u + 4u + 1u);
  EXPECT_EQ(r.sensors, std::vector<std::string>{"rapl (test)"});
  EXPECT_FALSE(r.any_estimated);
}

TEST_F(ValidateHandMadeDb, JsonHasTheIssuesShape) {
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  ValidationContext c;
  c.db_path = db_;
  c.predictors.path = "mac_predictors.json";
  c.predictors.found_by = "--predictors";
  c.predictors.source = predictors.source();
  std::ostringstream out;
  write_validation_json(out, r, c);
  const auto j = nlohmann::json::parse(out.str());
  ASSERT_TRUE(j.contains("networks"));
  const auto& n0 = j["networks"][0];
  for (const char* k : {"architecture", "batch_size", "measured_j", "predicted_j", "error_pct"}) EXPECT_TRUE(n0.contains(k)) << k;
  EXPECT_NEAR(n0["error_pct"].get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(j["summary"]["mape_pct"].get<double>(), 25.0 / 3.0, 1e-9);
  EXPECT_NEAR(j["summary"]["within_10pct_share"].get<double>(), 2.0 / 3.0, 1e-12);
  EXPECT_TRUE(j["summary"].contains("r2"));
  EXPECT_TRUE(j["architectures"]["vgg11"]["r2"].is_null());
  EXPECT_EQ(j["layer_types"]["conv2d"]["n"].get<int>(), 2);
  EXPECT_FALSE(j["layer_types"].contains("dropout"));
  EXPECT_NEAR(j["zero_work_types"]["dropout"]["mean_measured_j"].get<double>(), fixture::kDropoutJ, 1e-15);
  EXPECT_EQ(j["additivity"][0]["layers_measured"].get<int>(), 4);

  std::ostringstream table;
  write_validation_table(table, r, c);
  EXPECT_NE(table.str().find("summary: R2"), std::string::npos);
  EXPECT_NE(table.str().find("MAPE 8.3 %"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("0 J by definition (not predicted), measured alone: dropout 1 mJ on average (n = 1, "),
            std::string::npos)
      << table.str();
}

TEST_F(ValidateHandMadeDb, PlotsAreWrittenWithGnuplot) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot is not installed";
  const auto predictors = testing::mac_predictors();
  const auto r = validate(measurements(), predictors);
  ValidationContext c;
  c.predictors.source = predictors.source();
  const auto images = write_validation_plots((dir_ / "plots").string(), r, c);
  ASSERT_EQ(images.size(), 4u);  // networks and layers, PNG and SVG
  for (const auto& img : images) {
    ASSERT_TRUE(fs::exists(img)) << img;
    EXPECT_GT(fs::file_size(img), 1000u) << img;
  }
  std::ifstream png(dir_ / "plots" / "networks.png", std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
}

}  // namespace
}  // namespace dle::estimate
