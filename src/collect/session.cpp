#include "collect/session.hpp"

#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "collect/plugin_loader.hpp"
#include "collect/progress.hpp"
#include "core/errors.hpp"
#include "core/interrupt.hpp"
#include "core/system_info.hpp"
#include "storage/store.hpp"

namespace dle::collect {

namespace {

// "threads 1 -> 2, min_time_s 0.2 -> 0.5": the top-level settings in which `settings_json` differs from the
// database's latest collect run; "" when there is none (or nothing differs that can be shown).
std::string differs_from_latest_collect(const storage::Store& store, const std::string& settings_json) {
  const auto runs = store.runs();
  const storage::RunRecord* latest = nullptr;
  for (const auto& r : runs)
    if (r.source == "dlenergy collect") latest = &r;
  if (!latest) return "";
  const auto before = nlohmann::json::parse(latest->settings_json, nullptr, false);
  const auto now = nlohmann::json::parse(settings_json, nullptr, false);
  if (!before.is_object() || !now.is_object()) return "";
  const auto shown = [](const nlohmann::json* v) {
    if (!v) return std::string("(none)");
    std::string t = v->dump();
    return t.size() > 60 ? t.substr(0, 57) + "..." : t;
  };
  std::string out;
  std::size_t listed = 0, differing = 0;
  const auto note = [&](const std::string& key, const nlohmann::json* a, const nlohmann::json* b) {
    if (a && b && *a == *b) return;
    if (++differing > 4) return;
    out += (listed++ ? ", " : "") + key + " " + shown(a) + " -> " + shown(b);
  };
  for (auto it = now.begin(); it != now.end(); ++it)
    note(it.key(), before.contains(it.key()) ? &before[it.key()] : nullptr, &it.value());
  for (auto it = before.begin(); it != before.end(); ++it)
    if (!now.contains(it.key())) note(it.key(), &it.value(), nullptr);
  if (differing > listed) out += " and " + std::to_string(differing - listed) + " more";
  return out.empty() ? "" : "run " + std::to_string(latest->id) + ": " + out;
}

constexpr double kMiB = 1024.0 * 1024.0;

std::string fixed(double v, int decimals) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(decimals) << v;
  return o.str();
}

std::string duration_text(double s) {
  if (s < 120) return fixed(s, 0) + " s";
  if (s < 7200) return fixed(s / 60, 1) + " min";
  return fixed(s / 3600, 1) + " h";
}

std::int64_t memory_limit(const CollectSettings& s) {
  return s.memory_limit_mb ? static_cast<std::int64_t>(*s.memory_limit_mb * kMiB) : default_memory_limit_bytes();
}

}  // namespace

void write_plan(std::ostream& out, const Plan& plan, const CollectSettings& s, const ResolvedSettings& r,
                std::int64_t memory_limit_bytes, const std::string& sensor_note) {
  std::uint64_t guarded = 0;
  std::map<std::string, std::uint64_t> guarded_per;
  for (const auto& item : plan.items)
    if (memory_limit_bytes > 0 && bytes_needed(item) > memory_limit_bytes) ++guarded, ++guarded_per[item.collector];
  out << "collect plan (dry run: nothing measured, no database touched)\n";
  bool layer_types = false;
  for (const auto& name : selected_collectors(s)) layer_types = layer_types || layers::is_configurable(name);
  const std::string sampler = !layer_types ? "none (networks only)"
                              : s.from_architectures.empty() ? s.sampler + ", seed " + std::to_string(s.seed)
                                                             : "from-architectures";
  out << "  sampler: " << sampler
      << ", shard " << s.shard.to_string() << " (" << plan.items.size() << " of " << plan.items_before_shard
      << " items)\n";
  for (const auto& cp : plan.per_collector) {
    out << "  " << std::left << std::setw(14) << cp.collector << std::right << std::setw(7) << cp.items << " items x "
        << plan.repeats << " repeats = " << std::setw(7) << cp.items * static_cast<std::uint64_t>(plan.repeats)
        << " measurements";
    if (guarded_per[cp.collector]) out << " (" << guarded_per[cp.collector] << " items over the memory limit: skipped)";
    out << "\n";
    std::uint64_t rejected = 0;
    for (const auto& [rule, n] : cp.rejected) rejected += n;
    if (rejected) {
      out << "      " << cp.draws << " draws, " << rejected << " rejected:\n";
      for (const auto& [rule, n] : cp.rejected) out << "        " << n << " x " << rule << "\n";
    }
  }
  out << "  total: " << plan.measurements() << " measurements\n";
  out << "  protocol: warm-up " << s.warmup << " passes, window >= " << fixed(r.min_time_s, 3) << " s and >= "
      << s.min_passes << " passes, " << plan.repeats << " repeats, " << r.threads << " threads, idle baseline "
      << fixed(s.idle_seconds, 1) << " s, max pass " << fixed(s.max_pass_seconds, 1) << " s\n";
  out << "  memory limit: " << fixed(static_cast<double>(memory_limit_bytes) / kMiB, 0) << " MiB"
      << (s.memory_limit_mb ? "" : " (half of MemAvailable)") << "; " << guarded << " items would be skipped\n";
  out << "  sensor: " << r.sensor << sensor_note << "\n";
  const double measured = static_cast<double>((plan.items.size() - guarded) * static_cast<std::uint64_t>(plan.repeats));
  const double at_least = s.idle_seconds + measured * r.min_time_s;
  out << "  estimated time: at least " << duration_text(at_least)
      << " (measurements x min-time + idle baseline; large configurations run longer: each window holds >= "
      << s.min_passes << " passes)\n";
}

CollectOutcome run_collection(const CollectSettings& s, std::ostream& out, std::ostream& err, bool progress) {
  validate(s);
  sensors::register_builtin_sensors();
  std::vector<std::string> sensor_notes;
  auto sensor = sensors::open_sensor(s.sensor, s.sensor_options, &sensor_notes);
  ResolvedSettings resolved;
  resolved.sensor = sensor->name();
  resolved.min_time_s = s.min_time_s ? *s.min_time_s : min_time_for_sensor(sensor->update_interval_s());
  resolved.threads = s.threads ? *s.threads : sys::online_cores();
  const std::string sensor_note = sensor->estimated() ? " (ESTIMATED, not measured: " + sensor->assumptions() + ")" : "";
  const std::string sensor_label = sensor->name() + (sensor->estimated() ? " (estimated figures, not measured)" : " (measured)");

  const Plan plan = make_plan(s);
  const std::int64_t mem_limit = memory_limit(s);
  const std::string json = settings_json(s, resolved);
  CollectOutcome outcome;
  outcome.settings_hash = settings_hash(json);
  outcome.summary.planned = plan.measurements();
  if (s.dry_run) {
    write_plan(out, plan, s, resolved, mem_limit, sensor_note);
    return outcome;
  }

  TorchPlugin plugin = TorchPlugin::load();
  Executor& executor = plugin.executor();
  executor.set_threads(resolved.threads);
  if (const std::string w = busy_cpu_warning(load_average_1min(), resolved.threads, sys::online_cores()); !w.empty())
    err << w << "\n";

  storage::Store store = storage::Store::open(s.db);
  if (auto existing = store.find_run_by_settings_hash(outcome.settings_hash)) {
    outcome.run_id = existing->id;
    outcome.resumed = true;
  } else {
    // A database that holds collect runs with other settings: say which settings differ from the latest, so that a
    // changed flag is not taken for a resume (everything is measured again, in a run of its own).
    if (const std::string diff = differs_from_latest_collect(store, json); !diff.empty())
      err << "collect: a new run: the settings differ from the database's latest collect run (" << diff
          << "); nothing of that run is resumed\n";
    storage::RunRecord run;
    run.started_at = sys::utc_now_iso8601();
    run.source = "dlenergy collect";
    run.hostname = sys::hostname();
    run.cpu_model = sys::cpu_model();
    run.cores = sys::online_cores();
    run.threads = executor.threads();
    run.sensor = sensor->name();
    run.estimated = sensor->estimated();
    run.libtorch_version = executor.libtorch_version();
    run.blas = executor.blas_info() + "; libblas.so.3: " + sys::active_blas() + "; inter-op threads " +
               std::to_string(executor.interop_threads());
    run.seed = s.seed;
    run.settings_json = json;
    run.settings_hash = outcome.settings_hash;
    outcome.run_id = store.add_run(run);
  }
  const std::set<std::string> done = store.item_keys(outcome.run_id);

  Protocol protocol;
  protocol.warmup = s.warmup;
  protocol.min_time_s = resolved.min_time_s;
  protocol.min_passes = s.min_passes;
  protocol.repeats = s.repeats;
  protocol.max_pass_seconds = s.max_pass_seconds;
  protocol.memory_limit_bytes = mem_limit;

  InterruptGuard guard;
  const auto& stop = InterruptGuard::flag();
  ProgressLine line(err, progress);
  std::uint64_t already = 0;
  for (const auto& item : plan.items)
    for (int r = 1; r <= plan.repeats; ++r) already += done.count(item.record(r).item_key());
  double idle_w = 0.0;
  if (already < plan.measurements()) {
    line.update(already, plan.measurements(), 0, "idle baseline (" + fixed(s.idle_seconds, 1) + " s)");
    idle_w = measure_idle_power(*sensor, s.idle_seconds, stop);
  }

  Runner runner(executor, *sensor, protocol);
  RunCallbacks cb;
  cb.sink = [&](const storage::MeasurementRecord& m) {
    storage::MeasurementRecord stored = m;
    stored.run_id = outcome.run_id;
    store.add_measurement(stored);
  };
  cb.progress = [&](const RunSummary& sum, const PlanItem& item) {
    line.update(sum.done(), sum.planned, sum.measured + sum.skipped, item.label());
  };
  outcome.summary = stop.load() ? RunSummary{} : runner.run(plan, done, idle_w, cb, stop);
  if (stop.load()) outcome.summary.interrupted = true;
  outcome.summary.planned = plan.measurements();
  if (outcome.summary.already_stored == 0) outcome.summary.already_stored = already;
  line.finish();

  const auto& sum = outcome.summary;
  out << "collect: run " << outcome.run_id << " in " << s.db << (outcome.resumed ? " (resumed)" : "") << ": "
      << sum.done() << "/" << sum.planned << " measurements stored (" << sum.measured << " measured now, "
      << sum.skipped << " skipped now, " << sum.already_stored << " already stored)\n";
  out << "  sensor " << sensor_label << "; idle baseline " << fixed(idle_w, 3) << " W"
      << (sensor->estimated() ? " (estimated)" : " (measured)") << "; LibTorch " << executor.libtorch_version() << ", "
      << executor.threads() << " threads\n";
  if (sensor->estimated()) out << "  assumptions: " << sensor->assumptions() << "\n";
  if (sum.interrupted) {
    throw Interrupted("interrupted by " + signal_description(InterruptGuard::signal_number()) + " after " +
                      std::to_string(sum.done()) + " of " + std::to_string(sum.planned) +
                      " measurements were stored in " + s.db + "; run the same command again to resume");
  }
  return outcome;
}

}  // namespace dle::collect
