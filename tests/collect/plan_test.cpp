// Planner: counts, architecture items, shards, settings (YAML, validation, hash), memory estimate, progress text.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>

#include "collect/plan.hpp"
#include "collect/progress.hpp"
#include "collect/protocol.hpp"
#include "collect/settings.hpp"
#include "core/errors.hpp"

using namespace dle;
using namespace dle::collect;

namespace {

CollectSettings small_settings() {
  CollectSettings s;
  s.layers = {"relu", "linear"};
  s.configs = 5;
  s.repeats = 3;
  s.seed = 11;
  s.db = "unused.sqlite";
  return s;
}

std::vector<std::string> keys(const Plan& p) {
  std::vector<std::string> out;
  for (const auto& item : p.items)
    for (int r = 1; r <= p.repeats; ++r) out.push_back(item.record(r).item_key());
  return out;
}

std::string problems_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Plan, CountsPerCollector) {
  const Plan p = make_plan(small_settings());
  EXPECT_EQ(p.items.size(), 10u);
  EXPECT_EQ(p.measurements(), 30u);
  ASSERT_EQ(p.per_collector.size(), 2u);
  EXPECT_EQ(p.per_collector[0].collector, "linear");  // registry order, not flag order
  EXPECT_EQ(p.per_collector[0].items, 5u);
  EXPECT_EQ(p.per_collector[1].collector, "relu");
  EXPECT_EQ(p.per_collector[1].items, 5u);
  for (const auto& item : p.items) EXPECT_EQ(item.kind, storage::MeasurementKind::kLayer);
  // Every (item, repeat) has its own key.
  const auto k = keys(p);
  EXPECT_EQ(std::set<std::string>(k.begin(), k.end()).size(), 30u);
}

TEST(Plan, SameSettingsSamePlanAndLayerStreamsIndependent) {
  auto s = small_settings();
  EXPECT_EQ(keys(make_plan(s)), keys(make_plan(s)));
  CollectSettings only_relu = s;
  only_relu.layers = {"relu"};
  const Plan both = make_plan(s), relu = make_plan(only_relu);
  std::vector<std::string> relu_in_both;
  for (const auto& i : both.items)
    if (i.collector == "relu") relu_in_both.push_back(i.config.to_string());
  std::vector<std::string> relu_alone;
  for (const auto& i : relu.items) relu_alone.push_back(i.config.to_string());
  EXPECT_EQ(relu_in_both, relu_alone);
}

TEST(Plan, ArchitecturesWithAndWithoutLayers) {
  CollectSettings s;
  s.architectures = {"alexnet"};
  s.batch_sizes = {1, 2};
  s.repeats = 1;
  s.db = "x";
  const Plan p = make_plan(s);
  ASSERT_EQ(p.items.size(), 2u * (1 + 22));  // AlexNet has 22 layers
  const auto& net = p.items[0];
  EXPECT_EQ(net.kind, storage::MeasurementKind::kNetwork);
  EXPECT_EQ(net.config.to_string(), "network batch_size=1");
  EXPECT_EQ(net.architecture, "alexnet");
  const auto& conv0 = p.items[1];
  EXPECT_EQ(conv0.kind, storage::MeasurementKind::kNetworkLayer);
  EXPECT_EQ(conv0.layer_index, 0);
  EXPECT_EQ(conv0.config.to_string(),
            "conv2d batch_size=1 image_size=224 kernel_size=11 in_channels=3 out_channels=64 stride=4 padding=2");
  const auto& relu1 = p.items[2];
  EXPECT_EQ(relu1.config.to_string(), "relu batch_size=1 input_size=193600 inplace=1");  // 64 x 55 x 55
  ASSERT_TRUE(std::holds_alternative<layers::ReLUSpec>(relu1.instance.spec));
  EXPECT_TRUE(std::get<layers::ReLUSpec>(relu1.instance.spec).inplace);  // as inside the network
  EXPECT_EQ(p.items[14].config.to_string(), "adaptiveavgpool2d batch_size=1 output_height=6 output_width=6");
  EXPECT_EQ(p.items[15].config.to_string(), "flatten batch_size=1");  // layer 14
  EXPECT_EQ(p.items[16].config.to_string(), "dropout batch_size=1 p=0.5");
  EXPECT_EQ(p.items[23].config.to_string(), "network batch_size=2");

  s.with_layers = false;
  EXPECT_EQ(make_plan(s).items.size(), 2u);
  s.batch_sizes.clear();  // default batch sizes 1, 2
  s.architectures = {"vgg11", "vgg16"};
  EXPECT_EQ(make_plan(s).items.size(), 4u);
}

TEST(Plan, FromArchitecturesAndGrid) {
  CollectSettings s;
  s.layers = {"conv2d", "maxpool2d"};
  s.from_architectures = {"vgg16"};
  s.batch_sizes = {1};
  s.db = "x";
  const Plan p = make_plan(s);
  EXPECT_EQ(p.per_collector[0].items, 9u);  // distinct VGG16 convolutions
  EXPECT_EQ(p.per_collector[1].items, 5u);  // 5 max-pools at 224, 112, 56, 28, 14

  CollectSettings g;
  g.layers = {"linear"};
  g.sampler = "grid";
  g.ranges = {"batch_size=1,8", "input_size=16:64:16", "output_size=32"};
  g.db = "x";
  EXPECT_EQ(make_plan(g).items.size(), 8u);
}

TEST(Plan, ShardsAreDisjointAndCoverThePlan) {
  CollectSettings s = small_settings();
  s.architectures = {"alexnet"};
  s.batch_sizes = {1};
  const auto whole = keys(make_plan(s));
  for (int n : {1, 2, 3, 7}) {
    std::multiset<std::string> united;
    std::size_t smallest = whole.size(), largest = 0;
    for (int k = 1; k <= n; ++k) {
      s.shard = Shard{k, n};
      const Plan part = make_plan(s);
      EXPECT_EQ(part.items_before_shard, whole.size() / 3);
      const auto pk = keys(part);
      united.insert(pk.begin(), pk.end());
      smallest = std::min(smallest, part.items.size());
      largest = std::max(largest, part.items.size());
    }
    EXPECT_EQ(united.size(), whole.size()) << n << " shards";  // multiset: a key in two shards would count twice
    EXPECT_EQ(std::set<std::string>(united.begin(), united.end()), std::set<std::string>(whole.begin(), whole.end()));
    EXPECT_LE(largest - smallest, 1u);
  }
}

TEST(Shard, Parse) {
  EXPECT_EQ(parse_shard("2/8").index, 2);
  EXPECT_EQ(parse_shard("2/8").count, 8);
  for (const char* bad : {"0/4", "5/4", "1/0", "a/b", "3", "1/2/3"}) EXPECT_THROW(parse_shard(bad), ConfigError) << bad;
}

TEST(Shard, AShardThatGetsNothingIsRefusedNotAnEmptyRun) {
  CollectSettings s = small_settings();
  s.layers = {"relu"};
  s.configs = 1;
  s.shard = parse_shard("2/2");
  EXPECT_EQ(problems_text([&] { make_plan(s); }),
            "--shard 2/2 gets none of the plan's 1 item (item i goes to shard i mod N + 1); use at most 1 shard");
}

TEST(Settings, ValidateReportsEveryProblemAtOnce) {
  CollectSettings s;
  s.layers = {"relu", "lstm"};
  s.repeats = 0;
  s.ranges = {"kernel_size=3"};
  s.architectures = {"resnet50"};
  const std::string m = problems_text([&] { validate(s); });
  EXPECT_NE(m.find("unknown layer type 'lstm'"), std::string::npos) << m;
  EXPECT_NE(m.find("--repeats 0"), std::string::npos) << m;
  EXPECT_NE(m.find("kernel_size"), std::string::npos) << m;
  EXPECT_NE(m.find("resnet50"), std::string::npos) << m;
  EXPECT_NE(m.find("--db FILE is required"), std::string::npos) << m;

  CollectSettings none;
  none.db = "x";
  EXPECT_NE(problems_text([&] { validate(none); }).find("nothing to collect"), std::string::npos);
  CollectSettings grid = small_settings();
  grid.sampler = "grid";
  EXPECT_NE(problems_text([&] { validate(grid); }).find("--configs applies to the random sampler"), std::string::npos);
}

// Values that would run forever, wrap, or be ignored are refused, each named (docs/collect.md, "Flags").
TEST(Settings, ValuesThatCannotWorkOrWouldBeIgnoredAreRefused) {
  const auto problems_of = [](const std::function<void(CollectSettings&)>& change) {
    CollectSettings s = small_settings();
    change(s);
    return problems_text([&] { validate(s); });
  };
  const auto refused = [&](const std::function<void(CollectSettings&)>& change, const std::string& text) {
    const std::string m = problems_of(change);
    EXPECT_NE(m.find(text), std::string::npos) << m;
  };
  const double inf = std::numeric_limits<double>::infinity();
  refused([&](CollectSettings& s) { s.min_time_s = inf; }, "--min-time inf must be a number of seconds > 0 and <= 3600");
  refused([&](CollectSettings& s) { s.idle_seconds = inf; }, "--idle-seconds inf must be a number of seconds from 0");
  refused([&](CollectSettings& s) { s.idle_seconds = -0.5; }, "--idle-seconds -0.5 must be");
  refused([&](CollectSettings& s) { s.max_pass_seconds = std::nan(""); }, "--max-pass-seconds nan must be");
  refused([&](CollectSettings& s) { s.memory_limit_mb = inf; }, "--memory-limit-mb inf must be a number of MiB > 0");
  refused([&](CollectSettings& s) { s.configs = 1'000'001; }, "--configs 1000001 is more than 1000000 per layer type");
  refused([&](CollectSettings& s) { s.threads = 100000; }, "--threads 100000 is more than 4x this machine's");
  refused([&](CollectSettings& s) { s.ranges = {"batch_size=1:2", "batch_size=3:9"}; },
          "--range batch_size is given twice");
  refused(
      [&](CollectSettings& s) {
        s.configs.reset();
        s.layers = {};
        s.architectures = {"alexnet", "alexnet"};
        s.batch_sizes = {1, 1};
      },
      "--architectures names alexnet twice");
  refused(
      [&](CollectSettings& s) {
        s.configs.reset();
        s.layers = {};
        s.architectures = {"alexnet"};
        s.batch_sizes = {1, 1};
      },
      "--batch-sizes names 1 twice");
  refused(
      [&](CollectSettings& s) {
        s.configs.reset();
        s.from_architectures = {"alexnet"};
        s.ranges = {"relu.input_size=1:2"};
      },
      "--range applies to the random and grid samplers; --from-architectures takes the networks' own layer shapes");
  refused(
      [&](CollectSettings& s) {
        s.layers = {};
        s.architectures = {"alexnet"};
      },
      "--configs applies to sampled layer types (--layers)");
  refused([&](CollectSettings& s) { s.with_layers = false; }, "--no-with-layers applies to --architectures");
  // The defaults and sensible values pass.
  EXPECT_NO_THROW(validate(small_settings()));
  CollectSettings zero_idle = small_settings();
  zero_idle.idle_seconds = 0.0;
  EXPECT_NO_THROW(validate(zero_idle));
}

TEST(Settings, YamlSetsEverythingAndReportsUnknownKeysWithLines) {
  CollectSettings s;
  apply_yaml_text(R"(
layers: [relu, conv2d]
configs: 7
seed: 99
ranges: {batch_size: "1:8", conv2d.kernel_size: [1, 3]}
min_time: 0.5
min-passes: 4
warmup: 1
threads: 1
idle-seconds: 0
memory-limit-mb: 512
max-pass-seconds: 10
shard: 2/4
sensor: estimated
watts-per-core: 5
architectures: alexnet
batch-sizes: [1, 4]
with-layers: false
db: runs.sqlite
)",
                  "test.yaml", s);
  EXPECT_EQ(s.layers, (std::vector<std::string>{"relu", "conv2d"}));
  EXPECT_EQ(*s.configs, 7u);
  EXPECT_EQ(s.seed, 99u);
  EXPECT_EQ(s.ranges, (std::vector<std::string>{"batch_size=1:8", "conv2d.kernel_size=1,3"}));
  EXPECT_DOUBLE_EQ(*s.min_time_s, 0.5);
  EXPECT_EQ(s.min_passes, 4);
  EXPECT_EQ(s.warmup, 1);
  EXPECT_EQ(*s.threads, 1);
  EXPECT_DOUBLE_EQ(s.idle_seconds, 0.0);
  EXPECT_DOUBLE_EQ(*s.memory_limit_mb, 512.0);
  EXPECT_DOUBLE_EQ(s.max_pass_seconds, 10.0);
  EXPECT_EQ(s.shard.to_string(), "2/4");
  EXPECT_EQ(s.sensor, "estimated");
  EXPECT_DOUBLE_EQ(s.sensor_options.watts_per_core, 5.0);
  EXPECT_EQ(s.architectures, (std::vector<std::string>{"alexnet"}));
  EXPECT_EQ(s.batch_sizes, (std::vector<std::int64_t>{1, 4}));
  EXPECT_FALSE(s.with_layers);
  EXPECT_EQ(s.db, "runs.sqlite");
  EXPECT_NO_THROW(validate(s));

  CollectSettings t;
  const std::string m = problems_text([&] { apply_yaml_text("repeats: 3\nrepeets: 4\nseed: minus one\n", "bad.yaml", t); });
  EXPECT_NE(m.find("bad.yaml:2: repeets: unknown setting"), std::string::npos) << m;
  EXPECT_NE(m.find("bad.yaml:3: seed"), std::string::npos) << m;
  // A setting given twice (in either spelling) is not resolved silently.
  CollectSettings u;
  const std::string twice =
      problems_text([&] { apply_yaml_text("min_time: 0.5\nmin-time: 0.3\nranges: {batch_size: \"1:2\", batch_size: \"3:4\"}\n",
                                          "twice.yaml", u); });
  EXPECT_NE(twice.find("twice.yaml:2: min-time: the setting is given twice (also as min_time); keep one"),
            std::string::npos)
      << twice;
  EXPECT_NE(twice.find("range batch_size is given twice"), std::string::npos) << twice;
  // A second document would be ignored by a plain load: refused instead.
  CollectSettings v;
  EXPECT_EQ(problems_text([&] { apply_yaml_text("repeats: 3\n---\nrepeats: 4\n", "two.yaml", v); }),
            "two.yaml: holds 2 YAML documents (separated by ---); a config file is one document: merge them");
}

TEST(Settings, HashCoversThePlanButNotTheDatabase) {
  CollectSettings s = small_settings();
  const ResolvedSettings r{0.2, 2, "estimated"};
  const std::string j = settings_json(s, r);
  EXPECT_NE(j.find("\"seed\":11"), std::string::npos) << j;
  EXPECT_NE(j.find("\"relu\":{\"batch_size\":\"1:512\",\"input_size\":\"50000:5000000\"}"), std::string::npos) << j;
  EXPECT_NE(j.find("\"memory_limit_mb\":\"auto\""), std::string::npos) << j;
  EXPECT_EQ(settings_hash(j).size(), 16u);
  CollectSettings other_db = s;
  other_db.db = "elsewhere.sqlite";
  other_db.dry_run = true;
  EXPECT_EQ(settings_json(other_db, r), j);
  CollectSettings other_seed = s;
  other_seed.seed = 12;
  EXPECT_NE(settings_hash(settings_json(other_seed, r)), settings_hash(j));
  CollectSettings other_shard = s;
  other_shard.shard = Shard{2, 2};
  EXPECT_NE(settings_hash(settings_json(other_shard, r)), settings_hash(j));
  EXPECT_NE(settings_hash(settings_json(s, ResolvedSettings{0.2, 1, "estimated"})), settings_hash(j));
}

TEST(Settings, DefaultMinTimeFollowsTheSensor) {
  EXPECT_DOUBLE_EQ(min_time_for_sensor(0.001), 0.2);  // RAPL updates every ~1 ms: the 0.2 s floor
  EXPECT_DOUBLE_EQ(min_time_for_sensor(0.01), 1.0);   // 100 updates
  EXPECT_DOUBLE_EQ(min_time_for_sensor(0.0), 0.2);
}

TEST(MemoryGuard, BytesNeededFromCounts) {
  PlanItem lin;
  lin.instance = layers::LayerInstance{layers::LinearSpec{128, 128, true}, {128}, 8};
  // (8 x (128 + 128) + 128 x 128 + 128) x 4 bytes = 74,240, x2 safety.
  EXPECT_EQ(bytes_needed(lin), 148480);
  PlanItem conv;
  conv.instance = layers::LayerInstance{layers::Conv2dSpec{3, 8, 3, 1, 1, 1, true}, {3, 10, 10}, 2};
  // input 2x3x10x10 = 600, output 2x8x10x10 = 1600, params 8x3x9 + 8 = 224.
  EXPECT_EQ(bytes_needed(conv), (600 + 1600 + 224) * 4 * 2);
  PlanItem net;
  net.kind = storage::MeasurementKind::kNetwork;
  net.architecture = "alexnet";
  net.batch = 1;
  // AlexNet: 61,100,840 parameters dominate.
  EXPECT_GT(bytes_needed(net), 61100840LL * 4 * 2);
  EXPECT_LT(bytes_needed(net), 62000000LL * 4 * 2);
  // Bytes past 2^63 - 1 do not wrap into a small number the guard would let through.
  PlanItem huge;
  huge.instance = layers::LayerInstance{layers::LinearSpec{5000, 5000, true}, {5000}, 10'000'000'000'000'000LL};
  EXPECT_EQ(bytes_needed(huge), std::numeric_limits<std::int64_t>::max());
  // A layer that does no work (dropout at inference) moves no bytes but still holds its input: 1000 x 9216 floats.
  PlanItem dropout;
  dropout.instance = layers::LayerInstance{layers::DropoutSpec{0.5}, {9216}, 1000};
  EXPECT_EQ(bytes_needed(dropout), 1000LL * 9216 * 4 * 2);
}

TEST(Progress, LineText) {
  EXPECT_EQ(ProgressLine::format(12, 80, 12, 171.4, "relu batch_size=3 input_size=50000"),
            "12/80 (15%) | 4.2 meas/min | ETA 17 min | relu batch_size=3 input_size=50000");
  EXPECT_EQ(ProgressLine::format(0, 8, 0, 0.0, "idle baseline"), "0/8 (0%) | idle baseline");
  EXPECT_EQ(ProgressLine::format(7, 8, 7, 30.0, ""), "7/8 (87%) | 14.0 meas/min | ETA 5 s");
  EXPECT_EQ(ProgressLine::format(1, 2000, 1, 60.0, ""), "1/2000 (0%) | 1.0 meas/min | ETA 33.3 h");
  EXPECT_EQ(ProgressLine::format(1, 2, 1, 1.0, std::string(200, 'x'), 40).size(), 40u);
}
