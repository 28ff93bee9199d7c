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

}  // namespace
}  // namespace dle::estimate
