#include "layers/spec_fields.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace dle::layers {
namespace {

TEST(MakeSpec, BuildsFromTextWithDefaults) {
  std::vector<std::string> problems;
  const auto s = make_spec("conv2d", {{"in_channels", "3"}, {"out_channels", "8"}, {"kernel_size", "5"}}, "layer 0",
                           problems);
  ASSERT_TRUE(problems.empty());
  const auto& c = std::get<Conv2dSpec>(s);
  EXPECT_EQ(c.kernel_size, 5);
  EXPECT_EQ(c.stride, 1);
  EXPECT_TRUE(c.bias);
}

TEST(MakeSpec, ReportsEveryProblem) {
  std::vector<std::string> problems;
  make_spec("conv2d", {{"in_channels", "three"}, {"kernel", "3"}, {"out_channels", "-4"}}, "layer 2 (conv2d)",
            problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "layer 2 (conv2d): field in_channels: 'three' is not an integer");
  EXPECT_EQ(problems[1],
            "layer 2 (conv2d): unknown field 'kernel'; valid fields: in_channels, out_channels, kernel_size, stride, "
            "padding, groups, bias");
  EXPECT_EQ(problems[2], "layer 2 (conv2d): missing required field kernel_size (square kernel side)");
}

TEST(MakeSpec, InvalidValuesAreReportedAfterParsing) {
  std::vector<std::string> problems;
  make_spec("linear", {{"in_features", "0"}, {"out_features", "10"}}, "layer 5 (linear)", problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "layer 5 (linear): in_features 0 must be >= 1");
}

TEST(MakeSpec, UnknownTypeListsKnownTypes) {
  std::vector<std::string> problems;
  make_spec("batchnorm2d", {}, "layer 1", problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("unknown layer type 'batchnorm2d'; known types: conv2d, maxpool2d"), std::string::npos);
  EXPECT_THROW(fields_of("batchnorm2d"), ConfigError);
}

TEST(MakeSpec, AdaptivePoolOutputSizeSetsBoth) {
  std::vector<std::string> problems;
  const auto s = make_spec("adaptiveavgpool2d", {{"output_size", "7"}}, "layer 0", problems);
  ASSERT_TRUE(problems.empty());
  EXPECT_EQ(std::get<AdaptiveAvgPool2dSpec>(s).output_width, 7);
  make_spec("adaptiveavgpool2d", {}, "layer 0", problems);
  EXPECT_EQ(problems.size(), 1u);
}

}  // namespace
}  // namespace dle::layers
