#include "predict/model.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <utility>

#include "core/errors.hpp"
#include "report/table.hpp"

namespace dle::predict {

namespace {

constexpr std::size_t kStackFeatures = 16;  // raw features predicted without allocating
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

std::string to_string(Criterion c) {
  switch (c) {
    case Criterion::kAbsolute: return "absolute";
    case Criterion::kRelative: return "relative";
    case Criterion::kLog: return "log";
  }
  return "absolute";
}

Criterion criterion_from_string(const std::string& s) {
  if (s == "absolute") return Criterion::kAbsolute;
  if (s == "relative") return Criterion::kRelative;
  if (s == "log") return Criterion::kLog;
  throw ConfigError("unknown fitting criterion '" + s + "'; valid: absolute, relative, log");
}

std::string ModelSpec::model_name() const {
  std::string name;
  switch (polynomial) {
    case Polynomial::kNone: name = "linear"; break;
    case Polynomial::kInteraction: name = "poly2-interaction"; break;
    case Polynomial::kFull: name = "poly2"; break;
  }
  if (nonnegative) name += "-nnls";
  if (standard_scaler) name += "+std";
  if (per_work) name += "/work";
  return name;
}

std::string ModelSpec::describe() const {
  std::string out = model_name() + " on [" + feature_set + "], " + to_string(criterion) + " error";
  out += intercept ? ", intercept" : ", no intercept";
  if (minmax_target) out += ", min-max target";
  return out;
}

void ModelSpec::validate() const {
  std::vector<std::string> problems;
  if (minmax_target && criterion == Criterion::kLog)
    problems.push_back("a min-max scaled target cannot be combined with the log criterion (log of values in [0, 1])");
  if (feature_set.empty()) problems.push_back("the feature set is empty; name feature groups such as 'macs'");
  if (!problems.empty()) throw ConfigError(problems);
}

bool ModelSpec::operator==(const ModelSpec& o) const {
  return feature_set == o.feature_set && polynomial == o.polynomial && standard_scaler == o.standard_scaler &&
         criterion == o.criterion && intercept == o.intercept && nonnegative == o.nonnegative &&
         minmax_target == o.minmax_target && per_work == o.per_work;
}

std::vector<std::string> model_columns(const std::string& type, const ModelSpec& spec) {
  std::vector<std::string> out = expand_feature_set(type, spec.feature_set);
  if (spec.per_work) out.emplace_back(kWorkColumn);
  return out;
}

Metrics compute_metrics(const std::vector<double>& measured_j, const std::vector<double>& predicted_j) {
  Metrics m;
  m.n = measured_j.size();
  if (m.n == 0 || predicted_j.size() != m.n) return m;
  double mean = 0.0;
  for (double y : measured_j) mean += y;
  mean /= static_cast<double>(m.n);
  double ss_res = 0.0, ss_tot = 0.0, ape = 0.0;
  std::size_t within = 0;
  bool zero_target = false;
  for (std::size_t i = 0; i < m.n; ++i) {
    const double e = measured_j[i] - predicted_j[i];
    ss_res += e * e;
    ss_tot += (measured_j[i] - mean) * (measured_j[i] - mean);
    if (measured_j[i] == 0.0) {
      zero_target = true;
      continue;
    }
    const double rel = std::fabs(e) / std::fabs(measured_j[i]);
    ape += rel;
    if (rel <= 0.1) ++within;
  }
  m.mse_j2 = ss_res / static_cast<double>(m.n);
  m.r2 = (m.n >= 2 && ss_tot > 0.0) ? 1.0 - ss_res / ss_tot : kNaN;
  m.mape_pct = zero_target ? kNaN : 100.0 * ape / static_cast<double>(m.n);
  m.within_10pct_share = zero_target ? kNaN : static_cast<double>(within) / static_cast<double>(m.n);
  return m;
}

namespace {
// printf's %.4g without printf's cost (an estimate describes every distinct layer it flags), appended to `out`.
void append_number(std::string& out, double v, int digits = 4) {
  char buf[32];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, digits).ptr);
}

// One unit of a type's work, for messages: "element", "MAC", "comparison" (feature_unit's plural, singular).
std::string work_unit_singular(const std::string& type) {
  std::string u = feature_unit(type, kWorkColumn);
  if (!u.empty() && u.back() == 's') u.pop_back();
  return u.empty() ? "unit of work" : u;
}

// See LayerPredictor::held_ranges_. s(f) = intercept + b f + c f^2 (in the scaled columns: b = coef0 / scale0,
// c = coef1 / scale1; the means only shift the intercept) peaks at f = -b / (2 c) when c < 0. That holds for the log
// criterion (energy per work exp(s)), for the others (s itself) and through a min-max target (s times a positive
// range) alike. A peak at or below the range's least value means the data's energy per element falls throughout;
// that is kept, but not past the point where the energy itself would fall: for the log criterion on the elements
// themselves, E(n) = n exp(s(n)) peaks where 1/n + b + 2 c n = 0, at n = (-b - sqrt(b^2 - 8 c)) / (4 c).
std::vector<std::pair<double, double>> hold_ranges(const LayerPredictor::State& s, bool* at_energy_peak) {
  *at_energy_peak = false;
  std::vector<std::pair<double, double>> held = s.training.feature_ranges;
  // Elementwise layers only (their work is their elements): a GEMM's energy per MAC may well fall as it grows.
  if (work_unit_singular(s.type) != "element") return held;
  if (s.features.size() != 1 || s.spec.polynomial != Polynomial::kFull || s.coefficients.size() != 2) return held;
  const double b = s.spec.standard_scaler ? s.coefficients[0] / s.scaler_scale[0] : s.coefficients[0];
  const double c = s.spec.standard_scaler ? s.coefficients[1] / s.scaler_scale[1] : s.coefficients[1];
  if (!(c < 0.0)) return held;
  const double peak = -b / (2.0 * c);
  auto& [lo, hi] = held[0];
  if (peak > lo && peak < hi) {
    hi = peak;
  } else if (peak <= lo && s.features[0] == kWorkColumn && s.spec.criterion == Criterion::kLog &&
             !s.spec.minmax_target) {
    const double energy_peak = (-b - std::sqrt(b * b - 8.0 * c)) / (4.0 * c);
    if (energy_peak > lo && energy_peak < hi) {
      hi = energy_peak;
      *at_energy_peak = true;
    }
  }
  return held;
}

}  // namespace

LayerPredictor::LayerPredictor(State state) : state_(std::move(state)) {
  state_.spec.validate();
  std::vector<std::string> columns = state_.features;
  if (state_.spec.per_work) columns.emplace_back(kWorkColumn);
  extractor_ = FeatureExtractor(state_.type, columns);
  const std::size_t expanded = polynomial_size(state_.features.size(), state_.spec.polynomial);
  std::vector<std::string> problems;
  const std::string where = state_.type + " predictor";
  if (state_.coefficients.size() != expanded)
    problems.push_back(where + ": " + std::to_string(state_.coefficients.size()) + " coefficients for " +
                       std::to_string(expanded) + " (expanded) features");
  if (state_.spec.standard_scaler &&
      (state_.scaler_mean.size() != expanded || state_.scaler_scale.size() != expanded))
    problems.push_back(where + ": the standard scaler needs " + std::to_string(expanded) +
                       " means and scales, found " + std::to_string(state_.scaler_mean.size()) + " and " +
                       std::to_string(state_.scaler_scale.size()));
  std::string bad_scales;  // "0 (0), 3 (-1)": index (value) of each scale that is not a positive number
  for (std::size_t i = 0; i < state_.scaler_scale.size(); ++i) {
    const double s = state_.scaler_scale[i];
    if (!(s > 0.0) || !std::isfinite(s))
      bad_scales += (bad_scales.empty() ? "" : ", ") + std::to_string(i) + " (" + report::fmt_sig(s, 4) + ")";
  }
  if (!bad_scales.empty())
    problems.push_back(where + ": scaler scales must be positive numbers; not so at index " + bad_scales);
  for (double c : state_.coefficients)
    if (!std::isfinite(c)) problems.push_back(where + ": a coefficient is not a finite number");
  if (!std::isfinite(state_.intercept)) problems.push_back(where + ": the intercept is not a finite number");
  if (state_.spec.minmax_target && !(state_.target_max > state_.target_min))
    problems.push_back(where + ": min-max target range [" + std::to_string(state_.target_min) + ", " +
                       std::to_string(state_.target_max) + "] is empty");
  if (!state_.training.feature_ranges.empty() && state_.training.feature_ranges.size() != state_.features.size())
    problems.push_back(where + ": " + std::to_string(state_.training.feature_ranges.size()) + " training ranges for " +
                       std::to_string(state_.features.size()) + " features");
  if (!state_.spec.intercept && state_.intercept != 0.0)
    problems.push_back(where + ": the model has no intercept but the intercept is " + std::to_string(state_.intercept));
  if (state_.spec.per_work && state_.training.feature_ranges.empty())
    problems.push_back(where + ": a per-work model holds its features within the ranges it was trained on, but it "
                       "records none (training.feature_ranges)");
  if (!problems.empty()) throw ConfigError(problems);
  bool at_energy_peak = false;
  if (state_.spec.per_work) held_ranges_ = hold_ranges(state_, &at_energy_peak);
  static const std::string kLog = "log1p(";
  for (std::size_t c = 0; c < state_.training.feature_ranges.size(); ++c) {
    Shown f;
    f.name = state_.features[c];
    if (f.name.compare(0, kLog.size(), kLog) == 0 && f.name.back() == ')') {  // the quantity, not its logarithm
      f.name = f.name.substr(kLog.size(), f.name.size() - kLog.size() - 1);
      f.expm1 = true;
    }
    std::string unit = feature_unit(state_.type, state_.features[c]);
    if (f.name == kWorkColumn && unit != "MACs") f.name = std::exchange(unit, "");  // "elements 1024", not "macs"
    if (!unit.empty()) unit.insert(0, 1, ' ');
    const auto [lo, hi] = state_.training.feature_ranges[c];
    const double lo_shown = f.expm1 ? std::expm1(lo) : lo, hi_shown = f.expm1 ? std::expm1(hi) : hi;
    append_number(f.lo, lo_shown);
    append_number(f.hi, hi_shown);
    append_number(f.lo_exact, lo_shown, 10);
    append_number(f.hi_exact, hi_shown, 10);
    f.unit = unit;
    const std::string trained_on = unit + " it was trained on";
    f.tail = f.tail_above = f.tail_above_exact = trained_on;
    if (state_.spec.per_work) {
      const std::string per = "; energy per " + work_unit_singular(state_.type);
      f.tail += per + " held at the nearest trained value";
      f.tail_above = f.tail_above_exact = f.tail;
      const double held_hi = held_ranges_[c].second;
      if (held_hi < hi) {  // above the range a hold below its top applies, not the top's value
        const double shown = f.expm1 ? std::expm1(held_hi) : held_hi;
        const std::string what = unit.empty() ? " " + f.name : unit;
        const auto held_at = [&](int digits) {
          std::string at;
          append_number(at, shown, digits);
          return trained_on + per +
                 (at_energy_peak ? " held at its value at " + at + what + ", past which the fitted energy falls"
                                 : " held at its fitted peak, at " + at + what);
        };
        f.tail_above = held_at(4);
        f.tail_above_exact = held_at(10);
      }
    }
    f.trained = unit + " is outside the " + f.lo + "-" + f.hi + f.tail;
    f.trained_above = unit + " is outside the " + f.lo + "-" + f.hi + f.tail_above;
    shown_.push_back(std::move(f));
  }
}

LayerPredictor LayerPredictor::fit(const std::string& type, const ModelSpec& spec, const Matrix& raw,
                                   const std::vector<double>& energy_j) {
  spec.validate();
  State s;
  s.type = type;
  s.spec = spec;
  s.features = expand_feature_set(type, spec.feature_set);
  const std::size_t k = s.features.size();
  if (raw.cols != k + (spec.per_work ? 1 : 0))
    throw Error("internal: " + type + " fit given " + std::to_string(raw.cols) + " raw columns for " +
                std::to_string(k) + " features" + (spec.per_work ? " and the work" : ""));
  if (raw.rows != energy_j.size()) throw Error("internal: feature rows and energies differ in number");
  const std::size_t n = raw.rows;
  // A per-work model fits energy / work on the features alone (the work is the last raw column).
  Matrix per_work_features;
  std::vector<double> per_work_j;
  if (spec.per_work) {
    per_work_features = Matrix(n, k);
    per_work_j.resize(n);
    std::size_t no_work = 0;
    for (std::size_t r = 0; r < n; ++r) {
      std::copy(raw.row(r), raw.row(r) + k, per_work_features.values.data() + r * k);
      const double work = raw(r, k);
      if (!(work > 0.0) || !std::isfinite(work)) ++no_work;
      per_work_j[r] = energy_j[r] / work;
    }
    if (no_work)
      throw FitError(type + ": " + std::to_string(no_work) + " training rows do no work (" + kWorkColumn +
                     " <= 0), so a per-work model cannot be fitted on them; choose a model that is not per work");
  }
  const Matrix& features = spec.per_work ? per_work_features : raw;
  const std::vector<double>& fit_target = spec.per_work ? per_work_j : energy_j;
  Matrix z = polynomial_expand(features, spec.polynomial);
  const std::size_t p = z.cols;
  if (n < p + (spec.intercept ? 1 : 0))
    throw FitError(type + ": " + std::to_string(n) + " training rows cannot determine " +
                   std::to_string(p + (spec.intercept ? 1 : 0)) + " coefficients of " + spec.describe() +
                   "; measure more configurations");
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(energy_j[i]))
      throw FitError(type + ": training energy of row " + std::to_string(i) + " is not a finite number");

  if (spec.standard_scaler) {
    // scikit-learn's StandardScaler: population standard deviation; a constant column keeps scale 1.
    s.scaler_mean.assign(p, 0.0);
    s.scaler_scale.assign(p, 0.0);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < p; ++c) s.scaler_mean[c] += z(r, c);
    for (auto& m : s.scaler_mean) m /= static_cast<double>(n);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < p; ++c) {
        const double d = z(r, c) - s.scaler_mean[c];
        s.scaler_scale[c] += d * d;
      }
    for (std::size_t c = 0; c < p; ++c) {
      double& v = s.scaler_scale[c];
      v = std::sqrt(v / static_cast<double>(n));
      bool constant = true;  // exactly: the mean's rounding would leave noise that the scale then magnifies
      for (std::size_t r = 1; r < n && constant; ++r) constant = z(r, c) == z(0, c);
      if (constant && n > 0) s.scaler_mean[c] = z(0, c);
      if (constant || !(v > 0.0) || !std::isfinite(v)) v = 1.0;
    }
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t c = 0; c < p; ++c) z(r, c) = (z(r, c) - s.scaler_mean[c]) / s.scaler_scale[c];
  }

  std::vector<double> target = fit_target;
  std::vector<double> weights;
  if (spec.criterion != Criterion::kAbsolute) {
    std::size_t bad = 0;
    for (double y : energy_j)
      if (!(y > 0.0)) ++bad;
    if (bad)
      throw FitError(type + ": " + std::to_string(bad) + " training energies are <= 0 J; the " +
                     to_string(spec.criterion) + " criterion needs positive energies: drop those rows (they are not "
                     "measurements of the layer's energy)");
  }
  if (spec.criterion == Criterion::kRelative) {
    weights.resize(n);
    for (std::size_t i = 0; i < n; ++i) weights[i] = 1.0 / fit_target[i];
  } else if (spec.criterion == Criterion::kLog) {
    for (auto& y : target) y = std::log(y);
  }
  if (spec.minmax_target) {
    const auto [lo, hi] = std::minmax_element(target.begin(), target.end());
    s.target_min = *lo;
    s.target_max = *hi;
    if (!(s.target_max > s.target_min))
      throw FitError(type + ": every training energy is " + std::to_string(s.target_min) +
                     " J, so a min-max scaled target is undefined; measure more varied configurations");
    const double range = s.target_max - s.target_min;
    for (auto& y : target) y = (y - s.target_min) / range;
  }

  LeastSquaresSolution sol;
  try {
    sol = least_squares(z, target, weights, {spec.intercept, spec.nonnegative});
  } catch (const FitError& e) {
    const auto [lo, hi] = std::minmax_element(energy_j.begin(), energy_j.end());
    throw FitError(type + ": " + e.what() + " (" + spec.describe() + "; training energies " +
                   (energy_j.empty() ? std::string("none") : report::fmt_sig(*lo, 4) + " to " + report::fmt_sig(*hi, 4) + " J") +
                   ")");
  }
  s.coefficients = sol.coefficients;
  s.intercept = sol.intercept;
  s.training.rows = n;
  s.training.fit_rows = n;
  const auto [lo, hi] = std::minmax_element(energy_j.begin(), energy_j.end());
  s.training.energy_min_j = n ? *lo : 0.0;
  s.training.energy_max_j = n ? *hi : 0.0;
  s.training.feature_ranges = column_ranges(features);
  return LayerPredictor(std::move(s));
}

LayerPredictor LayerPredictor::linear(const std::string& type, std::vector<std::string> features,
                                      std::vector<double> coefficients_j, double intercept_j) {
  State s;
  s.type = type;
  s.spec.feature_set = features.empty() ? "none" : join(features, "+");
  s.spec.intercept = intercept_j != 0.0;
  s.features = std::move(features);
  s.coefficients = std::move(coefficients_j);
  s.intercept = intercept_j;
  return LayerPredictor(std::move(s));
}

std::vector<std::string> LayerPredictor::expanded_features() const {
  return polynomial_names(state_.features, state_.spec.polynomial);
}

double LayerPredictor::predict_features_j(const double* raw) const {
  const std::size_t k = state_.features.size();
  const std::size_t p = state_.coefficients.size();
  double stack[kStackFeatures + kStackFeatures * (kStackFeatures + 1) / 2];
  std::vector<double> heap;
  double* z = stack;
  if (k > kStackFeatures) {
    heap.resize(p + k);
    z = heap.data();
  }
  const double* x = raw;
  double held_stack[kStackFeatures];
  if (state_.spec.per_work) {
    // The features held within the training ranges (after the expanded columns when they are on the heap).
    double* held = k > kStackFeatures ? z + p : held_stack;
    for (std::size_t c = 0; c < k; ++c) held[c] = std::clamp(raw[c], held_ranges_[c].first, held_ranges_[c].second);
    x = held;
  }
  polynomial_expand(x, k, state_.spec.polynomial, z);
  double s = state_.intercept;
  if (state_.spec.standard_scaler) {
    for (std::size_t c = 0; c < p; ++c) s += state_.coefficients[c] * (z[c] - state_.scaler_mean[c]) / state_.scaler_scale[c];
  } else {
    for (std::size_t c = 0; c < p; ++c) s += state_.coefficients[c] * z[c];
  }
  if (state_.spec.minmax_target) s = s * (state_.target_max - state_.target_min) + state_.target_min;
  if (state_.spec.criterion == Criterion::kLog) s = std::exp(s);
  if (state_.spec.per_work) s *= raw[k];
  return s;
}

std::vector<std::pair<double, double>> column_ranges(const Matrix& raw) {
  std::vector<std::pair<double, double>> out;
  if (raw.rows == 0) return out;
  out.assign(raw.cols, {0.0, 0.0});
  for (std::size_t c = 0; c < raw.cols; ++c) out[c] = {raw(0, c), raw(0, c)};
  for (std::size_t r = 1; r < raw.rows; ++r)
    for (std::size_t c = 0; c < raw.cols; ++c) {
      out[c].first = std::min(out[c].first, raw(r, c));
      out[c].second = std::max(out[c].second, raw(r, c));
    }
  return out;
}

Extrapolation LayerPredictor::extrapolation(const double* raw) const {
  const auto& ranges = state_.training.feature_ranges;
  for (std::size_t c = 0; c < ranges.size(); ++c)
    if (raw[c] < ranges[c].first || raw[c] > ranges[c].second) return {static_cast<int>(c), raw[c]};
  return {};
}

std::string LayerPredictor::describe(const Extrapolation& e) const {
  if (!e.outside()) return "";
  const Shown& f = shown_.at(static_cast<std::size_t>(e.feature));
  const bool above = e.value > state_.training.feature_ranges[static_cast<std::size_t>(e.feature)].second;
  const double value = f.expm1 ? std::expm1(e.value) : e.value;
  std::string out;
  out.reserve(f.name.size() + f.trained.size() + 16);
  out += f.name;
  out += ' ';
  const std::size_t at = out.size();
  append_number(out, value);
  if (out.compare(at, std::string::npos, f.lo) != 0 && out.compare(at, std::string::npos, f.hi) != 0) {
    out += above ? f.trained_above : f.trained;
    return out;
  }
  // Rounded to 4 digits the value would read as a bound, inside the range: 10 digits tell them apart.
  out.resize(at);
  append_number(out, value, 10);
  out += f.unit + " is outside the " + f.lo_exact + "-" + f.hi_exact + (above ? f.tail_above_exact : f.tail);
  return out;
}

double LayerPredictor::predict_j(const layers::LayerConfig& config, Extrapolation* extrapolation_out) const {
  if (config.type != state_.type)
    throw ConfigError("a " + state_.type + " predictor cannot predict a " + config.type + " layer (" +
                      config.to_string() + ")");
  double raw[kStackFeatures];
  std::vector<double> heap;
  double* r = raw;
  if (extractor_.columns().size() > kStackFeatures) {
    heap.resize(extractor_.columns().size());
    r = heap.data();
  }
  extractor_.extract(config, r);
  if (extrapolation_out) *extrapolation_out = extrapolation(r);
  return predict_features_j(r);
}

std::vector<double> LayerPredictor::predict_j(const Matrix& raw) const {
  std::vector<double> out(raw.rows);
  for (std::size_t r = 0; r < raw.rows; ++r) out[r] = predict_features_j(raw.row(r));
  return out;
}

std::string LayerPredictor::summary() const {
  std::string out = state_.spec.model_name() + " on [" + join(state_.features, ", ") + "], " +
                    to_string(state_.spec.criterion) + " error";
  out += state_.spec.intercept ? ", intercept" : ", no intercept";
  if (state_.spec.minmax_target) out += ", min-max target";
  if (state_.spec.per_work) out += ", per " + work_unit_singular(state_.type);
  return out;
}

}  // namespace dle::predict
