#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "predict/recipes.hpp"
#include "predict/training_data.hpp"
#include "storage/store.hpp"

namespace dle::predict {
namespace {

namespace fs = std::filesystem;

layers::LayerConfig relu(double b, double n) { return {"relu", {{"batch_size", b}, {"input_size", n}}}; }

storage::MeasurementRecord m(std::int64_t run, const layers::LayerConfig& c, int repeat, double energy_per_pass,
                             storage::MeasurementKind kind = storage::MeasurementKind::kLayer) {
  storage::MeasurementRecord r;
  r.run_id = run;
  r.kind = kind;
  r.config = c;
  r.repeat = repeat;
  r.passes = 10;
  r.duration_s = 1.0;
  r.energy_j = energy_per_pass * 10;
  r.energy_per_pass_j = energy_per_pass;
  r.net_energy_per_pass_j = energy_per_pass;
  r.sensor = "estimated";
  r.estimated = true;
  if (kind == storage::MeasurementKind::kNetworkLayer) {
    r.architecture = "alexnet";
    r.layer_index = 1;
  }
  return r;
}

class TrainingDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("dle-predict-train-" + std::to_string(::getpid()) + ".sqlite")).string();
    fs::remove(path_);
  }
  void TearDown() override {
    fs::remove(path_);
    fs::remove(path_ + "-wal");
    fs::remove(path_ + "-shm");
  }
  std::string path_;
};

TEST_F(TrainingDataTest, AveragesRepeatsAndKeepsProvenance) {
  {
    storage::Store store = storage::Store::open(path_);
    storage::RunRecord run;
    run.source = "dlenergy collect";
    run.cpu_model = "Test CPU 3000";
    run.cores = 4;
    run.sensor = "estimated";
    run.estimated = true;
    const auto id = store.add_run(run);
    store.add_measurement(m(id, relu(2, 100), 1, 1.0));
    store.add_measurement(m(id, relu(2, 100), 2, 2.0));
    store.add_measurement(m(id, relu(2, 100), 3, 4.5));
    store.add_measurement(m(id, relu(2, 100), 4, -3.0));  // not a measurement: left out, not averaged in
    store.add_measurement(m(id, relu(4, 100), 1, 3.0));
    auto skipped = m(id, relu(8, 100), 1, 9.0);
    skipped.status = "skipped";
    store.add_measurement(skipped);
    store.add_measurement(m(id, relu(16, 100), 1, 0.0));  // ok but no energy: left out with a note
    store.add_measurement(m(id, relu(1, 4096), 1, 0.25, storage::MeasurementKind::kNetworkLayer));
  }
  const storage::Store store = storage::Store::open_existing(path_);
  const auto data = load_training_data(store, {});
  ASSERT_EQ(data.sets.size(), 1u);
  const TrainingSet& set = data.sets.at("relu");
  ASSERT_EQ(set.configs.size(), 2u);
  EXPECT_EQ(set.configs[0].to_string(), "relu batch_size=2 input_size=100");
  EXPECT_DOUBLE_EQ(set.energy_j[0], 2.5);  // mean of 1, 2 and 4.5
  EXPECT_EQ(set.measurements[0], 3);
  EXPECT_DOUBLE_EQ(set.energy_j[1], 3.0);
  EXPECT_TRUE(data.source.estimated);
  EXPECT_EQ(data.source.cpu_model, "Test CPU 3000");
  EXPECT_EQ(data.source.cores, 4);
  EXPECT_EQ(data.source.sensor, "estimated");
  EXPECT_EQ(data.source.data_hash.size(), 16u);
  EXPECT_EQ(energy_provenance(data.source), "ESTIMATED (sensor: estimated; not measurements)");
  ASSERT_EQ(data.notes.size(), 2u);  // the skipped row never leaves the store
  EXPECT_EQ(data.notes[0], "relu: 2 repeat(s) left out: their energy per pass is not a positive number");
  EXPECT_EQ(data.notes[1], "relu: 1 configuration(s) left out: none of their repeats has a positive energy per pass");

  const auto median = load_training_data(store, {{}, false, RepeatReduction::kMedian});
  EXPECT_DOUBLE_EQ(median.sets.at("relu").energy_j[0], 2.0);
  // How the repeats were combined is recorded with the data's provenance (the predictor file's description).
  EXPECT_EQ(data.source.description, "database " + path_ + " (dlenergy collect; 1 runs; repeats combined by their mean)");
  EXPECT_NE(median.source.description.find("; repeats combined by their median)"), std::string::npos);
  const auto with_network = load_training_data(store, {{}, true});
  EXPECT_EQ(with_network.sets.at("relu").configs.size(), 3u);
  EXPECT_NE(with_network.source.data_hash, data.source.data_hash);
  EXPECT_THROW(load_training_data(store, {{"dropout"}, false}), ConfigError);
}

// A type whose measurements were all skipped is named, not just missing from the training data.
TEST_F(TrainingDataTest, ATypeWithOnlySkippedMeasurementsIsNamed) {
  {
    storage::Store store = storage::Store::open(path_);
    const auto id = store.add_run(storage::RunRecord{});
    store.add_measurement(m(id, relu(2, 100), 1, 1.0));
    for (int rep = 1; rep <= 3; ++rep) {
      auto skipped = m(id, {"sigmoid", {{"batch_size", 2}, {"input_size", 100}}}, rep, 0.0);
      skipped.status = "skipped";
      store.add_measurement(skipped);
    }
  }
  const storage::Store store = storage::Store::open_existing(path_);
  const auto data = load_training_data(store, {});
  EXPECT_EQ(data.sets.count("sigmoid"), 0u);
  ASSERT_EQ(data.notes.size(), 1u);
  EXPECT_EQ(data.notes[0],
            "layer types whose measurements were all skipped or without energy, so they cannot be fitted: sigmoid "
            "(3); `dlenergy export` shows why in each row's note");
}

TEST(PaperTrainingSet, ReadsKwhPerPassAsJoulesAndChecksMacs) {
  const std::string dir = (fs::temp_directory_path() / ("dle-predict-paper-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  std::ofstream(dir + "/linear.csv") << "batch_size,input_size,output_size,cpu_energy,rep_no,macs,forward_passes\n"
                                        "2,3,4,1e-06,2.0,32.0,10.0\n"
                                        "1,10,10,2.5e-07,2.0,110.0,10.0\n";
  const auto sets = load_paper_training_sets(dir);
  ASSERT_EQ(sets.size(), 1u);
  const auto& s = sets.at("linear");
  ASSERT_EQ(s.energy_j.size(), 2u);
  EXPECT_DOUBLE_EQ(s.energy_j[0], 3.6);  // 1e-6 kWh
  EXPECT_DOUBLE_EQ(s.energy_j[1], 0.9);
  EXPECT_EQ(s.configs[1].to_string(), "linear batch_size=1 input_size=10 output_size=10");
  std::ofstream(dir + "/linear.csv") << "batch_size,input_size,output_size,cpu_energy,macs\n2,3,4,1e-06,24\n";
  try {
    load_paper_training_sets(dir);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linear.csv:2: macs 24"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(PaperTrainingSet, AConfigurationOnSeveralRowsIsOneRowWithTheMeanEnergy) {
  const std::string dir = (fs::temp_directory_path() / ("dle-predict-dup-" + std::to_string(::getpid()))).string();
  fs::create_directories(dir);
  std::ofstream(dir + "/relu.csv") << "batch_size,input_size,cpu_energy,macs\n"
                                      "2,100,1e-06,200\n"
                                      "3,100,5e-07,300\n"
                                      "2,100,2e-06,200\n"
                                      "2,100,3e-06,200\n";
  const auto s = load_paper_training_sets(dir).at("relu");
  ASSERT_EQ(s.configs.size(), 2u);  // cross-validation can no longer test on a row it trained on
  EXPECT_EQ(s.configs[0].to_string(), "relu batch_size=2 input_size=100");
  EXPECT_DOUBLE_EQ(s.energy_j[0], 7.2);  // mean of 3.6, 7.2 and 10.8 J
  EXPECT_EQ(s.measurements[0], 3);
  EXPECT_DOUBLE_EQ(s.energy_j[1], 1.8);
  EXPECT_EQ(s.measurements[1], 1);
  // An energy that is no measurement (zero, negative) is named with its line, not left for the fit to trip on.
  std::ofstream(dir + "/relu.csv") << "batch_size,input_size,cpu_energy,macs\n2,100,0,200\n3,100,-1e-6,300\n";
  try {
    load_paper_training_sets(dir);
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0], dir + "/relu.csv:2: cpu_energy 0 kWh is not a positive energy per pass in joules; "
                                     "remove the row");
    EXPECT_NE(e.problems()[1].find("relu.csv:3: cpu_energy -1e-6 kWh"), std::string::npos) << e.problems()[1];
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dle::predict
