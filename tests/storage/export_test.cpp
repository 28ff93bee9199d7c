#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "storage/export.hpp"
#include "storage/store.hpp"
#include "support/files.hpp"
#include "temp_dir.hpp"

namespace dle::storage {
namespace {

using testing::TempDir;

const std::string kFixtures = std::string(DLE_FIXTURES_DIR) + "/";

using testing::slurp;

// A small hand-made database: one run with a layer, a network layer, a skipped whole network and an
// estimated linear measurement.
// Compares with a golden file; DLE_UPDATE_GOLDEN=1 rewrites it instead (review the diff before committing).
void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = kFixtures + name;
  if (std::getenv("DLE_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
  EXPECT_EQ(actual, slurp(path)) << "actual:\n" << actual;
}

std::vector<MeasurementRecord> hand_made_db(const std::string& path) {
  auto store = Store::open(path);
  RunRecord run;
  run.started_at = "2024-05-06T07:08:09Z";
  run.source = "dlenergy collect";
  run.hostname = "h";
  run.cpu_model = "cpu";
  run.cores = 4;
  run.threads = 1;
  run.sensor = "rapl";
  run.settings_json = "{}";
  run.settings_hash = "h1";
  const auto run_id = store.add_run(run);

  MeasurementRecord conv;
  conv.run_id = run_id;
  conv.config = {"conv2d",
                 {{"batch_size", 2}, {"image_size", 8}, {"kernel_size", 3}, {"in_channels", 1}, {"out_channels", 4},
                  {"stride", 1}, {"padding", 0}}};
  conv.repeat = 1;
  conv.passes = 1000;
  conv.duration_s = 0.5;
  conv.domains = {{"package-0", 12.5}, {"dram", 0.25}};
  conv.energy_j = 12.75;
  conv.idle_power_w = 5;
  conv.energy_per_pass_j = 0.01275;
  conv.net_energy_per_pass_j = 0.01025;
  conv.sensor = "rapl";
  conv.note = "first, \"quoted\" note";
  conv.created_at = "2024-05-06T07:09:00Z";
  store.add_measurement(conv);

  MeasurementRecord drop = conv;
  drop.kind = MeasurementKind::kNetworkLayer;
  drop.architecture = "vgg16";
  drop.layer_index = 35;
  drop.config = {"dropout", {{"batch_size", 2}, {"p", 0.5}}};
  drop.domains = {{"package-0", 1.5}};
  drop.energy_j = 1.5;
  drop.passes = 300000;
  drop.energy_per_pass_j = 5e-6;
  drop.net_energy_per_pass_j = 1.0 / 3.0;
  drop.note = "";
  store.add_measurement(drop);

  MeasurementRecord net = conv;
  net.kind = MeasurementKind::kNetwork;
  net.architecture = "alexnet";
  net.config = {"network", {{"batch_size", 2}}};
  net.passes = 0;
  net.domains = {{"package-0", std::nan("")}};
  net.energy_j = std::nan("");
  net.energy_per_pass_j = std::nan("");
  net.net_energy_per_pass_j = std::nan("");
  net.status = "skipped";
  net.note = "skipped: out of memory";
  store.add_measurement(net);

  MeasurementRecord lin = conv;
  lin.config = {"linear", {{"batch_size", 4}, {"input_size", 100}, {"output_size", 10}}};
  lin.sensor = "estimated";
  lin.estimated = true;
  lin.domains = {{"estimated package", 3}};
  lin.energy_j = 3;
  lin.idle_power_w = 0;
  lin.energy_per_pass_j = 0.003;
  lin.net_energy_per_pass_j = 0.003;
  lin.note = "multi\nline";
  store.add_measurement(lin);

  MeasurementFilter all;
  all.include_skipped = true;
  return store.measurements(all);
}

TEST(Export, ConfigColumnsFollowTheSchemaThenFirstAppearance) {
  TempDir dir;
  const auto ms = hand_made_db(dir.file("e.sqlite"));
  EXPECT_EQ(export_config_columns(ms),
            (std::vector<std::string>{"batch_size", "image_size", "kernel_size", "in_channels", "out_channels", "stride",
                                      "padding", "input_size", "output_size", "p"}));
}

TEST(Export, CsvMatchesGoldenFile) {
  TempDir dir;
  const auto ms = hand_made_db(dir.file("e.sqlite"));
  std::ostringstream out;
  write_measurements_csv(out, ms);
  expect_golden(out.str(), "export_golden.csv");
}

TEST(Export, JsonMatchesGoldenFile) {
  TempDir dir;
  const auto ms = hand_made_db(dir.file("e.sqlite"));
  std::ostringstream out;
  write_measurements_json(out, ms);
  expect_golden(out.str(), "export_golden.json");
}

TEST(Export, EmptyDatabaseGivesHeaderOnly) {
  std::ostringstream csv, json;
  write_measurements_csv(csv, {});
  write_measurements_json(json, {});
  EXPECT_EQ(csv.str(),
            "id,run_id,kind,layer_type,architecture,layer_index,repeat,passes,duration_s,energy_j,energy_per_pass_j,"
            "net_energy_per_pass_j,idle_power_w,sensor,estimated,status,note\n");
  EXPECT_EQ(json.str(), "{\n  \"measurements\": []\n}\n");
}

}  // namespace
}  // namespace dle::storage
