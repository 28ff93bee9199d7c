#pragma once
// One `dlenergy collect` invocation from settings to stored measurements: opens the sensor, plans, and either
// prints the plan (--dry-run) or loads the LibTorch plugin, finds or creates the run in the store (resume by
// settings hash), measures the idle baseline and runs the protocol, committing each measurement as it finishes.
#include <cstdint>
#include <ostream>
#include <string>

#include "collect/plan.hpp"
#include "collect/protocol.hpp"
#include "collect/settings.hpp"

namespace dle::collect {

struct CollectOutcome {
  RunSummary summary;
  std::int64_t run_id = 0;  // 0 for a dry run
  std::string settings_hash;
  bool resumed = false;  // the run existed before this invocation
};

// Runs the collection; `out` gets the plan (dry run) or the final summary, `err` the progress line (drawn only
// when `progress` is true). Throws Interrupted (exit 130) after Ctrl-C/SIGTERM, once finished work is committed.
CollectOutcome run_collection(const CollectSettings& settings, std::ostream& out, std::ostream& err, bool progress);

// The dry-run report: items and measurements per collector, rejections, memory-guard skips, estimated time.
void write_plan(std::ostream& out, const Plan& plan, const CollectSettings& s, const ResolvedSettings& resolved,
                std::int64_t memory_limit_bytes, const std::string& sensor_note);

}  // namespace dle::collect
