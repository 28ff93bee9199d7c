#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/run_cli.hpp"

namespace dle {
namespace {

using testing::run_cli;

const std::string kFixtures = std::string(DLE_SOURCE_DIR) + "/tests/architectures/fixtures/";

TEST(InspectCli, JsonForVgg16AtBatchFour) {
  const auto r = run_cli("inspect --arch vgg16 --batch-size 4 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["architecture"], "vgg16");
  EXPECT_EQ(j["batch_size"], 4);
  ASSERT_EQ(j["layers"].size(), 40u);
  const auto& first = j["layers"][0];
  EXPECT_EQ(first["index"], 0);
  EXPECT_EQ(first["type"], "conv2d");
  EXPECT_EQ(first["params"]["out_channels"], 64);
  EXPECT_EQ(first["input_shape"], nlohmann::json({3, 224, 224}));
  EXPECT_EQ(first["output_shape"], nlohmann::json({64, 224, 224}));
  EXPECT_EQ(first["macs"], 4LL * 64 * 224 * 224 * 27);
  EXPECT_EQ(j["total"]["macs"], 4LL * 15470264320LL);
  long long sum = 0;
  for (const auto& l : j["layers"]) sum += l["bytes"].get<long long>();
  EXPECT_EQ(j["total"]["bytes"], sum);
}

TEST(InspectCli, CsvHasHeaderOneRowPerLayerAndTotal) {
  const auto r = run_cli("inspect --arch alexnet --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 1u + 22u + 1u);
  EXPECT_EQ(lines[0], "index,type,params,input_shape,output_shape,macs,flops,bytes");
  EXPECT_EQ(lines[1], "0,conv2d,in_channels=3 out_channels=64 kernel_size=11 stride=4 padding=2 groups=1 bias=true,"
                      "3x224x224,64x55x55,70276800,140747200,1469696");
  EXPECT_EQ(lines.back().substr(0, 6), "total,");
  EXPECT_NE(lines.back().find(",714188480,"), std::string::npos);
}

TEST(InspectCli, TableCarriesUnitsNote) {
  const auto r = run_cli("inspect --arch vgg11");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("vgg11 at batch size 1"), std::string::npos);
  EXPECT_NE(r.out.find("7,609,090,048"), std::string::npos);
}

TEST(InspectCli, BadFilesExitNonZeroNamingLayerAndField) {
  struct Case {
    std::string file, expect;
  } cases[] = {
      {"missing_field.yaml", "layer 0 (conv2d): missing required field kernel_size"},
      {"zero_size.yaml", "layer 0 (conv2d): out_channels 0 must be >= 1"},
      {"negative_input.json", "input[1]: -32 must be >= 1"},
      {"kernel_too_large.yaml", "layer 1 (maxpool2d): kernel_size 5 is larger than the padded input 3"},
      {"channel_mismatch.json", "layer 1 (conv2d): in_channels 32 does not match the input's 16 channels"},
      {"unknown_type.yaml", "layer 1 (batchnorm2d): unknown layer type 'batchnorm2d'"},
      {"malformed.yaml", "malformed YAML at line 3"},
      {"malformed.json", "malformed JSON at byte 73"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli("inspect --model " + kFixtures + c.file);
    EXPECT_EQ(r.exit_code, 3) << c.file;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.file << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.file;
  }
}

TEST(InspectCli, BadFlagsAndNames) {
  auto r = run_cli("inspect --arch resnet");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown built-in architecture 'resnet'"), std::string::npos);
  r = run_cli("inspect --arch vgg16 --batch-size 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--batch-size"), std::string::npos) << r.err;
  r = run_cli("inspect --arch vgg16 --format xml");
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli("inspect");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no network given"), std::string::npos);
  r = run_cli("inspect --arch vgg16 --batch-size 1.5");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--batch-size: 1.5 is not a whole number; give one from 1 to 1099511627776"), std::string::npos)
      << r.err;
  r = run_cli("inspect --arch vgg16 --batch-size 99999999999999999999");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--batch-size: Value 99999999999999999999 not in range 1 to 1099511627776"), std::string::npos)
      << r.err;
  r = run_cli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dlenergy: unknown command 'frobnicate'; commands: version, inspect, "), std::string::npos)
      << r.err;
}

TEST(InspectCli, HelpTextsAreOneImperativeLine) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("inspect"), std::string::npos);
  EXPECT_NE(r.out.find("Show a network's layers, shapes, MACs and bytes moved."), std::string::npos);
  r = run_cli("inspect --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--batch-size"), std::string::npos);
}

TEST(VersionCli, ShowsTheActiveBlas) {
  const auto r = run_cli("version");
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("blas: "), std::string::npos);
  // The setup script installs OpenBLAS; the reference BLAS would make Linear layers ~18x slower.
  EXPECT_NE(r.out.find("blas: openblas"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace dle
