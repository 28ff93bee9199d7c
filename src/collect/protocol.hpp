#pragma once
// The measurement protocol, like a benchmark harness: warm-up passes, a window that runs forward passes until
// both a minimum time and a minimum pass count are reached, repeats, an idle baseline as its own step, a memory
// guard and a per-pass time limit. The runner measures and returns value objects; writing them is the sink's job.
#include <atomic>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "collect/executor.hpp"
#include "collect/plan.hpp"
#include "sensors/sensor.hpp"
#include "storage/records.hpp"

namespace dle::collect {

struct Protocol {
  int warmup = 2;
  double min_time_s = 0.2;
  std::int64_t min_passes = 3;
  int repeats = 3;
  double max_pass_seconds = 60.0;
  std::int64_t memory_limit_bytes = 0;  // 0 = no limit
};

// Half of MemAvailable from /proc/meminfo (bytes); 0 when it cannot be read.
std::int64_t default_memory_limit_bytes();

// The 1-minute load average from `path` (/proc/loadavg); negative when it cannot be read.
double load_average_1min(const std::string& path = "/proc/loadavg");

// A warning when other processes keep the CPU busy before collecting with several LibTorch threads: the
// threads of a parallel region wait for each other, so whenever the scheduler hands the core of one of them
// to another process the whole pass waits a time slice (measured on a busy 2-core VM: a 193,600-element ReLU
// took 8 ms per pass with 2 threads and 0.04 ms with 1). Empty when `threads` is 1, the load is unknown, or
// it is below 0.5 (no other busy process).
std::string busy_cpu_warning(double load_1min, int threads, int cores);

struct WindowResult {
  sensors::Reading reading;
  std::int64_t passes = 0;
  double duration_s = 0.0;      // the sensor's window length (steady clock when the sensor reports none)
  double longest_pass_s = 0.0;
  bool over_pass_limit = false;  // a pass took longer than max_pass_seconds: the window ended after it
};

// One window: passes until elapsed >= min_time_s and passes >= min_passes, or right after a pass longer than
// max_pass_seconds.
WindowResult run_window(Prepared& prepared, sensors::Sensor& sensor, double min_time_s, std::int64_t min_passes,
                        double max_pass_seconds);

// Idle power (W): a window around `seconds` of sleep, cut short (and returned as 0 W) when `stop` is set.
double measure_idle_power(sensors::Sensor& sensor, double seconds, const std::atomic<bool>& stop);

// The record of one window: raw totals and per-pass energies, gross and net of idle_power_w * duration.
storage::MeasurementRecord make_record(const PlanItem& item, int repeat, const WindowResult& w, double idle_power_w,
                                       const sensors::Sensor& sensor);
// A `skipped` record (no window) with the reason.
storage::MeasurementRecord skipped_record(const PlanItem& item, int repeat, const std::string& why, double idle_power_w,
                                          const sensors::Sensor& sensor);

struct RunSummary {
  std::uint64_t planned = 0;          // measurements in the plan
  std::uint64_t already_stored = 0;   // found in the store at start (resume)
  std::uint64_t measured = 0;         // stored now, status ok
  std::uint64_t skipped = 0;          // stored now, status skipped
  bool interrupted = false;
  std::uint64_t done() const { return already_stored + measured + skipped; }
};

struct RunCallbacks {
  // Stores (and commits) one finished record; called once per measurement, in plan order.
  std::function<void(const storage::MeasurementRecord&)> sink;
  // After every stored record: measurements done (including already stored) of the plan's total.
  std::function<void(const RunSummary&, const PlanItem&)> progress;
};

class Runner {
 public:
  Runner(Executor& executor, sensors::Sensor& sensor, Protocol protocol)
      : executor_(executor), sensor_(sensor), protocol_(protocol) {}

  // Measures every (item, repeat) of the plan whose item_key is not in `done_keys`. Checks `stop` between
  // measurements: a measurement in progress is finished and stored first.
  RunSummary run(const Plan& plan, const std::set<std::string>& done_keys, double idle_power_w,
                 const RunCallbacks& callbacks, const std::atomic<bool>& stop);

 private:
  Executor& executor_;
  sensors::Sensor& sensor_;
  Protocol protocol_;
};

}  // namespace dle::collect
