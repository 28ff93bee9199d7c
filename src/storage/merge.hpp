#pragma once
// `dlenergy merge`: copies runs and measurements from one database into another, remapping run ids.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace dle::storage {

struct MergeReport {
  std::string input;
  std::size_t runs_added = 0;           // runs new to the output
  std::size_t runs_matched = 0;         // runs the output already had (same identity, see same_run)
  std::size_t measurements_copied = 0;  // ok and skipped alike
  std::size_t duplicates_skipped = 0;   // same run and item_key() already in the output, with the same values
  std::size_t conflicts_kept = 0;       // same run and item_key() but other values: the output's are kept
  std::size_t runs_in_input = 0;        // all of the input's runs; fewer were handled when `stopped`
  bool stopped = false;                 // `stop` was set before every run of the input was handled
};

// Two run records describe the same run when settings hash, host, CPU model and start time agree: a run
// resumed after a crash keeps its record, so merging two copies of it (or one copy twice) matches, while
// the same settings collected on two machines stay two runs. Two imports of one CodeCarbon file (same name and
// content) are one run whenever they were imported.
bool same_run(const RunRecord& a, const RunRecord& b);

// Copies every run of `in` (matching or adding it in `out`) and every measurement not already in `out`.
// Each input run is copied in one transaction. `stop` (Ctrl-C, see core/interrupt.hpp), when given, is checked
// before each run: once it is set, the runs copied so far stay and the rest are left, with `stopped` set.
MergeReport merge_into(Store& out, const Store& in, const std::atomic<bool>* stop = nullptr);

// A merge that started and did not finish (killed, interrupted, a full disk): its output holds whole runs, each
// copied in one transaction, but may lack some. A merge records itself in its output's meta table when it starts
// and erases the record when it ends, so that commands reading the output can say it is incomplete.
struct UnfinishedMerge {
  // One input as the merge named it: its absolute path and the file's identity (device and inode, 0 when unknown),
  // so that a later merge of the same file under another name (a link, a moved file) is recognised.
  struct Input {
    std::string path;
    std::uint64_t device = 0, inode = 0;
  };
  std::string key;            // the meta row
  std::vector<Input> inputs;  // empty when the record cannot be read
  std::string started_at;     // UTC
  std::string host;
  std::int64_t pid = 0;
  std::uint64_t process_start = 0;  // the process's start time in clock ticks since boot (/proc), 0 when unknown

  // Still running: this host, and a live process with that id and start time (a reused id does not count).
  bool in_progress() const;
};
// Records a merge of `inputs` into `out` as started; returns the record's key.
std::string begin_merge(Store& out, const std::vector<std::string>& inputs);
// Erases the record `key`, and those of earlier merges whose inputs are all among `inputs` (by path or file
// identity): those are now copied in whole, so running an interrupted merge again completes it and clears its mark.
void finish_merge(Store& out, const std::string& key, const std::vector<std::string>& inputs);
// Whether a merge of `inputs` copies at least one input of `m`.
bool shares_inputs(const UnfinishedMerge& m, const std::vector<std::string>& inputs);
// Copies the records of `in` into `out`: what `out` receives from `in` is as incomplete as `in` is. Records `out`
// received from `in` before and `in` no longer holds are dropped.
void carry_unfinished_merges(Store& out, const Store& in);
std::vector<UnfinishedMerge> unfinished_merges(const Store& db);
// Erases every record from `db`; returns how many there were.
std::size_t forget_unfinished_merges(Store& db);
// "/data/a.sqlite, /data/b.sqlite (started 2026-11-28T03:40:00Z on node17, process 1234)"; control characters of an
// edited record are shown as '?'.
std::string describe(const UnfinishedMerge& m);

}  // namespace dle::storage
