#pragma once
// Everything that defines a collection: what to measure (collectors, sampler, ranges, networks), the protocol
// and the sensor. The CLI fills it from a YAML file and then from flags (flags override); validate() reports
// every problem at once; settings_json() is what the run row stores and what resume matches on.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sensors/sensor.hpp"

namespace dle::collect {

struct Shard {
  int index = 1;  // K, 1-based
  int count = 1;  // N
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
};
// "K/N" with 1 <= K <= N; ConfigError otherwise.
Shard parse_shard(const std::string& text);

// Defaults and their reasons are in docs/collect.md.
struct CollectSettings {
  // What to measure.
  std::vector<std::string> layers;              // collector names; "architectures" is added by --architectures
  std::string sampler = "random";               // random | grid (ignored by --from-architectures)
  std::optional<std::uint64_t> configs;         // random: configurations per layer type (default kDefaultConfigs)
  std::uint64_t seed = 1;
  std::vector<std::string> ranges;              // "param=RANGE" or "type.param=RANGE"
  std::vector<std::string> from_architectures;  // zoo networks whose real layers give the configurations
  std::vector<std::string> architectures;       // zoo networks measured whole
  std::vector<std::int64_t> batch_sizes;        // for architectures and from_architectures (default {1, 2})
  bool with_layers = true;                      // architectures: also each layer alone

  // Protocol.
  int repeats = 3;
  std::optional<double> min_time_s;        // default: min_time_for_sensor()
  int min_passes = 3;
  int warmup = 2;                          // passes before the first repeat of each item
  std::optional<int> threads;              // default: online cores
  double idle_seconds = 3.0;               // idle baseline at the start of each run; 0 = none
  std::optional<double> memory_limit_mb;   // default: half of MemAvailable at start
  double max_pass_seconds = 60.0;
  Shard shard;

  // Sensor.
  std::string sensor = "auto";
  sensors::SensorOptions sensor_options;

  // Not part of the plan (excluded from the settings hash).
  std::string db;
  bool dry_run = false;
};

inline constexpr std::uint64_t kDefaultConfigs = 500;  // the paper's sampling_cutoff per layer type
inline const std::vector<std::int64_t> kDefaultBatchSizes = {1, 2};

// Reads a YAML mapping whose keys are the long flag names (dashes or underscores), e.g.
//   layers: [relu, conv2d]    configs: 20    ranges: {batch_size: "1:8", conv2d.kernel_size: [1, 3]}
//   min-time: 0.5    shard: 2/4    db: runs.sqlite
// into `s`. Unknown keys and bad values are reported together in one ConfigError naming the file.
void apply_yaml_file(const std::string& path, CollectSettings& s);
void apply_yaml_text(const std::string& text, const std::string& source, CollectSettings& s);

// The collectors to run, in registry order ("architectures" last, added when `architectures` is set).
std::vector<std::string> selected_collectors(const CollectSettings& s);

// Every problem with the settings at once (unknown collector, bad range, bad shard, nothing to collect...).
void validate(const CollectSettings& s);

// Default window: max(0.2 s, 100 x the sensor's update interval), so that counter steps are <= 1 % of the window.
double min_time_for_sensor(double update_interval_s);

// Values whose defaults depend on the sensor or the machine; resume must see the same ones.
struct ResolvedSettings {
  double min_time_s = 0.0;
  int threads = 1;
  std::string sensor;  // the sensor actually opened ("auto" resolved)
};

// The JSON (compact, keys sorted) of every setting that defines the plan and its figures: collectors, sampler,
// seed, resolved ranges, networks, batch sizes, protocol, threads, shard, sensor. Excludes --db and --dry-run.
std::string settings_json(const CollectSettings& s, const ResolvedSettings& resolved);
// storage::stable_hash (FNV-1a 64, 16 hex digits) of the settings JSON.
std::string settings_hash(const std::string& settings_json);

}  // namespace dle::collect
