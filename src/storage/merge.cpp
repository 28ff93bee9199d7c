#include "storage/merge.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/system_info.hpp"

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

namespace {
constexpr const char* kUnfinishedMerge = "unfinished_merge:";

std::vector<std::string> absolute_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(std::filesystem::weakly_canonical(std::filesystem::absolute(p)).string());
  return out;
}
}  // namespace

std::string begin_merge(Store& out, const std::vector<std::string>& inputs) {
  UnfinishedMerge m;
  m.inputs = absolute_paths(inputs);
  m.started_at = sys::utc_now_iso8601();
  m.host = sys::hostname();
  m.pid = static_cast<std::int64_t>(::getpid());
  static std::atomic<int> merges_here{0};  // one process may run several merges within a second
  const std::string key = kUnfinishedMerge + m.host + ":" + std::to_string(m.pid) + ":" + m.started_at + ":" +
                          std::to_string(++merges_here);
  const nlohmann::ordered_json value = {{"inputs", m.inputs}, {"started_at", m.started_at}, {"host", m.host}, {"pid", m.pid}};
  out.set_meta(key, value.dump());
  return key;
}

void finish_merge(Store& out, const std::string& key, const std::vector<std::string>& inputs) {
  const std::vector<std::string> done = absolute_paths(inputs);
  for (const auto& m : unfinished_merges(out)) {
    const bool covered = !m.inputs.empty() && std::all_of(m.inputs.begin(), m.inputs.end(), [&](const std::string& in) {
      return std::find(done.begin(), done.end(), in) != done.end();
    });
    if (m.key == key || covered) out.erase_meta(m.key);
  }
}

std::vector<UnfinishedMerge> unfinished_merges(const Store& db) {
  std::vector<UnfinishedMerge> out;
  for (const auto& [key, value] : db.meta(kUnfinishedMerge)) {
    UnfinishedMerge m;
    m.key = key;
    try {
      const auto j = nlohmann::json::parse(value);
      m.inputs = j.at("inputs").get<std::vector<std::string>>();
      m.started_at = j.at("started_at").get<std::string>();
      m.host = j.at("host").get<std::string>();
      m.pid = j.at("pid").get<std::int64_t>();
    } catch (const nlohmann::json::exception&) {
      m.inputs.clear();  // an edited record: still an unfinished merge, of inputs it no longer names
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string describe(const UnfinishedMerge& m) {
  if (m.inputs.empty()) return "inputs not recorded (meta row '" + m.key + "')";
  std::string out;
  for (const auto& in : m.inputs) out += (out.empty() ? "" : ", ") + in;
  return out + " (started " + m.started_at + " on " + m.host + ", process " + std::to_string(m.pid) + ")";
}

}  // namespace dle::storage
