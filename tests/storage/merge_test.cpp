#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "storage/merge.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace dle::storage {
namespace {

using testing::TempDir;

RunRecord run_record(const std::string& hash, const std::string& host) {
  RunRecord r;
  r.started_at = "2024-01-01T00:00:00Z";
  r.source = "dlenergy collect";
  r.hostname = host;
  r.cpu_model = "cpu";
  r.sensor = "rapl";
  r.settings_json = "{\"shard\":\"" + hash + "\"}";
  r.settings_hash = hash;
  return r;
}

MeasurementRecord relu(int batch, int repeat, const std::string& status = "ok") {
  MeasurementRecord m;
  m.config = {"relu", {{"batch_size", batch}, {"input_size", 1000}}};
  m.repeat = repeat;
  m.passes = 10;
  m.duration_s = 1;
  m.energy_j = batch;
  m.energy_per_pass_j = batch / 10.0;
  m.net_energy_per_pass_j = batch / 10.0;
  m.domains = {{"package-0", static_cast<double>(batch)}};
  m.sensor = "rapl";
  m.status = status;
  return m;
}

std::size_t count_all(const Store& s) {
  MeasurementFilter f;
  f.include_skipped = true;
  return s.count_measurements(f);
}

// Merges a.sqlite, then b.sqlite of `dir` into `out`; returns b's report.
MergeReport merge_b_after_a(const TempDir& dir, Store& out) {
  merge_into(out, Store::open_existing(dir.file("a.sqlite")));
  return merge_into(out, Store::open_existing(dir.file("b.sqlite")));
}

TEST(Merge, RemapsRunIdsSkipsExactDuplicatesAndCounts) {
  TempDir dir;
  {
    auto a = Store::open(dir.file("a.sqlite"));
    a.add_run_with_measurements(run_record("shard1", "n1"), {relu(1, 1), relu(2, 1), relu(3, 1, "skipped")});
    auto b = Store::open(dir.file("b.sqlite"));
    b.add_run(run_record("unrelated", "n9"));  // takes id 1 in b, so b's shard runs have other ids than in a
    // The same run as in a (a copy taken later, with one more measurement), and another shard.
    b.add_run_with_measurements(run_record("shard1", "n1"), {relu(1, 1), relu(2, 1), relu(3, 1, "skipped"), relu(4, 1)});
    b.add_run_with_measurements(run_record("shard2", "n2"), {relu(1, 1), relu(5, 1)});
  }
  auto out = Store::open(dir.file("out.sqlite"));
  const auto a = Store::open_existing(dir.file("a.sqlite"));
  const auto b = Store::open_existing(dir.file("b.sqlite"));

  const auto ra = merge_into(out, a);
  EXPECT_EQ(ra.runs_added, 1u);
  EXPECT_EQ(ra.runs_matched, 0u);
  EXPECT_EQ(ra.measurements_copied, 3u);
  EXPECT_EQ(ra.duplicates_skipped, 0u);

  const auto rb = merge_into(out, b);
  EXPECT_EQ(rb.runs_added, 2u);  // "unrelated" and shard2
  EXPECT_EQ(rb.runs_matched, 1u);
  EXPECT_EQ(rb.measurements_copied, 3u);  // relu(4) of shard1, both of shard2
  EXPECT_EQ(rb.duplicates_skipped, 3u);

  EXPECT_EQ(count_all(out), 6u);
  const auto runs = out.runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].settings_hash, "shard1");
  EXPECT_EQ(runs[1].settings_hash, "unrelated");
  EXPECT_EQ(runs[2].settings_hash, "shard2");
  MeasurementFilter f;
  f.run_id = runs[0].id;
  f.include_skipped = true;
  EXPECT_EQ(out.count_measurements(f), 4u);
  f.run_id = runs[2].id;
  EXPECT_EQ(out.count_measurements(f), 2u);
  // Values come across unchanged.
  const auto shard2 = out.measurements(f);
  EXPECT_EQ(shard2[1].config.to_string(), "relu batch_size=5 input_size=1000");
  EXPECT_DOUBLE_EQ(shard2[1].energy_per_pass_j, 0.5);

  // Merging again adds nothing.
  const auto again = merge_into(out, b);
  EXPECT_EQ(again.runs_added, 0u);
  EXPECT_EQ(again.runs_matched, 3u);
  EXPECT_EQ(again.measurements_copied, 0u);
  EXPECT_EQ(again.duplicates_skipped, 6u);
  EXPECT_EQ(count_all(out), 6u);
}

TEST(Merge, AStopFlagLeavesTheRestOfTheRunsAndSaysSo) {
  TempDir dir;
  {
    auto a = Store::open(dir.file("a.sqlite"));
    a.add_run_with_measurements(run_record("shard1", "n1"), {relu(1, 1), relu(2, 1)});
    a.add_run_with_measurements(run_record("shard2", "n1"), {relu(3, 1)});
  }
  const auto a = Store::open_existing(dir.file("a.sqlite"));
  auto out = Store::open(dir.file("out.sqlite"));
  std::atomic<bool> stop{true};  // set before the first run: nothing is copied
  const auto stopped = merge_into(out, a, &stop);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.runs_in_input, 2u);
  EXPECT_EQ(stopped.runs_added + stopped.runs_matched, 0u);
  EXPECT_TRUE(out.runs().empty());
  stop = false;
  const auto whole = merge_into(out, a, &stop);
  EXPECT_FALSE(whole.stopped);
  EXPECT_EQ(whole.runs_in_input, 2u);
  EXPECT_EQ(whole.runs_added, 2u);
  EXPECT_EQ(count_all(out), 3u);
}

TEST(Merge, SameSettingsOnAnotherMachineStayTwoRuns) {
  TempDir dir;
  {
    auto a = Store::open(dir.file("a.sqlite"));
    a.add_run_with_measurements(run_record("same", "n1"), {relu(1, 1)});
    auto b = Store::open(dir.file("b.sqlite"));
    b.add_run_with_measurements(run_record("same", "n2"), {relu(1, 1)});
  }
  auto out = Store::open(dir.file("out.sqlite"));
  const auto r = merge_b_after_a(dir, out);
  EXPECT_EQ(r.runs_added, 1u);
  EXPECT_EQ(r.duplicates_skipped, 0u);
  EXPECT_EQ(count_all(out), 2u);
}

// One CodeCarbon file imported into two databases, at two times, is one run in their merge.
TEST(Merge, OneImportedFileInTwoDatabasesIsOneRun) {
  TempDir dir;
  {
    RunRecord first = run_record("file-and-content", "unknown (not in CodeCarbon output)");
    first.source = "codecarbon import";
    RunRecord later = first;
    later.started_at = "2024-06-01T12:00:00Z";  // the import time, not the measurement's
    Store::open(dir.file("a.sqlite")).add_run_with_measurements(first, {relu(1, 1), relu(2, 1)});
    Store::open(dir.file("b.sqlite")).add_run_with_measurements(later, {relu(1, 1), relu(2, 1)});
  }
  auto out = Store::open(dir.file("out.sqlite"));
  const auto r = merge_b_after_a(dir, out);
  EXPECT_EQ(r.runs_added, 0u);
  EXPECT_EQ(r.runs_matched, 1u);
  EXPECT_EQ(r.duplicates_skipped, 2u);
  EXPECT_EQ(count_all(out), 2u);
}

// A measurement with the key of one in the output but other values is not a duplicate: it is counted as a
// conflict (the output's is kept), so the merge does not report it as a copy it dropped.
TEST(Merge, SameKeyOtherValuesIsAConflictNotADuplicate) {
  TempDir dir;
  {
    auto a = Store::open(dir.file("a.sqlite"));
    a.add_run_with_measurements(run_record("shard1", "n1"), {relu(1, 1), relu(2, 1)});
    MeasurementRecord changed = relu(2, 1);
    changed.energy_j = 99.0;
    auto b = Store::open(dir.file("b.sqlite"));
    b.add_run_with_measurements(run_record("shard1", "n1"), {relu(1, 1), changed, relu(3, 1, "skipped")});
  }
  auto out = Store::open(dir.file("out.sqlite"));
  const auto r = merge_b_after_a(dir, out);
  EXPECT_EQ(r.duplicates_skipped, 1u);
  EXPECT_EQ(r.conflicts_kept, 1u);
  EXPECT_EQ(r.measurements_copied, 1u);
  MeasurementFilter f;
  f.include_skipped = true;
  for (const auto& m : out.measurements(f)) {
    if (m.config.get("batch_size") == 2) {
      EXPECT_EQ(m.energy_j, 2.0);  // the output's value kept
    }
  }
  EXPECT_EQ(count_all(out), 3u);
}

std::vector<std::string> paths_of(const UnfinishedMerge& m) {
  std::vector<std::string> out;
  for (const auto& in : m.inputs) out.push_back(in.path);
  return out;
}

// A merge is marked unfinished in its output from its start to its end; a later merge that copies all of an
// unfinished one's inputs clears that mark too, whatever names it gives them (a hard link, a moved file), and one
// that copies only some of them leaves it.
TEST(Merge, UnfinishedMergesAreMarkedUntilTheirInputsAreCopiedInWhole) {
  TempDir dir;
  auto out = Store::open(dir.file("out.sqlite"));
  const std::string a = dir.file("a.sqlite"), b = dir.file("b.sqlite"), c = dir.file("c.sqlite");
  for (const auto& p : {a, b, c}) Store::open(p);
  EXPECT_TRUE(unfinished_merges(out).empty());
  const std::string killed = begin_merge(out, {a, b});  // as a merge killed before it ended leaves it
  const std::string other = begin_merge(out, {a, c});
  auto marks = unfinished_merges(out);
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(paths_of(marks[0]), (std::vector<std::string>{a, b}));
  EXPECT_EQ(marks[0].pid, static_cast<std::int64_t>(::getpid()));
  EXPECT_TRUE(marks[0].in_progress());  // this very process
  EXPECT_EQ(describe(marks[0]).rfind(a + ", " + b + " (started ", 0), 0u) << describe(marks[0]);
  EXPECT_TRUE(shares_inputs(marks[1], {c}));
  EXPECT_FALSE(shares_inputs(marks[1], {b}));

  // b under another name: a hard link.
  const std::string b_link = dir.file("b-link.sqlite");
  std::filesystem::create_hard_link(b, b_link);
  const std::string now = begin_merge(out, {b_link, a});
  EXPECT_EQ(unfinished_merges(out).size(), 3u);
  finish_merge(out, now, {b_link, a});
  marks = unfinished_merges(out);
  ASSERT_EQ(marks.size(), 1u);  // its own mark and the killed one's ({a, b}, copied in whole now) are gone
  EXPECT_EQ(marks[0].key, other);
  EXPECT_NE(killed, other);

  // What a merge copies from an incomplete database is as incomplete: the marks travel with it.
  auto second = Store::open(dir.file("second.sqlite"));
  carry_unfinished_merges(second, out);
  ASSERT_EQ(unfinished_merges(second).size(), 1u);
  EXPECT_EQ(paths_of(unfinished_merges(second)[0]), (std::vector<std::string>{a, c}));

  // An edited record: still a mark, shown without control characters, cleared only by forgetting.
  out.set_meta("unfinished_merge:edited", "not json\x1b[2J");
  out.set_meta("unfinished_merge:\x1b[31mred", "{}");
  marks = unfinished_merges(out);
  ASSERT_EQ(marks.size(), 3u);
  const auto edited = std::find_if(marks.begin(), marks.end(), [](const UnfinishedMerge& m) { return m.key == "unfinished_merge:edited"; });
  ASSERT_NE(edited, marks.end());
  EXPECT_EQ(describe(*edited), "inputs not recorded (meta row 'unfinished_merge:edited')");
  EXPECT_FALSE(edited->in_progress());
  EXPECT_EQ(describe(marks[0]), "inputs not recorded (meta row 'unfinished_merge:?[31mred')");
  finish_merge(out, "none", {a, b, c});
  EXPECT_EQ(unfinished_merges(out).size(), 2u);  // {a, c} is covered now; the edited ones name no inputs
  EXPECT_EQ(forget_unfinished_merges(out), 2u);
  EXPECT_TRUE(unfinished_merges(out).empty());
  EXPECT_EQ(out.meta("application").at("application"), "dlenergy");
}

// A record of a process that has ended, or of another host, is not a merge in progress; nor is one whose process id
// now belongs to another process (its start time differs).
TEST(Merge, OnlyALiveMergeProcessIsInProgress) {
  TempDir dir;
  auto out = Store::open(dir.file("out.sqlite"));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {  // its own connection: one is not carried across fork
    auto own = Store::open(dir.file("out.sqlite"));
    begin_merge(own, {dir.file("a.sqlite")});
    _exit(0);
  }
  // Ended, not yet reaped: a zombie, which kill(pid, 0) still finds.
  siginfo_t info{};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  auto marks = unfinished_merges(out);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].pid, static_cast<std::int64_t>(child));
  EXPECT_GT(marks[0].process_start, 0u);  // read from /proc
  EXPECT_FALSE(marks[0].in_progress());
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_FALSE(marks[0].in_progress());  // killed, or ended without finishing: did not finish
  UnfinishedMerge m = marks[0];
  // A live process, but not the one that started then (1,000 s later than the child, which started after us).
  m.pid = static_cast<std::int64_t>(::getpid());
  m.process_start += 100000;
  EXPECT_FALSE(m.in_progress());
  m.process_start = 0;  // a record without a start time: a live id is taken at its word
  EXPECT_TRUE(m.in_progress());
  m.host = "another-host";
  EXPECT_FALSE(m.in_progress());
}

}  // namespace
}  // namespace dle::storage
