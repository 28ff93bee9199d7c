#pragma once
// `dlenergy merge`: copies runs and measurements from one database into another, remapping run ids.
#include <cstddef>
#include <string>

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

}  // namespace dle::storage
