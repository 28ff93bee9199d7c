#include "storage/merge.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
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

MergeReport merge_into(Store& out, const Store& in, const std::atomic<bool>* stop) {
  MergeReport report;
  report.input = in.path();
  const std::vector<RunRecord> runs = in.runs();
  report.runs_in_input = runs.size();
  for (const RunRecord& run : runs) {
    if (stop && stop->load()) {
      report.stopped = true;
      break;
    }
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

UnfinishedMerge::Input input_of(const std::string& path) {
  UnfinishedMerge::Input in;
  in.path = std::filesystem::weakly_canonical(std::filesystem::absolute(path)).string();
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    in.device = static_cast<std::uint64_t>(st.st_dev);
    in.inode = static_cast<std::uint64_t>(st.st_ino);
  }
  return in;
}

bool same_file(const UnfinishedMerge::Input& a, const UnfinishedMerge::Input& b) {
  return a.path == b.path || (a.inode != 0 && a.device == b.device && a.inode == b.inode);
}

std::vector<UnfinishedMerge::Input> inputs_of(const std::vector<std::string>& paths) {
  std::vector<UnfinishedMerge::Input> out;
  for (const auto& p : paths) out.push_back(input_of(p));
  return out;
}

// Whether `in` is one of `files` (by path or file identity).
bool among(const UnfinishedMerge::Input& in, const std::vector<UnfinishedMerge::Input>& files) {
  return std::any_of(files.begin(), files.end(), [&](const auto& f) { return same_file(in, f); });
}

// An input in a record: {"path", "device", "inode"}; the first records named the path alone.
nlohmann::ordered_json input_json(const UnfinishedMerge::Input& in) {
  return {{"path", in.path}, {"device", in.device}, {"inode", in.inode}};
}
UnfinishedMerge::Input input_from_json(const nlohmann::json& j) {
  UnfinishedMerge::Input in;
  if (j.is_string()) {
    in.path = j.get<std::string>();
    return in;
  }
  in.path = j.at("path").get<std::string>();
  in.device = j.at("device").get<std::uint64_t>();
  in.inode = j.at("inode").get<std::uint64_t>();
  return in;
}

// From /proc/PID/stat: the state (field 3: 'R', 'S', ..., 'Z' for a process that has ended but not been reaped) and
// the start time (field 22, clock ticks since boot). {'?', 0} when it cannot be read.
std::pair<char, std::uint64_t> process_state(std::int64_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {'?', 0};
  const std::size_t close = stat.rfind(')');  // the command name in parentheses may hold spaces
  if (close == std::string::npos) return {'?', 0};
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  char state = '?';
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3) state = field.empty() ? '?' : field[0];
    if (i == 22) return {state, std::strtoull(field.c_str(), nullptr, 10)};
  }
  return {state, 0};
}

std::uint64_t process_start_ticks(std::int64_t pid) { return process_state(pid).second; }
}  // namespace

bool UnfinishedMerge::in_progress() const {
  if (host != sys::hostname() || pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  const auto [state, start] = process_state(pid);
  if (state == 'Z' || state == 'X') return false;  // killed, not yet reaped by its parent
  return process_start == 0 || start == process_start;
}

std::string begin_merge(Store& out, const std::vector<std::string>& inputs) {
  const std::string started_at = sys::utc_now_iso8601();
  const std::string host = sys::hostname();
  const auto pid = static_cast<std::int64_t>(::getpid());
  static std::atomic<int> merges_here{0};  // one process may run several merges within a second
  const std::string key = kUnfinishedMerge + host + ":" + std::to_string(pid) + ":" + started_at + ":" +
                          std::to_string(++merges_here);
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (const auto& in : inputs_of(inputs)) files.push_back(input_json(in));
  const nlohmann::ordered_json value = {{"inputs", files},
                                        {"started_at", started_at},
                                        {"host", host},
                                        {"pid", pid},
                                        {"process_start", process_start_ticks(pid)}};
  out.set_meta(key, value.dump());
  return key;
}

void finish_merge(Store& out, const std::string& key, const std::vector<std::string>& inputs) {
  const auto done = inputs_of(inputs);
  for (const auto& m : unfinished_merges(out)) {
    const bool covered = !m.inputs.empty() &&
                         std::all_of(m.inputs.begin(), m.inputs.end(), [&](const auto& in) { return among(in, done); });
    if (m.key == key || covered) out.erase_meta(m.key);
  }
}

bool shares_inputs(const UnfinishedMerge& m, const std::vector<std::string>& inputs) {
  const auto ours = inputs_of(inputs);
  return std::any_of(m.inputs.begin(), m.inputs.end(), [&](const auto& in) { return among(in, ours); });
}

void carry_unfinished_merges(Store& out, const Store& in) {
  // Each carried record says which input it came through ("via"): merged again, that input replaces what it
  // passed on before, so marks it has since lost (a merge into it completed) are dropped here too.
  const UnfinishedMerge::Input source = input_of(in.path());
  for (const auto& [key, value] : out.meta(kUnfinishedMerge)) {
    try {
      const auto j = nlohmann::json::parse(value);
      if (j.contains("via") && same_file(input_from_json(j.at("via")), source)) out.erase_meta(key);
    } catch (const nlohmann::json::exception&) {
      // an edited record is left as it is
    }
  }
  for (const auto& [key, value] : in.meta(kUnfinishedMerge)) {
    std::string carried = value;
    try {
      auto j = nlohmann::ordered_json::parse(value);
      j["via"] = input_json(source);
      carried = j.dump();
    } catch (const nlohmann::json::exception&) {
      // an edited record travels as it is
    }
    out.set_meta(key, carried);
  }
}

std::vector<UnfinishedMerge> unfinished_merges(const Store& db) {
  std::vector<UnfinishedMerge> out;
  for (const auto& [key, value] : db.meta(kUnfinishedMerge)) {
    UnfinishedMerge m;
    m.key = key;
    try {
      const auto j = nlohmann::json::parse(value);
      for (const auto& f : j.at("inputs")) m.inputs.push_back(input_from_json(f));
      m.started_at = j.at("started_at").get<std::string>();
      m.host = j.at("host").get<std::string>();
      m.pid = j.at("pid").get<std::int64_t>();
      m.process_start = j.value("process_start", std::uint64_t{0});
    } catch (const nlohmann::json::exception&) {
      m.inputs.clear();  // an edited record: still an unfinished merge, of inputs it no longer names
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::size_t forget_unfinished_merges(Store& db) {
  const auto marks = unfinished_merges(db);
  for (const auto& m : marks) db.erase_meta(m.key);
  return marks.size();
}

std::string describe(const UnfinishedMerge& m) {
  std::string out;
  if (m.inputs.empty()) {
    out = "inputs not recorded (meta row '" + m.key + "')";
  } else {
    for (const auto& in : m.inputs) out += (out.empty() ? "" : ", ") + in.path;
    out += " (started " + m.started_at + " on " + m.host + ", process " + std::to_string(m.pid) + ")";
  }
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return out;
}

}  // namespace dle::storage
