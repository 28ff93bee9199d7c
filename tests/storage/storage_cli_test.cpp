#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/errors.hpp"
#include "storage/merge.hpp"
#include "storage/store.hpp"
#include "support/child.hpp"
#include "support/run_cli.hpp"
#include "temp_dir.hpp"

namespace dle {
namespace {

using testing::run_cli;
using testing::TempDir;

const std::string kFixtures = std::string(DLE_FIXTURES_DIR) + "/";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(StorageCli, ImportReportsCountsAndSecondImportStoresNothing) {
  TempDir dir;
  const std::string db = dir.file("cc.sqlite");
  const auto r = run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_layers.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("codecarbon_layers.csv: 11 rows read, 7 stored ok, 4 stored as skipped (run 1); skipped: "
                       "cpu_energy empty 1, cpu_energy not a number 1, cpu_energy not positive 1, forward_passes 0 1"),
            std::string::npos)
      << r.out;
  const auto again = run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_layers.csv");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already imported as run 1"), std::string::npos) << again.out;
  EXPECT_EQ(storage::Store::open_existing(db).runs().size(), 1u);
}

TEST(StorageCli, MalformedInputExitsWithConfigCodeAndCreatesNoDatabase) {
  TempDir dir;
  const std::string db = dir.file("bad.sqlite");
  const auto r = run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_malformed.csv");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("codecarbon_malformed.csv:2: project_name has no 'out_channels'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing was stored"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(db));
}

TEST(StorageCli, ExportCsvAndJsonHaveOneRowPerMeasurement) {
  TempDir dir;
  const std::string db = dir.file("e.sqlite");
  ASSERT_EQ(run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_layers.csv " + kFixtures +
                    "codecarbon_networks.csv")
                .exit_code,
            0);
  const auto csv = run_cli("export --db " + db + " --format csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const auto lines = lines_of(csv.out);
  ASSERT_EQ(lines.size(), 23u);  // header + 11 + 11
  EXPECT_EQ(lines[0].rfind("id,run_id,kind,layer_type,architecture,layer_index,repeat,passes,duration_s,energy_j,"
                           "energy_per_pass_j,net_energy_per_pass_j,idle_power_w,sensor,estimated,status,batch_size,",
                           0),
            0u)
      << lines[0];
  EXPECT_EQ(lines[1].rfind("1,1,layer,conv2d,,-1,1,6,34.67582440376282,2616.56692825176,436.09448804196,"
                           "436.09448804196,0,rapl (via CodeCarbon),false,ok,123,127,7,80,29,1,2,",
                           0),
            0u)
      << lines[1];

  const auto ok_only = run_cli("export --db " + db + " --format csv --ok-only");
  EXPECT_EQ(lines_of(ok_only.out).size(), 19u);  // 4 skipped rows left out

  const std::string out = dir.file("e.json");
  const auto json = run_cli("export --db " + db + " --format json --out " + out);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.err.find("wrote 22 measurements"), std::string::npos) << json.err;
  std::ifstream in(out);
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j["measurements"].size(), 22u);
  const auto& vgg = j["measurements"][11];
  EXPECT_EQ(vgg["kind"], "network");
  EXPECT_EQ(vgg["architecture"], "vgg16");
  EXPECT_EQ(vgg["config"]["batch_size"], 194);
  EXPECT_NEAR(vgg["energy_per_pass_j"].get<double>(), 6480.0, 1e-9);
  EXPECT_EQ(vgg["estimated"], false);
}

TEST(StorageCli, MergeCombinesShardsAndSkipsDuplicates) {
  TempDir dir;
  const std::string a = dir.file("a.sqlite"), b = dir.file("b.sqlite"), out = dir.file("out.sqlite");
  ASSERT_EQ(run_cli("import codecarbon --db " + a + " " + kFixtures + "codecarbon_layers.csv").exit_code, 0);
  ASSERT_EQ(run_cli("import codecarbon --db " + b + " " + kFixtures + "codecarbon_networks.csv").exit_code, 0);
  const auto r = run_cli("merge " + out + " " + a + " " + b + " " + a);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], a + ": 1 run(s) added, 0 already present; 11 measurement(s) copied, 0 duplicate(s) skipped");
  EXPECT_EQ(lines[1], b + ": 1 run(s) added, 0 already present; 11 measurement(s) copied, 0 duplicate(s) skipped");
  EXPECT_EQ(lines[2], a + ": 0 run(s) added, 1 already present; 0 measurement(s) copied, 11 duplicate(s) skipped");
  EXPECT_EQ(lines[3], "total: 22 measurement(s) copied, 11 duplicate(s) skipped; " + out +
                          " now holds 2 run(s) and 22 measurement(s)");
  const auto self = run_cli("merge " + out + " " + out);
  EXPECT_EQ(self.exit_code, 3) << self.err;
}

TEST(StorageCli, MissingOrForeignDatabaseExitsWithStorageCode) {
  TempDir dir;
  const auto missing = run_cli("export --db " + dir.file("none.sqlite"));
  EXPECT_EQ(missing.exit_code, 6);
  EXPECT_NE(missing.err.find("does not exist"), std::string::npos) << missing.err;
  std::ofstream(dir.file("text.sqlite")) << "hello\n";
  const auto foreign = run_cli("export --db " + dir.file("text.sqlite"));
  EXPECT_EQ(foreign.exit_code, 6);
  EXPECT_NE(foreign.err.find("not an SQLite database"), std::string::npos) << foreign.err;
}

TEST(StorageCli, OutputThatWouldReplaceTheDatabaseIsRefusedAndTheDatabaseKept) {
  TempDir dir;
  const std::string db = dir.file("keep.sqlite");
  ASSERT_EQ(run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_layers.csv").exit_code, 0);
  const auto size = std::filesystem::file_size(db);
  std::filesystem::create_symlink(db, dir.file("link.sqlite"));
  for (const std::string& out : {db, dir.path().string() + "/./keep.sqlite", dir.file("link.sqlite")}) {
    for (const std::string& command : {"export --db " + db + " --out " + out, "fit --db " + db + " --out " + out}) {
      const auto r = run_cli(command);
      EXPECT_EQ(r.exit_code, 3) << command;
      EXPECT_NE(r.err.find("--out " + out + " is the file --db " + db + " reads"), std::string::npos) << r.err;
    }
  }
  EXPECT_EQ(std::filesystem::file_size(db), size);
  EXPECT_EQ(storage::Store::open_existing(db).count_measurements({}), 7u);  // its 7 ok rows (and 4 skipped) are all there

  const auto empty = run_cli("export --db " + db + " --out ''");
  EXPECT_EQ(empty.exit_code, 2);  // not a silent fall-back to standard output
  EXPECT_NE(empty.err.find("--out: an empty path"), std::string::npos) << empty.err;
  std::filesystem::create_directory(dir.file("folder"));
  const auto folder = run_cli("fit --db " + db + " --out " + dir.file("folder"));
  EXPECT_EQ(folder.exit_code, 3);
  EXPECT_NE(folder.err.find("is a directory"), std::string::npos) << folder.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("folder") + ".tmp"));
}

TEST(StorageCli, AnEmptyFileIsNotTurnedIntoADatabaseByACommandThatReads) {
  TempDir dir;
  const std::string empty = dir.file("empty.sqlite");
  std::ofstream(empty).close();
  for (const std::string& command : {"export --db " + empty, "validate --db " + empty, "fit --db " + empty + " --out " +
                                     dir.file("p.json"), "merge " + dir.file("out.sqlite") + " " + empty}) {
    const auto r = run_cli(command);
    EXPECT_EQ(r.exit_code, 6) << command << "\n" << r.err;
    EXPECT_NE(r.err.find("'" + empty + "' holds no tables (an empty file), so it is not a dlenergy database yet"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(std::filesystem::file_size(empty), 0u) << command;
  }
  const auto folder = run_cli("export --db " + dir.path().string());
  EXPECT_EQ(folder.exit_code, 3);
  EXPECT_NE(folder.err.find("is a directory; pass a database file inside it"), std::string::npos) << folder.err;
}

// Four imports of one file into one new database at once store it once: the check for an earlier import is made
// inside the write transaction, and opening a new database waits for the others instead of failing at once. The file
// has 3,000 rows (one fixture row at 3,000 batch sizes), so each import spends a while between reading the file and
// writing it, where a check made outside the transaction let every import through.
TEST(StorageCli, ImportsRunningAtOnceStoreAFileOnce) {
  TempDir dir;
  std::istringstream fixture(testing::slurp(std::string(kFixtures) + "codecarbon_layers.csv"));
  std::string header, conv, pool;
  std::getline(fixture, header);
  std::getline(fixture, conv);
  std::getline(fixture, pool);  // module:MaxPool2d, batch_size:10, run_id u2
  ASSERT_NE(pool.find("batch_size:10,"), std::string::npos);
  const std::string csv = dir.file("many.csv");
  {
    std::ofstream out(csv);
    out << header << "\n";
    for (int b = 1; b <= 3000; ++b) {
      std::string row = pool;
      row.replace(row.find("batch_size:10,"), 14, "batch_size:" + std::to_string(b) + ",");
      row.replace(row.find(",u2,"), 4, ",u" + std::to_string(b) + ",");
      out << row << "\n";
    }
  }
  const std::string db = dir.file("race.sqlite");
  const std::string one =
      testing::dlenergy_bin() + " import codecarbon --db " + db + " " + csv + " >/dev/null 2>>" + dir.file("err.txt");
  run_cli("version >/dev/null; " + one + " & " + one + " & " + one + " & " + one + " & wait");
  EXPECT_EQ(testing::slurp(dir.file("err.txt")), "");  // no "database is locked", no other error
  const auto store = storage::Store::open_existing(db);
  EXPECT_EQ(store.runs().size(), 1u);
  storage::MeasurementFilter all;
  all.include_skipped = true;
  EXPECT_EQ(store.count_measurements(all), 3000u);
}

// The output of a merge that stopped half way is named as such by the commands that read it, and so is what a
// later merge copies from it; running the merge again completes it and clears the mark, and a mark that cannot be
// cleared that way can be forgotten.
TEST(StorageCli, AMergeThatDidNotFinishIsReportedUntilItIsRunAgain) {
  TempDir dir;
  const std::string a = dir.file("a.sqlite"), b = dir.file("b.sqlite"), out = dir.file("out.sqlite");
  ASSERT_EQ(run_cli("import codecarbon --db " + a + " " + kFixtures + "codecarbon_layers.csv").exit_code, 0);
  ASSERT_EQ(run_cli("import codecarbon --db " + b + " " + kFixtures + "codecarbon_networks.csv").exit_code, 0);
  const auto killed_merge = [&](const std::string& into) {  // what a merge of a and b leaves, killed after a
    const pid_t child = fork();
    if (child == 0) {
      auto o = storage::Store::open(into);
      storage::begin_merge(o, {a, b});
      storage::merge_into(o, storage::Store::open_existing(a));
      _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
  };
  killed_merge(out);
  const std::string incomplete = "warning: " + out + " is the output of a merge that did not finish, of " + a + ", " +
                                 b + " (started ";
  for (const std::string& command : {"export --db " + out, "validate --db " + out,
                                     "fit --db " + out + " --out " + dir.file("p.json")}) {
    const auto r = run_cli(command);
    EXPECT_NE(r.err.find(incomplete), std::string::npos) << command << "\n" << r.err;
    EXPECT_NE(r.err.find("it holds whole runs but may lack some; run that merge again (into " + out +
                         ") to complete it"),
              std::string::npos)
        << r.err;
  }
  // A merge of the incomplete output passes the mark on.
  const std::string second = dir.file("second.sqlite");
  ASSERT_EQ(run_cli("merge " + second + " " + out).exit_code, 0);
  EXPECT_NE(run_cli("export --db " + second).err.find("warning: " + second +
                                                       " is the output of a merge that did not finish, of " + a),
            std::string::npos);

  const auto again = run_cli("merge " + out + " " + a + " " + b);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("note: " + out + " holds the part copied by a merge that did not finish"), std::string::npos)
      << again.err;
  EXPECT_NE(again.err.find("this merge copies the rest of the inputs it shares with that one"), std::string::npos)
      << again.err;
  EXPECT_EQ(run_cli("export --db " + out).err, "");
  const auto merged = storage::Store::open_existing(out);
  EXPECT_EQ(merged.runs().size(), 2u);
  EXPECT_TRUE(storage::unfinished_merges(merged).empty());
  // Merged again from the now complete output, the second database loses the mark it had received from it.
  const auto refreshed = run_cli("merge " + second + " " + out);
  ASSERT_EQ(refreshed.exit_code, 0) << refreshed.err;
  EXPECT_EQ(refreshed.err, "");  // no note on a mark that this merge itself drops
  EXPECT_EQ(run_cli("export --db " + second).err, "");
  EXPECT_EQ(storage::Store::open_existing(second).runs().size(), 2u);
  // A merge that ends leaves no mark.
  const auto whole = run_cli("merge " + dir.file("whole.sqlite") + " " + a + " " + b);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(whole.err, "");
  EXPECT_TRUE(storage::unfinished_merges(storage::Store::open_existing(dir.file("whole.sqlite"))).empty());

  // Inputs that are gone: the merge cannot be run again, and the mark can be forgotten instead.
  const std::string lost = dir.file("lost.sqlite");
  killed_merge(lost);
  std::filesystem::rename(a, dir.file("a-moved-away.sqlite"));
  std::filesystem::remove(b);
  const auto gone = run_cli("export --db " + lost);
  EXPECT_NE(gone.err.find("its inputs are not where they were, so it cannot be run again: if " + lost +
                          " holds what you need, `dlenergy merge " + lost + " --forget-unfinished` removes this mark"),
            std::string::npos)
      << gone.err;
  const auto forget = run_cli("merge " + lost + " --forget-unfinished");
  ASSERT_EQ(forget.exit_code, 0) << forget.err;
  EXPECT_NE(forget.out.find(lost + ": 1 mark(s) of unfinished merges removed"), std::string::npos) << forget.out;
  EXPECT_EQ(run_cli("export --db " + lost).err, "");
  EXPECT_EQ(run_cli("merge " + lost + " " + second + " --forget-unfinished").exit_code, 2);
  const auto none = run_cli("merge " + lost);
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("merge needs at least one input database"), std::string::npos) << none.err;
}

TEST(StorageCli, CtrlCStopsAMergeBetweenRunsSaysHowFarItGotAndTheMergeCompletesLater) {
  TempDir dir;
  const std::string in = dir.file("many.sqlite"), out = dir.file("out.sqlite");
  constexpr int kRuns = 400, kPerRun = 250;  // a merge of a few seconds, so that Ctrl-C arrives in the middle
  {
    auto store = storage::Store::open(in);
    for (int r = 0; r < kRuns; ++r) {
      storage::RunRecord run;
      run.started_at = "2024-01-01T00:00:00Z";
      run.source = "dlenergy collect";
      run.hostname = "n1";
      run.cpu_model = "cpu";
      run.sensor = "rapl";
      run.settings_hash = "shard" + std::to_string(r);
      run.settings_json = "{\"shard\":" + std::to_string(r) + "}";
      std::vector<storage::MeasurementRecord> ms(kPerRun);
      for (int i = 0; i < kPerRun; ++i) {
        ms[i].config = {"relu", {{"batch_size", i + 1}, {"input_size", 1000}}};
        ms[i].repeat = 1;
        ms[i].passes = 10;
        ms[i].duration_s = 1;
        ms[i].energy_j = ms[i].energy_per_pass_j = ms[i].net_energy_per_pass_j = 0.1 * (i + 1);
        ms[i].sensor = "rapl";
      }
      store.add_run_with_measurements(run, std::move(ms));
    }
  }
  const auto runs_in = [](const std::string& db) -> std::size_t {
    try {
      return storage::Store::open_existing(db).runs().size();
    } catch (const Error&) {
      return 0;  // not yet created by the child
    }
  };
  {
    testing::Child merge({"merge", out, in}, dir.path(), "merge");
    while (merge.running() && runs_in(out) < 5) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    merge.signal(SIGINT);
    ASSERT_EQ(merge.wait(), 130) << merge.err();
    const std::size_t copied = runs_in(out);
    ASSERT_LT(copied, static_cast<std::size_t>(kRuns)) << "the merge ended before Ctrl-C; the test proves nothing";
    EXPECT_NE(merge.err().find("dlenergy: error: merge interrupted by Ctrl-C (SIGINT) after " + std::to_string(copied) +
                               " of the " + std::to_string(kRuns) + " run(s) of " + in + " (" + std::to_string(copied) +
                               " added now, 0 already in " + out + "); " + out +
                               " holds the whole runs copied so far and stays marked as the output of an unfinished "
                               "merge: run the same merge again to complete it"),
              std::string::npos)
        << merge.err();
    EXPECT_NE(merge.out().find(in + ": " + std::to_string(copied) + " run(s) added, 0 already present; " +
                               std::to_string(copied * kPerRun) + " measurement(s) copied, 0 duplicate(s) skipped " +
                               "(stopped after " + std::to_string(copied) + " of " + std::to_string(kRuns) + " runs)"),
              std::string::npos)
        << merge.out();
    EXPECT_EQ(storage::unfinished_merges(storage::Store::open_existing(out)).size(), 1u);
  }
  const auto again = run_cli("merge " + out + " " + in);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto merged = storage::Store::open_existing(out);
  EXPECT_EQ(merged.runs().size(), static_cast<std::size_t>(kRuns));
  storage::MeasurementFilter all;
  all.include_skipped = true;
  EXPECT_EQ(merged.count_measurements(all), static_cast<std::size_t>(kRuns * kPerRun));
  EXPECT_TRUE(storage::unfinished_merges(merged).empty());
}

TEST(StorageCli, OutputLostOnAFullDiskIsAFailureNotASuccess) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  TempDir dir;
  const std::string db = dir.file("full.sqlite");
  ASSERT_EQ(run_cli("import codecarbon --db " + db + " " + kFixtures + "codecarbon_layers.csv").exit_code, 0);
  for (const std::string& command : {"export --db " + db, std::string("inspect --arch vgg16"), std::string("version")}) {
    const auto r = run_cli(command + " >/dev/full");
    EXPECT_EQ(r.exit_code, 6) << command;
    EXPECT_NE(r.err.find("could not write all of the output to standard output"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace dle
