#pragma once
// `dlenergy merge`: copies runs and measurements from one database into another, remapping run ids.
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
};

// Two run records describe the same run when settings hash, host, CPU model and start time agree: a run
// resumed after a crash keeps its record, so merging two copies of it (or one copy twice) matches, while
// the same settings collected on two machines stay two runs. Two imports of one CodeCarbon file (same name and
// content) are one run whenever they were imported.
bool same_run(const RunRecord& a, const RunRecord& b);

// Copies every run of `in` (matching or adding it in `out`) and every measurement not already in `out`.
// Each input run is copied in one transaction.
MergeReport merge_into(Store& out, const Store& in);

// A merge that started and did not finish (killed, interrupted, a full disk): its output holds whole runs, each
// copied in one transaction, but may lack some. A merge records itself in its output's meta table when it starts
// and erases the record when it ends, so that commands reading the output can say it is incomplete.
struct UnfinishedMerge {
  std::string key;                  // the meta row
  std::vector<std::string> inputs;  // absolute paths; empty when the record cannot be read
  std::string started_at;           // UTC
  std::string host;
  std::int64_t pid = 0;
};
// Records a merge of `inputs` into `out` as started; returns the record's key.
std::string begin_merge(Store& out, const std::vector<std::string>& inputs);
// Erases the record `key`, and those of earlier merges whose inputs were all among `inputs`: those are now copied
// in whole, so running an interrupted merge again completes it and clears its mark.
void finish_merge(Store& out, const std::string& key, const std::vector<std::string>& inputs);
std::vector<UnfinishedMerge> unfinished_merges(const Store& db);
// "a.sqlite, b.sqlite (started 2026-11-28T03:40:00Z on node17, process 1234)"
std::string describe(const UnfinishedMerge& m);

}  // namespace dle::storage
