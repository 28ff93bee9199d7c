#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <set>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "core/interrupt.hpp"
#include "storage/merge.hpp"
#include "storage/store.hpp"

namespace dle::cli {

namespace {
struct MergeOptions {
  std::string out;
  std::vector<std::string> inputs;
  bool forget_unfinished = false;
};

void forget_unfinished(const std::string& out_path) {
  auto out = storage::Store::open_existing(out_path);
  const auto marks = storage::unfinished_merges(out);
  for (const auto& m : marks)
    std::cout << "forgot the unfinished merge of " << storage::describe(m) << (m.in_progress() ? " (still running)" : "")
              << "\n";
  storage::forget_unfinished_merges(out);
  std::cout << out_path << ": " << marks.size() << " mark(s) of unfinished merges removed; its runs and measurements "
            << "are as they were\n";
}

void run_merge(const MergeOptions& o) {
  namespace fs = std::filesystem;
  if (o.forget_unfinished) {
    if (!o.inputs.empty())
      throw UsageError("--forget-unfinished removes the marks of unfinished merges from OUT and copies nothing; give "
                       "it without input databases");
    forget_unfinished(o.out);
    return;
  }
  if (o.inputs.empty())
    throw UsageError("merge needs at least one input database: dlenergy merge OUT IN [IN ...]");
  // Open (and so check) every input before the output is created.
  std::vector<storage::Store> inputs;
  for (const auto& in : o.inputs) {
    std::error_code ec;
    if (fs::exists(o.out, ec) && fs::equivalent(in, o.out, ec))
      throw ConfigError("input '" + in + "' is the output database; name a new or different OUT");
    inputs.push_back(open_database_to_read(in));
  }
  auto out = storage::Store::open(o.out);
  // Marked unfinished until every input is copied: a merge killed half way leaves whole runs, and a mark that the
  // commands reading the output report. An input that is itself incomplete passes its marks on (and one merged again
  // takes back those it no longer has).
  const auto earlier = storage::unfinished_merges(out);
  // Ctrl-C or SIGTERM from here on (the mark is written next) stops the merge between two runs: what was copied
  // stays, the mark stays, and the message says how far it got.
  InterruptGuard guard;
  const std::string mark = storage::begin_merge(out, o.inputs);
  for (const auto& in : inputs) storage::carry_unfinished_merges(out, in);
  std::set<std::string> still;
  for (const auto& m : storage::unfinished_merges(out)) still.insert(m.key);
  for (const auto& m : earlier) {
    if (!still.count(m.key)) continue;
    std::cerr << "dlenergy: note: " << o.out;
    if (m.in_progress())
      std::cerr << " is being written by another merge in progress, of " << storage::describe(m)
                << "; runs that both copy are stored once\n";
    else if (storage::shares_inputs(m, o.inputs))
      std::cerr << " holds the part copied by a merge that did not finish, of " << storage::describe(m)
                << "; this merge copies the rest of the inputs it shares with that one\n";
    else
      std::cerr << " holds the part copied by a merge that did not finish, of " << storage::describe(m)
                << "; this merge copies none of its inputs, so " << o.out << " stays marked as incomplete\n";
  }
  std::size_t copied = 0, duplicates = 0;
  std::string stopped;  // where the merge stopped, empty when it did not
  for (std::size_t i = 0; i < inputs.size() && stopped.empty(); ++i) {
    const auto r = storage::merge_into(out, inputs[i], &InterruptGuard::flag());
    copied += r.measurements_copied;
    duplicates += r.duplicates_skipped;
    std::cout << r.input << ": " << r.runs_added << " run(s) added, " << r.runs_matched << " already present; "
              << r.measurements_copied << " measurement(s) copied, " << r.duplicates_skipped
              << " duplicate(s) skipped";
    if (r.conflicts_kept > 0) std::cout << ", " << r.conflicts_kept << " conflicting";
    if (r.stopped) std::cout << " (stopped after " << r.runs_added + r.runs_matched << " of " << r.runs_in_input << " runs)";
    std::cout << std::endl;  // each input's line out before the next starts, in case the merge is stopped
    if (r.conflicts_kept > 0)
      std::cerr << "dlenergy: warning: " << r.input << ": " << r.conflicts_kept
                << " measurement(s) have the key of one already in " << o.out
                << " but other values (status or energy); the output's were kept and these not copied: are these "
                   "two different collections with the same settings?\n";
    if (r.stopped || (InterruptGuard::flag().load() && i + 1 < inputs.size())) {
      stopped = "after " + std::to_string(r.runs_added + r.runs_matched) + " of the " + std::to_string(r.runs_in_input) +
                " run(s) of " + r.input + " (" + std::to_string(r.runs_added) + " added now, " +
                std::to_string(r.runs_matched) + " already in " + o.out + ")";
      if (i + 1 < inputs.size())
        stopped += "; " + std::to_string(inputs.size() - i - 1) + " input(s) after it not started";
    }
  }
  if (!stopped.empty())
    throw Interrupted("merge interrupted by " + signal_description(InterruptGuard::signal_number()) + " " + stopped +
                      "; " + o.out + " holds the whole runs copied so far and stays marked as the output of an "
                      "unfinished merge: run the same merge again to complete it");
  storage::finish_merge(out, mark, o.inputs);
  storage::MeasurementFilter all;
  all.include_skipped = true;
  std::cout << "total: " << copied << " measurement(s) copied, " << duplicates << " duplicate(s) skipped; " << o.out
            << " now holds " << out.runs().size() << " run(s) and " << out.count_measurements(all)
            << " measurement(s)\n";
}
}  // namespace

void setup_merge(CLI::App& app) {
  auto opts = std::make_shared<MergeOptions>();
  auto* sub = app.add_subcommand(
      "merge", "Combine databases (shards, machines) into OUT, remapping run ids and skipping exact duplicates.");
  sub->add_option("out", opts->out, "Output database (created if missing)")->required();
  sub->add_option("inputs", opts->inputs, "Databases to copy from")->expected(0, -1);
  sub->add_flag("--forget-unfinished", opts->forget_unfinished,
                "Remove the marks that merges which did not finish left in OUT (it then reads as complete); copies "
                "nothing");
  sub->callback([opts] { run_merge(*opts); });
}

}  // namespace dle::cli
