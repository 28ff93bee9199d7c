#include "estimate/estimate.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <map>
#include <variant>

#include "core/errors.hpp"
#include "core/units.hpp"
#include "predict/model.hpp"

namespace dle::estimate {

std::string to_string(LayerStatus s) {
  switch (s) {
    case LayerStatus::kPredicted:
      return "predicted";
    case LayerStatus::kZeroWork:
      return "zero-work";
    case LayerStatus::kNotEstimated:
      return "not-estimated";
  }
  return "unknown";
}

namespace {

std::string fmt_j(double j) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", j);
  return buf;
}

// LayerConfig equality (type and every name and value, in order), comparing the numbers first: layers of one
// network mostly differ in a value, and a number compares faster than a name.
bool same_config(const layers::LayerConfig& a, const layers::LayerConfig& b) {
  if (a.values.size() != b.values.size()) return false;
  for (std::size_t i = 0; i < a.values.size(); ++i)
    if (a.values[i].second != b.values[i].second) return false;
  for (std::size_t i = 0; i < a.values.size(); ++i)
    if (a.values[i].first != b.values[i].first) return false;
  return a.type == b.type;
}

std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

Estimator::Estimator(const arch::Architecture& architecture, const predict::PredictorSet& predictors,
                     bool allow_missing)
    : predictors_(&predictors), name_(architecture.name) {
  // Shapes are per sample, so one inference at batch 1 serves every batch size.
  prepare(arch::infer(architecture, 1), allow_missing, Columns::kDerive);
}

Estimator::Estimator(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
                     bool allow_missing)
    : predictors_(&predictors), name_(inferred.name) {
  prepare(inferred, allow_missing, Columns::kDerive);
}

Estimator::Estimator(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
                     bool allow_missing, Columns columns)
    : predictors_(&predictors), name_(inferred.name) {
  prepare(inferred, allow_missing, columns);
}

void Estimator::prepare(const arch::InferredArchitecture& inferred, bool allow_missing, Columns columns) {
  // type -> layer indices without a predictor, for one message listing all of them.
  std::map<std::string, std::vector<std::size_t>> missing;
  std::vector<std::string> unrepresentable;
  layers_.reserve(inferred.layers.size());
  slots_.reserve(inferred.layers.size());
  // Per layer kind (LayerSpec alternative): has it a measurement schema and a predictor? Looked up once per
  // kind rather than once per layer. -1 = not looked up yet.
  signed char predictable[std::variant_size_v<layers::LayerSpec>];
  std::fill(std::begin(predictable), std::end(predictable), static_cast<signed char>(-1));
  std::shared_ptr<const predict::LayerPredictor> predictor_of[std::variant_size_v<layers::LayerSpec>];
  auto predictable_kind = [&](std::size_t kind, const std::string& type) {
    if (predictable[kind] < 0) {
      predictable[kind] = layers::is_configurable(type) && predictors_->has(type);
      if (predictable[kind]) predictor_of[kind] = predictors_->get(type);
    }
    return predictable[kind] == 1;
  };
  for (const auto& l : inferred.layers) {
    Layer layer;
    const std::size_t kind = l.spec.index();
    layer.type = layers::type_names()[kind];
    // MACs are linear in the batch size; the inferred counts may be at any batch.
    layer.macs_per_sample = inferred.batch > 0 ? l.counts.macs / inferred.batch : l.counts.macs;
    if (layers::is_zero_work(l.spec, l.input)) {
      layer.status = LayerStatus::kZeroWork;
      layer.note = layers::zero_work_reason(l.spec, l.input);
    } else if (predictable_kind(kind, layer.type)) {
      layers::LayerConfig config = layers::to_config(l.spec, l.input, 1);
      std::size_t slot = 0;
      while (slot < slots_.size() && !same_config(slots_[slot].config, config)) ++slot;
      // The measurement schema is what the predictor sees; a layer it cannot describe exactly (grouped
      // convolution, non-square image) would be predicted as a different layer, so it is refused.
      // The one-shot estimate counts a new configuration at the batch size it predicts, and predicts it with
      // those counts (counting is a third of preparing); otherwise it is counted at batch 1.
      const bool one_shot = columns == Columns::kSkip && inferred.batch >= 1 && slot == slots_.size();
      const std::int64_t count_batch = one_shot ? inferred.batch : 1;
      layers::Counts counts;
      std::int64_t config_macs, config_ops;  // per sample
      if (slot < slots_.size()) {
        config_macs = slots_[slot].macs_per_sample;
        config_ops = slots_[slot].ops_per_sample;
      } else {
        config.values[0].second = static_cast<double>(count_batch);
        counts = layers::config_counts(config);
        config.values[0].second = 1.0;
        config_macs = counts.macs / count_batch;
        config_ops = counts.ops / count_batch;
      }
      const std::int64_t ops_per_sample = inferred.batch > 0 ? l.counts.ops / inferred.batch : l.counts.ops;
      if (config_macs != layer.macs_per_sample || config_ops != ops_per_sample) {
        layer.status = LayerStatus::kNotEstimated;
        layer.note = "not estimated: the " + layer.type + " measurement schema cannot describe this layer (" +
                     config.to_string() + " does " + std::to_string(config_ops) + " ops per sample, the layer " +
                     std::to_string(ops_per_sample) + "; grouped convolution or non-square input)";
        unrepresentable.push_back(name_ + ": layer " + std::to_string(l.index) + " (" + layer.type + ") " +
                                  layer.note.substr(std::string("not estimated: ").size()));
        if (std::find(missing_types_.begin(), missing_types_.end(), layer.type) == missing_types_.end())
          missing_types_.push_back(layer.type);
        layers_.push_back(std::move(layer));
        continue;
      }
      if (slot == slots_.size()) {
        Slot fresh;
        fresh.config = std::move(config);
        fresh.macs_per_sample = config_macs;
        fresh.ops_per_sample = config_ops;
        fresh.predictor = predictor_of[kind];
        if (columns == Columns::kDerive) prepare_columns(fresh);  // else affine stays false: the predictor's own path
        if (one_shot) predict_once(fresh, inferred.batch, counts);
        slots_.push_back(std::move(fresh));
      }
      slots_[slot].uses += 1;
      layer.status = LayerStatus::kPredicted;
      layer.slot = slot;
    } else {
      layer.status = LayerStatus::kNotEstimated;
      layer.note = "not estimated: no predictor for layer type '" + layer.type + "'; the total leaves it out";
      missing[layer.type].push_back(l.index);
    }
    layers_.push_back(std::move(layer));
  }
  for (const auto& [type, idx] : missing)
    if (std::find(missing_types_.begin(), missing_types_.end(), type) == missing_types_.end())
      missing_types_.push_back(type);
  std::sort(missing_types_.begin(), missing_types_.end());
  // Predictors without training ranges cannot say when they extrapolate: say that once, not nothing.
  for (std::size_t kind = 0; kind < std::variant_size_v<layers::LayerSpec>; ++kind)
    if (predictor_of[kind] && predictor_of[kind]->state().training.feature_ranges.empty())
      unranged_types_ += (unranged_types_.empty() ? "" : ", ") + layers::type_names()[kind];
  if (!missing_types_.empty() && !allow_missing) {
    std::vector<std::string> problems = unrepresentable;
    for (const auto& [type, idx] : missing) {
      std::string where;
      for (auto i : idx) where += (where.empty() ? "" : ", ") + std::to_string(i);
      problems.push_back(name_ + ": no predictor for layer type '" + type + "' (layer" +
                         (idx.size() > 1 ? "s " : " ") + where + ")" +
                         (layers::is_configurable(type)
                              ? std::string()
                              : "; " + type + " has no measurement schema, so no predictor file can cover it yet"));
    }
    problems.push_back((predictors_->types().empty() ? std::string("the predictor file holds no predictors")
                                                     : "the predictors cover: " + join(predictors_->types())) +
                       "; use predictors that cover these types, or pass --allow-missing to estimate the other "
                       "layers and mark these 'not estimated'");
    throw ConfigError(problems);
  }
}

void Estimator::predict_once(Slot& slot, std::int64_t batch, const layers::Counts& counts) const {
  // The one-shot estimate needs each distinct layer at one batch size: predict it now, on the slot's own
  // configuration set to that batch size (no copy), with the counts just made for it.
  slot.config.values[0].second = static_cast<double>(batch);
  predict::Extrapolation e;
  const predict::FeatureExtractor& fx = slot.predictor->extractor();
  if (fx.columns().size() <= kMaxColumns) {
    double raw[kMaxColumns];
    fx.extract(slot.config, counts, raw);
    e = slot.predictor->extrapolation(raw);
    slot.predicted_j = slot.predictor->predict_features_j(raw);
  } else {
    slot.predicted_j = slot.predictor->predict_j(slot.config, &e);
  }
  slot.config.values[0].second = 1.0;
  slot.outside_feature = e.feature;
  slot.outside_value = e.value;
  slot.predicted_batch = batch;
}

void Estimator::prepare_columns(Slot& slot) const {
  const predict::FeatureExtractor& fx = slot.predictor->extractor();
  slot.columns = fx.columns().size();
  if (slot.columns > kMaxColumns) return;
  static const std::string kLog = "log1p(";
  for (std::size_t c = 0; c < slot.columns; ++c) slot.log1p[c] = fx.columns()[c].compare(0, kLog.size(), kLog) == 0;

  // Raw columns at batch b, with log1p undone so that each should be affine in b.
  // One copy of the configuration serves every batch size below (only batch_size, values[0], changes).
  layers::LayerConfig cfg = slot.config;
  auto inner_at = [&](std::int64_t b, double* out) {
    cfg.values[0].second = static_cast<double>(b);
    fx.extract(cfg, out);
    for (std::size_t c = 0; c < slot.columns; ++c)
      if (slot.log1p[c]) out[c] = std::expm1(out[c]);
  };
  double f1[kMaxColumns], f2[kMaxColumns];
  inner_at(1, f1);
  inner_at(2, f2);
  for (std::size_t c = 0; c < slot.columns; ++c) {
    slot.slope[c] = f2[c] - f1[c];
    slot.offset[c] = f1[c] - slot.slope[c];
  }
  // Check at a small odd and a large batch size that the columns really are affine (a column such as an
  // integer-halved count is not); otherwise this layer keeps the exact, slower path.
  // 1001 is odd and large: it catches both parity effects and curvature.
  for (std::int64_t b : {1001}) {
    double direct[kMaxColumns];
    const std::size_t n = slot.columns;
    cfg.values[0].second = static_cast<double>(b);
    fx.extract(cfg, direct);
    for (std::size_t c = 0; c < n; ++c) {
      double v = slot.offset[c] + slot.slope[c] * static_cast<double>(b);
      if (slot.log1p[c]) v = std::log1p(v);
      if (std::fabs(v - direct[c]) > 1e-12 * std::max(1.0, std::fabs(direct[c]))) return;
    }
  }
  slot.affine = true;
}

double Estimator::predict_slot(const Slot& slot, std::int64_t batch) const {
  if (batch == slot.predicted_batch) return slot.predicted_j;
  if (slot.affine) {
    double raw[kMaxColumns];
    const double b = static_cast<double>(batch);
    for (std::size_t c = 0; c < slot.columns; ++c) {
      const double v = slot.offset[c] + slot.slope[c] * b;
      raw[c] = slot.log1p[c] ? std::log1p(v) : v;
    }
    return slot.predictor->predict_features_j(raw);
  }
  // One scratch configuration per thread: copy-assignment reuses its storage, so this path does not
  // allocate once the first (largest) configuration has been seen.
  thread_local layers::LayerConfig scratch;
  scratch = slot.config;
  scratch.values[0].second = static_cast<double>(batch);
  return slot.predictor->predict_j(scratch);
}

std::string Estimator::extrapolation_at(const Slot& slot, std::int64_t batch) const {
  predict::Extrapolation e;
  if (batch == slot.predicted_batch) {
    e.feature = slot.outside_feature;
    e.value = slot.outside_value;
  } else if (slot.affine) {
    double raw[kMaxColumns];
    const double b = static_cast<double>(batch);
    for (std::size_t c = 0; c < slot.columns; ++c) {
      const double v = slot.offset[c] + slot.slope[c] * b;
      raw[c] = slot.log1p[c] ? std::log1p(v) : v;
    }
    e = slot.predictor->extrapolation(raw);
  } else {
    layers::LayerConfig at = slot.config;
    at.values[0].second = static_cast<double>(batch);
    std::vector<double> raw(slot.predictor->extractor().columns().size());
    slot.predictor->extractor().extract(at, raw.data());
    e = slot.predictor->extrapolation(raw.data());
  }
  return slot.predictor->describe(e);
}

double Estimator::checked_j(const Slot& slot, std::int64_t batch, double j) const {
  if (std::isfinite(j)) return j;
  layers::LayerConfig at = slot.config;
  at.values[0].second = static_cast<double>(batch);
  const std::string what = std::isnan(j) ? "no number (NaN)" : (j > 0 ? "an infinite energy" : "minus infinity J");
  throw FitError("the " + at.type + " predictor gives " + what + " for " + at.to_string() + " (" +
                 predictors_->model_summary(at.type) +
                 "); it cannot be used for this layer: refit it on data that covers such layers, or check the "
                 "predictor file's coefficients if it was edited by hand");
}

// Each layer's energy is finite (checked_j), but their sum, or a sum over many passes, can still overflow.
double Estimator::checked_total_j(double j, std::int64_t batch, const char* what) const {
  if (std::isfinite(j)) return j;
  throw FitError(name_ + " at batch size " + std::to_string(batch) + ": " + what +
                 " is too large to represent (each layer's prediction is finite, their sum is not); the predictors "
                 "give absurd energies for these layers: refit them on data that covers such layers");
}

double Estimator::energy_j(std::int64_t batch) const {
  if (batch < 1) throw ConfigError("batch size " + std::to_string(batch) + " must be >= 1");
  double total = 0.0;
  for (const auto& slot : slots_) {
    const double j = checked_j(slot, batch, predict_slot(slot, batch));
    // A model extrapolating below zero predicts no energy, never a negative one (estimate() says so per row).
    total += slot.uses * (j > 0.0 ? j : 0.0);
  }
  return checked_total_j(total, batch, "the predicted energy of one pass");
}

std::vector<double> Estimator::energies_j(const std::vector<std::int64_t>& batches) const {
  std::vector<double> out;
  out.reserve(batches.size());
  for (auto b : batches) out.push_back(energy_j(b));
  return out;
}

EstimateResult Estimator::estimate(std::int64_t batch, const EstimateOptions& options) const {
  if (batch < 1) throw ConfigError("batch size " + std::to_string(batch) + " must be >= 1");
  if (options.images < 0)
    throw ConfigError("images " + std::to_string(options.images) + " must be >= 0 (0 = do not report images)");
  if (options.carbon_g_per_kwh && !(*options.carbon_g_per_kwh >= 0.0))
    throw ConfigError("carbon intensity " + std::to_string(*options.carbon_g_per_kwh) +
                      " g/kWh must be a number >= 0");
  EstimateResult r;
  r.architecture = name_;
  r.batch = batch;
  r.missing_types = missing_types_;
  r.layers.reserve(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    LayerEstimate e;
    e.index = i;
    e.type = l.type;
    e.macs = l.macs_per_sample * batch;
    e.status = l.status;
    e.note = l.note;
    r.layers.push_back(std::move(e));
  }
  thread_local std::vector<double> slot_j;
  slot_j.resize(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) slot_j[i] = checked_j(slots_[i], batch, predict_slot(slots_[i], batch));
  std::map<std::string, int> negative;  // type -> layers predicted below 0 J
  std::map<std::string, int> zero;      // type -> layers predicted at exactly 0 J (an exp() that underflowed)
  std::string extrapolated;  // "11, 13, 15": the layers outside their predictors' training ranges
  std::size_t n_extrapolated = 0;
  // Per slot, the note of a layer outside its predictor's training ranges ("" = inside), built once per slot.
  thread_local std::vector<std::string> outside;
  outside.resize(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    outside[i] = extrapolation_at(slots_[i], batch);
    if (!outside[i].empty()) outside[i] = "extrapolated (" + outside[i] + ")";
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i].status != LayerStatus::kPredicted) continue;
    const double j = slot_j[layers_[i].slot];
    if (j < 0.0) {
      r.layers[i].note = "the " + layers_[i].type + " predictor gives " + fmt_j(j) +
                         " J here (a model extrapolating below zero); counted as 0 J";
      negative[layers_[i].type] += 1;
    } else if (j == 0.0) {
      r.layers[i].note = "the " + layers_[i].type + " predictor gives 0 J here, nothing for a layer that does work "
                         "(its model falls below the smallest number far outside its data)";
      zero[layers_[i].type] += 1;
    } else {
      r.layers[i].energy_j = j;
    }
    const std::string& why = outside[layers_[i].slot];
    if (!why.empty()) {
      r.layers[i].extrapolated = true;
      if (r.layers[i].note.empty()) {
        r.layers[i].note = why;
      } else {
        r.layers[i].note += "; ";
        r.layers[i].note += why;
      }
      char buf[24];
      if (n_extrapolated++) extrapolated += ", ";
      extrapolated.append(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
    }
  }
  for (const auto& [type, n] : negative)
    r.warnings.push_back(name_ + ": the " + type + " predictor gives a negative energy for " + std::to_string(n) +
                         (n == 1 ? " layer" : " layers") + " at batch size " + std::to_string(batch) +
                         " (its fitted intercept is below zero and these layers are small); counted as 0 J, so the "
                         "total may be low by their true energy");
  for (const auto& [type, n] : zero)
    r.warnings.push_back(name_ + ": the " + type + " predictor gives 0 J for " + std::to_string(n) +
                         (n == 1 ? " layer" : " layers") + " at batch size " + std::to_string(batch) +
                         ", which do work: its model is unusable for them, so the total is low by their true energy; "
                         "refit it on data that covers such layers");
  if (!unranged_types_.empty())
    r.warnings.push_back(name_ + ": the predictors for " + unranged_types_ +
                         " record no training ranges (a predictor file written before dlenergy recorded them, or by "
                         "hand), so their rows cannot be checked for extrapolation; refit with `dlenergy fit` to "
                         "record them");
  if (n_extrapolated) {
    const bool one = n_extrapolated == 1;
    r.warnings.push_back(name_ + ": " + std::to_string(n_extrapolated) +
                         (one ? " layer lies outside the ranges its predictor was trained on"
                              : " layers lie outside the ranges their predictors were trained on") +
                         " at batch size " + std::to_string(batch) + (one ? " (layer " : " (layers ") +
                         extrapolated + "): " +
                         (one ? "its energy is an extrapolation" : "their energies are extrapolations") +
                         "; the rows' notes say which feature");
  }
  // The total is the sum of the rows, in row order, so the two agree to the last bit.
  for (const auto& e : r.layers) {
    r.energy_j += e.energy_j;
    r.macs += e.macs;
  }
  checked_total_j(r.energy_j, batch, "the predicted energy of one pass");
  for (auto& e : r.layers) e.share = r.energy_j > 0.0 ? e.energy_j / r.energy_j : 0.0;
  r.energy_wh = units::j_to_wh(r.energy_j);
  if (options.carbon_g_per_kwh) {
    r.carbon_g_per_kwh = options.carbon_g_per_kwh;
    r.co2_g = units::co2_grams(r.energy_j, *options.carbon_g_per_kwh);
  }
  if (options.images > 0) {
    ImagesEstimate im;
    im.images = options.images;
    im.full_passes = options.images / batch;
    im.last_batch = options.images % batch;
    im.passes = im.full_passes + (im.last_batch > 0 ? 1 : 0);
    im.energy_j = static_cast<double>(im.full_passes) * r.energy_j + (im.last_batch > 0 ? energy_j(im.last_batch) : 0.0);
    checked_total_j(im.energy_j, batch, ("the predicted energy of " + std::to_string(im.images) + " images").c_str());
    im.energy_wh = units::j_to_wh(im.energy_j);
    if (options.carbon_g_per_kwh) im.co2_g = units::co2_grams(im.energy_j, *options.carbon_g_per_kwh);
    r.images = im;
  }
  return r;
}

EstimateResult estimate(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
                        const EstimateOptions& options) {
  // Deriving the fast path's columns extracts every distinct layer's features three times to predict it once.
  return Estimator(inferred, predictors, options.allow_missing, Estimator::Columns::kSkip).estimate(inferred.batch, options);
}

}  // namespace dle::estimate
