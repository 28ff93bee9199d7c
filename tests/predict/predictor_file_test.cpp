#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <unistd.h>

#include "core/errors.hpp"
#include "predict/model.hpp"
#include "predict/predictor_set.hpp"

namespace dle::predict {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("dle-predict-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

layers::LayerConfig maxpool(double b, double img, double k, double c, double s, double p) {
  return {"maxpool2d", {{"batch_size", b}, {"image_size", img}, {"kernel_size", k}, {"in_channels", c}, {"stride", s}, {"padding", p}}};
}

PredictorSet make_set() {
  // A fitted maxpool2d model with every part in use (polynomial, scaler, min-max target) and awkward doubles.
  std::vector<layers::LayerConfig> configs;
  std::vector<double> energy;
  for (int b = 1; b <= 8; b += 1)
    for (int img = 8; img <= 32; img += 8)
      for (int k = 2; k <= 3; ++k) {
        configs.push_back(maxpool(b, img, k, 3 + b % 3, k, 0));
        energy.push_back(1e-3 / 3.0 * b * img * img * (1 + 0.1 * k) + 1.0 / 7.0);
      }
  ModelSpec s;
  s.feature_set = "log1p+macs";
  s.polynomial = Polynomial::kInteraction;
  s.standard_scaler = true;
  s.minmax_target = true;
  const FeatureExtractor fx("maxpool2d", expand_feature_set("maxpool2d", s.feature_set));
  LayerPredictor mp = LayerPredictor::fit("maxpool2d", s, fx.extract(configs), energy);
  mp.mutable_state().metrics["test"] = compute_metrics({1, 2, 3}, {1.05, 2.3, 2.9});
  mp.mutable_state().metrics["cv"] = compute_metrics({1}, {1.5});  // R^2 undefined: written as null
  mp.mutable_state().training.data_hash = "0123456789abcdef";

  PredictorSet set;
  set.put("maxpool2d", std::make_shared<const LayerPredictor>(std::move(mp)));
  set.put("conv2d", std::make_shared<const LayerPredictor>(LayerPredictor::linear("conv2d", {"macs"}, {1.0 / 3.0 * 1e-9}, 0.1)));
  PredictorSource src;
  src.description = "unit test";
  src.cpu_model = "Test CPU";
  src.cores = 2;
  src.sensor = "estimated";
  src.estimated = true;
  src.data_hash = "feedfacecafebeef";
  src.created_at = "2024-01-01T00:00:00Z";
  src.recipe = "default";
  set.set_source(src);
  return set;
}

TEST(PredictorFile, RoundTripIsExact) {
  const PredictorSet set = make_set();
  const std::string path = temp_path("roundtrip.json");
  set.save(path);
  const PredictorSet back = PredictorSet::load(path);
  EXPECT_EQ(back.to_json_text(), read(path));
  EXPECT_EQ(back.types(), (std::vector<std::string>{"conv2d", "maxpool2d"}));
  EXPECT_TRUE(back.has("maxpool2d"));
  EXPECT_FALSE(back.has("linear"));
  EXPECT_EQ(back.source().sensor, "estimated");
  EXPECT_TRUE(back.source().estimated);
  EXPECT_EQ(back.source().cores, 2);
  const auto& a = set.get("maxpool2d")->state();
  const auto& b = back.get("maxpool2d")->state();
  EXPECT_EQ(a.coefficients, b.coefficients);  // bit for bit
  EXPECT_EQ(a.scaler_mean, b.scaler_mean);
  EXPECT_EQ(a.scaler_scale, b.scaler_scale);
  EXPECT_EQ(a.target_min, b.target_min);
  EXPECT_EQ(a.intercept, b.intercept);
  EXPECT_EQ(b.metrics.at("test").mape_pct, a.metrics.at("test").mape_pct);
  EXPECT_TRUE(std::isnan(b.metrics.at("cv").r2));
  EXPECT_EQ(b.training.data_hash, "0123456789abcdef");
  ASSERT_EQ(b.training.feature_ranges.size(), a.features.size());
  EXPECT_EQ(b.training.feature_ranges, a.training.feature_ranges);  // bit for bit
  EXPECT_TRUE(set.get("conv2d")->state().training.feature_ranges.empty());  // none recorded: none written
  EXPECT_TRUE(back.get("conv2d")->state().training.feature_ranges.empty());
  for (const auto& c : {maxpool(3, 20, 3, 4, 2, 1), maxpool(64, 112, 2, 64, 2, 0)})
    EXPECT_EQ(set.predict_j(c), back.predict_j(c));
  EXPECT_EQ(back.model_summary("conv2d"), "linear on [macs], absolute error, intercept");
  const nlohmann::json j = nlohmann::json::parse(read(path));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["source"]["estimated"], true);
  EXPECT_EQ(j["predictors"]["maxpool2d"]["model"]["polynomial"]["expansion"], "interaction");
  EXPECT_EQ(j["predictors"]["maxpool2d"]["metrics"]["test"]["within_10pct_share"].get<double>(), 2.0 / 3.0);
  EXPECT_TRUE(j["predictors"]["maxpool2d"]["metrics"]["cv"]["r2"].is_null());
  fs::remove(path);
}

void expect_fit_error(const std::string& text, const std::string& needle);

// A per-work model (the shipped activations' kind) is written with model.target "energy_per_work" and predicts the
// same after reading, inside and outside its training ranges; files without model.target predict energy.
TEST(PredictorFile, PerWorkModelRoundTripsAndOlderFilesPredictEnergy) {
  std::vector<layers::LayerConfig> configs;
  std::vector<double> energy;
  for (int b = 1; b <= 64; b *= 2)
    for (double n = 50000; n <= 800000; n *= 2) {
      configs.push_back({"tanh", {{"batch_size", b}, {"input_size", n}}});
      const double elements = b * n;
      energy.push_back(elements * 30e-9 * (1.0 + elements / 1e8));
    }
  ModelSpec s;
  s.feature_set = "macs";
  s.polynomial = Polynomial::kFull;
  s.standard_scaler = true;
  s.criterion = Criterion::kLog;
  s.per_work = true;
  const FeatureExtractor fx("tanh", model_columns("tanh", s));
  PredictorSet set = make_set();
  set.put("tanh", std::make_shared<const LayerPredictor>(LayerPredictor::fit("tanh", s, fx.extract(configs), energy)));
  const std::string path = temp_path("per-work.json");
  set.save(path);
  const PredictorSet back = PredictorSet::load(path);
  EXPECT_EQ(back.to_json_text(), read(path));
  EXPECT_TRUE(back.get("tanh")->spec().per_work);
  EXPECT_FALSE(back.get("conv2d")->spec().per_work);
  const layers::LayerConfig tiny{"tanh", {{"batch_size", 1}, {"input_size", 128}}};
  const layers::LayerConfig inside{"tanh", {{"batch_size", 4}, {"input_size", 300000}}};
  for (const auto& c : {tiny, inside}) EXPECT_EQ(set.predict_j(c), back.predict_j(c));
  // 128 elements cost 128 times the energy per element at the fewest trained elements (50,000).
  const layers::LayerConfig fewest{"tanh", {{"batch_size", 1}, {"input_size", 50000}}};
  EXPECT_NEAR(back.predict_j(tiny), back.predict_j(fewest) * 128.0 / 50000.0, 1e-12 * back.predict_j(fewest));
  const nlohmann::json j = nlohmann::json::parse(read(path));
  EXPECT_EQ(j["predictors"]["tanh"]["model"]["target"], "energy_per_work");
  EXPECT_EQ(j["predictors"]["tanh"]["model"]["kind"], "poly2+std/work");
  EXPECT_EQ(j["predictors"]["conv2d"]["model"]["target"], "energy");
  EXPECT_EQ(back.model_summary("tanh"), "poly2+std/work on [macs], log error, intercept, per element");

  nlohmann::json older = j;
  for (auto& [type, p] : older["predictors"].items()) p["model"].erase("target");
  older["predictors"].erase("tanh");
  write(path, older.dump());
  EXPECT_FALSE(PredictorSet::load(path).get("conv2d")->spec().per_work);
  fs::remove(path);

  nlohmann::json bad = j;
  bad["predictors"]["tanh"]["model"]["target"] = "power";
  expect_fit_error(bad.dump(), "predictors.tanh.model.target must be \"energy\" or \"energy_per_work\"");
  bad = j;
  bad["predictors"]["tanh"]["model"]["kind"] = "poly2+std";
  expect_fit_error(bad.dump(), "model.kind is \"poly2+std\" but the model's fields describe \"poly2+std/work\"");
  bad = j;
  bad["predictors"]["tanh"]["training"].erase("feature_ranges");
  expect_fit_error(bad.dump(), "a per-work model holds its features within the ranges it was trained on");
  // A number literal beyond a double's range (a hand edit) is named, not an internal error.
  const std::string text = std::regex_replace(j.dump(), std::regex("\"intercept\":[^,}]+"), "\"intercept\":1e309",
                                              std::regex_constants::format_first_only);
  ASSERT_NE(text.find("\"intercept\":1e309"), std::string::npos);
  expect_fit_error(text, "holds a value it cannot read ([json.exception.out_of_range.406] number overflow parsing "
                         "'1e309'); a number beyond about 1.8e308 is not a double");
}

void expect_fit_error(const std::string& text, const std::string& needle) {
  const std::string path = temp_path("bad.json");
  write(path, text);
  try {
    PredictorSet::load(path);
    ADD_FAILURE() << "accepted: " << needle;
  } catch (const FitError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
  fs::remove(path);
}

TEST(PredictorFile, CorruptedOrWrongVersionIsRejectedWithTheReason) {
  const std::string good = make_set().to_json_text();
  expect_fit_error(good.substr(0, good.size() / 2), "not valid JSON");
  auto j = nlohmann::json::parse(good);
  j["schema_version"] = 2;
  expect_fit_error(j.dump(), "has schema_version 2; this dlenergy reads version 1");
  j = nlohmann::json::parse(good);
  j["predictors"]["conv2d"].erase("intercept");
  expect_fit_error(j.dump(), "predictors.conv2d.intercept is missing");
  j = nlohmann::json::parse(good);
  j["predictors"]["conv2d"]["coefficients"].push_back(1.0);
  expect_fit_error(j.dump(), "2 coefficients for 1 (expanded) features");
  j = nlohmann::json::parse(good);
  j["predictors"]["conv2d"]["model"]["criterion"] = "quadratic";
  expect_fit_error(j.dump(), "unknown fitting criterion 'quadratic'");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["scaler"]["scale"][0] = "x";
  expect_fit_error(j.dump(), "predictors.maxpool2d.scaler.scale must hold only numbers");
  j = nlohmann::json::parse(good);
  j["predictors"]["dropout"] = j["predictors"]["conv2d"];
  expect_fit_error(j.dump(), "predictors.dropout names a layer type without a measurement schema");
  j = nlohmann::json::parse(good);
  j["predictors"]["conv2d"]["features"][0] = "flops";
  expect_fit_error(j.dump(), "unknown feature 'flops'");
  expect_fit_error("[1, 2]", "is not a JSON object");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["training"]["feature_ranges"][0] = {2.0, 1.0};
  expect_fit_error(j.dump(), "training.feature_ranges must hold [min, max] pairs of numbers with min <= max");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["training"]["feature_ranges"].erase(0);
  expect_fit_error(j.dump(), "training ranges for");
  // Fields the writer derives from the model must agree with it: an edit in one place is not guessed at.
  j = nlohmann::json::parse(good);
  j["predictors"]["conv2d"]["model"]["kind"] = "bogus";
  expect_fit_error(j.dump(), "predictors.conv2d.model.kind is \"bogus\" but the model's fields describe \"linear\"");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["model"]["polynomial"]["degree"] = 3;
  expect_fit_error(j.dump(), "predictors.maxpool2d.model.polynomial.degree is 3 but expansion \"interaction\" has degree 2");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["expanded_features"].erase(0);
  expect_fit_error(j.dump(), "predictors.maxpool2d.expanded_features does not match features and model.polynomial");
  j = nlohmann::json::parse(good);
  j["predictors"]["maxpool2d"]["scaler"]["scale"][1] = 0.0;
  j["predictors"]["maxpool2d"]["scaler"]["scale"][2] = -1.0;
  expect_fit_error(j.dump(), "scaler scales must be positive numbers; not so at index 1 (0), 2 (-1)");
  j = nlohmann::json::parse(good);
  j["source"]["cores"] = -2;
  expect_fit_error(j.dump(), "source.cores must be a whole number of cores >= 0 (0 = unknown)");
}

ValidationRecord validation_record(const std::string& description) {
  ValidationRecord v;
  v.description = description;
  v.sensor = "rapl (test)";
  v.recorded_at = "2026-01-01T00:00:00Z";
  v.networks = 5;
  v.mape_pct = 4.25;
  v.within_10pct_share = 0.8;
  v.ranges = {{1, 16, 2, 7.5, -7.5, 0.5}, {65, 256, 3, 1.0 / 3.0, 0.125, 1.0}};
  return v;
}

// save() replaces the file a link points to (the link stays), keeps the file's mode, and refuses a device.
TEST(PredictorFile, SaveFollowsLinksKeepsTheModeAndRefusesDevices) {
  const std::string dir = temp_path("save-dir");
  fs::create_directories(dir + "/real");
  const std::string real = dir + "/real/p.json", link = dir + "/link.json";
  make_set().save(real);
  fs::permissions(real, fs::perms::owner_read | fs::perms::owner_write);
  fs::create_symlink(real, link);
  PredictorSet set = make_set();
  set.add_validation(validation_record("through the link"));
  set.save(link);
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(PredictorSet::load(real).validations().size(), 1u);
  EXPECT_EQ(fs::status(real).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  if (fs::exists("/dev/null")) {
    EXPECT_THROW(make_set().save("/dev/null"), ConfigError);
  }
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  // update(): four processes' worth of read-modify-write, one after another under the lock, keep all four.
  for (int i = 0; i < 4; ++i)
    PredictorSet::update(link, [&](PredictorSet& s) { s.add_validation(validation_record("run " + std::to_string(i))); });
  EXPECT_EQ(PredictorSet::load(real).validations().size(), 5u);
  for (const auto& e : fs::directory_iterator(dir + "/real")) EXPECT_EQ(e.path().filename(), "p.json");  // no .tmp
  fs::remove_all(dir);
}

TEST(PredictorFile, ValidationRecordsRoundTripAndReplaceTheirNamesake) {
  PredictorSet set = make_set();
  EXPECT_EQ(nlohmann::json::parse(set.to_json_text()).count("validations"), 0u);  // absent until recorded
  set.add_validation(validation_record("networks A"));
  set.add_validation(validation_record("networks B"));
  ValidationRecord again = validation_record("networks A");
  again.networks = 7;
  set.add_validation(again);  // replaces the first "networks A"
  const std::string path = temp_path("validations.json");
  set.save(path);
  const PredictorSet back = PredictorSet::load(path);
  EXPECT_EQ(back.to_json_text(), read(path));
  ASSERT_EQ(back.validations().size(), 2u);
  EXPECT_EQ(back.validations()[0].description, "networks B");
  EXPECT_EQ(back.validations()[1].networks, 7u);
  const ValidationRecord& v = back.validations()[0];
  EXPECT_EQ(v.sensor, "rapl (test)");
  ASSERT_EQ(v.ranges.size(), 2u);
  EXPECT_EQ(v.ranges[1].mape_pct, 1.0 / 3.0);  // bit for bit
  ASSERT_NE(v.range_of(16), nullptr);
  EXPECT_EQ(v.range_of(16)->batch_max, 16);
  EXPECT_EQ(v.range_of(100)->networks, 3u);
  EXPECT_EQ(v.range_of(17), nullptr);  // no network measured in 17-64
  EXPECT_EQ(v.range_of(300), nullptr);

  auto j = nlohmann::json::parse(read(path));
  j["validations"][0]["batch_ranges"][0]["batch_size_min"] = 0;
  expect_fit_error(j.dump(), "validations[0].batch_ranges[0] needs 1 <= batch_size_min <= batch_size_max");
  j = nlohmann::json::parse(read(path));
  j["validations"][1].erase("networks");
  expect_fit_error(j.dump(), "validations[1].networks is missing");
  j = nlohmann::json::parse(read(path));
  j["validations"][0]["networks"] = -3;
  expect_fit_error(j.dump(), "validations[0].networks must be a whole number >= 0");
  fs::remove(path);
}

TEST(PredictorFile, MissingFileOrTypeIsAConfigError) {
  EXPECT_THROW(PredictorSet::load(temp_path("does-not-exist.json")), ConfigError);
  const PredictorSet set = make_set();
  try {
    set.predict_j({"relu", {{"batch_size", 1}, {"input_size", 10}}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("covers: conv2d, maxpool2d"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dle::predict
