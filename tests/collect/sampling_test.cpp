// Sampling: reproducible from the seed, valid and distinct configurations, rules named on rejection, grid
// and zoo-derived configurations.
#include <gtest/gtest.h>

#include <set>

#include "collect/collectors.hpp"
#include "collect/sampling.hpp"
#include "core/errors.hpp"

using namespace dle;
using namespace dle::collect;

namespace {

std::vector<std::string> texts(const std::vector<layers::LayerConfig>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.to_string());
  return out;
}

layers::LayerConfig cfg(const std::string& type, std::vector<std::pair<std::string, double>> values) {
  layers::LayerConfig c;
  c.type = type;
  c.values = std::move(values);
  return c;
}

std::vector<ParamRange> ranges_with(const std::string& type, const std::vector<std::string>& overrides) {
  std::vector<std::string> problems;
  auto r = resolve_ranges(collector(type), overrides, problems);
  EXPECT_TRUE(problems.empty()) << (problems.empty() ? "" : problems.front());
  return r;
}

}  // namespace

TEST(Collectors, RegistryHasEveryLayerTypeAndArchitectures) {
  register_builtin_collectors();
  EXPECT_EQ(collector_registry().names(),
            (std::vector<std::string>{"conv2d", "maxpool2d", "linear", "relu", "sigmoid", "tanh", "softmax",
                                      "architectures"}));
  for (const auto& t : layers::configurable_types()) {
    const auto& c = collector(t);
    // The schema's parameters in order, then the optional values (relu's inplace), fixed at their default.
    std::vector<std::string> names = layers::config_params(t);
    for (const auto& o : layers::optional_params(t)) names.push_back(o.name);
    ASSERT_EQ(c.ranges.size(), names.size()) << t;
    for (std::size_t i = 0; i < c.ranges.size(); ++i) EXPECT_EQ(c.ranges[i].name, names[i]);
    for (std::size_t i = layers::config_params(t).size(); i < c.ranges.size(); ++i)
      EXPECT_TRUE(fixed_at_default(t, c.ranges[i])) << t << " " << c.ranges[i].name;
  }
  EXPECT_EQ(collector("relu").ranges.back().to_string(), "0");  // inplace
  EXPECT_THROW(collector("lstm"), ConfigError);
}

TEST(Collectors, PaperDefaultRanges) {
  const auto& conv = collector("conv2d");
  EXPECT_EQ(conv.ranges[0].to_string(), "1:256");   // batch_size
  EXPECT_EQ(conv.ranges[1].to_string(), "4:224");   // image_size
  EXPECT_EQ(conv.ranges[2].to_string(), "1:11");    // kernel_size
  EXPECT_EQ(conv.ranges[3].to_string(), "1:512");   // in_channels
  EXPECT_EQ(conv.ranges[4].to_string(), "1:512");   // out_channels
  EXPECT_EQ(conv.ranges[5].to_string(), "1:5");     // stride
  EXPECT_EQ(conv.ranges[6].to_string(), "0:3");     // padding
  EXPECT_EQ(collector("maxpool2d").ranges.size(), 6u);
  EXPECT_EQ(collector("linear").ranges[1].to_string(), "1:5000");
  EXPECT_EQ(collector("linear").ranges[0].to_string(), "1:512");
  EXPECT_EQ(collector("tanh").ranges[1].to_string(), "50000:5000000");
}

TEST(Rules, RejectedConfigurationsNameTheBrokenRule) {
  const auto p = check_config(collector("conv2d"), cfg("conv2d", {{"batch_size", 1}, {"image_size", 5}, {"kernel_size", 9},
                                                                  {"in_channels", 3}, {"out_channels", 8}, {"stride", 1},
                                                                  {"padding", 1}}));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("breaks rule `kernel_size <= image_size`"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("image_size=5 kernel_size=9"), std::string::npos) << p[0];

  const auto q = check_config(collector("maxpool2d"), cfg("maxpool2d", {{"batch_size", 1}, {"image_size", 8}, {"kernel_size", 4},
                                                                        {"in_channels", 3}, {"stride", 9}, {"padding", 3}}));
  ASSERT_EQ(q.size(), 2u);
  EXPECT_NE(q[0].find("`stride <= image_size`"), std::string::npos) << q[0];
  EXPECT_NE(q[1].find("`padding <= kernel_size/2`"), std::string::npos) << q[1];

  // No rule broken, but the layer itself is invalid: from_config's message.
  const auto r = check_config(collector("linear"), cfg("linear", {{"batch_size", 2}, {"input_size", 0}, {"output_size", 3}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("in_features 0"), std::string::npos) << r[0];

  EXPECT_TRUE(check_config(collector("maxpool2d"), cfg("maxpool2d", {{"batch_size", 1}, {"image_size", 8}, {"kernel_size", 4},
                                                                       {"in_channels", 3}, {"stride", 2}, {"padding", 2}}))
                  .empty());
}

TEST(ParseRange, AcceptedForms) {
  auto r = parse_range("batch_size", "1:8");
  EXPECT_EQ(r.size(), 8u);
  EXPECT_EQ(r.at(0), 1);
  EXPECT_EQ(r.at(7), 8);
  r = parse_range("kernel_size", "1:9:2");
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r.at(4), 9);
  EXPECT_EQ(r.to_string(), "1:9:2");
  r = parse_range("kernel_size", "1,3,7");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r.at(2), 7);
  r = parse_range("stride", "2");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.at(0), 2);
}

TEST(ParseRange, BadFormsSayWhatToWrite) {
  for (const char* bad : {"8:1", "a:b", "1:4:0", "1,1", "1:2:3:4", ""}) {
    try {
      parse_range("batch_size", bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("batch_size="), std::string::npos) << e.what();
    }
  }
}

TEST(ResolveRanges, TypedOverrideWinsAndUnknownIsReported) {
  const auto r = ranges_with("conv2d", {"conv2d.batch_size=4", "batch_size=1:2", "kernel_size=1,3"});
  EXPECT_EQ(r[0].to_string(), "4");
  EXPECT_EQ(r[2].to_string(), "1,3");
  const auto lin = ranges_with("linear", {"conv2d.batch_size=4", "batch_size=1:2"});
  EXPECT_EQ(lin[0].to_string(), "1:2");

  std::vector<std::string> problems;
  check_overrides({"kernel_size=3", "linear.output_size=5", "relu.image_size=4", "nonsense"}, {"relu", "linear"}, problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].find("kernel_size"), std::string::npos);
  EXPECT_NE(problems[1].find("image_size"), std::string::npos);
  EXPECT_NE(problems[2].find("name=lo:hi"), std::string::npos);
}

TEST(SampleRandom, SameSeedSameListDifferentSeedDifferentList) {
  const auto& c = collector("conv2d");
  const auto a = sample_random(c, c.ranges, 25, 42);
  const auto b = sample_random(c, c.ranges, 25, 42);
  const auto d = sample_random(c, c.ranges, 25, 43);
  ASSERT_EQ(a.configs.size(), 25u);
  EXPECT_EQ(texts(a.configs), texts(b.configs));
  EXPECT_NE(texts(a.configs), texts(d.configs));
  // A longer list from the same seed starts with the shorter one.
  const auto longer = texts(sample_random(c, c.ranges, 30, 42).configs);
  EXPECT_EQ(std::vector<std::string>(longer.begin(), longer.begin() + 25), texts(a.configs));
}

TEST(SampleRandom, KnownFirstDrawIsStableAcrossPlatforms) {
  // mt19937_64 output is fixed by the standard and the uniform mapping is ours, so these values hold everywhere.
  const auto& c = collector("relu");
  const auto a = sample_random(c, ranges_with("relu", {"batch_size=1:4", "input_size=10:20"}), 3, 1);
  ASSERT_EQ(a.configs.size(), 3u);
  const auto again = sample_random(c, ranges_with("relu", {"batch_size=1:4", "input_size=10:20"}), 3, 1);
  EXPECT_EQ(texts(a.configs), texts(again.configs));
  for (const auto& cf : a.configs) {
    EXPECT_GE(cf.get("batch_size"), 1);
    EXPECT_LE(cf.get("batch_size"), 4);
    EXPECT_GE(cf.get("input_size"), 10);
    EXPECT_LE(cf.get("input_size"), 20);
  }
}

TEST(SampleRandom, EveryConfigIsValidDistinctAndInRange) {
  for (const auto& type : layers::configurable_types()) {
    const auto& c = collector(type);
    const auto s = sample_random(c, c.ranges, 200, 7);
    ASSERT_EQ(s.configs.size(), 200u) << type;
    std::set<std::string> distinct;
    for (const auto& cf : s.configs) {
      EXPECT_TRUE(check_config(c, cf).empty()) << cf.to_string();
      distinct.insert(cf.to_string());
      for (const auto& r : c.ranges) {
        if (fixed_at_default(type, r)) {  // left out of the configuration
          EXPECT_FALSE(cf.has(r.name)) << cf.to_string();
          continue;
        }
        EXPECT_GE(cf.get(r.name), r.lo) << cf.to_string();
        EXPECT_LE(cf.get(r.name), r.hi) << cf.to_string();
      }
    }
    EXPECT_EQ(distinct.size(), 200u) << type;
  }
  // conv2d rejects draws with kernels larger than the image, and counts them by rule.
  const auto& conv = collector("conv2d");
  const auto s = sample_random(conv, ranges_with("conv2d", {"image_size=4:6", "kernel_size=1:11"}), 20, 3);
  std::uint64_t rejected_by_kernel_rule = 0;
  for (const auto& [rule, n] : s.rejected)
    if (rule.find("`kernel_size <= image_size`") != std::string::npos) rejected_by_kernel_rule += n;
  EXPECT_GT(rejected_by_kernel_rule, 0u);
}

TEST(SampleRandom, TooFewValidConfigurationsIsAnErrorNamingTheRule) {
  const auto& c = collector("conv2d");
  try {
    sample_random(c, ranges_with("conv2d", {"image_size=4:5", "kernel_size=9:11"}), 3, 1);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("found only 0"), std::string::npos) << m;
    EXPECT_NE(m.find("kernel_size <= image_size"), std::string::npos) << m;
  }
  // Only 4 distinct configurations exist: asking for 5 fails, 4 succeeds.
  const auto small = ranges_with("relu", {"batch_size=1:2", "input_size=1:2"});
  EXPECT_EQ(sample_random(collector("relu"), small, 4, 1).configs.size(), 4u);
  EXPECT_THROW(sample_random(collector("relu"), small, 5, 1), ConfigError);
}

TEST(SampleGrid, CartesianProductInOdometerOrder) {
  const auto s = sample_grid(collector("linear"), ranges_with("linear", {"batch_size=1,2", "input_size=10:30:10", "output_size=5"}));
  EXPECT_EQ(texts(s.configs),
            (std::vector<std::string>{"linear batch_size=1 input_size=10 output_size=5",
                                      "linear batch_size=1 input_size=20 output_size=5",
                                      "linear batch_size=1 input_size=30 output_size=5",
                                      "linear batch_size=2 input_size=10 output_size=5",
                                      "linear batch_size=2 input_size=20 output_size=5",
                                      "linear batch_size=2 input_size=30 output_size=5"}));
}

TEST(SampleGrid, InvalidPointsAreDroppedAndCounted) {
  // kernel 1..4 x padding 0..2: valid when 2*padding <= kernel: 1 + 2 + 2 + 3 = 8 of 12.
  const auto s = sample_grid(collector("maxpool2d"),
                             ranges_with("maxpool2d", {"batch_size=1", "image_size=8", "kernel_size=1:4", "in_channels=2",
                                                       "stride=1", "padding=0:2"}));
  EXPECT_EQ(s.configs.size(), 8u);
  EXPECT_EQ(s.draws, 12u);
  std::uint64_t rejected = 0;
  for (const auto& [rule, n] : s.rejected) {
    EXPECT_NE(rule.find("padding <= kernel_size/2"), std::string::npos) << rule;
    rejected += n;
  }
  EXPECT_EQ(rejected, 4u);
}

TEST(SampleGrid, HugeGridIsRefused) {
  const auto& c = collector("conv2d");
  EXPECT_THROW(sample_grid(c, c.ranges), ConfigError);
}

TEST(SampleFromArchitectures, DistinctVgg16ConvolutionsPerBatchSize) {
  // VGG16's 13 convolutions have 9 distinct (image, in, out) shapes.
  const auto one = sample_from_architectures(collector("conv2d"), {"vgg16"}, {1});
  EXPECT_EQ(one.configs.size(), 9u);
  EXPECT_EQ(one.configs.front().to_string(),
            "conv2d batch_size=1 image_size=224 kernel_size=3 in_channels=3 out_channels=64 stride=1 padding=1");
  const auto two = sample_from_architectures(collector("conv2d"), {"vgg16", "vgg11"}, {1, 4});
  // Every VGG11 convolution shape also occurs in VGG16: still 9 per batch size.
  EXPECT_EQ(two.configs.size(), 18u);
  const auto relu = sample_from_architectures(collector("relu"), {"alexnet"}, {2});
  // AlexNet's 7 ReLUs act on 5 distinct sizes: 64x55x55, 192x27x27, 384x13x13, 256x13x13 (twice), 4096 (twice).
  EXPECT_EQ(relu.configs.size(), 5u);
  EXPECT_EQ(relu.configs.back().to_string(), "relu batch_size=2 input_size=4096 inplace=1");
}

TEST(OptionalValues, ReluInplaceAtItsDefaultLeavesTheStreamAndTheTextsAsBefore) {
  // relu's inplace range is "0": nothing is drawn for it and nothing is written, so the configurations equal
  // those of the schema's two ranges alone (the relu collector before inplace existed).
  const auto& c = collector("relu");
  ASSERT_EQ(c.ranges.size(), 3u);
  const std::vector<ParamRange> schema_only(c.ranges.begin(), c.ranges.begin() + 2);
  const auto with = texts(sample_random(c, c.ranges, 20, 5).configs);
  EXPECT_EQ(with, texts(sample_random(c, schema_only, 20, 5).configs));
  for (const auto& t : with) EXPECT_EQ(t.find("inplace"), std::string::npos) << t;
}

TEST(OptionalValues, ReluInplaceSampledBothWays) {
  const auto& c = collector("relu");
  const auto s = sample_random(c, ranges_with("relu", {"relu.inplace=0,1"}), 200, 9);
  ASSERT_EQ(s.configs.size(), 200u);
  int in_place = 0;
  for (const auto& cf : s.configs) {
    const bool has = cf.has("inplace");
    if (has) {
      EXPECT_EQ(cf.get("inplace"), 1.0) << cf.to_string();  // 0 is left out
    }
    const auto inst = layers::from_config(cf);
    EXPECT_EQ(std::get<layers::ReLUSpec>(inst.spec).inplace, has) << cf.to_string();
    EXPECT_EQ(layers::writes_in_place(cf), has);
    in_place += has;
  }
  // A fair coin over 200 draws: 100 +- 40 holds with probability 1 - 1e-8 (and the seed fixes it anyway).
  EXPECT_GT(in_place, 60);
  EXPECT_LT(in_place, 140);

  // The grid measures each point both ways: 2 batch sizes x 1 size x 2 = 4 configurations.
  const auto g = sample_grid(c, ranges_with("relu", {"batch_size=1,2", "input_size=1000", "inplace=0,1"}));
  EXPECT_EQ(texts(g.configs), (std::vector<std::string>{"relu batch_size=1 input_size=1000",
                                                        "relu batch_size=1 input_size=1000 inplace=1",
                                                        "relu batch_size=2 input_size=1000",
                                                        "relu batch_size=2 input_size=1000 inplace=1"}));
}

TEST(OptionalValues, InplaceOutsideZeroAndOneIsRefusedWithWhatItTakes) {
  std::vector<std::string> problems;
  check_overrides({"relu.inplace=0:2", "sigmoid.inplace=1"}, {"relu", "sigmoid"}, problems);
  ASSERT_EQ(problems.size(), 1u);  // sigmoid has no inplace; the range's values are checked by resolve_ranges
  EXPECT_NE(problems[0].find("no selected layer type named 'sigmoid' has a parameter 'inplace'"), std::string::npos)
      << problems[0];
  problems.clear();
  resolve_ranges(collector("relu"), {"relu.inplace=0:2"}, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("range inplace=0:2 holds 2; inplace takes 0, 1"), std::string::npos) << problems[0];
}

// A range below a parameter's least value is named with the value, up front, not found draw by draw (and then
// reported as a rejection statistic with its numbers blanked out).
TEST(Ranges, ValuesBelowAParametersLeastAreRefusedByNameAndValue) {
  std::vector<std::string> problems;
  resolve_ranges(collector("relu"), {"batch_size=0:4"}, problems);
  resolve_ranges(collector("conv2d"), {"conv2d.stride=0,1,2"}, problems);
  resolve_ranges(collector("maxpool2d"), {"maxpool2d.padding=-1:1"}, problems);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "relu: range batch_size=0:4 holds 0; batch_size must be >= 1");
  EXPECT_NE(problems[1].find("conv2d: range stride="), std::string::npos) << problems[1];
  EXPECT_NE(problems[1].find("holds 0; stride must be >= 1"), std::string::npos) << problems[1];
  EXPECT_EQ(problems[2], "maxpool2d: range padding=-1:1 holds -1; padding must be >= 0");
  problems.clear();
  resolve_ranges(collector("maxpool2d"), {"maxpool2d.padding=0:1", "batch_size=1:2"}, problems);  // the least values
  EXPECT_TRUE(problems.empty()) << problems.front();
}
