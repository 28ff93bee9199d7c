#include <gtest/gtest.h>

#include <cmath>

#include "core/errors.hpp"
#include "predict/features.hpp"

namespace dle::predict {
namespace {

using Names = std::vector<std::string>;

layers::LayerConfig conv(double batch, double image, double kernel, double in, double out, double stride, double pad) {
  return {"conv2d", {{"batch_size", batch}, {"image_size", image}, {"kernel_size", kernel}, {"in_channels", in},
                     {"out_channels", out}, {"stride", stride}, {"padding", pad}}};
}

TEST(FeatureSets, ExpandInGroupOrderWithoutDuplicates) {
  EXPECT_EQ(expand_feature_set("relu", "base+log1p+macs"),
            (Names{"batch_size", "input_size", "log1p(batch_size)", "log1p(input_size)", "macs"}));
  EXPECT_EQ(expand_feature_set("linear", "macs+batch_size+base"),
            (Names{"macs", "batch_size", "input_size", "output_size"}));
  EXPECT_EQ(expand_feature_set("maxpool2d", "base+log1p+paper_macs").size(), 13u);
  EXPECT_EQ(expand_feature_set("conv2d", "log1p_macs+bytes"), (Names{"log1p(macs)", "bytes"}));
}

TEST(FeatureSets, UnknownGroupOrTypeIsAConfigErrorNamingIt) {
  try {
    expand_feature_set("conv2d", "macs+flops");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'flops'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("log1p_macs"), std::string::npos) << e.what();
  }
  EXPECT_THROW(expand_feature_set("dropout", "macs"), ConfigError);
  EXPECT_THROW(FeatureExtractor("conv2d", {"log1p(flops)"}), ConfigError);
  EXPECT_THROW(FeatureExtractor("relu", {"kernel_size"}), ConfigError);
}

TEST(FeatureExtractor, ComputesParamsCountsAndLogs) {
  const FeatureExtractor fx("conv2d", {"batch_size", "log1p(batch_size)", "macs", "paper_macs", "bytes", "log1p(macs)"});
  double v[6];
  fx.extract(conv(2, 8, 3, 4, 5, 1, 1), v);  // output 5 x 8 x 8
  EXPECT_EQ(v[0], 2.0);
  EXPECT_DOUBLE_EQ(v[1], std::log(3.0));
  EXPECT_EQ(v[2], 2.0 * 5 * 64 * 4 * 9);          // MACs without bias: 23040
  EXPECT_EQ(v[3], 2.0 * 5 * 64 * (4 * 9 + 1));    // the paper counts the bias: 23680
  EXPECT_EQ(v[4], (2.0 * (4 * 64 + 5 * 64) + (5 * 4 * 9 + 5)) * 4);  // float32 input + output + weights
  EXPECT_DOUBLE_EQ(v[5], std::log1p(23040.0));
}

TEST(FeatureExtractor, PaperMacsOfMaxPoolIsHalfTheComparisonsRoundedDown) {
  const FeatureExtractor fx("maxpool2d", {"macs", "paper_macs"});
  double v[2];
  fx.extract({"maxpool2d", {{"batch_size", 1}, {"image_size", 3}, {"kernel_size", 3}, {"in_channels", 1}, {"stride", 1}, {"padding", 0}}}, v);
  EXPECT_EQ(v[0], 9.0);
  EXPECT_EQ(v[1], 4.0);
}

TEST(FeatureExtractor, TrafficAndFreshOutputsDependOnInPlace) {
  const FeatureExtractor fx("relu", {"bytes", "traffic", "fresh_outputs"});
  double v[3];
  // 2 x 1000 elements, out of place: reads 8000 B, writes 8000 B, reads the new output for ownership 8000 B.
  fx.extract({"relu", {{"batch_size", 2}, {"input_size", 1000}}}, v);
  EXPECT_EQ(v[0], 16000.0);
  EXPECT_EQ(v[1], 24000.0);
  EXPECT_EQ(v[2], 0.0);  // 8000 B output: far below the 32 MiB fresh-mmap threshold
  // In place: the lines just read are written back, no new buffer.
  fx.extract({"relu", {{"batch_size", 2}, {"input_size", 1000}, {"inplace", 1}}}, v);
  EXPECT_EQ(v[0], 16000.0);
  EXPECT_EQ(v[1], 16000.0);
  EXPECT_EQ(v[2], 0.0);
  // 4 x 2^21 elements = 32 MiB exactly is not above the threshold; one more element per sample is.
  fx.extract({"relu", {{"batch_size", 4}, {"input_size", 2097152}}}, v);
  EXPECT_EQ(v[1], 12.0 * 4 * 2097152);
  EXPECT_EQ(v[2], 0.0);
  fx.extract({"relu", {{"batch_size", 4}, {"input_size", 2097153}}}, v);
  EXPECT_EQ(v[2], 4.0 * 2097153);
  fx.extract({"relu", {{"batch_size", 4}, {"input_size", 2097153}, {"inplace", 1}}}, v);
  EXPECT_EQ(v[1], 8.0 * 4 * 2097153);
  EXPECT_EQ(v[2], 0.0);
  // A convolution writes a new buffer: traffic = bytes + 4 per output element (2 x 5 x 8 x 8 = 640).
  const FeatureExtractor cfx("conv2d", {"bytes", "traffic"});
  cfx.extract(conv(2, 8, 3, 4, 5, 1, 1), v);
  EXPECT_EQ(v[1], v[0] + 4.0 * 640);
}

TEST(FeatureExtractor, BlockedMacsRoundChannelsUpToSixteen) {
  const FeatureExtractor fx("conv2d", {"macs", "blocked_macs", "log1p(blocked_macs)"});
  double v[3];
  // 2 x 8 x 8 outputs per channel pair, 3 x 3 window: 1152 MACs per (in, out) channel pair.
  const double per_pair = 2.0 * 8 * 8 * 9;
  fx.extract(conv(2, 8, 3, 64, 64, 1, 1), v);  // whole blocks: no padding
  EXPECT_EQ(v[0], per_pair * 64 * 64);
  EXPECT_EQ(v[1], per_pair * 64 * 64);
  fx.extract(conv(2, 8, 3, 65, 17, 1, 1), v);  // 65 -> 80 input, 17 -> 32 output channels
  EXPECT_EQ(v[0], per_pair * 65 * 17);
  EXPECT_DOUBLE_EQ(v[1], per_pair * 80 * 32);
  EXPECT_DOUBLE_EQ(v[2], std::log1p(per_pair * 80 * 32));
  fx.extract(conv(2, 8, 3, 3, 64, 1, 1), v);  // an RGB input is read unpadded, 15 too; 16 is a whole block
  EXPECT_EQ(v[1], per_pair * 3 * 64);
  fx.extract(conv(2, 8, 3, 15, 1, 1, 1), v);
  EXPECT_DOUBLE_EQ(v[1], per_pair * 15 * 16);
  fx.extract(conv(2, 8, 3, 16, 1, 1, 1), v);
  EXPECT_DOUBLE_EQ(v[1], per_pair * 16 * 16);
  // Only convolutions are blocked this way.
  EXPECT_THROW(FeatureExtractor("linear", {"blocked_macs"}), ConfigError);
  EXPECT_THROW(FeatureExtractor("maxpool2d", {"narrow_input"}), ConfigError);
  EXPECT_EQ(expand_feature_set("conv2d", "log1p_blocked_macs+log1p_io"),
            (Names{"log1p(blocked_macs)", "log1p(inputs)", "log1p(outputs)"}));
}

TEST(FeatureExtractor, NarrowInputFlagsFewerThanSixteenInputChannels) {
  const FeatureExtractor fx("conv2d", expand_feature_set("conv2d", "narrow_input"));
  ASSERT_EQ(fx.columns(), (Names{"narrow_input"}));  // an indicator: not log-transformed
  double v = -1;
  for (const auto& [in, flag] : std::vector<std::pair<double, double>>{{1, 1}, {3, 1}, {15, 1}, {16, 0}, {64, 0}}) {
    fx.extract(conv(2, 8, 3, in, 64, 1, 1), &v);
    EXPECT_EQ(v, flag) << in << " input channels";
  }
}

TEST(FeatureExtractor, AlignedRowsFlagsWeightRowsAMultipleOfFourKiB) {
  const FeatureExtractor fx("linear", expand_feature_set("linear", "log1p_macs+aligned_rows"));
  ASSERT_EQ(fx.columns(), (Names{"log1p(macs)", "aligned_rows"}));
  double v[2];
  // 1024 floats = 4 KiB; AlexNet's 9216 = 9 x 1024 and VGG's 4096 flag; 2 KiB rows (VGG's 25088 = 24.5 x 1024,
  // 4608) and rows one float off do not.
  for (const auto& [in, flag] : std::vector<std::pair<double, double>>{
           {1024, 1}, {4096, 1}, {9216, 1}, {3072, 1}, {4095, 0}, {4097, 0}, {4608, 0}, {25088, 0}, {512, 0}}) {
    fx.extract({"linear", {{"batch_size", 8}, {"input_size", in}, {"output_size", 1000}}}, v);
    EXPECT_EQ(v[1], flag) << in << " input features";
    EXPECT_DOUBLE_EQ(v[0], std::log1p(8.0 * in * 1000));
  }
  EXPECT_THROW(FeatureExtractor("conv2d", {"aligned_rows"}), ConfigError);
}

TEST(FeatureSets, StrideAndKernelGroupsApplyToWindowedLayersOnly) {
  EXPECT_EQ(expand_feature_set("conv2d", "log1p_macs+log1p_io+log1p_stride"),
            (Names{"log1p(macs)", "log1p(inputs)", "log1p(outputs)", "log1p(stride)"}));
  EXPECT_EQ(expand_feature_set("maxpool2d", "log1p_kernel+log1p_stride"),
            (Names{"log1p(kernel_size)", "log1p(stride)"}));
  // The group expands, but linear has no stride: the extractor names the column and the valid ones.
  try {
    FeatureExtractor("linear", expand_feature_set("linear", "log1p_macs+log1p_stride"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'log1p(stride)'"), std::string::npos) << e.what();
  }
}

TEST(FeatureUnits, WorkIsInTheTypesOwnUnitBytesInBytesParametersInTheirOwnFlagsHaveNone) {
  EXPECT_EQ(feature_unit("conv2d", "macs"), "MACs");
  EXPECT_EQ(feature_unit("conv2d", "log1p(blocked_macs)"), "MACs");
  EXPECT_EQ(feature_unit("linear", "paper_macs"), "MACs");
  EXPECT_EQ(feature_unit("maxpool2d", "log1p(macs)"), "comparisons");
  EXPECT_EQ(feature_unit("relu", "macs"), "elements");
  EXPECT_EQ(feature_unit("relu", "traffic"), "bytes");
  EXPECT_EQ(feature_unit("linear", "log1p(bytes)"), "bytes");
  EXPECT_EQ(feature_unit("relu", "fresh_outputs"), "elements");
  EXPECT_EQ(feature_unit("conv2d", "log1p(inputs)"), "elements");
  EXPECT_EQ(feature_unit("linear", "input_size"), "features");  // a schema parameter: layers::param_unit
  EXPECT_EQ(feature_unit("tanh", "log1p(input_size)"), "elements per sample");
  EXPECT_EQ(feature_unit("linear", "log1p(batch_size)"), "samples");
  EXPECT_EQ(feature_unit("conv2d", "kernel_size"), "pixels");
  EXPECT_EQ(feature_unit("maxpool2d", "in_channels"), "channels");
  EXPECT_EQ(feature_unit("linear", "aligned_rows"), "");  // a 0/1 flag
  EXPECT_EQ(feature_unit("conv2d", "narrow_input"), "");
}

TEST(FeatureExtractor, MissingParameterIsAConfigError) {
  const FeatureExtractor fx("relu", {"batch_size", "input_size"});
  double v[2];
  EXPECT_THROW(fx.extract({"relu", {{"batch_size", 4}}}, v), ConfigError);
}

TEST(Polynomial, SklearnColumnOrder) {
  const Names abc{"a", "b", "c"};
  EXPECT_EQ(polynomial_names(abc, Polynomial::kFull), (Names{"a", "b", "c", "a^2", "a b", "a c", "b^2", "b c", "c^2"}));
  EXPECT_EQ(polynomial_names(abc, Polynomial::kInteraction), (Names{"a", "b", "c", "a b", "a c", "b c"}));
  EXPECT_EQ(polynomial_names(abc, Polynomial::kNone), abc);
  EXPECT_EQ(polynomial_size(3, Polynomial::kFull), 9u);
  EXPECT_EQ(polynomial_size(3, Polynomial::kInteraction), 6u);
  EXPECT_EQ(polynomial_size(1, Polynomial::kInteraction), 1u);
  const double in[3] = {2, 3, 5};
  double out[9];
  polynomial_expand(in, 3, Polynomial::kFull, out);
  EXPECT_EQ(std::vector<double>(out, out + 9), (std::vector<double>{2, 3, 5, 4, 6, 10, 9, 15, 25}));
  polynomial_expand(in, 3, Polynomial::kInteraction, out);
  EXPECT_EQ(std::vector<double>(out, out + 6), (std::vector<double>{2, 3, 5, 6, 10, 15}));
  EXPECT_THROW(polynomial_from_string("cubic"), ConfigError);
}

}  // namespace
}  // namespace dle::predict
