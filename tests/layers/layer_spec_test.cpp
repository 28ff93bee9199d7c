#include "layers/layer_spec.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace dle::layers {
namespace {

TEST(Conv2d, OutputShapeAndCounts) {
  const Conv2dSpec c{3, 64, 11, 4, 2, 1, true};
  const Shape in = {3, 224, 224};
  EXPECT_EQ(output_shape(c, in), (Shape{64, 55, 55}));
  const Counts k = counts(c, in, 2);
  EXPECT_EQ(k.macs, 2LL * 64 * 55 * 55 * 3 * 11 * 11);        // 140,553,600
  EXPECT_EQ(k.flops, 2 * k.macs + 2LL * 64 * 55 * 55);          // bias adds once per output element
  EXPECT_EQ(k.params, 64LL * 3 * 11 * 11 + 64);
  EXPECT_EQ(k.bytes, (2LL * (3 * 224 * 224 + 64 * 55 * 55) + k.params) * 4);
}

TEST(Conv2d, GroupsDivideTheMacs) {
  const Conv2dSpec c{32, 64, 3, 1, 1, 4, false};
  const Counts k = counts(c, {32, 8, 8}, 1);
  EXPECT_EQ(k.macs, 64LL * 8 * 8 * (32 / 4) * 9);
  EXPECT_EQ(k.flops, 2 * k.macs);  // no bias
}

TEST(Conv2d, ValidateListsEveryProblemWithFieldAndValue) {
  const auto p = validate(Conv2dSpec{0, -2, 0, 0, -1, 1, true});
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0], "in_channels 0 must be >= 1");
  EXPECT_EQ(p[1], "out_channels -2 must be >= 1");
  EXPECT_EQ(p[2], "kernel_size 0 must be >= 1");
  EXPECT_EQ(p[3], "stride 0 must be >= 1");
  EXPECT_EQ(p[4], "padding -1 must be >= 0");
}

TEST(Conv2d, KernelLargerThanPaddedInputIsNamed) {
  const auto p = check_input(Conv2dSpec{3, 8, 9, 1, 1, 1, true}, {3, 5, 5});
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "kernel_size 9 is larger than the padded input 7 (height 5 + 2*padding 1)");
  EXPECT_THROW(output_shape(Conv2dSpec{3, 8, 9, 1, 1, 1, true}, {3, 5, 5}), ConfigError);
}

TEST(Conv2d, ChannelMismatch) {
  const auto p = check_input(Conv2dSpec{64, 8, 3, 1, 1, 1, true}, {3, 32, 32});
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "in_channels 64 does not match the input's 3 channels (input 3x32x32)");
}

TEST(MaxPool2d, ShapeCountsAndDefaultStride) {
  const MaxPool2dSpec m{3, 2, 0};
  EXPECT_EQ(output_shape(m, {64, 55, 55}), (Shape{64, 27, 27}));
  EXPECT_EQ(output_shape(MaxPool2dSpec{2, 0, 0}, {8, 10, 10}), (Shape{8, 5, 5}));  // stride 0 = kernel
  const Counts k = counts(m, {64, 55, 55}, 3);
  EXPECT_EQ(k.macs, 0);
  EXPECT_EQ(k.ops, 3LL * 64 * 27 * 27 * 9);
  EXPECT_EQ(k.bytes, 3LL * (64 * 55 * 55 + 64 * 27 * 27) * 4);
  EXPECT_EQ(validate(MaxPool2dSpec{2, 2, 2}).size(), 1u);  // padding > kernel/2
}

TEST(Linear, ShapeCountsAndMismatch) {
  const LinearSpec l{9216, 4096, true};
  EXPECT_EQ(output_shape(l, {9216}), (Shape{4096}));
  const Counts k = counts(l, {9216}, 4);
  EXPECT_EQ(k.macs, 4LL * 9216 * 4096);
  EXPECT_EQ(k.params, 9216LL * 4096 + 4096);
  EXPECT_EQ(check_input(l, {256, 6, 6}).size(), 1u);
  EXPECT_EQ(check_input(l, {100})[0], "in_features 9216 does not match the input's 100 features");
}

TEST(Counts, OverflowIsFlaggedNotWrapped) {
  // 3e9 x 3e9 MACs (9e18) fit below 2^63 - 1 (9.22e18); 2 x that in flops does not.
  const LinearSpec big{3'000'000'000, 3'000'000'000, false};
  const Counts k = counts_of_valid(big, {3'000'000'000}, 1);
  EXPECT_TRUE(k.overflow);
  EXPECT_EQ(k.macs, 9'000'000'000'000'000'000LL);  // the MACs themselves fit
  // VGG16's first convolution at batch 1 does 86,704,128 MACs; at 2^40 samples that is 9.5e19.
  const Conv2dSpec conv{3, 64, 3, 1, 1, 1, true};
  EXPECT_FALSE(counts_of_valid(conv, {3, 224, 224}, 1).overflow);
  EXPECT_EQ(counts_of_valid(conv, {3, 224, 224}, 1).macs, 86'704'128LL);
  EXPECT_TRUE(counts_of_valid(conv, {3, 224, 224}, 1LL << 40).overflow);
  // An input whose element count alone overflows.
  EXPECT_TRUE(counts_of_valid(ReLUSpec{}, {10'000'000, 10'000'000, 10'000'000}, 1).overflow);
  EXPECT_TRUE(counts_of_valid(FlattenSpec{}, {10'000'000, 10'000'000, 10'000'000}, 1).overflow);
}

TEST(Elementwise, CountOneOpPerElementAndKeepShape) {
  for (const LayerSpec& s : std::vector<LayerSpec>{ReLUSpec{}, TanhSpec{}, SigmoidSpec{}, SoftmaxSpec{1}}) {
    EXPECT_EQ(output_shape(s, {4, 5, 6}), (Shape{4, 5, 6})) << type_name(s);
    const Counts k = counts(s, {4, 5, 6}, 10);
    EXPECT_EQ(k.ops, 10 * 120) << type_name(s);
    EXPECT_EQ(k.macs, 0) << type_name(s);
    EXPECT_EQ(k.bytes, 2 * 10 * 120 * 4) << type_name(s);
  }
}

TEST(ZeroWork, DropoutFlattenAndIdentityAdaptivePool) {
  EXPECT_TRUE(is_zero_work(DropoutSpec{0.5}, {4096}));
  EXPECT_TRUE(is_zero_work(FlattenSpec{}, {256, 6, 6}));
  EXPECT_EQ(output_shape(FlattenSpec{}, {256, 6, 6}), (Shape{9216}));
  EXPECT_TRUE(is_zero_work(AdaptiveAvgPool2dSpec{6, 6}, {256, 6, 6}));
  EXPECT_FALSE(is_zero_work(AdaptiveAvgPool2dSpec{1, 1}, {256, 6, 6}));
  EXPECT_FALSE(is_zero_work(ReLUSpec{}, {10}));
  EXPECT_NE(zero_work_reason(DropoutSpec{0.5}, {10}).find("0 J by definition"), std::string::npos);
  EXPECT_EQ(counts(AdaptiveAvgPool2dSpec{1, 1}, {8, 4, 4}, 2).ops, 2 * 8 * 16);
}

TEST(Names, TypeNamesAndParams) {
  EXPECT_EQ(type_names().size(), 10u);
  EXPECT_EQ(type_name(LayerSpec{AdaptiveAvgPool2dSpec{7, 7}}), "adaptiveavgpool2d");
  EXPECT_EQ(params_to_string(Conv2dSpec{3, 64, 3, 1, 1, 1, true}),
            "in_channels=3 out_channels=64 kernel_size=3 stride=1 padding=1 groups=1 bias=true");
  EXPECT_EQ(params_to_string(DropoutSpec{0.25}), "p=0.25");
  EXPECT_EQ(validate(DropoutSpec{1.0}).at(0), "p 1 must be in [0, 1)");
}

}  // namespace
}  // namespace dle::layers
