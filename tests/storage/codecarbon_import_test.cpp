#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"
#include "storage/codecarbon_import.hpp"
#include "storage/csv_reader.hpp"
#include "support/files.hpp"
#include "temp_dir.hpp"

namespace dle::storage {
namespace {

using testing::TempDir;

const std::string kFixtures = std::string(DLE_FIXTURES_DIR) + "/";

using testing::slurp;

std::vector<MeasurementRecord> all_measurements(const Store& s) {
  MeasurementFilter f;
  f.include_skipped = true;
  return s.measurements(f);
}

TEST(CodeCarbonImport, LayerRowsGiveKnownEnergiesPerPass) {
  TempDir dir;
  auto store = Store::open(dir.file("cc.sqlite"));
  const auto reports = import_codecarbon(store, {kFixtures + "codecarbon_layers.csv"});
  ASSERT_EQ(reports.size(), 1u);
  const auto& rep = reports[0];
  EXPECT_FALSE(rep.already_imported);
  EXPECT_EQ(rep.rows, 11u);
  EXPECT_EQ(rep.ok, 7u);
  EXPECT_EQ(rep.skipped, 4u);
  EXPECT_EQ(rep.skip_reasons, (std::map<std::string, std::size_t>{{"cpu_energy empty", 1},
                                                                  {"cpu_energy not a number", 1},
                                                                  {"cpu_energy not positive", 1},
                                                                  {"forward_passes 0", 1}}));

  const auto ms = all_measurements(store);
  ASSERT_EQ(ms.size(), 11u);  // every row kept
  const auto& conv = ms[0];
  EXPECT_EQ(conv.kind, MeasurementKind::kLayer);
  EXPECT_EQ(conv.config.to_string(),
            "conv2d batch_size=123 image_size=127 kernel_size=7 in_channels=80 out_channels=29 stride=1 padding=2");
  EXPECT_EQ(conv.repeat, 1);
  EXPECT_EQ(conv.passes, 6);
  EXPECT_DOUBLE_EQ(conv.duration_s, 34.67582440376282);
  // 0.0007268241467366 kWh * 3.6e6 J/kWh = 2616.56692825176 J over 6 passes.
  EXPECT_NEAR(conv.energy_j, 2616.56692825176, 1e-9);
  EXPECT_NEAR(conv.energy_per_pass_j, 436.09448804196, 1e-9);
  EXPECT_EQ(conv.net_energy_per_pass_j, conv.energy_per_pass_j);  // no idle baseline in CodeCarbon output
  EXPECT_EQ(conv.idle_power_w, 0.0);
  ASSERT_EQ(conv.domains.size(), 1u);  // ram_energy is a formula, not a measurement: not a domain
  EXPECT_EQ(conv.domains[0].name, kCodeCarbonDomain);
  EXPECT_NEAR(conv.domains[0].energy_j, conv.energy_j, 1e-12);
  EXPECT_EQ(conv.sensor, "rapl (via CodeCarbon)");
  EXPECT_FALSE(conv.estimated);
  EXPECT_EQ(conv.status, "ok");
  EXPECT_EQ(conv.note.rfind("codecarbon_layers.csv:2;", 0), 0u) << conv.note;
  EXPECT_NE(conv.note.find("paper macs 218534484375"), std::string::npos) << conv.note;
  EXPECT_NE(conv.note.find("ram_energy 9635.0204041599"), std::string::npos) << conv.note;

  EXPECT_EQ(ms[1].config.to_string(),
            "maxpool2d batch_size=10 image_size=32 kernel_size=3 in_channels=16 stride=2 padding=1");
  EXPECT_EQ(ms[1].repeat, 2);
  EXPECT_NEAR(ms[1].energy_per_pass_j, 18.0, 1e-12);
  EXPECT_EQ(ms[2].config.to_string(), "linear batch_size=8 input_size=1000 output_size=500");
  EXPECT_NEAR(ms[2].energy_per_pass_j, 3.24, 1e-12);
  EXPECT_EQ(ms[3].config.to_string(), "relu batch_size=4 input_size=60000");
  EXPECT_EQ(ms[3].repeat, 3);
  EXPECT_NEAR(ms[3].energy_per_pass_j, 1.08, 1e-12);
  EXPECT_EQ(ms[4].config.type, "sigmoid");
  EXPECT_NEAR(ms[4].energy_per_pass_j, 6.48, 1e-12);
  EXPECT_EQ(ms[5].config.type, "tanh");
  EXPECT_NEAR(ms[5].energy_per_pass_j, 3.6, 1e-12);
  EXPECT_EQ(ms[6].config.to_string(), "softmax batch_size=5 input_size=80000");
  EXPECT_NEAR(ms[6].energy_per_pass_j, 3.6, 1e-12);

  // Kept, marked skipped, with the reason first in the note.
  EXPECT_EQ(ms[7].status, "skipped");
  EXPECT_NEAR(ms[7].energy_j, -360.0, 1e-9);
  EXPECT_EQ(ms[7].note.rfind("skipped: cpu_energy -0.0001 kWh is not positive", 0), 0u) << ms[7].note;
  EXPECT_EQ(ms[8].status, "skipped");
  EXPECT_EQ(ms[8].passes, 0);
  EXPECT_TRUE(std::isnan(ms[8].energy_per_pass_j));
  EXPECT_NE(ms[8].note.find("forward_passes is 0"), std::string::npos);
  EXPECT_TRUE(std::isnan(ms[9].energy_j));
  EXPECT_TRUE(std::isnan(ms[10].energy_j));
  EXPECT_EQ(ms[10].note.rfind("skipped: cpu_energy is empty", 0), 0u) << ms[10].note;

  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].source, "codecarbon import");
  EXPECT_EQ(runs[0].cpu_model, "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz");
  EXPECT_EQ(runs[0].cores, 2);
  EXPECT_EQ(runs[0].sensor, "rapl (via CodeCarbon)");
  EXPECT_FALSE(runs[0].estimated);
  EXPECT_NE(runs[0].settings_json.find("\"file\":\"codecarbon_layers.csv\""), std::string::npos);
  EXPECT_NE(runs[0].settings_json.find("\"first_timestamp\":\"2022-12-22T03:26:18\""), std::string::npos);
}

TEST(CodeCarbonImport, SecondImportOfTheSameFileStoresNothing) {
  TempDir dir;
  auto store = Store::open(dir.file("cc.sqlite"));
  const auto first = import_codecarbon(store, {kFixtures + "codecarbon_layers.csv"});
  const auto second =
      import_codecarbon(store, {kFixtures + "codecarbon_layers.csv", kFixtures + "codecarbon_layers.csv"});
  ASSERT_EQ(second.size(), 2u);
  EXPECT_TRUE(second[0].already_imported);
  EXPECT_TRUE(second[1].already_imported);
  EXPECT_EQ(second[0].run_id, first[0].run_id);
  EXPECT_EQ(store.runs().size(), 1u);
  EXPECT_EQ(all_measurements(store).size(), 11u);

  // The same name with other content is another file.
  std::string text = slurp(kFixtures + "codecarbon_layers.csv");
  text += "2022-12-22T04:00:00,\"module:ReLU,rep_no:1,macs:1,batch_size:9,input_size:99,freeText:,forward_passes:10\","
          "u99,30.0,0,0,0,0,0,0.0001,0,0,0,os,3.10.8,2,cpu,1,gpu,770.0,machine,N\n";
  std::filesystem::create_directories(dir.path() / "copy");
  std::ofstream(dir.file("copy/codecarbon_layers.csv")) << text;
  const auto third = import_codecarbon(store, {dir.file("copy/codecarbon_layers.csv")});
  EXPECT_FALSE(third[0].already_imported);
  EXPECT_EQ(third[0].rows, 12u);
  EXPECT_EQ(all_measurements(store).size(), 23u);

  // The same content under another name is the same file: importing it would count every row twice.
  std::filesystem::copy_file(kFixtures + "codecarbon_layers.csv", dir.file("renamed.csv"));
  const auto fourth = import_codecarbon(store, {dir.file("renamed.csv")});
  EXPECT_TRUE(fourth[0].already_imported);
  EXPECT_EQ(fourth[0].run_id, first[0].run_id);
  EXPECT_EQ(fourth[0].imported_as, "codecarbon_layers.csv");
  EXPECT_EQ(all_measurements(store).size(), 23u);
}

TEST(CodeCarbonImport, WholeNetworkRowsMapToTorchvisionLeafModules) {
  TempDir dir;
  auto store = Store::open(dir.file("net.sqlite"));
  const auto reports = import_codecarbon(store, {kFixtures + "codecarbon_networks.csv"});
  ASSERT_EQ(reports.at(0).rows, 11u);
  EXPECT_EQ(reports.at(0).ok, 11u);
  const auto ms = all_measurements(store);
  ASSERT_EQ(ms.size(), 11u);

  // VGG16 written "VGG16": normalised. layer_idx=0 is the whole network.
  EXPECT_EQ(ms[0].kind, MeasurementKind::kNetwork);
  EXPECT_EQ(ms[0].architecture, "vgg16");
  EXPECT_EQ(ms[0].layer_index, -1);
  EXPECT_EQ(ms[0].config.to_string(), "network batch_size=194");
  EXPECT_NEAR(ms[0].energy_per_pass_j, 6480.0, 1e-9);  // 0.0018 kWh, one pass

  struct Expect {
    std::size_t row;
    int layer_index;
    std::string config;
  };
  const std::vector<Expect> expected = {
      {1, 0, "conv2d batch_size=194 image_size=224 kernel_size=3 in_channels=3 out_channels=64 stride=1 padding=1"},
      {2, 1, "relu batch_size=194 input_size=3211264 inplace=1"},  // torchvision ReLUs run in place
      {3, 4, "maxpool2d batch_size=194 image_size=224 kernel_size=2 in_channels=64 stride=2 padding=0"},
      {4, 31, "adaptiveavgpool2d batch_size=194 output_height=7 output_width=7"},
      {5, 33, "linear batch_size=194 input_size=25088 output_size=4096"},  // after our Flatten (32)
      {6, 35, "dropout batch_size=194 p=0.5"},
      {8, 13, "adaptiveavgpool2d batch_size=30 output_height=6 output_width=6"},
      {9, 15, "dropout batch_size=30 p=0.5"},
      {10, 16, "linear batch_size=30 input_size=9216 output_size=4096"},
  };
  for (const auto& e : expected) {
    SCOPED_TRACE("row " + std::to_string(e.row));
    EXPECT_EQ(ms[e.row].kind, MeasurementKind::kNetworkLayer);
    EXPECT_EQ(ms[e.row].layer_index, e.layer_index);
    EXPECT_EQ(ms[e.row].config.to_string(), e.config);
  }
  EXPECT_EQ(ms[1].architecture, "vgg16");
  EXPECT_EQ(ms[7].kind, MeasurementKind::kNetwork);
  EXPECT_EQ(ms[7].architecture, "alexnet");
  EXPECT_EQ(ms[7].config.to_string(), "network batch_size=30");
  EXPECT_NEAR(ms[7].energy_per_pass_j, 0.00064 * 3.6e6 / 53, 1e-9);

  // The layer indices agree with the zoo: the stored index is the layer torchvision numbered K.
  const auto leaves = arch::torchvision_leaf_indices(arch::zoo("vgg16"));
  EXPECT_EQ(leaves[static_cast<std::size_t>(ms[5].layer_index)], 33);
}

TEST(CodeCarbonImport, MalformedRowsAbortBeforeWritingAndAreAllListed) {
  TempDir dir;
  auto store = Store::open(dir.file("bad.sqlite"));
  try {
    // The good file first: it must not be stored either.
    import_codecarbon(store, {kFixtures + "codecarbon_layers.csv", kFixtures + "codecarbon_malformed.csv"});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("nothing was stored"), std::string::npos) << msg;
    for (const std::string needle :
         {"codecarbon_malformed.csv:2: project_name has no 'out_channels'",
          "codecarbon_malformed.csv:3: project_name batch_size 'four' is not an integer",
          "codecarbon_malformed.csv:4: module 'BatchNorm2d' is not a layer type",
          "codecarbon_malformed.csv:5: cpu_energy 'lots' is not a number",
          "codecarbon_malformed.csv:6: freeText architecture: unknown network 'resnet50'",
          "codecarbon_malformed.csv:7: module 'ReLU' does not match vgg16 leaf module 1 (our layer 0, conv2d)",
          "codecarbon_malformed.csv:8: freeText layer_idx 99 is beyond vgg11's 29 torchvision leaf modules",
          "codecarbon_malformed.csv:9: has 4 fields, the header has 22"})
      EXPECT_NE(msg.find(needle), std::string::npos) << "missing: " << needle << "\nin:\n" << msg;
  }
  EXPECT_TRUE(store.runs().empty());
  EXPECT_EQ(all_measurements(store).size(), 0u);
}

TEST(CodeCarbonImport, MissingColumnsAndEmptyFilesAreProblems) {
  const auto empty = parse_codecarbon("", "empty.csv", "2024-01-01T00:00:00Z");
  ASSERT_EQ(empty.problems.size(), 1u);
  EXPECT_NE(empty.problems[0].find("empty.csv: the file is empty"), std::string::npos);
  const auto other = parse_codecarbon("a,b\n1,2\n", "other.csv", "2024-01-01T00:00:00Z");
  ASSERT_EQ(other.problems.size(), 3u);
  EXPECT_NE(other.problems[0].find("other.csv:1: no 'project_name' column"), std::string::npos);
  // Two cpu_energy columns: which one is the energy? Refused, not the last one silently.
  const auto twice = parse_codecarbon("project_name,duration,cpu_energy,cpu_energy\n", "twice.csv", "2024-01-01T00:00:00Z");
  ASSERT_EQ(twice.problems.size(), 1u);
  EXPECT_EQ(twice.problems[0], "twice.csv:1: column 'cpu_energy' appears twice (columns 3 and 4); keep one and import again");
}

TEST(CodeCarbonImport, AnEnergyTooLargeForJoulesIsSkippedNotStoredAsInfinity) {
  std::string text = slurp(kFixtures + "codecarbon_layers.csv");
  const auto header_end = text.find('\n') + 1;
  std::string row = text.substr(header_end, text.find('\n', header_end) - header_end);
  row.replace(row.find("0.0007268241467366"), 18, "5e307");  // finite in kWh, infinite x 3.6e6 in joules
  const auto f = parse_codecarbon(text.substr(0, header_end) + row + "\n", "huge.csv", "2024-01-01T00:00:00Z");
  ASSERT_TRUE(f.problems.empty());
  ASSERT_EQ(f.measurements.size(), 1u);
  EXPECT_EQ(f.measurements[0].status, "skipped");
  EXPECT_EQ(f.skip_reasons[0], "cpu_energy infinite");

  // A whole number too large to count with is named as too large, not as "not an integer".
  std::string big = text.substr(0, header_end) + text.substr(header_end, text.find('\n', header_end) - header_end) + "\n";
  big.replace(big.find("batch_size:123"), 14, "batch_size:9000000000000000000");
  const auto g = parse_codecarbon(big, "big.csv", "2024-01-01T00:00:00Z");
  ASSERT_EQ(g.problems.size(), 1u);
  EXPECT_EQ(g.problems[0], "big.csv:2: project_name batch_size '9000000000000000000' is too large (at most 9e15)");
}

TEST(CodeCarbonImport, DirectoriesExpandToTheirCsvFilesSorted) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "b");
  std::ofstream(dir.file("b/2.csv")) << "x";
  std::ofstream(dir.file("1.csv")) << "x";
  std::ofstream(dir.file("readme.md")) << "x";
  const auto files = expand_csv_paths({dir.path().string()});
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(std::filesystem::path(files[0]).filename(), "1.csv");
  EXPECT_EQ(std::filesystem::path(files[1]).filename(), "2.csv");
  EXPECT_THROW(expand_csv_paths({dir.file("nope.csv")}), ConfigError);
}

// The published data set: every row of every file is kept.
TEST(CodeCarbonImport, PaperDataKeepsEveryRow) {
  const std::filesystem::path raw = std::filesystem::path(DLE_SOURCE_DIR) / ".." / "shared" / "paper-data" / "raw";
  if (!std::filesystem::is_directory(raw))
    GTEST_SKIP() << "paper data not found at " << raw.string() << " (it is read from there, never copied here)";
  std::size_t data_lines = 0;
  const auto files = expand_csv_paths({raw.string()});
  for (const auto& f : files) data_lines += parse_csv(slurp(f), f).size() - 1;  // minus the header

  TempDir dir;
  auto store = Store::open(dir.file("paper.sqlite"));
  const auto reports = import_codecarbon(store, {raw.string()});
  ASSERT_EQ(reports.size(), files.size());
  std::size_t rows = 0, ok = 0, skipped = 0;
  for (const auto& r : reports) {
    EXPECT_FALSE(r.already_imported);
    EXPECT_EQ(r.ok + r.skipped, r.rows) << r.path;
    rows += r.rows;
    ok += r.ok;
    skipped += r.skipped;
  }
  EXPECT_EQ(rows, data_lines);
  EXPECT_EQ(all_measurements(store).size(), data_lines);
  EXPECT_EQ(store.count_measurements(), ok);
  EXPECT_EQ(store.runs().size(), files.size());

  // The first row of 00_conv2d-raw.csv: 0.0007268241467366 kWh over 6 passes.
  MeasurementFilter conv;
  conv.layer_types = {"conv2d"};
  bool found = false;
  for (const auto& m : store.measurements(conv))
    if (m.note.rfind("00_conv2d-raw.csv:2;", 0) == 0) {
      found = true;
      EXPECT_NEAR(m.energy_per_pass_j, 436.09448804196, 1e-9);
      EXPECT_EQ(m.passes, 6);
    }
  EXPECT_TRUE(found);

  // Every stored configuration is one dlenergy can compute features from.
  std::size_t invalid = 0;
  for (const auto& m : all_measurements(store)) {
    try {
      layers::from_config(m.config);
    } catch (const ConfigError&) {
      ++invalid;
    }
  }
  EXPECT_EQ(invalid, 0u);

  // Importing the directory again stores nothing.
  for (const auto& r : import_codecarbon(store, {raw.string()})) EXPECT_TRUE(r.already_imported) << r.path;
  EXPECT_EQ(all_measurements(store).size(), data_lines);
}

}  // namespace
}  // namespace dle::storage

namespace dle::storage {
namespace {

TEST(CodeCarbonImport, ConfigurationsDrawnTwiceAreBothKeptAndConfigFilesAreLayerRows) {
  TempDir dir;
  auto store = Store::open(dir.file("cc.sqlite"));
  const auto reports = import_codecarbon(store, {kFixtures + "codecarbon_repeats_and_configs.csv"});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].ok, 3u);
  const auto ms = all_measurements(store);
  ASSERT_EQ(ms.size(), 3u);
  // Same network, batch and rep_no twice: a configuration the paper drew twice. Both rows are data.
  EXPECT_EQ(ms[0].kind, MeasurementKind::kNetwork);
  EXPECT_EQ(ms[1].kind, MeasurementKind::kNetwork);
  EXPECT_EQ(ms[0].occurrence, 1);
  EXPECT_EQ(ms[1].occurrence, 2);
  EXPECT_NE(ms[0].item_key(), ms[1].item_key());
  EXPECT_NEAR(ms[0].energy_per_pass_j, 0.0005 * 3.6e6 / 100, 1e-9);  // 18 J
  EXPECT_NEAR(ms[1].energy_per_pass_j, 0.00045 * 3.6e6 / 90, 1e-9);  // 18 J
  EXPECT_NE(ms[1].note.find("same configuration and rep_no as line 2"), std::string::npos) << ms[1].note;
  // A layer that spells out its configuration is a layer measurement taken from a network (the paper's
  // *-architecture-configs files count layer_idx from 0, so it cannot be read as a network layer index).
  EXPECT_EQ(ms[2].kind, MeasurementKind::kLayer);
  EXPECT_EQ(ms[2].architecture, "alexnet");
  EXPECT_EQ(ms[2].config.to_string(),
            "conv2d batch_size=237 image_size=224 kernel_size=11 in_channels=3 out_channels=64 stride=4 padding=2");
  EXPECT_NE(ms[2].note.find("configuration of an alexnet layer (file's layer_idx 0)"), std::string::npos);
}

}  // namespace
}  // namespace dle::storage
