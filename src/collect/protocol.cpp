#include "collect/protocol.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "core/system_info.hpp"

namespace dle::collect {

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;  // --memory-limit-mb counts mebibytes

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string mb_text(double bytes) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(bytes >= 10 * kMiB ? 0 : 1);
  o << bytes / kMiB << " MiB";
  return o.str();
}

}  // namespace

std::int64_t default_memory_limit_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024 / 2;
  }
  return 0;
}

double load_average_1min(const std::string& path) {
  std::ifstream in(path);
  double load = -1.0;
  if (!(in >> load)) return -1.0;
  return load;
}

std::string busy_cpu_warning(double load_1min, int threads, int cores) {
  if (threads <= 1 || load_1min < 0.5) return "";
  char load[32];
  std::snprintf(load, sizeof load, "%.2f", load_1min);
  return "warning: load average " + std::string(load) + " before collecting on " + std::to_string(cores) +
         " cores: other processes are using the CPU, and LibTorch's " + std::to_string(threads) +
         " threads wait for each other whenever one of them is descheduled, which can multiply the time and energy "
         "of small layers many times over; collect on a quiet machine, or pass --threads 1";
}

WindowResult run_window(Prepared& prepared, sensors::Sensor& sensor, double min_time_s, std::int64_t min_passes,
                        double max_pass_seconds) {
  WindowResult w;
  const auto t0 = Clock::now();
  auto window = sensor.start();
  while (true) {
    const auto p0 = Clock::now();
    prepared.run_pass();
    const double pass_s = seconds_since(p0);
    ++w.passes;
    w.longest_pass_s = std::max(w.longest_pass_s, pass_s);
    if (pass_s > max_pass_seconds) {
      w.over_pass_limit = true;
      break;
    }
    if (w.passes >= min_passes && seconds_since(t0) >= min_time_s) break;
  }
  w.reading = window->stop();
  const double clock_s = seconds_since(t0);
  w.duration_s = w.reading.duration_s > 0 ? w.reading.duration_s : clock_s;
  return w;
}

double measure_idle_power(sensors::Sensor& sensor, double seconds, const std::atomic<bool>& stop) {
  if (seconds <= 0) return 0.0;
  const auto t0 = Clock::now();
  auto window = sensor.start();
  // Sleep in short steps so Ctrl-C is honoured within 0.1 s.
  while (!stop.load() && seconds_since(t0) < seconds) {
    const double left = seconds - seconds_since(t0);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(0.1, std::max(0.0, left))));
  }
  const sensors::Reading r = window->stop();
  if (stop.load()) return 0.0;
  const double duration = r.duration_s > 0 ? r.duration_s : seconds_since(t0);
  return duration > 0 ? r.total_j() / duration : 0.0;
}

storage::MeasurementRecord make_record(const PlanItem& item, int repeat, const WindowResult& w, double idle_power_w,
                                       const sensors::Sensor& sensor) {
  storage::MeasurementRecord m = item.record(repeat);
  m.passes = w.passes;
  m.duration_s = w.duration_s;
  for (const auto& d : w.reading.domains) m.domains.push_back(storage::DomainEnergy{d.name, d.energy_j});
  m.energy_j = w.reading.total_j();
  m.idle_power_w = idle_power_w;
  m.energy_per_pass_j = w.passes > 0 ? m.energy_j / static_cast<double>(w.passes) : 0.0;
  m.net_energy_per_pass_j =
      w.passes > 0 ? (m.energy_j - idle_power_w * m.duration_s) / static_cast<double>(w.passes) : 0.0;
  m.sensor = sensor.name();
  m.estimated = sensor.estimated();
  m.status = "ok";
  m.created_at = sys::utc_now_iso8601();
  return m;
}

storage::MeasurementRecord skipped_record(const PlanItem& item, int repeat, const std::string& why, double idle_power_w,
                                          const sensors::Sensor& sensor) {
  storage::MeasurementRecord m = item.record(repeat);
  m.idle_power_w = idle_power_w;
  m.sensor = sensor.name();
  m.estimated = sensor.estimated();
  m.status = "skipped";
  m.note = why;
  // Nothing was measured: no figure rather than a 0 J that could be read as one (export writes null).
  const double none = std::numeric_limits<double>::quiet_NaN();
  m.duration_s = m.energy_j = m.energy_per_pass_j = m.net_energy_per_pass_j = none;
  m.created_at = sys::utc_now_iso8601();
  return m;
}

RunSummary Runner::run(const Plan& plan, const std::set<std::string>& done_keys, double idle_power_w,
                       const RunCallbacks& cb, const std::atomic<bool>& stop) {
  RunSummary sum;
  sum.planned = plan.measurements();
  for (const auto& item : plan.items)
    for (int r = 1; r <= plan.repeats; ++r)
      if (done_keys.count(item.record(r).item_key())) ++sum.already_stored;

  auto emit = [&](const PlanItem& item, const storage::MeasurementRecord& m) {
    cb.sink(m);
    (m.status == "ok" ? sum.measured : sum.skipped) += 1;
    if (cb.progress) cb.progress(sum, item);
  };

  for (const auto& item : plan.items) {
    std::vector<int> pending;
    for (int r = 1; r <= plan.repeats; ++r)
      if (!done_keys.count(item.record(r).item_key())) pending.push_back(r);
    if (pending.empty()) continue;
    if (stop.load()) {
      sum.interrupted = true;
      return sum;
    }
    auto skip_rest = [&](std::size_t from, const std::string& why) {
      for (std::size_t i = from; i < pending.size(); ++i) emit(item, skipped_record(item, pending[i], why, idle_power_w, sensor_));
    };

    const std::int64_t need = bytes_needed(item);
    if (protocol_.memory_limit_bytes > 0 && need > protocol_.memory_limit_bytes) {
      skip_rest(0, "memory guard: needs about " + mb_text(static_cast<double>(need)) +
                       " (input + output + weights, float32, x" +
                       std::to_string(static_cast<int>(kMemorySafetyFactor)) + " safety) > limit " +
                       mb_text(static_cast<double>(protocol_.memory_limit_bytes)) +
                       " (--memory-limit-mb; default half of MemAvailable)");
      continue;
    }

    std::unique_ptr<Prepared> prepared;
    try {
      prepared = item.kind == storage::MeasurementKind::kNetwork
                     ? executor_.prepare_network(arch::zoo(item.architecture), item.batch)
                     : executor_.prepare_layer(item.instance);
    } catch (const ExecutionError& e) {
      skip_rest(0, e.what());
      continue;
    }

    std::size_t next = 0;
    try {
      // Warm-up: caches, the allocator and LibTorch's lazy initialisation; stop early on a too-long pass.
      for (int i = 0; i < protocol_.warmup; ++i) {
        const auto p0 = Clock::now();
        prepared->run_pass();
        if (seconds_since(p0) > protocol_.max_pass_seconds) break;
      }
      for (; next < pending.size(); ++next) {
        if (stop.load()) {
          sum.interrupted = true;
          return sum;
        }
        const WindowResult w =
            run_window(*prepared, sensor_, protocol_.min_time_s, protocol_.min_passes, protocol_.max_pass_seconds);
        storage::MeasurementRecord m = make_record(item, pending[next], w, idle_power_w, sensor_);
        if (w.over_pass_limit) {
          std::ostringstream why;
          why << "a pass took " << w.longest_pass_s << " s > --max-pass-seconds " << protocol_.max_pass_seconds;
          m.note = why.str() + ": window cut after " + std::to_string(w.passes) + " passes";
          emit(item, m);
          skip_rest(next + 1, why.str() + ": remaining repeats of this configuration skipped");
          next = pending.size();
          break;
        }
        emit(item, m);
      }
    } catch (const ExecutionError& e) {
      skip_rest(next, e.what());
    }
  }
  return sum;
}

}  // namespace dle::collect
