#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "predict/predictor_set.hpp"
#include "storage/store.hpp"
#include "support/run_cli.hpp"

namespace dle {
namespace {

namespace fs = std::filesystem;
using testing::run_cli;

class PredictCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dle-predict-cli-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "m.sqlite").string();
    storage::Store store = storage::Store::open(db_);
    storage::RunRecord run;
    run.source = "dlenergy collect";
    run.cpu_model = "Test CPU";
    run.cores = 2;
    run.sensor = "estimated";
    run.estimated = true;
    const auto id = store.add_run(run);
    // ReLU energies 2 nJ per element with a deterministic +-3 % wobble, 48 configurations.
    int i = 0;
    for (int b : {1, 2, 4, 8, 16, 32, 64, 128})
      for (int n : {1000, 5000, 20000, 100000, 400000, 1000000}) {
        storage::MeasurementRecord m;
        m.run_id = id;
        m.config = {"relu", {{"batch_size", b}, {"input_size", n}}};
        m.passes = 100;
        m.duration_s = 1;
        m.energy_per_pass_j = 2e-9 * b * n * (1.0 + 0.03 * std::sin(i++));
        m.net_energy_per_pass_j = m.energy_per_pass_j;
        m.energy_j = m.energy_per_pass_j * 100;
        m.sensor = "estimated";
        m.estimated = true;
        store.add_measurement(m);
      }
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string db_;
};

TEST_F(PredictCli, FitWritesAPredictorFileMarkedEstimated) {
  const std::string out = (dir_ / "p.json").string();
  const auto r = run_cli("fit --db " + db_ + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("ESTIMATED"), std::string::npos) << r.out;
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["source"]["estimated"], true);
  EXPECT_EQ(j["source"]["sensor"], "estimated");
  EXPECT_EQ(j["source"]["recipe"], "default");
  EXPECT_EQ(j["source"]["cpu_model"], "Test CPU");
  ASSERT_TRUE(j["predictors"].contains("relu"));
  EXPECT_EQ(j["predictors"].size(), 1u);
  const auto& test = j["predictors"]["relu"]["metrics"]["test"];
  EXPECT_EQ(test["n"], 5);  // 48 rows: int(.9 * 48) = 43, so 5 held out
  // The default relu model is a power law in log1p(batch) and log1p(elements): close to, not exactly, the
  // 2 nJ per element the data was made with.
  EXPECT_LT(test["mape_pct"].get<double>(), 15.0);
  const auto set = predict::PredictorSet::load(out);
  EXPECT_NEAR(set.predict_j({"relu", {{"batch_size", 32}, {"input_size", 100000}}}), 2e-9 * 32 * 100000, 0.1 * 6.4e-3);
}

TEST_F(PredictCli, AnalyzeRanksModelsAndSaysTheEnergiesAreEstimated) {
  const auto r = run_cli("analyze --db " + db_ + " --format csv --folds 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header,
            "type,energies,sensor,rank,chosen,features,model,criterion,cv_mape_pct,cv_within_10pct_pct,cv_r2,"
            "test_mape_pct,test_within_10pct_pct,test_r2");
  EXPECT_EQ(first.rfind("relu,estimated,estimated,1,", 0), 0u) << first;
  std::size_t rows = 1, chosen = 0;
  for (std::string line; std::getline(in, line); ++rows)
    if (line.find(",*,") != std::string::npos) ++chosen;
  // 13 of the 17 feature sets apply to relu (not the four with log1p(stride)) x 4 models x 4 targets (3 criteria,
  // and the log criterion per unit of work), plus the recipe's own relu model (no intercept, not a candidate).
  EXPECT_EQ(rows, 13u * 4 * 4 + 1);
  EXPECT_EQ(chosen + (first.find(",*,") != std::string::npos ? 1 : 0), 1u);
  const auto t = run_cli("analyze --db " + db_ + " --top 3 --folds 4");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find("ESTIMATED (sensor: estimated; not measurements)"), std::string::npos) << t.out;
}

TEST_F(PredictCli, PlotsArePngAndSvg) {
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot is not installed";
  const std::string plots = (dir_ / "plots").string();
  const auto r = run_cli("analyze --db " + db_ + " --top 1 --folds 4 --plots " + plots);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"relu.png", "relu.svg", "relu.dat", "relu.gp"}) {
    const fs::path p = fs::path(plots) / f;
    ASSERT_TRUE(fs::exists(p)) << p;
    EXPECT_GT(fs::file_size(p), 100u) << p;
  }
  std::ifstream png((fs::path(plots) / "relu.png").string(), std::ios::binary);
  char sig[4] = {};
  png.read(sig, 4);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
}

TEST_F(PredictCli, BadInputsGiveTheirExitCodes) {
  EXPECT_EQ(run_cli("fit --db " + (dir_ / "missing.sqlite").string() + " --out x.json").exit_code, 6);
  EXPECT_EQ(run_cli("fit --db " + db_ + " --out " + (dir_ / "x.json").string() + " --layers dropout").exit_code, 3);
  EXPECT_EQ(run_cli("fit --out x.json").exit_code, 2);  // no --db or --training-sets: a usage error
  EXPECT_EQ(run_cli("fit --db " + db_ + " --recipe fancy --out x.json").exit_code, 2);
  // No ok conv2d rows in the database: no data is bad input (3), for fit as for analyze.
  EXPECT_EQ(run_cli("analyze --db " + db_ + " --layers conv2d").exit_code, 3);
  const auto no_conv = run_cli("fit --db " + db_ + " --layers conv2d --out " + (dir_ / "x.json").string());
  EXPECT_EQ(no_conv.exit_code, 3);
  EXPECT_NE(no_conv.err.find("--layers conv2d: the data holds no ok conv2d measurements"), std::string::npos)
      << no_conv.err;
  EXPECT_FALSE(fs::exists(dir_ / "x.json"));
}

// Without gnuplot, --plots fails before the study runs: no report printed, no plot files half written.
TEST_F(PredictCli, PlotsWithoutGnuplotFailBeforeTheWork) {
  const std::string plots = (dir_ / "plots").string();
  const auto r = run_cli("analyze --db " + db_ + " --plots " + plots, "env PATH=/nonexistent ");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("--plots needs gnuplot, which is not on PATH"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(plots));
  EXPECT_EQ(run_cli("analyze --db " + db_ + " --top -1").exit_code, 2);  // a count, not a wrapped-around one
}

TEST_F(PredictCli, AStudyInWhichNothingCouldBeFittedIsAnErrorAndFailuresAreNotRanked) {
  // Three configurations: a 70/20/10 split leaves too few rows for any candidate.
  storage::Store store = storage::Store::open_existing(db_);
  const std::string tiny = (dir_ / "tiny.sqlite").string();
  {
    storage::Store t = storage::Store::open(tiny);
    storage::RunRecord run;
    run.source = "dlenergy collect";
    run.sensor = "estimated";
    run.estimated = true;
    const auto id = t.add_run(run);
    storage::MeasurementFilter f;
    auto ms = store.measurements(f);
    ms.resize(3);
    for (auto& m : ms) {
      m.run_id = id;
      t.add_measurement(m);
    }
  }
  const auto r = run_cli("analyze --db " + tiny);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("no candidate model could be fitted for any layer type; the first reason: relu: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.out.find("\n   1  "), std::string::npos) << r.out;  // no rank 1 among failures
  EXPECT_NE(r.out.find("\nfailed  "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("candidates could not be fitted and are not ranked (\"failed\"): "), std::string::npos) << r.out;
  // ... with their reasons, the most frequent first: 3 configurations are too few for cross-validation's folds.
  EXPECT_NE(r.out.find(" x relu: "), std::string::npos) << r.out;

  // With enough data, the failed ones (if any) are still listed without a rank and the others ranked from 1.
  const auto ok = run_cli("analyze --db " + db_ + " --top 1");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\n   1  "), std::string::npos) << ok.out;
}

TEST(PredictCliPaper, FitPaperRecipeFromTrainingSets) {
  const fs::path dir = (fs::path(DLE_SOURCE_DIR) / ".." / "shared" / "paper-data" / "training-sets").lexically_normal();
  if (!fs::is_directory(dir)) GTEST_SKIP() << "paper data not found at " << dir;
  const std::string out = (fs::temp_directory_path() / ("dle-paper-" + std::to_string(::getpid()) + ".json")).string();
  const auto r = run_cli("fit --recipe paper --training-sets " + dir.string() + " --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["source"]["recipe"], "paper");
  EXPECT_EQ(j["source"]["estimated"], false);
  EXPECT_EQ(std::lround(j["predictors"]["conv2d"]["metrics"]["test"]["r2"].get<double>() * 1e4), 9977);
  EXPECT_EQ(j["predictors"].size(), 7u);
  fs::remove(out);
}

}  // namespace
}  // namespace dle
