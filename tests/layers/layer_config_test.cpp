#include "layers/layer_config.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace dle::layers {
namespace {

TEST(LayerConfig, ConvRoundTripsThroughTheSchema) {
  const LayerInstance inst{Conv2dSpec{80, 29, 7, 1, 2, 1, true}, {80, 127, 127}, 123};
  const LayerConfig c = to_config(inst);
  EXPECT_EQ(c.to_string(),
            "conv2d batch_size=123 image_size=127 kernel_size=7 in_channels=80 out_channels=29 stride=1 padding=2");
  const LayerInstance back = from_config(c);
  EXPECT_EQ(back.input, (Shape{80, 127, 127}));
  EXPECT_EQ(back.batch, 123);
  // The paper's own `macs` for this row (218,534,484,375) includes the bias adds: ours excludes them.
  EXPECT_EQ(config_counts(c).macs, 218478750000LL);
  EXPECT_EQ(config_counts(c).macs + 123LL * 29 * 125 * 125, 218534484375LL);
}

TEST(LayerConfig, SchemasOfEveryConfigurableType) {
  EXPECT_EQ(configurable_types().size(), 7u);
  EXPECT_EQ(config_params("maxpool2d"),
            (std::vector<std::string>{"batch_size", "image_size", "kernel_size", "in_channels", "stride", "padding"}));
  EXPECT_EQ(config_params("relu"), (std::vector<std::string>{"batch_size", "input_size"}));
  EXPECT_THROW(config_params("dropout"), ConfigError);
}

TEST(LayerConfig, ActivationInputSizeIsElementsPerSample) {
  const LayerConfig c = to_config({ReLUSpec{true}, {64, 55, 55}, 8});
  EXPECT_DOUBLE_EQ(c.get("input_size"), 64.0 * 55 * 55);
  EXPECT_EQ(config_counts(c).ops, 8LL * 64 * 55 * 55);
}

TEST(LayerConfig, ReluInplaceIsAnOptionalValueOfZeroOrOne) {
  ASSERT_EQ(optional_params("relu").size(), 1u);
  EXPECT_EQ(optional_params("relu")[0].name, "inplace");
  EXPECT_EQ(optional_params("relu")[0].allowed, (std::vector<std::int64_t>{0, 1}));
  EXPECT_TRUE(optional_params("conv2d").empty());
  EXPECT_NE(find_optional_param("relu", "inplace"), nullptr);
  EXPECT_EQ(find_optional_param("sigmoid", "inplace"), nullptr);
  EXPECT_EQ(find_optional_param("dropout", "inplace"), nullptr);
  EXPECT_THROW(optional_params("dropout"), ConfigError);

  // Out of place it is left out of the text; in place it follows the schema's values.
  EXPECT_EQ(to_config({ReLUSpec{false}, {10}, 2}).to_string(), "relu batch_size=2 input_size=10");
  EXPECT_EQ(to_config({ReLUSpec{true}, {10}, 2}).to_string(), "relu batch_size=2 input_size=10 inplace=1");
  const LayerConfig bad{"relu", {{"batch_size", 2}, {"input_size", 10}, {"inplace", 2}}};
  try {
    from_config(bad);
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0], "relu: inplace 2 must be 0 (a new output) or 1 (overwrites its input)");
  }
  EXPECT_FALSE(writes_in_place({"relu", {{"batch_size", 2}, {"input_size", 10}, {"inplace", 0}}}));
}

TEST(LayerConfig, CountsThatOverflowAreAnError) {
  const LayerConfig c{"linear", {{"batch_size", 1e12}, {"input_size", 5000}, {"output_size", 5000}}};
  try {
    config_counts(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linear batch_size=1000000000000 input_size=5000 output_size=5000: its "
                                         "counts (MACs, bytes) exceed 2^63 - 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(config_counts({"linear", {{"batch_size", 1e5}, {"input_size", 5000}, {"output_size", 5000}}}).macs,
            100000LL * 5000 * 5000);
}

TEST(LayerConfig, MaxPoolKeepsEffectiveStride) {
  const LayerConfig c = to_config({MaxPool2dSpec{2, 0, 0}, {64, 224, 224}, 1});
  EXPECT_DOUBLE_EQ(c.get("stride"), 2.0);
  // The paper's maxpool2d row: batch 110, image 152, kernel 6, 493 channels, stride 5, padding 3.
  LayerConfig p{"maxpool2d",
                {{"batch_size", 110}, {"image_size", 152}, {"kernel_size", 6}, {"in_channels", 493}, {"stride", 5},
                 {"padding", 3}}};
  EXPECT_EQ(config_counts(p).ops, 110LL * 493 * 31 * 31 * 36);
}

TEST(LayerConfig, FromConfigListsEveryProblem) {
  LayerConfig c{"conv2d", {{"batch_size", 0}, {"image_size", 5}, {"kernel_size", 9}, {"in_channels", 3},
                           {"out_channels", 4}, {"stride", 1}, {"padding", 1}}};
  try {
    from_config(c);
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0], "conv2d: batch_size 0 must be >= 1");
  }
  c.set("batch_size", 2);
  try {
    from_config(c);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.problems().size(), 2u);  // height and width
    EXPECT_EQ(e.problems()[0], "conv2d: kernel_size 9 is larger than the padded input 7 (height 5 + 2*padding 1)");
  }
  LayerConfig missing{"linear", {{"batch_size", 1}, {"input_size", 2.5}}};
  try {
    from_config(missing);
    FAIL();
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0], "linear: input_size 2.5 must be an integer");
    EXPECT_EQ(e.problems()[1], "linear: missing parameter output_size");
  }
}

}  // namespace
}  // namespace dle::layers
