// The `dlenergy estimate` and `dlenergy validate` commands, run as a user runs them ($DLENERGY_BIN).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/run_cli.hpp"
#include "validate_fixture.hpp"

namespace dle::estimate {
namespace {

namespace fs = std::filesystem;

struct CommandResult {
  int rc = -1;
  std::string out;
  std::string err;
};


class EstimateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("DLENERGY_BIN");
    if (bin == nullptr || !fs::exists(bin)) GTEST_SKIP() << "DLENERGY_BIN is not set or not built";
    dir_ = fs::temp_directory_path() / ("dle_estimate_cli_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Runs dlenergy with `args` (shell words) and DLENERGY_PREDICTORS unset.
  CommandResult run(const std::string& args) const {
    const dle::testing::CliResult r = dle::testing::run_cli(args, "env -u DLENERGY_PREDICTORS ");
    return {r.exit_code, r.out, r.err};
  }
  fs::path dir_;
};

const std::string kFixtures = DLE_FIXTURES_DIR;
const std::string kStorageFixtures = std::string(DLE_SOURCE_DIR) + "/tests/storage/fixtures";

TEST_F(EstimateCli, EstimateJsonHasTheIssuesShapeAndHandComputedTotal) {
  const CommandResult r = run("estimate --arch alexnet --batch-size 2 --predictors " + kFixtures +
                    "/mac_predictors.json --format json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "alexnet");
  EXPECT_EQ(j["batch_size"], 2);
  EXPECT_EQ(j["predictors"]["sensor"], "synthetic");
  EXPECT_EQ(j["predictors"]["cpu_model"], "Test CPU");
  EXPECT_EQ(j["predictors"]["found_by"], "--predictors");
  ASSERT_EQ(j["layers"].size(), 22u);
  const auto& l0 = j["layers"][0];
  for (const char* k : {"index", "type", "macs", "energy_j", "share"}) EXPECT_TRUE(l0.contains(k)) << k;
  EXPECT_EQ(l0["macs"], 2 * 70276800LL);
  EXPECT_NEAR(l0["energy_j"].get<double>(), 2 * fixture::kConv0J, 1e-15);
  EXPECT_EQ(j["layers"][15]["type"], "dropout");
  EXPECT_EQ(j["layers"][15]["energy_j"], 0.0);
  EXPECT_NE(j["layers"][15]["note"].get<std::string>().find("0 J by definition"), std::string::npos);
  EXPECT_NEAR(j["total"]["energy_j"].get<double>(), 2 * fixture::kAlexnetJ, 1e-12);
  EXPECT_NEAR(j["total"]["energy_wh"].get<double>(), 2 * fixture::kAlexnetJ / 3600.0, 1e-15);
  double sum = 0.0;
  for (const auto& l : j["layers"]) sum += l["energy_j"].get<double>();
  EXPECT_NEAR(sum, j["total"]["energy_j"].get<double>(), 1e-12);
  EXPECT_EQ(j["total"]["provenance"], "predicted");
}

TEST_F(EstimateCli, EstimateImagesAndCarbon) {
  const CommandResult r = run("estimate --arch alexnet --batch-size 4 --images 10 --carbon-intensity 400 --predictors " +
                    kFixtures + "/mac_predictors.json --format json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["images"]["passes"], 3);
  EXPECT_EQ(j["images"]["last_batch_size"], 2);
  EXPECT_NEAR(j["images"]["energy_j"].get<double>(), 10 * fixture::kAlexnetJ, 1e-11);
  EXPECT_NEAR(j["images"]["co2_g"].get<double>(), 10 * fixture::kAlexnetJ / 3.6e6 * 400, 1e-15);

  // CSV carries the same figures: the total row's note has the CO2 of one pass, an "images" row the M images.
  const CommandResult c = run("estimate --arch alexnet --batch-size 4 --images 10 --carbon-intensity 400 --predictors " +
                              kFixtures + "/mac_predictors.json --format csv");
  ASSERT_EQ(c.rc, 0) << c.err;
  const auto field = [&](const std::string& row_start, const std::string& key) {
    const auto row = c.out.find("\n" + row_start + ",");
    EXPECT_NE(row, std::string::npos) << c.out;
    const auto line = c.out.substr(row + 1, c.out.find('\n', row + 1) - row - 1);
    const auto at = line.find(key + "=");
    EXPECT_NE(at, std::string::npos) << line;
    return std::stod(line.substr(at + key.size() + 1));
  };
  EXPECT_NEAR(field("total", "co2_g"), 4 * fixture::kAlexnetJ / 3.6e6 * 400, 1e-15);
  EXPECT_EQ(field("total", "carbon_intensity_g_per_kwh"), 400.0);
  EXPECT_EQ(field("images", "images"), 10.0);
  EXPECT_EQ(field("images", "passes"), 3.0);
  EXPECT_EQ(field("images", "last_batch_size"), 2.0);
  EXPECT_NEAR(field("images", "co2_g"), 10 * fixture::kAlexnetJ / 3.6e6 * 400, 1e-15);
  const auto images_row = c.out.find("\nimages,,,");
  ASSERT_NE(images_row, std::string::npos) << c.out;
  EXPECT_NEAR(std::stod(c.out.substr(images_row + 10)), 10 * fixture::kAlexnetJ, 1e-11);  // its energy_j column
}

TEST_F(EstimateCli, MissingPredictorFailsWithTheListAndAllowMissingGivesTheRow) {
  const std::string file = kFixtures + "/no_relu_predictors.json";
  const CommandResult bad = run("estimate --arch alexnet --predictors " + file);
  EXPECT_EQ(bad.rc, 3);  // ConfigError
  EXPECT_NE(bad.err.find("no predictor for layer type 'relu'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("the predictors cover: conv2d, linear, maxpool2d"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty());

  const CommandResult ok = run("estimate --arch alexnet --allow-missing --format json --predictors " + file);
  ASSERT_EQ(ok.rc, 0) << ok.err;
  EXPECT_NE(ok.err.find("warning"), std::string::npos);
  const auto j = nlohmann::json::parse(ok.out);
  EXPECT_EQ(j["layers"][1]["status"], "not-estimated");
  EXPECT_TRUE(j["layers"][1]["energy_j"].is_null());
  EXPECT_EQ(j["total"]["complete"], false);
  EXPECT_NEAR(j["total"]["energy_j"].get<double>(), fixture::kAlexnetJ - 493184 * 2e-10, 1e-12);
}

TEST_F(EstimateCli, EstimateTableAndCsvLabelTheFigures) {
  const std::string file = kFixtures + "/mac_predictors.json";
  const CommandResult t = run("estimate --arch vgg16 --predictors " + file);
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("vgg16 at batch size 1: predicted energy of one forward pass"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("valid for:  Test CPU, 2 cores; sensor synthetic"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("total (predicted, per forward pass of 1 image): "), std::string::npos) << t.out;
  const CommandResult c = run("estimate --arch vgg16 --format csv --predictors " + file);
  ASSERT_EQ(c.rc, 0) << c.err;
  EXPECT_NE(c.out.find("\nindex,type,macs,energy_j,share,status,note\n0,conv2d,86704128,"), std::string::npos) << c.out;
}

TEST_F(EstimateCli, EstimateUsesTheShippedDefaultPredictors) {
  const std::string shipped = std::string(DLE_SOURCE_DIR) + "/predictors/default.json";
  if (!fs::exists(shipped)) GTEST_SKIP() << shipped << " is not there (scripts/make-default-predictors.sh writes it)";
  const CommandResult r = run("estimate --arch vgg16 --format json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["predictors"]["file"], shipped);
  EXPECT_EQ(j["predictors"]["found_by"], "source-tree default");
  EXPECT_NE(j["predictors"]["cpu_model"].get<std::string>().find("Xeon(R) Gold 5120"), std::string::npos);
  EXPECT_EQ(j["predictors"]["estimated"], false);
  EXPECT_GT(j["total"]["energy_j"].get<double>(), 0.0);
  EXPECT_EQ(j["total"]["complete"], true);

  // The paper's random activations have 50,000-5,000,000 elements per sample: the example MLP's sigmoid on 512
  // lies outside, and says so in its row, in JSON and in a warning.
  const CommandResult m = run("estimate --model " + std::string(DLE_SOURCE_DIR) + "/examples/mlp.json --batch-size 8 " +
                              "--format json");
  ASSERT_EQ(m.rc, 0) << m.err;
  const auto mj = nlohmann::json::parse(m.out);
  EXPECT_EQ(mj["layers"][1]["type"], "sigmoid");
  EXPECT_EQ(mj["layers"][1]["extrapolated"], true);
  // The shipped file's sigmoid saw 683,400 to 2,364,000,000 elements per batch (feature_ranges, macs); its energy
  // per element is held at that of the fewest, so 4,096 elements cost 4,096 / 683,408 of theirs.
  EXPECT_EQ(mj["layers"][1]["note"],
            "extrapolated (elements 4096 is outside the 6.834e+05-2.364e+09 it was trained on; energy per element held "
            "at the nearest trained value)");
  const double per_element = mj["layers"][1]["energy_j"].get<double>() / 4096.0;
  EXPECT_GT(per_element, 20e-9);  // the paper's sigmoids: 70 to 200 nJ per element
  EXPECT_LT(per_element, 200e-9);
  EXPECT_EQ(mj["layers"][0]["extrapolated"], false);  // 784 x 512 at batch 8 lies inside linear's ranges
  EXPECT_EQ(mj["layers"][0]["note"], "");              // every row has every key of the README's schema
  ASSERT_EQ(mj["warnings"].size(), 1u);
  EXPECT_NE(mj["warnings"][0].get<std::string>().find("3 layers lie outside the ranges their predictors were trained on"),
            std::string::npos)
      << mj["warnings"][0];
}

// The shipped file is what scripts/make-default-predictors.sh makes of the paper's random configurations with
// the current recipe: same features and models per type, coefficients to 1e-6 relative. Fails when the recipe
// or the features change and the file was not regenerated.
TEST_F(EstimateCli, ShippedDefaultsAreWhatTheScriptRegenerates) {
  const fs::path data = (fs::path(DLE_SOURCE_DIR) / ".." / "shared" / "paper-data").lexically_normal();
  if (!fs::is_directory(data / "raw")) GTEST_SKIP() << "paper data not found at " << data << " (needs ../shared/paper-data)";
  const fs::path out = dir_ / "regenerated.json";
  const std::string cmd = "DLENERGY=" + dle::testing::dlenergy_bin() + " bash " + DLE_SOURCE_DIR +
                          "/scripts/make-default-predictors.sh " + data.string() + " " + out.string() + " > " +
                          (dir_ / "script.log").string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << dle::testing::slurp((dir_ / "script.log").string());
  const auto shipped = nlohmann::json::parse(dle::testing::slurp(std::string(DLE_SOURCE_DIR) + "/predictors/default.json"));
  const auto fresh = nlohmann::json::parse(dle::testing::slurp(out.string()));
  EXPECT_EQ(fresh["source"]["data_hash"], shipped["source"]["data_hash"]);
  ASSERT_EQ(fresh["predictors"].size(), shipped["predictors"].size());
  for (const auto& [type, p] : shipped["predictors"].items()) {
    SCOPED_TRACE(type);
    ASSERT_TRUE(fresh["predictors"].contains(type));
    const auto& q = fresh["predictors"][type];
    EXPECT_EQ(q["features"], p["features"]);
    EXPECT_EQ(q["model"]["feature_set"], p["model"]["feature_set"]);
    EXPECT_EQ(q["model"]["target"], p["model"]["target"]);
    const auto& a = p["coefficients"];
    const auto& b = q["coefficients"];
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      EXPECT_NEAR(b[i].get<double>(), a[i].get<double>(), 1e-6 * std::max(1.0, std::abs(a[i].get<double>()))) << i;
    EXPECT_NEAR(q["intercept"].get<double>(), p["intercept"].get<double>(),
                1e-6 * std::max(1.0, std::abs(p["intercept"].get<double>())));
    EXPECT_EQ(q["training"]["feature_ranges"], p["training"]["feature_ranges"]);  // what the data spans
  }
}

TEST_F(EstimateCli, MissingPredictorFileIsAConfigError) {
  const CommandResult r = run("estimate --arch vgg16 --predictors " + (dir_ / "nope.json").string());
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("nope.json' does not exist"), std::string::npos) << r.err;
}

TEST_F(EstimateCli, BatchSizeTooLargeToCountIsAConfigErrorNamingTheLargest) {
  // The flag admits up to 2^40; VGG16's bytes per pass exceed 64-bit integers above 297,779,921 samples.
  const CommandResult r = run("estimate --arch vgg16 --batch-size 1099511627776");
  EXPECT_EQ(r.rc, 3);
  EXPECT_NE(r.err.find("vgg16 at batch size 1099511627776 is too large to count"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("use a batch size of at most 297779921"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(run("estimate --arch vgg16 --batch-size 297779921 --format json").rc, 0);
}

TEST_F(EstimateCli, ValidateJsonOnAHandMadeDatabase) {
  const std::string db = (dir_ / "hand.sqlite").string();
  fixture::write_hand_made_db(db);
  const CommandResult r = run("validate --db " + db + " --predictors " + kFixtures + "/mac_predictors.json --format json");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["networks"].size(), 3u);
  EXPECT_NEAR(j["networks"][2]["error_pct"].get<double>(), -20.0, 1e-9);
  EXPECT_NEAR(j["summary"]["mape_pct"].get<double>(), 25.0 / 3.0, 1e-9);
  EXPECT_NEAR(j["layer_types"]["conv2d"]["mape_pct"].get<double>(), 12.5, 1e-9);
  EXPECT_EQ(j["database"]["repeats"], "median");

  const CommandResult missing = run("validate --db " + (dir_ / "absent.sqlite").string() + " --predictors " + kFixtures +
                          "/mac_predictors.json");
  EXPECT_EQ(missing.rc, 6);  // StorageError
}

TEST_F(EstimateCli, ValidateRecordsItsResultAndEstimateReportsIt) {
  const std::string db = (dir_ / "hand.sqlite").string();
  fixture::write_hand_made_db(db);
  const std::string file = (dir_ / "p.json").string();
  fs::copy_file(kFixtures + "/mac_predictors.json", file);
  // A description the reports cannot print on one line, or none at all, is refused before anything is written.
  const auto written = fs::last_write_time(file);
  for (const std::string bad : {"''", "'two\nlines'", "'   '"}) {
    const CommandResult r = run("validate --db " + db + " --predictors " + file + " --record " + bad);
    EXPECT_EQ(r.rc, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--record: "), std::string::npos) << r.err;
  }
  EXPECT_EQ(fs::last_write_time(file), written);
  const CommandResult v = run("validate --db " + db + " --predictors " + file + " --record 'hand-made networks'");
  ASSERT_EQ(v.rc, 0) << v.err;
  EXPECT_NE(v.err.find("recorded validation 'hand-made networks' (3 networks) in " + file), std::string::npos) << v.err;

  // At batch 2 the record's 1-16 range applies (alexnet +5 %, 0 %; vgg11 -20 %).
  const CommandResult t = run("estimate --arch alexnet --batch-size 2 --predictors " + file);
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_NE(t.out.find("validated:  hand-made networks (rapl (test), 3 networks): MAPE 8.3 %; at batch sizes 1-16: "
                       "MAPE 8.3 %, mean"),  // the line wraps here
            std::string::npos)
      << t.out;
  EXPECT_NE(t.out.find("signed error -5.0 % (3 networks)"), std::string::npos) << t.out;
  const CommandResult j = run("estimate --arch alexnet --batch-size 100 --format json --predictors " + file);
  ASSERT_EQ(j.rc, 0) << j.err;
  const auto out = nlohmann::json::parse(j.out);
  ASSERT_EQ(out["predictors"]["validations"].size(), 1u);
  EXPECT_EQ(out["predictors"]["validations"][0]["networks"], 3);
  EXPECT_TRUE(out["predictors"]["validations"][0]["batch_range"].is_null());  // nothing measured near 100
  const CommandResult c = run("estimate --arch alexnet --batch-size 100 --format csv --predictors " + file);
  EXPECT_NE(c.out.find("# validated: hand-made networks (rapl (test), 3 networks): MAPE 8.3 %; none measured in the "
                       "batch-size range of 100"),
            std::string::npos)
      << c.out;

  // A database without networks (random layers only) has nothing to validate or record: an error naming it,
  // no report on standard output, and the predictor file unchanged.
  const std::string before = dle::testing::slurp(file);
  const std::string layers_only = (dir_ / "layers.sqlite").string();
  ASSERT_EQ(run("import codecarbon --db " + layers_only + " " + kStorageFixtures + "/codecarbon_layers.csv").rc, 0);
  for (const std::string extra : {"", " --record again"}) {
    const CommandResult none = run("validate --db " + layers_only + " --predictors " + file + extra);
    EXPECT_EQ(none.rc, 3) << extra;
    EXPECT_NE(none.err.find("database '" + layers_only +
                            "' holds no usable whole-network or layer-of-network measurements, so there is nothing "
                            "to validate"),
              std::string::npos)
        << none.err;
    EXPECT_EQ(none.out, "");
  }
  EXPECT_EQ(dle::testing::slurp(file), before);
}

}  // namespace
}  // namespace dle::estimate
