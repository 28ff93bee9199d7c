#include "estimate/predictor_files.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/errors.hpp"
#include "predict/predictor_set.hpp"

namespace dle::estimate {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = DLE_FIXTURES_DIR "/mac_predictors.json";
const std::string kShipped = DLE_SOURCE_DIR "/predictors/default.json";

// Restores DLENERGY_PREDICTORS after each test.
class PredictorLocation : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("DLENERGY_PREDICTORS")) saved_ = v, had_ = true;
    ::unsetenv("DLENERGY_PREDICTORS");
  }
  void TearDown() override {
    if (had_) ::setenv("DLENERGY_PREDICTORS", saved_.c_str(), 1);
    else ::unsetenv("DLENERGY_PREDICTORS");
  }
  std::string saved_;
  bool had_ = false;
};

TEST_F(PredictorLocation, AnExplicitPathWinsAndMustExist) {
  ::setenv("DLENERGY_PREDICTORS", "/nonexistent/env.json", 1);
  const auto loc = locate_predictors(kFixture);
  EXPECT_EQ(loc.path, kFixture);
  EXPECT_EQ(loc.found_by, "--predictors");
  try {
    locate_predictors("/nonexistent/given.json");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/given.json' does not exist"), std::string::npos) << e.what();
  }
}

TEST_F(PredictorLocation, TheEnvironmentVariableComesNextAndMustExistWhenSet) {
  ::setenv("DLENERGY_PREDICTORS", kFixture.c_str(), 1);
  const auto loc = locate_predictors("");
  EXPECT_EQ(loc.path, kFixture);
  EXPECT_EQ(loc.found_by, "DLENERGY_PREDICTORS");
  ::setenv("DLENERGY_PREDICTORS", "/nonexistent/env.json", 1);
  try {
    locate_predictors("");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("DLENERGY_PREDICTORS names '/nonexistent/env.json'"), std::string::npos);
  }
}

TEST_F(PredictorLocation, TheSourceTreeDefaultIsTheLastCandidate) {
  const auto candidates = default_predictor_candidates();
  ASSERT_EQ(candidates.size(), 2u);
  EXPECT_EQ(fs::path(candidates[0]).filename(), "default.json");
  EXPECT_NE(candidates[0].find("share/dlenergy/default.json"), std::string::npos);
  EXPECT_EQ(candidates[1], kShipped);
  if (!fs::exists(kShipped)) GTEST_SKIP() << kShipped << " is not there";
  if (fs::exists(candidates[0])) GTEST_SKIP() << "an installed default exists beside the test binary";
  const auto loc = locate_predictors("");
  EXPECT_EQ(loc.path, kShipped);
  EXPECT_EQ(loc.found_by, "source-tree default");
}

TEST(ShippedPredictors, CoverEveryConfigurableTypeAndSayWhereTheyComeFrom) {
  if (!fs::exists(kShipped)) GTEST_SKIP() << kShipped << " is not there (scripts/make-default-predictors.sh writes it)";
  const auto p = predict::PredictorSet::load(kShipped);
  EXPECT_EQ(p.types(), (std::vector<std::string>{"conv2d", "linear", "maxpool2d", "relu", "sigmoid", "softmax", "tanh"}));
  const auto& s = p.source();
  EXPECT_NE(s.cpu_model.find("Xeon(R) Gold 5120"), std::string::npos) << s.cpu_model;
  EXPECT_EQ(s.cores, 2);
  EXPECT_EQ(s.sensor, "rapl (via CodeCarbon)");
  EXPECT_FALSE(s.estimated);
  EXPECT_EQ(s.recipe, "default");
  EXPECT_NE(s.description.find("Getzner"), std::string::npos) << s.description;
  EXPECT_NE(s.description.find("random layer configurations"), std::string::npos) << s.description;
  EXPECT_FALSE(s.data_hash.empty());
}

// The shipped relu model charges joules per byte of traffic: in place 8 bytes per element, out of place 12 (plus
// fresh pages above 32 MiB). Below that size an in-place ReLU costs exactly 2/3 of the same ReLU out of place,
// and both grow linearly with the elements (no intercept).
TEST(ShippedPredictors, InPlaceReluCostsTwoThirdsOfOutOfPlaceBelowTheFreshThreshold) {
  if (!fs::exists(kShipped)) GTEST_SKIP() << kShipped << " is not there (scripts/make-default-predictors.sh writes it)";
  const auto p = predict::PredictorSet::load(kShipped);
  auto relu = [&](double batch, double elements, bool inplace) {
    layers::LayerConfig c{"relu", {{"batch_size", batch}, {"input_size", elements}}};
    if (inplace) c.values.emplace_back("inplace", 1.0);
    return p.predict_j(c);
  };
  const double out_of_place = relu(8, 100000, false);  // 3.2 MB output: no fresh pages
  EXPECT_GT(out_of_place, 0.0);
  EXPECT_NEAR(relu(8, 100000, true) / out_of_place, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(relu(16, 100000, false) / out_of_place, 2.0, 1e-12);
  // Above 32 MiB the out-of-place output is on fresh pages and costs more per element; in place it does not.
  const double big_out = relu(64, 1000000, false), big_in = relu(64, 1000000, true);
  EXPECT_NEAR(big_in / relu(8, 1000000, true), 8.0, 1e-12);
  EXPECT_GT(big_out / big_in, 1.5);
}

}  // namespace
}  // namespace dle::estimate
