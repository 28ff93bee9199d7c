#include <gtest/gtest.h>

#include <map>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"

namespace dle::arch {
namespace {

using layers::Shape;

std::int64_t conv_linear_macs(const InferredArchitecture& a) {
  std::int64_t sum = 0;
  for (const auto& l : a.layers) {
    const auto t = layers::type_name(l.spec);
    if (t == "conv2d" || t == "linear") sum += l.counts.macs;
  }
  return sum;
}

TEST(Zoo, MacTotalsOfConvAndLinearLayersAtBatchOne) {
  const std::map<std::string, std::int64_t> expected = {{"alexnet", 714188480LL},
                                                        {"vgg11", 7609090048LL},
                                                        {"vgg13", 11308466176LL},
                                                        {"vgg16", 15470264320LL},
                                                        {"vgg19", 19632062464LL}};
  for (const auto& [name, macs] : expected) {
    const auto a = infer(zoo(name), 1);
    EXPECT_EQ(conv_linear_macs(a), macs) << name;
    EXPECT_EQ(a.total.macs, macs) << name;  // only conv and linear layers have MACs
  }
}

TEST(Zoo, MacsScaleLinearlyWithBatchSize) {
  for (const auto& name : zoo_names()) {
    const auto one = infer(zoo(name), 1);
    for (std::int64_t b : {2, 7, 64, 256}) {
      const auto many = infer(zoo(name), b);
      EXPECT_EQ(many.total.macs, b * one.total.macs) << name << " batch " << b;
      EXPECT_EQ(many.total.ops, b * one.total.ops) << name;
      // Weights are read once per pass; activations scale with the batch.
      EXPECT_EQ(many.total.bytes - one.total.bytes, (b - 1) * (one.total.bytes - one.total.params * 4)) << name;
    }
  }
}

TEST(Zoo, AlexNetShapesLayerByLayer) {
  const auto a = infer(zoo("alexnet"), 1);
  const std::vector<Shape> out = {{64, 55, 55},  {64, 55, 55},  {64, 27, 27},  {192, 27, 27}, {192, 27, 27},
                                  {192, 13, 13}, {384, 13, 13}, {384, 13, 13}, {256, 13, 13}, {256, 13, 13},
                                  {256, 13, 13}, {256, 13, 13}, {256, 6, 6},   {256, 6, 6},   {9216},
                                  {9216},        {4096},        {4096},        {4096},        {4096},
                                  {4096},        {1000}};
  ASSERT_EQ(a.layers.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_EQ(a.layers[i].output, out[i]) << "layer " << i;
  EXPECT_EQ(a.total.params, 61100840);  // torchvision alexnet: 61,100,840 parameters
}

TEST(Zoo, VggShapesAtEveryStage) {
  const std::map<std::string, std::pair<size_t, std::int64_t>> sizes = {
      // layers in our list (incl. Flatten), parameters (torchvision)
      {"vgg11", {30, 132863336}},
      {"vgg13", {34, 133047848}},
      {"vgg16", {40, 138357544}},
      {"vgg19", {46, 143667240}}};
  for (const auto& [name, expect] : sizes) {
    const auto a = infer(zoo(name), 1);
    EXPECT_EQ(a.layers.size(), expect.first) << name;
    EXPECT_EQ(a.total.params, expect.second) << name;
    std::vector<Shape> after_pools;
    for (const auto& l : a.layers)
      if (layers::type_name(l.spec) == "maxpool2d") after_pools.push_back(l.output);
    ASSERT_EQ(after_pools.size(), 5u) << name;
    EXPECT_EQ(after_pools[0], (Shape{64, 112, 112})) << name;
    EXPECT_EQ(after_pools[1], (Shape{128, 56, 56})) << name;
    EXPECT_EQ(after_pools[2], (Shape{256, 28, 28})) << name;
    EXPECT_EQ(after_pools[3], (Shape{512, 14, 14})) << name;
    EXPECT_EQ(after_pools[4], (Shape{512, 7, 7})) << name;
    EXPECT_EQ(a.layers.back().output, (Shape{1000})) << name;
    // AdaptiveAvgPool to 7x7, Flatten, then the classifier with dropout.
    const auto& avg = a.layers[a.layers.size() - 9];
    EXPECT_EQ(layers::type_name(avg.spec), "adaptiveavgpool2d") << name;
    EXPECT_EQ(layers::type_name(a.layers[a.layers.size() - 8].spec), "flatten") << name;
    EXPECT_EQ(a.layers[a.layers.size() - 8].output, (Shape{25088})) << name;
  }
}

TEST(Zoo, TorchvisionLeafIndicesSkipFlatten) {
  const auto idx = torchvision_leaf_indices(zoo("alexnet"));
  ASSERT_EQ(idx.size(), 22u);
  EXPECT_EQ(idx[0], 1);    // features.0 Conv2d
  EXPECT_EQ(idx[13], 14);  // avgpool
  EXPECT_EQ(idx[14], 0);   // our Flatten: no torchvision module
  EXPECT_EQ(idx[15], 15);  // classifier.0 Dropout
  EXPECT_EQ(idx[21], 21);  // classifier.6 Linear
}

TEST(Zoo, UnknownNameListsTheZoo) {
  try {
    zoo("resnet50");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("built-in: alexnet, vgg11, vgg13, vgg16, vgg19"), std::string::npos);
  }
}

TEST(Infer, RejectsBatchSizeZero) { EXPECT_THROW(infer(zoo("vgg11"), 0), ConfigError); }

TEST(Infer, BatchSizeTooLargeToCountNamesTheLargestThatFits) {
  // VGG16's bytes per pass (weights once, activations per sample) reach 2^63 - 1 just above 297,779,921
  // samples: the largest batch size is found by bisection and named.
  EXPECT_EQ(infer(zoo("vgg16"), 297'779'921).total.macs, 297'779'921LL * 15'470'264'320LL);
  try {
    infer(zoo("vgg16"), 1LL << 40);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("vgg16 at batch size 1099511627776 is too large to count"), std::string::npos) << m;
    EXPECT_NE(m.find("use a batch size of at most 297779921"), std::string::npos) << m;
  }
  EXPECT_THROW(infer(zoo("vgg16"), 297'779'922), ConfigError);
}

TEST(Infer, LayerTooLargeToCountForOneSampleIsNamed) {
  Architecture a;
  a.name = "huge";
  a.input = {10'000'000'000};
  a.layers = {layers::LinearSpec{10'000'000'000, 10'000'000'000, true}};
  try {
    infer(a, 1);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0],
              "layer 0 (linear): its counts (MACs, bytes) exceed 2^63 - 1, the largest 64-bit integer, even for one "
              "sample; check its sizes");
  }
}

}  // namespace
}  // namespace dle::arch
