// Summarises a collect database for the protocol benchmark (bench/collect_protocol.sh): per layer type, the
// measurements, mean window length and passes, and the median over configurations of the coefficient of
// variation of energy per pass across repeats, and (given the run's wall-clock start and end in seconds) the wall
// seconds per measurement. Usage: collect_protocol_stats DB LABEL [START_S END_S]
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/statistics.hpp"
#include "storage/store.hpp"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::cerr << "usage: collect_protocol_stats DB LABEL [START_S END_S]\n";
    return 2;
  }
  const std::string label = argv[2];
  const double wall_s = argc == 5 ? std::stod(argv[4]) - std::stod(argv[3]) : 0.0;
  try {
    auto store = dle::storage::Store::open_existing(argv[1]);
    struct PerType {
      std::map<std::string, std::vector<double>> per_config;  // config text -> energy per pass of each repeat
      std::vector<double> durations, passes;
    };
    std::map<std::string, PerType> types;
    for (const auto& m : store.measurements()) {  // status ok only
      auto& t = types[m.config.type];
      t.per_config[m.config.to_string()].push_back(m.energy_per_pass_j);
      t.durations.push_back(m.duration_s);
      t.passes.push_back(static_cast<double>(m.passes));
    }
    std::size_t total = 0;
    for (const auto& [type, t] : types) total += t.durations.size();
    if (wall_s > 0 && total > 0)
      std::printf("%s: %zu measurements in %.1f s wall = %.3f s per measurement (idle baseline, warm-up and "
                  "set-up included)\n\n",
                  label.c_str(), total, wall_s, wall_s / static_cast<double>(total));
    std::printf("| protocol | layer | measurements | mean window (s) | mean passes | median repeat CV |\n");
    std::printf("|---|---|---:|---:|---:|---:|\n");
    for (const auto& [type, t] : types) {
      std::vector<double> cvs;
      for (const auto& [cfg, v] : t.per_config)
        if (v.size() >= 2) cvs.push_back(dle::stats::cv(v));
      std::printf("| %s | %s | %zu | %.3f | %.1f | %.4f |\n", label.c_str(), type.c_str(), t.durations.size(),
                  dle::stats::mean(t.durations), dle::stats::mean(t.passes), cvs.empty() ? 0.0 : dle::stats::median(cvs));
    }
  } catch (const dle::Error& e) {
    std::cerr << "collect_protocol_stats: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
