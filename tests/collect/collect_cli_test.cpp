// `dlenergy collect` as a process: the issue's example, kill -9 then resume, Ctrl-C, dry run, config file,
// missing plugin.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "core/errors.hpp"
#include "storage/store.hpp"
#include "test_support.hpp"

using namespace dle;
using dle::testing::Child;
using dle::testing::TempDir;

namespace {

#define REQUIRE_PLUGIN()                                                                                       \
  if (!dle::testing::plugin_built())                                                                           \
  GTEST_SKIP() << "the LibTorch plugin was not built (configure with -DDLENERGY_WITH_TORCH=ON and build "   \
                  "dlenergy_torch)"

std::size_t count_all(const std::string& db) {
  if (!std::filesystem::exists(db)) return 0;
  try {
    auto store = storage::Store::open_existing(db);
    storage::MeasurementFilter f;
    f.include_skipped = true;
    return store.count_measurements(f);
  } catch (const Error&) {
    return 0;  // created but not yet migrated by the child
  }
}

// Waits until the database holds at least n measurements or the child ends; true when reached.
bool wait_for_measurements(Child& c, const std::string& db, std::size_t n, double timeout_s = 120) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < timeout_s) {
    if (count_all(db) >= n) return true;
    if (!c.running()) return count_all(db) >= n;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// 6 small ReLU configurations x 2 repeats, ~0.3 s each: a few seconds in all.
std::vector<std::string> resumable_args(const std::string& db) {
  return {"collect",        "--layers",      "relu", "--configs", "6",   "--repeats", "2", "--min-time", "0.3",
          "--seed",         "3",             "--range", "input_size=50000:200000", "--range", "batch_size=1:4",
          "--idle-seconds", "0.2",           "--sensor", "estimated", "--threads", "1", "--db", db};
}

void expect_exactly_the_plan(const std::string& db, std::size_t planned) {
  auto store = storage::Store::open_existing(db);
  ASSERT_EQ(store.runs().size(), 1u);
  storage::MeasurementFilter f;
  f.include_skipped = true;
  const auto ms = store.measurements(f);
  EXPECT_EQ(ms.size(), planned);
  std::set<std::string> keys;
  for (const auto& m : ms) keys.insert(m.item_key());
  EXPECT_EQ(keys.size(), planned);  // none twice
  EXPECT_EQ(store.item_keys(store.runs()[0].id).size(), planned);
}

}  // namespace

TEST(CollectCli, IssueExampleGivesEightMeasurements) {
  REQUIRE_PLUGIN();
  TempDir dir;
  const std::string db = dir.file("a.sqlite");
  std::string out, err;
  ASSERT_EQ(dle::testing::run_dlenergy({"collect", "--layers", "relu", "--configs", "4", "--repeats", "2", "--min-time",
                                        "0.1", "--seed", "1", "--db", db},
                                       dir.path(), &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("8/8 measurements stored"), std::string::npos) << out;
  EXPECT_EQ(count_all(db), 8u);
  std::string csv;
  if (dle::testing::run_dlenergy({"export", "--db", db, "--format", "csv"}, dir.path(), &csv, &err) == 0) {
    std::size_t lines = 0;
    for (char ch : csv) lines += ch == '\n';
    EXPECT_EQ(lines, 1u + 8u) << csv;  // header + one row per measurement
  }
  // The same command with one setting changed is a new run, and says which setting differs (a changed flag is not
  // silently taken for a resume).
  ASSERT_EQ(dle::testing::run_dlenergy({"collect", "--layers", "relu", "--configs", "4", "--repeats", "2", "--min-time",
                                        "0.1", "--seed", "2", "--db", db},
                                       dir.path(), &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("collect: a new run: the settings differ from the database's latest collect run (run 1: seed 1 "
                     "-> 2); nothing of that run is resumed"),
            std::string::npos)
      << err;
  EXPECT_EQ(count_all(db), 16u);
}

TEST(CollectCli, KillNineThenResumeGivesExactlyThePlan) {
  REQUIRE_PLUGIN();
  TempDir dir;
  const std::string db = dir.file("resume.sqlite");
  {
    Child c(resumable_args(db), dir.path(), "killed");
    ASSERT_TRUE(wait_for_measurements(c, db, 2)) << c.err();
    c.signal(SIGKILL);
    EXPECT_EQ(c.wait(), 128 + SIGKILL);
  }
  const std::size_t before = count_all(db);
  EXPECT_GE(before, 2u);
  EXPECT_LT(before, 12u) << "the child finished before it was killed; the test proves nothing";
  std::string out, err;
  ASSERT_EQ(dle::testing::run_dlenergy(resumable_args(db), dir.path(), &out, &err), 0) << err;
  EXPECT_NE(out.find("(resumed)"), std::string::npos) << out;
  EXPECT_NE(out.find(std::to_string(before) + " already stored"), std::string::npos) << out;
  expect_exactly_the_plan(db, 12);
  // A third run has nothing left to do.
  ASSERT_EQ(dle::testing::run_dlenergy(resumable_args(db), dir.path(), &out, &err), 0) << err;
  EXPECT_NE(out.find("0 measured now, 0 skipped now, 12 already stored"), std::string::npos) << out;
  expect_exactly_the_plan(db, 12);
}

TEST(CollectCli, CtrlCCommitsAndExits130ThenResumes) {
  REQUIRE_PLUGIN();
  TempDir dir;
  const std::string db = dir.file("sigint.sqlite");
  {
    Child c(resumable_args(db), dir.path(), "interrupted");
    ASSERT_TRUE(wait_for_measurements(c, db, 1)) << c.err();
    c.signal(SIGINT);
    EXPECT_EQ(c.wait(), 130) << c.err();
    EXPECT_NE(c.err().find("run the same command again to resume"), std::string::npos) << c.err();
    EXPECT_NE(c.out().find("measurements stored"), std::string::npos) << c.out();  // the summary
  }
  const std::size_t before = count_all(db);
  EXPECT_GE(before, 1u);
  EXPECT_LT(before, 12u);
  ASSERT_EQ(dle::testing::run_dlenergy(resumable_args(db), dir.path()), 0);
  expect_exactly_the_plan(db, 12);
}

TEST(CollectCli, DryRunPrintsThePlanAndTouchesNoDatabase) {
  TempDir dir;
  const std::string db = dir.file("never.sqlite");
  std::string out, err;
  ASSERT_EQ(dle::testing::run_dlenergy({"collect", "--layers", "relu,conv2d", "--configs", "10", "--repeats", "3",
                                        "--min-time", "0.5", "--idle-seconds", "2", "--sensor", "estimated",
                                        "--shard", "2/4", "--db", db, "--dry-run"},
                                       dir.path(), &out, &err),
            0)
      << err;
  EXPECT_FALSE(std::filesystem::exists(db));
  EXPECT_NE(out.find("shard 2/4 (5 of 20 items)"), std::string::npos) << out;
  EXPECT_NE(out.find("total: 15 measurements"), std::string::npos) << out;
  EXPECT_NE(out.find("sensor: estimated (ESTIMATED"), std::string::npos) << out;
  EXPECT_NE(out.find("estimated time: at least"), std::string::npos) << out;
}

TEST(CollectCli, ConfigFileWithFlagsOverriding) {
  TempDir dir;
  {
    std::ofstream y(dir.file("collect.yaml"));
    y << "layers: [linear]\nconfigs: 6\nrepeats: 5\nsensor: estimated\nmin-time: 0.25\n";
  }
  std::string out, err;
  ASSERT_EQ(dle::testing::run_dlenergy({"collect", "--config", dir.file("collect.yaml"), "--repeats", "2", "--dry-run"},
                                       dir.path(), &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("6 items x 2 repeats"), std::string::npos) << out;
  EXPECT_NE(out.find("window >= 0.250 s"), std::string::npos) << out;

  // A --range replaces the file's range of the same parameter and keeps the others: a grid of batch 5 and 6 at
  // the file's single input size is 2 points (replacing every file range would bring back the default input sizes).
  {
    std::ofstream y(dir.file("grid.yaml"));
    y << "layers: [relu]\nsampler: grid\nsensor: estimated\nranges: {batch_size: \"1:2\", input_size: \"50000\"}\n";
  }
  ASSERT_EQ(dle::testing::run_dlenergy({"collect", "--config", dir.file("grid.yaml"), "--range", "batch_size=5:6",
                                        "--dry-run"},
                                       dir.path(), &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("relu                2 items x 3 repeats"), std::string::npos) << out;
}

TEST(CollectCli, BadSettingsAreReportedTogetherWithExitCode3) {
  TempDir dir;
  std::string out, err;
  EXPECT_EQ(dle::testing::run_dlenergy({"collect", "--layers", "relu,lstm", "--repeats", "0", "--range", "kernel_size=3"},
                                       dir.path(), &out, &err),
            3);
  EXPECT_NE(err.find("unknown layer type 'lstm'"), std::string::npos) << err;
  EXPECT_NE(err.find("--repeats 0"), std::string::npos) << err;
  EXPECT_NE(err.find("--db FILE is required"), std::string::npos) << err;
}

TEST(CollectCli, MissingPluginIsExit4WithBuildHint) {
  TempDir dir;
  setenv("DLENERGY_TORCH_PLUGIN", "/nonexistent/libdlenergy_torch.so", 1);
  std::string out, err;
  const int code = dle::testing::run_dlenergy({"collect", "--layers", "relu", "--configs", "1", "--repeats", "1",
                                               "--sensor", "estimated", "--db", dir.file("x.sqlite")},
                                              dir.path(), &out, &err);
  unsetenv("DLENERGY_TORCH_PLUGIN");
  EXPECT_EQ(code, 4);
  EXPECT_NE(err.find("-DDLENERGY_WITH_TORCH=ON"), std::string::npos) << err;
}
