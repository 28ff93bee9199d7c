#include "storage/merge.hpp"

#include <cmath>
#include <map>
#include <vector>

namespace dle::storage {

bool same_run(const RunRecord& a, const RunRecord& b) {
  // An imported CodeCarbon file is identified by its name and content (the settings hash): imported into two
  // databases at two times, it is still one run of measurements.
  if (a.source == "codecarbon import" && b.source == "codecarbon import") return a.settings_hash == b.settings_hash;
  return a.settings_hash == b.settings_hash && a.hostname == b.hostname && a.cpu_model == b.cpu_model &&
         a.started_at == b.started_at;
}

namespace {
// The measured values of one measurement, to tell a copy of it from a different measurement under the same key.
bool same_values(const MeasurementRecord& a, const MeasurementRecord& b) {
  const auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  return a.status == b.status && a.passes == b.passes && same(a.energy_j, b.energy_j) &&
         same(a.energy_per_pass_j, b.energy_per_pass_j) && same(a.duration_s, b.duration_s);
}
}  // namespace

MergeReport merge_into(Store& out, const Store& in) {
  MergeReport report;
  report.input = in.path();
  for (const RunRecord& run : in.runs()) {
    MeasurementFilter filter;
    filter.run_id = run.id;
    filter.include_skipped = true;
    std::vector<MeasurementRecord> ms = in.measurements(filter);

    // Looked for inside the write transaction, so that two merges into one output add a run once.
    const auto [target_id, added] = out.add_run_with_measurements_unless(run, ms, [&]() {
      std::optional<std::int64_t> id;
      for (const RunRecord& existing : out.runs())
        if (same_run(existing, run)) return std::optional<std::int64_t>(existing.id);
      return id;
    });
    if (added) {
      report.measurements_copied += ms.size();
      ++report.runs_added;
      continue;
    }
    ++report.runs_matched;
    MeasurementFilter theirs;
    theirs.run_id = target_id;
    theirs.include_skipped = true;
    std::map<std::string, MeasurementRecord> present;
    for (auto& m : out.measurements(theirs)) present.emplace(m.item_key(), std::move(m));
    std::vector<MeasurementRecord> fresh;
    for (auto& m : ms) {
      if (const auto it = present.find(m.item_key()); it != present.end()) {
        // The output's measurement is kept; one that differs from the input's is counted, not passed off as a copy.
        ++(same_values(it->second, m) ? report.duplicates_skipped : report.conflicts_kept);
        continue;
      }
      m.run_id = target_id;
      fresh.push_back(std::move(m));
    }
    report.measurements_copied += fresh.size();
    if (!fresh.empty()) out.add_measurements(fresh);
  }
  return report;
}

}  // namespace dle::storage
