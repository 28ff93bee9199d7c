#include "storage/merge.hpp"

#include <vector>

namespace dle::storage {

bool same_run(const RunRecord& a, const RunRecord& b) {
  return a.settings_hash == b.settings_hash && a.hostname == b.hostname && a.cpu_model == b.cpu_model &&
         a.started_at == b.started_at;
}

MergeReport merge_into(Store& out, const Store& in) {
  MergeReport report;
  report.input = in.path();
  for (const RunRecord& run : in.runs()) {
    MeasurementFilter filter;
    filter.run_id = run.id;
    filter.include_skipped = true;
    std::vector<MeasurementRecord> ms = in.measurements(filter);

    std::optional<RunRecord> target;
    for (const RunRecord& existing : out.runs())
      if (same_run(existing, run)) {
        target = existing;
        break;
      }
    if (!target) {
      report.measurements_copied += ms.size();
      out.add_run_with_measurements(run, std::move(ms));
      ++report.runs_added;
      continue;
    }
    ++report.runs_matched;
    const auto keys = out.item_keys(target->id);
    std::vector<MeasurementRecord> fresh;
    for (auto& m : ms) {
      if (keys.count(m.item_key())) {
        ++report.duplicates_skipped;
        continue;
      }
      m.run_id = target->id;
      fresh.push_back(std::move(m));
    }
    report.measurements_copied += fresh.size();
    if (!fresh.empty()) out.add_measurements(fresh);
  }
  return report;
}

}  // namespace dle::storage
