// dlenergy collect: measure layers and networks with LibTorch into a resumable SQLite store.
#include <CLI/CLI.hpp>
#include <limits>
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "cli/commands.hpp"
#include "collect/collectors.hpp"
#include "collect/progress.hpp"
#include "collect/session.hpp"
#include "collect/settings.hpp"
#include "sensors/sensor.hpp"

namespace dle::cli {

namespace {

// Flag values as typed; applied over the YAML file's settings only when given.
struct CollectFlags {
  std::string config;
  std::vector<std::string> layers, ranges, from_architectures, architectures;
  std::vector<long long> batch_sizes;
  std::string sampler, shard, sensor, db;
  SensorFlags sensor_flags;
  unsigned long long configs = 0, seed = 0;
  int repeats = 0, min_passes = 0, warmup = 0, threads = 0;
  double min_time = 0, idle_seconds = 0, memory_limit_mb = 0, max_pass_seconds = 0;
  bool with_layers = true, dry_run = false, list = false;
  std::map<std::string, CLI::Option*> opt;
  bool given(const std::string& name) const { return opt.at(name)->count() > 0; }
};

void list_collectors(std::ostream& out) {
  collect::register_builtin_collectors();
  for (const auto& name : collect::collector_registry().names()) {
    const auto& c = collect::collector_registry().get(name);
    out << name << ": " << c.description << "\n";
    if (!c.ranges.empty()) {
      out << "  default ranges:";
      for (const auto& r : c.ranges) out << " " << r.name << "=" << r.to_string();
      out << "\n";
      for (const auto& o : layers::optional_params(name))
        out << "  optional: " << o.name << " (" << o.meaning << "; left out of the configuration at "
            << o.default_value << ")\n";
    }
    for (const auto& rule : c.rules) out << "  rule: " << rule.text << "\n";
  }
}

void run_collect(const CLI::App& sub, const CollectFlags& f) {
  if (f.list) {
    list_collectors(std::cout);
    return;
  }
  collect::CollectSettings s;
  s.sensor_options = sensors::SensorOptions::from_environment();
  if (!f.config.empty()) collect::apply_yaml_file(f.config, s);
  if (f.given("--layers")) s.layers = f.layers;
  if (f.given("--sampler")) s.sampler = f.sampler;
  if (f.given("--configs")) s.configs = f.configs;
  if (f.given("--seed")) s.seed = f.seed;
  if (f.given("--range")) {
    // A --range on the command line replaces the config file's range of the same parameter, not all of them.
    const auto name_of = [](const std::string& r) { return r.substr(0, r.find('=')); };
    std::vector<std::string> merged;
    for (const auto& r : s.ranges)
      if (std::none_of(f.ranges.begin(), f.ranges.end(), [&](const std::string& c) { return name_of(c) == name_of(r); }))
        merged.push_back(r);
    merged.insert(merged.end(), f.ranges.begin(), f.ranges.end());
    s.ranges = std::move(merged);
  }
  if (f.given("--from-architectures")) s.from_architectures = f.from_architectures;
  if (f.given("--architectures")) s.architectures = f.architectures;
  if (f.given("--batch-sizes")) s.batch_sizes.assign(f.batch_sizes.begin(), f.batch_sizes.end());
  if (f.given("--with-layers")) s.with_layers = f.with_layers;
  if (f.given("--repeats")) s.repeats = f.repeats;
  if (f.given("--min-time")) s.min_time_s = f.min_time;
  if (f.given("--min-passes")) s.min_passes = f.min_passes;
  if (f.given("--warmup")) s.warmup = f.warmup;
  if (f.given("--threads")) s.threads = f.threads;
  if (f.given("--idle-seconds")) s.idle_seconds = f.idle_seconds;
  if (f.given("--memory-limit-mb")) s.memory_limit_mb = f.memory_limit_mb;
  if (f.given("--max-pass-seconds")) s.max_pass_seconds = f.max_pass_seconds;
  if (f.given("--shard")) s.shard = collect::parse_shard(f.shard);
  if (f.given("--sensor")) s.sensor = f.sensor;
  apply_sensor_flags(sub, f.sensor_flags, s.sensor_options);
  if (f.given("--db")) s.db = f.db;
  if (f.given("--dry-run")) s.dry_run = f.dry_run;
  collect::run_collection(s, std::cout, std::cerr, collect::stderr_is_tty());
}

}  // namespace

void setup_collect(CLI::App& app) {
  auto f = std::make_shared<CollectFlags>();
  auto* sub = app.add_subcommand(
      "collect",
      "Measure the energy of layer configurations and zoo networks with LibTorch into a resumable SQLite store.");
  sub->footer(
      "Example: dlenergy collect --layers relu --configs 4 --repeats 2 --min-time 0.1 --seed 1 --db a.sqlite\n"
      "Rerun the same command after an interruption to continue where it stopped. See docs/collect.md.\n");
  auto& o = f->opt;
  o["--layers"] = sub->add_option("--layers", f->layers, "Layer types to sample: conv2d,maxpool2d,linear,relu,sigmoid,tanh,softmax")
                      ->delimiter(',');
  o["--configs"] = whole_in_range(
      sub->add_option("--configs", f->configs, "Random configurations per layer type (default 500)"), 1, 1'000'000);
  o["--repeats"] = sub->add_option("--repeats", f->repeats, "Measurements of each configuration (default 3)");
  o["--seed"] = whole_in_range(sub->add_option("--seed", f->seed, "Seed of the random sampler (default 1)"), 0,
                               std::numeric_limits<long long>::max());
  o["--sampler"] = sub->add_option("--sampler", f->sampler, "random (default) or grid")
                       ->check(CLI::IsMember({"random", "grid"}));
  o["--range"] = sub->add_option("--range", f->ranges,
                                 "Override a range: [type.]param=lo:hi | lo:hi:step | v1,v2,... (repeatable)")
                     ->take_all()
                     ->allow_extra_args(false);
  o["--from-architectures"] =
      sub->add_option("--from-architectures", f->from_architectures,
                      "Take configurations from these zoo networks' real layers (at --batch-sizes)")
          ->delimiter(',');
  o["--architectures"] =
      sub->add_option("--architectures", f->architectures, "Measure these zoo networks whole: alexnet,vgg11,vgg13,vgg16,vgg19")
          ->delimiter(',');
  o["--batch-sizes"] =
      sub->add_option("--batch-sizes", f->batch_sizes, "Batch sizes for --architectures/--from-architectures (default 1,2)")
          ->delimiter(',');
  o["--with-layers"] = sub->add_flag("--with-layers,!--no-with-layers", f->with_layers,
                                     "With --architectures, also measure each layer alone (default on)");
  o["--min-time"] = sub->add_option("--min-time", f->min_time,
                                    "Minimum window length in seconds (default max(0.2, 100 x sensor update interval))");
  o["--min-passes"] = sub->add_option("--min-passes", f->min_passes, "Minimum forward passes per window (default 3)");
  o["--warmup"] = sub->add_option("--warmup", f->warmup, "Warm-up passes before each configuration (default 2)");
  o["--threads"] = sub->add_option("--threads", f->threads, "LibTorch threads (default: online cores)");
  o["--idle-seconds"] = sub->add_option("--idle-seconds", f->idle_seconds,
                                        "Idle baseline length at start in seconds; 0 skips it (default 3)");
  o["--memory-limit-mb"] = sub->add_option("--memory-limit-mb", f->memory_limit_mb,
                                           "Skip items needing more MiB than this (default: half of MemAvailable)");
  o["--max-pass-seconds"] = sub->add_option("--max-pass-seconds", f->max_pass_seconds,
                                            "A pass longer than this ends its configuration's repeats (default 60)");
  o["--shard"] = sub->add_option("--shard", f->shard, "Collect part K of N of the plan, e.g. 2/8 (default 1/1)");
  o["--sensor"] =
      sensor_choice(sub->add_option("--sensor", f->sensor, "Energy sensor: auto, rapl, perf, nvml, estimated (default auto)"));
  add_sensor_flags(*sub, f->sensor_flags);
  o["--db"] = sub->add_option("--db", f->db, "SQLite database to store measurements in (created if missing)");
  o["--dry-run"] = sub->add_flag("--dry-run", f->dry_run, "Print the plan (counts, estimated time) and exit");
  sub->add_option("--config", f->config, "YAML file setting any of these flags (flags override it)");
  o["--list"] = sub->add_flag("--list", f->list, "List the collectors, their default ranges and rules, and exit");
  sub->callback([f, sub] { run_collect(*sub, *f); });
}

}  // namespace dle::cli
