#include <gtest/gtest.h>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"

namespace dle::arch {
namespace {

const std::string kFixtures = DLE_FIXTURES_DIR;

std::vector<std::string> problems_of(const std::string& file) {
  try {
    load_file(kFixtures + "/" + file);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  ADD_FAILURE() << file << " was accepted";
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ArchitectureFile, ExampleFilesParseAndInfer) {
  const auto a = load_file(std::string(DLE_SOURCE_DIR) + "/examples/tiny_cnn.yaml");
  EXPECT_EQ(a.name, "tiny-cnn");
  const auto i = infer(a, 4);
  EXPECT_EQ(i.layers.size(), 13u);
  EXPECT_EQ(i.layers.back().output, (layers::Shape{10}));
  EXPECT_EQ(i.total.macs, 4LL * (32 * 32 * 32 * 27 + 64 * 16 * 16 * 32 * 9 + 1024 * 128 + 128 * 10));
  const auto m = load_file(std::string(DLE_SOURCE_DIR) + "/examples/mlp.json");
  EXPECT_EQ(infer(m, 1).total.macs, 784 * 512 + 512 * 10);
}

TEST(ArchitectureFile, YamlAndJsonDescribeTheSameNetwork) {
  const std::string yaml = "name: n\ninput: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 4, "
                           "kernel_size: 3}\n  - {type: flatten}\n  - {type: linear, in_features: 144, out_features: 2}\n";
  const std::string json = R"({"name": "n", "input": [3, 8, 8], "layers": [
      {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3},
      {"type": "flatten"}, {"type": "linear", "in_features": 144, "out_features": 2}]})";
  const auto a = infer(parse_yaml(yaml, "a.yaml"), 2);
  const auto b = infer(parse_json(json, "b.json"), 2);
  EXPECT_EQ(a.total.macs, b.total.macs);
  EXPECT_EQ(a.total.macs, 2LL * (4 * 6 * 6 * 3 * 9 + 144 * 2));
}

TEST(ArchitectureFile, MissingField) {
  const auto p = problems_of("missing_field.yaml");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "layer 0 (conv2d): missing required field kernel_size")) << p[0];
}

TEST(ArchitectureFile, ZeroAndNegativeSizes) {
  auto p = problems_of("zero_size.yaml");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "layer 0 (conv2d): out_channels 0 must be >= 1")) << p[0];
  p = problems_of("negative_input.json");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "input[1]: -32 must be >= 1")) << p[0];
}

TEST(ArchitectureFile, KernelLargerThanPaddedInput) {
  const auto p = problems_of("kernel_too_large.yaml");
  ASSERT_FALSE(p.empty());
  EXPECT_TRUE(contains(p[0], "layer 1 (maxpool2d): kernel_size 5 is larger than the padded input 3")) << p[0];
}

TEST(ArchitectureFile, ChannelMismatchBetweenLayers) {
  const auto p = problems_of("channel_mismatch.json");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "layer 1 (conv2d): in_channels 32 does not match the input's 16 channels")) << p[0];
}

TEST(ArchitectureFile, UnknownLayerType) {
  const auto p = problems_of("unknown_type.yaml");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "layer 1 (batchnorm2d): unknown layer type 'batchnorm2d'")) << p[0];
}

TEST(ArchitectureFile, MalformedYamlAndJson) {
  auto p = problems_of("malformed.yaml");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "malformed YAML at line 3")) << p[0];
  p = problems_of("malformed.json");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(contains(p[0], "malformed JSON at byte 73")) << p[0];
  // A number beyond a double's range is named too (nlohmann::json reports it as out of range, not as a parse error).
  try {
    parse_json(R"({"name": "x", "input": [1e999], "layers": [{"type": "relu"}]})", "huge.json");
    ADD_FAILURE() << "accepted 1e999";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains(e.what(), "huge.json: a value cannot be read ([json.exception.out_of_range.406] number "
                                   "overflow parsing '1e999'); a number beyond about 1.8e308 is not a double"))
        << e.what();
  }
}

TEST(ArchitectureFile, SeveralProblemsAreAllReported) {
  const auto p = problems_of("several_problems.yaml");
  ASSERT_EQ(p.size(), 4u);
  EXPECT_TRUE(contains(p[0], "layer 0 (conv2d): kernel_size 0 must be >= 1"));
  EXPECT_TRUE(contains(p[1], "layer 1 (linear): missing required field out_features"));
  EXPECT_TRUE(contains(p[2], "layer 2 (dropout): p 1.5 must be in [0, 1)"));
  EXPECT_TRUE(contains(p[3], "layer 3: missing required field type"));
}

TEST(ArchitectureFile, MissingFileAndWrongExtension) {
  EXPECT_THROW(load_file(kFixtures + "/does_not_exist.yaml"), ConfigError);
  EXPECT_THROW(load_file(std::string(DLE_SOURCE_DIR) + "/CMakeLists.txt"), ConfigError);
}

TEST(ArchitectureFile, UnknownTopLevelKeyAndMissingLayers) {
  try {
    parse_yaml("input: [4]\nlayer: []\n", "x.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0], "x.yaml: unknown top-level key 'layer'; valid keys: name, input, layers");
    EXPECT_TRUE(contains(e.problems()[1], "missing required field layers"));
  }
}

// Each text names the layer, the field and the value, and says what is wrong with it (not something else).
TEST(ArchitectureFile, ValuesThatLookValidButAreNotNameTheRealProblem) {
  const auto only_problem = [](const std::string& yaml) {
    try {
      parse_yaml(yaml, "x.yaml");
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.problems().size(), 1u) << e.what();
      return e.problems().front();
    }
    ADD_FAILURE() << yaml << " was accepted";
    return std::string();
  };
  // An explicit stride of 0 is not "the default": MaxPool2d keeps 0 internally for a stride left out.
  EXPECT_EQ(only_problem("input: [3, 8, 8]\nlayers:\n  - {type: maxpool2d, kernel_size: 2, stride: 0}\n"),
            "x.yaml: layer 0 (maxpool2d): field stride: 0 must be >= 1 (leave stride out for the default, kernel_size)");
  EXPECT_EQ(only_problem("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 1e23, "
                         "kernel_size: 3}\n"),
            "x.yaml: layer 0 (conv2d): field out_channels: '1e23' is too large for an integer (at most "
            "9223372036854775807)");
  EXPECT_EQ(only_problem("input: [3, 8, 8]\nlayers:\n  - {type: conv2d, in_channels: 3, out_channels: 2.5, "
                         "kernel_size: 3}\n"),
            "x.yaml: layer 0 (conv2d): field out_channels: '2.5' is not an integer");
  EXPECT_EQ(only_problem("input: [4]\nlayers: relu\n"),
            "x.yaml: layers must be a list of layers, each {type: ..., fields...} (e.g. layers: [{type: relu}])");
  // Keys given twice: which value was meant is not guessed (nlohmann::json and yaml-cpp would keep one silently).
  EXPECT_EQ(only_problem("input: [3, 8, 8]\nlayers:\n  - {type: relu}\n  - {type: maxpool2d, kernel_size: 2, "
                         "kernel_size: 3}\n"),
            "x.yaml: layer 1 key 'kernel_size' is given twice; keep one (which value was meant is not guessed)");
  try {
    parse_json(R"({"input": [3, 8, 8], "layers": [{"type": "relu"}], "layers": [{"type": "tanh"}]})", "d.json");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().front(),
              "d.json: top-level key 'layers' is given twice; keep one (which value was meant is not guessed)");
  }
  try {
    parse_json(R"({"input": [3, 8, 8], "layers": [{"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2,
               "kernel_size": 3}]})", "d.json");
    ADD_FAILURE() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().front(),
              "d.json: layer 1 key 'kernel_size' is given twice; keep one (which value was meant is not guessed)");
  }
  // The name heads every report (and a comment line of CSV output): one line of text.
  EXPECT_EQ(only_problem("name: \"a\\nb\"\ninput: [4]\nlayers: [{type: relu}]\n"),
            "x.yaml: name must be one line of text (it heads every report), e.g. name: my-net");
  EXPECT_EQ(only_problem("name: [a, b]\ninput: [4]\nlayers: [{type: relu}]\n"),
            "x.yaml: name must be one line of text (it heads every report), e.g. name: my-net");
  // Left out, the stride is the kernel size, as in PyTorch.
  const auto a = parse_yaml("input: [3, 8, 8]\nlayers:\n  - {type: maxpool2d, kernel_size: 2}\n", "y.yaml");
  EXPECT_EQ(infer(a, 1).layers.front().output, (layers::Shape{3, 4, 4}));
}

TEST(Resolve, ExactlyOneSourceOfNetwork) {
  EXPECT_THROW(resolve("", ""), UsageError);  // exit code 2, like a flag CLI11 rejects
  EXPECT_THROW(resolve("vgg16", "x.yaml"), UsageError);
  EXPECT_EQ(resolve("vgg16", "").name, "vgg16");
}

}  // namespace
}  // namespace dle::arch
