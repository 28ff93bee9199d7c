#include "predict/recipes.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/errors.hpp"
#include "core/system_info.hpp"
#include "report/table.hpp"
#include "predict/evaluation.hpp"

namespace dle::predict {

namespace {

ModelSpec make(const std::string& features, Criterion criterion, Polynomial poly = Polynomial::kNone,
               bool scaler = false, bool intercept = true, bool nonnegative = false, bool minmax = false) {
  ModelSpec s;
  s.feature_set = features;
  s.criterion = criterion;
  s.polynomial = poly;
  s.standard_scaler = scaler;
  s.intercept = intercept;
  s.nonnegative = nonnegative;
  s.minmax_target = minmax;
  return s;
}

ModelSpec per_work(ModelSpec s) {
  s.per_work = true;
  return s;
}

std::string format_pct(double v) { return std::isfinite(v) ? report::fmt_fixed(v, 1) + " %" : "n/a"; }

Recipe paper_recipe() {
  Recipe r;
  r.name = "paper";
  r.description =
      "Getzner et al. 2023: shuffle as pandas df.sample(frac=1, random_state=1234), split 70/20/10, fit on the 70 %, "
      "ordinary least squares on a min-max scaled target";
  r.protocol = {1234, 10, false};
  const auto abs = Criterion::kAbsolute;
  r.entries = {
      {"conv2d", make("paper_macs", abs, Polynomial::kNone, false, true, false, true), "paper: linear on MACs"},
      {"maxpool2d", make("base+log1p+paper_macs", abs, Polynomial::kInteraction, true, true, false, true),
       "paper: base + log1p(base) + MACs, degree-2 interaction-only polynomial, standard scaler"},
      {"linear", make("paper_macs", abs, Polynomial::kNone, false, true, false, true), "paper: linear on MACs"},
      {"relu", make("paper_macs", abs, Polynomial::kNone, false, true, false, true),
       "paper (published code): linear on MACs"},
      {"tanh", make("base", abs, Polynomial::kFull, false, true, false, true),
       "paper: degree-2 polynomial of batch size and input size"},
      {"sigmoid", make("base", abs, Polynomial::kInteraction, false, true, false, true),
       "paper: degree-2 interaction-only polynomial of batch size and input size"},
      {"softmax", make("base", abs, Polynomial::kInteraction, false, true, false, true),
       "paper: degree-2 interaction-only polynomial of batch size and input size"},
  };
  return r;
}

// tanh, sigmoid, softmax: the paper measured them at 50,000 to 5,000,000 elements per sample (0.7 million to 2.5
// billion per batch); networks also run them on a classifier's few hundred. The energy per element is a function of
// the batch's elements alone (its logarithm a degree-2 polynomial of the element count), held within the trained
// range, and at its peak (1.6 billion elements) from there up, and multiplied by the elements: a smaller layer costs
// less in proportion, and a larger one never less. Models of the energy itself as a
// polynomial of log batch and input size turned upwards below the data (a 128-element tanh came out above a
// 52,200-element one). Per-work models of several size features leave the data when each feature is held within
// its own range (batch size, input size and elements held apart no longer multiply up): on log batch size, log
// input size and elements, the best by cross-validated MAPE (12.0 % for tanh), they gave 0.1 to 868,000 nJ per
// element outside the trained sizes, where the paper's data has 32 to 200.
constexpr const char* kActivationModel =
    "energy per element as a smooth function of the batch's elements, held within the trained range and at its "
    "peak, times the "
    "elements: cross-validated MAPE tanh 13.8 %, sigmoid 11.8 %, softmax 7.0 % (a degree-2 polynomial of log batch "
    "and input size: 17.1, 14.2, 8.3 %), and outside the trained sizes the energy scales with the elements, where "
    "that polynomial turned upwards (it gave a 128-element tanh more energy than a 52,200-element one)";

// dlenergy's choice (docs/predictors.md, "The default recipe", has the tables behind it). The rule:
//   1. rank every candidate of `dlenergy analyze` by cross-validated MAPE on the random configurations;
//   2. keep the models that cannot blow up outside the training ranges: on the log scale only log features and
//      0/1 indicators (a raw feature inside exp() explodes), and no pair of log columns that is collinear for
//      the type (for activations bytes = 8 x elements, so log1p(bytes) ~ log1p(macs) + 2.1); or a per-work model
//      of one size feature, which is held within its trained range (the activations, above);
//   3. among the best of those, take the one with the smallest relative error on layer shapes of real networks
//      (AlexNet/VGG layers measured alone), where such measurements exist (conv2d, maxpool2d, linear).
// All are positive for every configuration, with no additive intercept in joules: exp(quadratic in log work and log
// traffic) for conv2d, maxpool2d and linear, non-negative joules per byte for relu, elements x exp(quadratic in the
// elements) for the activations. Change a row here to change the recipe.
Recipe default_recipe() {
  Recipe r;
  r.name = "default";
  r.description =
      "dlenergy default: per-type models selected on cross-validated relative error (MAPE, share within 10 %) and "
      "checked on real networks' layer shapes; fitted on train + validation (90 %), scored on the held-out 10 %";
  r.protocol = {1234, 10, true};
  const auto log = Criterion::kLog;
  const auto full = Polynomial::kFull;
  r.entries = {
      {"conv2d", make("log1p_blocked_macs+log1p_io+log1p_stride+narrow_input", log, full, true),
       "energy as a smooth function of log work, log input and output elements and log stride (a roofline in log "
       "space; the stride sets how far apart the input windows lie), the work counted in 16-channel SIMD blocks as "
       "oneDNN computes it on AVX-512, and a 0/1 flag for inputs of fewer than 16 channels (oneDNN's direct "
       "first-layer kernels): 16.9 % cross-validated MAPE (plain MACs 20.4 %), 5.8 % on real network conv layers "
       "(plain MACs 9.4 %, log work and log bytes 12.7 %), where linear-in-MACs models miss 3-channel and "
       "512-channel layers by -70 % / +30 %; without the flag when cross-validation prefers that (data with too "
       "few narrow inputs for the flag's own slopes), on plain MACs when that is better still (a CPU whose oneDNN "
       "blocks channels differently, e.g. by 8 on AVX2)",
       {make("log1p_blocked_macs+log1p_io+log1p_stride", log, full, true),
        make("log1p_macs+log1p_io+log1p_stride", log, full, true)}},
      {"maxpool2d", make("log1p_macs+log1p_io+log1p_kernel+log1p_stride", log, full, true),
       "log comparisons, log input and output elements, log window and stride: 8 % on real networks' pooling "
       "layers (log1p of the schema parameters and log comparisons: 14 %), which MAC-linear models miss by -70 %"},
      {"linear", make("log1p_macs+log1p_bytes+aligned_rows", log, full, true),
       "log work and log bytes (5 % cross-validated MAPE, 8 % on real networks' classifier layers), and a 0/1 flag "
       "for weight rows a multiple of 4 KiB long, which networks' round sizes have (1024, 4096, 9216 inputs) and "
       "random sizes almost never: measured here, such rows take 1.2-2x the time per weight byte at small batches; "
       "without the flag when the data holds fewer than 10 such rows (the paper's random layers hold one)",
       {make("log1p_macs+log1p_bytes", log, full, true)}},
      {"relu", make("traffic+fresh", Criterion::kRelative, Polynomial::kNone, false, false, true),
       "joules per byte through the caches plus joules per element written to fresh memory (outputs over 32 MiB, "
       "page-faulted on every pass): the paper measured ReLU out of place (12 bytes per element, fresh pages), "
       "networks run it in place (8 bytes per element, no fresh pages); a power law fitted to out-of-place data "
       "overestimates in-place ReLUs about 4x"},
      {"sigmoid", per_work(make("macs", log, full, true)), kActivationModel},
      {"tanh", per_work(make("macs", log, full, true)), kActivationModel},
      {"softmax", per_work(make("macs", log, full, true)), kActivationModel},
  };
  return r;
}

}  // namespace

std::vector<ModelSpec> RecipeEntry::specs() const {
  std::vector<ModelSpec> out = {spec};
  out.insert(out.end(), alternatives.begin(), alternatives.end());
  return out;
}

std::size_t best_by_cv(const std::vector<double>& cv_mape_pct) {
  std::size_t best = 0;
  const auto key = [](double m) { return std::isfinite(m) ? m : std::numeric_limits<double>::infinity(); };
  for (std::size_t i = 1; i < cv_mape_pct.size(); ++i)
    if (key(cv_mape_pct[i]) < key(cv_mape_pct[best])) best = i;
  return best;
}

std::string indicator_shortfall(const TrainingSet& set, const ModelSpec& spec) {
  const FeatureExtractor fx(set.type, expand_feature_set(set.type, spec.feature_set));
  const Matrix m = fx.extract(set.configs);
  for (std::size_t c = 0; c < m.cols; ++c) {
    std::size_t ones = 0;
    bool indicator = true;
    for (std::size_t r = 0; r < m.rows && indicator; ++r) {
      const double v = m.values[r * m.cols + c];
      indicator = v == 0.0 || v == 1.0;
      ones += v == 1.0 ? 1 : 0;
    }
    if (!indicator || m.rows == 0) continue;
    const std::size_t zeros = m.rows - ones;
    if (std::min(ones, zeros) == 0)
      return fx.columns()[c] + " is never " + (ones < zeros ? "1" : "0") + " in the " + std::to_string(m.rows) + " rows";
    if (std::min(ones, zeros) < kMinRowsPerIndicatorValue)
      return fx.columns()[c] + " is " + (ones < zeros ? "1" : "0") + " in " + std::to_string(std::min(ones, zeros)) +
             " of " + std::to_string(m.rows) + " rows";
  }
  return "";
}

std::size_t choose_model(const std::vector<double>& cv_mape_pct, const std::vector<std::string>& shortfalls) {
  std::vector<double> eligible = cv_mape_pct;
  bool any = false;
  for (std::size_t i = 0; i < eligible.size(); ++i) {
    if (i < shortfalls.size() && !shortfalls[i].empty())
      eligible[i] = std::numeric_limits<double>::quiet_NaN();
    else
      any = true;
  }
  return best_by_cv(any ? eligible : cv_mape_pct);
}

const RecipeEntry* Recipe::find(const std::string& type) const {
  for (const auto& e : entries)
    if (e.type == type) return &e;
  return nullptr;
}

const Registry<Recipe>& recipes() {
  static const Registry<Recipe> reg = [] {
    Registry<Recipe> r("recipe");
    r.add("default", default_recipe());
    r.add("paper", paper_recipe());
    return r;
  }();
  return reg;
}

LayerPredictor fit_with_protocol(const TrainingSet& set, const ModelSpec& spec, const FitProtocol& protocol) {
  const FeatureExtractor fx(set.type, model_columns(set.type, spec));
  const Matrix raw = fx.extract(set.configs);
  const Split split = split_rows(set.configs.size(), protocol.seed);
  std::vector<std::size_t> fit_rows = split.train;
  if (protocol.fit_on_validation_too) fit_rows.insert(fit_rows.end(), split.validation.begin(), split.validation.end());
  if (fit_rows.empty())
    throw FitError(set.type + ": " + std::to_string(set.configs.size()) +
                   " configuration(s) leave no training rows after the 70/20/10 split; measure more");

  LayerPredictor model = LayerPredictor::fit(set.type, spec, raw.select_rows(fit_rows), select(set.energy_j, fit_rows));
  auto& st = model.mutable_state();
  if (!split.test.empty())
    st.metrics["test"] = compute_metrics(select(set.energy_j, split.test), model.predict_j(raw.select_rows(split.test)));
  if (!protocol.fit_on_validation_too && !split.validation.empty())
    st.metrics["validation"] =
        compute_metrics(select(set.energy_j, split.validation), model.predict_j(raw.select_rows(split.validation)));
  const std::size_t folds = std::min(protocol.folds, fit_rows.size());
  if (folds >= 2) {
    try {
      st.metrics["cv"] = cross_validate(set.type, spec, raw, set.energy_j, fit_rows, folds).metrics;
    } catch (const FitError&) {
      // A fold too small for the model: no CV figure rather than no predictor.
    }
  }
  st.training.rows = set.configs.size();
  st.training.fit_rows = fit_rows.size();
  st.training.test_rows = split.test.size();
  const auto [lo, hi] = std::minmax_element(set.energy_j.begin(), set.energy_j.end());
  st.training.energy_min_j = *lo;
  st.training.energy_max_j = *hi;
  st.training.feature_ranges = column_ranges(raw);  // every row of the data, as the energy range
  st.training.feature_ranges.resize(model.features().size());  // not the work of a per-work model
  st.training.data_hash = training_data_hash(set);
  return LayerPredictor(std::move(st));  // built again: describe() shows the ranges it was built with
}

namespace {
// What a fitted predictor cannot be trusted for, for a warning: features that never vary in its data, and held-out
// rows it predicts worse than their mean does (R^2 < 0). "" when neither.
std::string doubtful(const LayerPredictor& p) {
  std::vector<std::string> reasons;
  const auto& ranges = p.state().training.feature_ranges;
  std::string constant;
  for (std::size_t c = 0; c < ranges.size(); ++c)
    if (ranges[c].first == ranges[c].second) constant += (constant.empty() ? "" : ", ") + p.features()[c];
  if (!constant.empty())
    reasons.push_back("the feature(s) " + constant + " have one value in every training row, so they cannot tell "
                      "configurations apart");
  std::string worse;
  for (const char* set : {"test", "cv"}) {
    const auto it = p.state().metrics.find(set);
    if (it != p.state().metrics.end() && it->second.r2 < 0.0)
      worse += (worse.empty() ? "" : ", ") + std::string(set == std::string("cv") ? "cross-validated" : "held-out") +
               " R^2 " + report::fmt_sig(it->second.r2, 3);
  }
  if (!worse.empty())
    reasons.push_back("it predicts configurations it was not fitted on worse than their mean energy does (" + worse +
                      ")");
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}
}  // namespace

FitOutcome fit_recipe(const Recipe& recipe, const std::map<std::string, TrainingSet>& sets, PredictorSource source,
                      bool skip_unfittable_types) {
  FitOutcome out;
  std::vector<std::string> unfittable;  // "type: why", one per type none of whose models could be fitted
  for (const auto& [type, set] : sets) {
    const RecipeEntry* e = recipe.find(type);
    if (!e) {
      out.notes.push_back(type + ": the " + recipe.name + " recipe has no model for this type; not fitted");
      continue;
    }
    // Every model of the entry that can be fitted competes; one that cannot (too few rows for its coefficients) is
    // named in the note instead of stopping the fit.
    std::vector<ModelSpec> specs;
    std::vector<LayerPredictor> fitted;
    std::vector<double> cv_mape;
    std::vector<std::string> shortfalls, failures;
    for (const auto& spec : e->specs()) {
      try {
        LayerPredictor p = fit_with_protocol(set, spec, recipe.protocol);
        const auto& m = p.state().metrics;
        cv_mape.push_back(m.count("cv") ? m.at("cv").mape_pct : std::numeric_limits<double>::quiet_NaN());
        shortfalls.push_back(indicator_shortfall(set, spec));
        specs.push_back(spec);
        fitted.push_back(std::move(p));
      } catch (const FitError& err) {
        failures.push_back(spec.describe() + ": " + err.what());
      }
    }
    if (fitted.empty()) {
      unfittable.push_back(failures.front());
      continue;
    }
    const std::size_t best = choose_model(cv_mape, shortfalls);
    if (fitted.size() + failures.size() > 1) {
      std::string note = type + ": " + fitted[best].spec().describe() + " (cross-validated MAPE " +
                         format_pct(cv_mape[best]) + ") rather than ";
      std::string others;
      for (std::size_t i = 0; i < fitted.size(); ++i) {
        if (i == best) continue;
        others += (others.empty() ? "" : ", ") + fitted[i].spec().describe() + " (" + format_pct(cv_mape[i]);
        if (!shortfalls[i].empty())
          others += "; not used: " + shortfalls[i] + ", fewer than " + std::to_string(kMinRowsPerIndicatorValue);
        others += ")";
      }
      for (const auto& f : failures) others += (others.empty() ? "" : ", ") + std::string("not fitted: ") + f;
      note += others;
      out.notes.push_back(note);
    }
    if (const std::string why = doubtful(fitted[best]); !why.empty())
      out.warnings.push_back(type + ": " + why + "; its energies are unreliable: measure more varied configurations");
    out.predictors.put(type, std::make_shared<const LayerPredictor>(std::move(fitted[best])));
  }
  if (!unfittable.empty()) {
    if (!skip_unfittable_types || out.predictors.types().empty()) {
      std::string all;
      for (const auto& u : unfittable) all += (all.empty() ? "" : "; ") + u;
      throw FitError(all);
    }
    for (const auto& u : unfittable)
      out.warnings.push_back("no predictor for " + u + " (left out; the other types are fitted: leave this type out "
                             "with --layers, or measure more of it)");
  }
  for (const auto& e : recipe.entries)
    if (!sets.count(e.type)) out.notes.push_back(e.type + ": no training rows; no predictor");
  if (out.predictors.types().empty())
    throw ConfigError("the " + recipe.name + " recipe found no layer type it covers in the training data; "
                   "check --layers and that the database holds ok measurements of kind layer");
  source.recipe = recipe.name;
  if (source.created_at.empty()) source.created_at = sys::utc_now_iso8601();
  if (source.data_hash.empty()) source.data_hash = training_data_hash(sets);
  out.predictors.set_source(std::move(source));
  return out;
}

std::map<std::string, TrainingSet> load_paper_training_sets(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir))
    throw ConfigError("training-sets directory " + dir + " does not exist; give the paper data's training-sets folder");
  std::map<std::string, TrainingSet> sets;
  for (const auto& e : recipes().get("paper").entries) {
    const fs::path p = fs::path(dir) / (e.type + ".csv");
    if (fs::exists(p)) sets.emplace(e.type, load_paper_training_set(p.string(), e.type));
  }
  if (sets.empty())
    throw ConfigError("no training set found in " + dir + " (expected conv2d.csv, maxpool2d.csv, linear.csv, relu.csv, ...)");
  return sets;
}

PredictorSource paper_training_sets_source(const std::string& dir) {
  PredictorSource s;
  s.description = "paper training sets " + dir +
                  " (Getzner et al. 2023: random layer configurations, repeats averaged, RAPL failures dropped)";
  s.cpu_model = "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz";
  s.cores = 2;
  s.sensor = "rapl (via CodeCarbon)";
  s.estimated = false;
  return s;
}

}  // namespace dle::predict
