#include "estimate/validate.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <tuple>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"
#include "core/system_info.hpp"
#include "core/statistics.hpp"
#include "estimate/estimate.hpp"

namespace dle::estimate {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double per_pass(const storage::MeasurementRecord& m, EnergyBasis basis) {
  return basis == EnergyBasis::kNet ? m.net_energy_per_pass_j : m.energy_per_pass_j;
}

double error_pct(double predicted, double measured) { return (predicted - measured) / measured * 100.0; }

// Architectures named by measurements: zoo names, or architecture files that still exist.
class ArchitectureCache {
 public:
  explicit ArchitectureCache(const predict::PredictorSet& p) : predictors_(p) {}

  // nullptr with `why` set when the name cannot be resolved.
  const Estimator* get(const std::string& name, std::string& why) {
    auto it = cache_.find(name);
    if (it == cache_.end()) {
      Entry e;
      try {
        arch::Architecture a;
        std::error_code ec;
        if (arch::in_zoo(name))
          a = arch::zoo(name);
        else if (std::filesystem::is_regular_file(name, ec))
          a = arch::load_file(name);
        else
          throw ConfigError("architecture '" + name + "' is neither built in nor an existing architecture file");
        e.architecture = std::make_unique<arch::Architecture>(a);
        e.estimator = std::make_unique<Estimator>(a, predictors_, /*allow_missing=*/true);
      } catch (const Error& err) {
        e.why = err.what();
      }
      it = cache_.emplace(name, std::move(e)).first;
    }
    why = it->second.why;
    return it->second.estimator.get();
  }
  const arch::Architecture* architecture(const std::string& name) {
    auto it = cache_.find(name);
    return it == cache_.end() ? nullptr : it->second.architecture.get();
  }

 private:
  struct Entry {
    std::unique_ptr<arch::Architecture> architecture;
    std::unique_ptr<Estimator> estimator;
    std::string why;
  };
  const predict::PredictorSet& predictors_;
  std::map<std::string, Entry> cache_;
};

struct Group {
  std::vector<double> values;
  std::string type;
  int n() const { return static_cast<int>(values.size()); }
};

}  // namespace

Metrics compute_metrics(const std::vector<double>& measured, const std::vector<double>& predicted) {
  Metrics m;
  m.n = measured.size();
  if (m.n == 0 || predicted.size() != m.n) {
    m.r2 = m.mape_pct = m.within_10pct_share = m.mean_signed_error_pct = m.max_abs_error_pct = kNaN;
    return m;
  }
  double mean = 0.0;
  for (double y : measured) mean += y;
  mean /= static_cast<double>(m.n);
  double ss_res = 0.0, ss_tot = 0.0, ape = 0.0, signed_sum = 0.0;
  std::size_t within = 0;
  for (std::size_t i = 0; i < m.n; ++i) {
    const double y = measured[i], p = predicted[i];
    ss_res += (y - p) * (y - p);
    ss_tot += (y - mean) * (y - mean);
    const double e = error_pct(p, y);
    ape += std::fabs(e);
    signed_sum += e;
    m.max_abs_error_pct = std::max(m.max_abs_error_pct, std::fabs(e));
    // A tolerance of a few ulps, so an error of exactly 10 % counts as within.
    if (std::fabs(p - y) <= 0.10 * std::fabs(y) * (1.0 + 1e-12)) ++within;
  }
  m.r2 = (m.n >= 2 && ss_tot > 0.0) ? 1.0 - ss_res / ss_tot : kNaN;
  m.mape_pct = ape / static_cast<double>(m.n);
  m.mean_signed_error_pct = signed_sum / static_cast<double>(m.n);
  m.within_10pct_share = static_cast<double>(within) / static_cast<double>(m.n);
  return m;
}

predict::ValidationRecord to_record(const ValidationResult& r, const std::string& description) {
  if (r.networks.empty())
    throw ConfigError("nothing to record for '" + description +
                      "': the database holds no whole-network measurement these predictors could be compared with");
  predict::ValidationRecord rec;
  rec.description = description;
  for (const auto& s : r.sensors) rec.sensor += (rec.sensor.empty() ? "" : ", ") + s;
  rec.estimated = r.any_estimated;
  rec.recorded_at = sys::utc_now_iso8601();
  rec.networks = r.summary.n;
  rec.mape_pct = r.summary.mape_pct;
  rec.within_10pct_share = r.summary.within_10pct_share;
  for (const auto& b : r.batch_ranges) {
    predict::ValidationRecord::Range range;
    range.batch_min = b.lo;
    range.batch_max = b.hi;
    range.networks = b.metrics.n;
    range.mape_pct = b.metrics.mape_pct;
    range.mean_signed_error_pct = b.metrics.mean_signed_error_pct;
    range.within_10pct_share = b.metrics.within_10pct_share;
    rec.ranges.push_back(range);
  }
  return rec;
}

BatchRange batch_range_of(std::int64_t batch) {
  BatchRange r;
  while (batch > r.hi) {
    r.lo = r.hi + 1;
    r.hi *= 4;
  }
  return r;
}

ValidationResult validate(const std::vector<storage::MeasurementRecord>& measurements,
                          const predict::PredictorSet& predictors, const ValidationOptions& options) {
  ValidationResult r;
  auto combined = [&](const Group& g) {
    return options.repeats == RepeatStatistic::kMedian ? stats::median(g.values) : stats::mean(g.values);
  };
  std::map<std::pair<std::string, std::int64_t>, Group> networks;
  std::map<std::tuple<std::string, std::int64_t, int>, Group> layer_groups;
  std::set<std::string> sensors;
  std::set<std::string> bad_energy;

  for (const auto& m : measurements) {
    if (m.kind == storage::MeasurementKind::kLayer || m.status != "ok") continue;
    const double e = per_pass(m, options.basis);
    if (!(e > 0.0) || !std::isfinite(e)) {
      bad_energy.insert("measurement " + std::to_string(m.id) + " (" + m.architecture + "): per-pass energy " +
                        std::to_string(e) + " J is not positive; left out");
      continue;
    }
    if (!m.config.has("batch_size")) {
      bad_energy.insert("measurement " + std::to_string(m.id) + " (" + m.architecture +
                        "): configuration has no batch_size; left out");
      continue;
    }
    const auto batch = static_cast<std::int64_t>(m.config.get("batch_size"));
    Group* g = nullptr;
    if (m.kind == storage::MeasurementKind::kNetwork)
      g = &networks[{m.architecture, batch}];
    else
      g = &layer_groups[{m.architecture, batch, m.layer_index}];
    g->values.push_back(e);
    g->type = m.config.type;
    sensors.insert(m.sensor);
    r.any_estimated = r.any_estimated || m.estimated;
    ++r.measurements_used;
  }
  r.skipped.assign(bad_energy.begin(), bad_energy.end());
  r.sensors.assign(sensors.begin(), sensors.end());

  ArchitectureCache cache(predictors);
  std::set<std::string> unresolved;
  auto resolve = [&](const std::string& name) -> const Estimator* {
    std::string why;
    const Estimator* e = cache.get(name, why);
    if (e == nullptr && unresolved.insert(name).second)
      r.skipped.push_back("architecture '" + name + "': " + why + "; its measurements are not compared");
    return e;
  };

  // Whole networks.
  std::vector<double> meas, pred;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> per_arch;
  std::map<std::pair<std::string, std::int64_t>, EstimateResult> estimates;
  auto estimate_of = [&](const Estimator& est, const std::string& name, std::int64_t batch) -> const EstimateResult& {
    auto it = estimates.find({name, batch});
    if (it == estimates.end()) it = estimates.emplace(std::make_pair(name, batch), est.estimate(batch)).first;
    return it->second;
  };
  for (const auto& [key, g] : networks) {
    const Estimator* est = resolve(key.first);
    if (est == nullptr) continue;
    const EstimateResult& e = estimate_of(*est, key.first, key.second);
    NetworkComparison c;
    c.architecture = key.first;
    c.batch = key.second;
    c.repeats = g.n();
    c.measured_j = combined(g);
    c.predicted_j = e.energy_j;
    c.error_pct = error_pct(c.predicted_j, c.measured_j);
    c.complete = e.complete();
    r.networks.push_back(c);
    meas.push_back(c.measured_j);
    pred.push_back(c.predicted_j);
    per_arch[c.architecture].first.push_back(c.measured_j);
    per_arch[c.architecture].second.push_back(c.predicted_j);
  }
  r.summary = compute_metrics(meas, pred);
  for (const auto& [name, mp] : per_arch) r.architectures[name] = compute_metrics(mp.first, mp.second);
  std::map<std::int64_t, std::pair<std::vector<double>, std::vector<double>>> per_range;  // by lower bound
  for (const auto& c : r.networks) {
    auto& mp = per_range[batch_range_of(c.batch).lo];
    mp.first.push_back(c.measured_j);
    mp.second.push_back(c.predicted_j);
  }
  for (const auto& [lo, mp] : per_range) {
    BatchRange range = batch_range_of(lo);
    range.metrics = compute_metrics(mp.first, mp.second);
    r.batch_ranges.push_back(range);
  }

  // Layers measured alone.
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> per_type, inside, extrapolated;
  struct LayerSum {
    double energy_j = 0.0;
    std::set<std::int64_t> indices;  // zoo layer indices measured alone
  };
  std::map<std::pair<std::string, std::int64_t>, LayerSum> sums;  // additivity
  for (const auto& [key, g] : layer_groups) {
    const auto& [name, batch, index] = key;
    const Estimator* est = resolve(name);
    if (est == nullptr) continue;
    const EstimateResult& e = estimate_of(*est, name, batch);
    auto& s = sums[{name, batch}];
    s.energy_j += combined(g);
    s.indices.insert(index);
    if (index < 0 || static_cast<std::size_t>(index) >= e.layers.size()) {
      r.skipped.push_back(name + " layer " + std::to_string(index) + " at batch size " + std::to_string(batch) +
                          ": no such layer (the network has " + std::to_string(e.layers.size()) + "); not compared");
      continue;
    }
    const LayerEstimate& le = e.layers[static_cast<std::size_t>(index)];
    // The stored configuration must describe the network's layer at that index.
    if (!g.type.empty() && g.type != le.type) {
      r.skipped.push_back(name + " layer " + std::to_string(index) + ": measured as " + g.type + " but the network's layer " +
                          std::to_string(index) + " is " + le.type + "; not compared");
      continue;
    }
    if (le.status == LayerStatus::kNotEstimated) {
      r.skipped.push_back(name + " layer " + std::to_string(index) + " (" + le.type + "): " + le.note);
      continue;
    }
    LayerComparison c;
    c.architecture = name;
    c.layer_index = index;
    c.type = le.type;
    c.batch = batch;
    c.repeats = g.n();
    c.measured_j = combined(g);
    c.predicted_j = le.energy_j;
    c.error_pct = error_pct(c.predicted_j, c.measured_j);
    c.status = to_string(le.status);
    c.extrapolated = le.extrapolated;
    r.layers.push_back(c);
    if (le.status == LayerStatus::kZeroWork) {
      ZeroWorkType& z = r.zero_work_types[c.type];
      z.mean_measured_j += (c.measured_j - z.mean_measured_j) / static_cast<double>(++z.n);
      const auto net = networks.find({name, batch});
      const double network_j = net != networks.end() ? combined(net->second) : 0.0;
      if (network_j > 0) z.max_share_pct = std::max(z.max_share_pct, 100.0 * c.measured_j / network_j);
      continue;
    }
    for (auto* m : {&per_type, c.extrapolated ? &extrapolated : &inside}) {
      (*m)[c.type].first.push_back(c.measured_j);
      (*m)[c.type].second.push_back(c.predicted_j);
    }
  }
  std::sort(r.layers.begin(), r.layers.end(), [](const LayerComparison& a, const LayerComparison& b) {
    return std::tie(a.architecture, a.batch, a.layer_index) < std::tie(b.architecture, b.batch, b.layer_index);
  });
  for (const auto& [type, mp] : per_type) r.layer_types[type] = compute_metrics(mp.first, mp.second);
  for (const auto& [type, mp] : inside) r.layer_types_inside[type] = compute_metrics(mp.first, mp.second);
  for (const auto& [type, mp] : extrapolated) r.layer_types_extrapolated[type] = compute_metrics(mp.first, mp.second);

  // Additivity: sum of the layers measured alone vs the whole network, where both exist.
  for (const auto& [key, s] : sums) {
    auto n = networks.find(key);
    if (n == networks.end()) continue;
    const Estimator* est = resolve(key.first);
    if (est == nullptr) continue;
    AdditivityRow a;
    a.architecture = key.first;
    a.batch = key.second;
    a.network_j = combined(n->second);
    a.layers_sum_j = s.energy_j;
    a.layers_measured = static_cast<int>(s.indices.size());
    // The layers a source can measure alone: the paper's data has torchvision's leaf modules (no Flatten),
    // `collect --architectures` every layer of the zoo network. A layer counts as expected when it is a
    // torchvision leaf or when this source measured it.
    const arch::Architecture* arch_ptr = cache.architecture(key.first);
    const std::vector<int> leaves = arch::torchvision_leaf_indices(*arch_ptr);
    for (std::size_t i = 0; i < leaves.size(); ++i)
      if (leaves[i] > 0 || s.indices.count(static_cast<std::int64_t>(i))) ++a.layers_expected;
    a.difference_pct = error_pct(a.layers_sum_j, a.network_j);
    a.predicted_j = estimate_of(*est, key.first, key.second).energy_j;
    r.additivity.push_back(a);
  }
  return r;
}

}  // namespace dle::estimate
