#pragma once
// One layer type's energy model: features -> optional degree-2 polynomial -> optional standard scaler ->
// linear least squares under a chosen criterion -> energy of one forward pass in joules.
//   absolute: ordinary least squares on joules (what the paper did; ruled by the largest configurations)
//   relative: weighted least squares with weights 1/y^2, i.e. least squares on the relative error
//   log:      least squares on ln(joules), predictions exp(.) (a multiplicative, power-law model)
// Optionally the feature coefficients are constrained to be >= 0 (Lawson-Hanson), and, for the paper's
// recipe, the target is min-max scaled on the training rows as scikit-learn's MinMaxScaler does.
// A per-work model predicts the energy per unit of the layer's work (layers::Counts::ops: MACs, window
// comparisons or elements) from its features held within the ranges it was trained on, and multiplies that by
// the work: outside the training data, its energy per unit of work stays at the nearest trained value and its
// energy grows and shrinks with the work, where a polynomial extrapolated on its own can turn upwards.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "layers/layer_config.hpp"
#include "predict/features.hpp"
#include "predict/linear_algebra.hpp"

namespace dle::predict {

enum class Criterion { kAbsolute, kRelative, kLog };
std::string to_string(Criterion c);                       // "absolute", "relative", "log"
Criterion criterion_from_string(const std::string& s);    // ConfigError on other text

struct ModelSpec {
  std::string feature_set = "macs";  // feature groups joined by '+' (features.hpp)
  Polynomial polynomial = Polynomial::kNone;
  bool standard_scaler = false;
  Criterion criterion = Criterion::kAbsolute;
  bool intercept = true;
  bool nonnegative = false;
  bool minmax_target = false;
  bool per_work = false;  // the target is energy / work, the features held within their training ranges

  // "linear", "linear-nnls", "poly2", "poly2-interaction" (+ "+std" with the scaler, + "/work" per unit of work).
  std::string model_name() const;
  // "linear on [macs], relative error, intercept"
  std::string describe() const;
  // Every problem with the combination (e.g. a min-max target with the log criterion), as ConfigError.
  void validate() const;
  bool operator==(const ModelSpec& o) const;
};

// The column that measures a layer's work for per-work models: layers::Counts::ops.
inline constexpr const char* kWorkColumn = "macs";
// The raw columns a model of `spec` reads for `type`, in order: expand_feature_set(type, spec.feature_set), then,
// for a per-work model, kWorkColumn (the work, which is not a feature of the fitted polynomial).
std::vector<std::string> model_columns(const std::string& type, const ModelSpec& spec);

// Goodness of fit on one set of rows. Energies in joules; MSE in J^2; MAPE in percent; the within-10 % share
// is a fraction in [0, 1]. Values are NaN when undefined (R^2 of fewer than two rows, MAPE with a zero target).
struct Metrics {
  std::size_t n = 0;
  double r2 = std::numeric_limits<double>::quiet_NaN();
  double mse_j2 = std::numeric_limits<double>::quiet_NaN();
  double mape_pct = std::numeric_limits<double>::quiet_NaN();
  double within_10pct_share = std::numeric_limits<double>::quiet_NaN();
};
Metrics compute_metrics(const std::vector<double>& measured_j, const std::vector<double>& predicted_j);

// Facts about the data a predictor was fitted on, kept in the predictor file.
struct TrainingInfo {
  std::size_t rows = 0;        // configurations available (after averaging repeats)
  std::size_t fit_rows = 0;    // rows the coefficients were fitted on
  std::size_t test_rows = 0;   // held-out rows behind metrics["test"]
  double energy_min_j = 0.0;   // range of the per-pass energies in the data
  double energy_max_j = 0.0;
  std::string data_hash;
  // Per raw feature (LayerPredictor::features(), in order): the smallest and largest value in the data. Empty in
  // files written before ranges were recorded; then nothing can be said about extrapolation.
  std::vector<std::pair<double, double>> feature_ranges;
};

// Per-column minimum and maximum of raw feature rows (empty for no rows).
std::vector<std::pair<double, double>> column_ranges(const Matrix& raw);

// Where a layer's features leave the training data's ranges: the first raw feature outside (-1: none, or no
// ranges recorded) and its value.
struct Extrapolation {
  int feature = -1;
  double value = 0.0;
  bool outside() const { return feature >= 0; }
};

class LayerPredictor {
 public:
  // Everything that defines a fitted predictor; what the predictor file stores.
  struct State {
    std::string type;
    ModelSpec spec;
    std::vector<std::string> features;   // raw feature columns, before the polynomial expansion
    std::vector<double> coefficients;    // one per expanded (and scaled) column
    double intercept = 0.0;
    std::vector<double> scaler_mean;     // standard scaler, one per expanded column (empty without it)
    std::vector<double> scaler_scale;
    double target_min = 0.0;             // min-max target scaler (paper recipe)
    double target_max = 1.0;
    std::map<std::string, Metrics> metrics;  // "test", "validation", "cv"
    TrainingInfo training;
  };

  LayerPredictor() = default;
  // Checks sizes and names (ConfigError naming the problem) and compiles the feature extractor.
  explicit LayerPredictor(State state);

  // Fits `spec` on raw rows (columns = model_columns(type, spec)) and energies in J per pass. FitError when the
  // data cannot support the model (no rows, non-positive energies for the relative or log criterion, constant
  // target with a min-max scaler, a per-work model on rows without work).
  static LayerPredictor fit(const std::string& type, const ModelSpec& spec, const Matrix& raw_features,
                            const std::vector<double>& energy_j);
  // A fixed model linear in named features: energy_j = intercept_j + sum_i coefficients_j[i] * feature_i.
  // For synthetic predictor files and tests.
  static LayerPredictor linear(const std::string& type, std::vector<std::string> features,
                               std::vector<double> coefficients_j, double intercept_j);

  const State& state() const { return state_; }
  // Metrics and training info are filled in after the fit. describe() keeps the feature ranges the predictor was
  // built with: after changing training.feature_ranges, build a new LayerPredictor from the state.
  State& mutable_state() { return state_; }
  const std::string& type() const { return state_.type; }
  const ModelSpec& spec() const { return state_.spec; }
  // The model's features (before the polynomial expansion). The extractor computes these and, for a per-work
  // model, the work after them: size raw buffers by extractor().columns().size().
  const std::vector<std::string>& features() const { return state_.features; }
  std::vector<std::string> expanded_features() const;
  const FeatureExtractor& extractor() const { return extractor_; }

  // Energy of one forward pass, J. ConfigError when the config lacks a parameter the features need. With
  // `extrapolation`, also where the layer's features leave the training ranges (at no extra extraction).
  double predict_j(const layers::LayerConfig& config, Extrapolation* extrapolation = nullptr) const;
  // The first raw feature (extractor().extract) outside the training ranges.
  Extrapolation extrapolation(const double* raw) const;
  // "batch_size 512 samples is outside the 1-511 samples it was trained on", "traffic 2.621e+05 bytes is outside
  // the 1.223e+07-3.046e+10 bytes it was trained on": log1p(X) features are shown as X, with X's unit
  // (feature_unit). A per-work model adds how it extrapolates ("; energy per element held at the nearest trained
  // value").
  std::string describe(const Extrapolation& e) const;
  // Same from precomputed raw features (extractor().extract); no allocation for up to 16 raw features.
  double predict_features_j(const double* raw) const;
  std::vector<double> predict_j(const Matrix& raw_features) const;

  std::string summary() const;  // "linear on [macs], relative error, intercept"

 private:
  State state_;
  FeatureExtractor extractor_;
  // A per-work model's features are held within these before prediction: the training ranges, except that for an
  // elementwise layer (work = elements: the activations) a quadratic of one feature whose energy per element peaks
  // inside its range is held at the peak from there up (past it the fit turns down where the data thins out, and an
  // elementwise layer's energy per element does not fall as the layer grows). Derived from the coefficients at
  // construction; empty for other models.
  std::vector<std::pair<double, double>> held_ranges_;
  // Per raw feature, for describe(): the quantity's name ("input_size" for log1p(input_size)), whether its
  // values are shown through expm1, and " <unit> is outside the <lo>-<hi> <unit> it was trained on" (made once, at
  // construction; no unit for 0/1 flags).
  struct Shown {
    std::string name;
    bool expm1 = false;
    std::string trained;
    // For a value that rounds to a bound at 4 digits (957575 against a least 957576): the unit, the bounds to 4 and
    // to 10 digits, and what follows them.
    std::string unit, lo, hi, lo_exact, hi_exact, tail;
    // The same for a value above the range, where a per-work model's hold may differ (tail_above_exact: with the held
    // value to 10 digits too).
    std::string trained_above, tail_above, tail_above_exact;
  };
  std::vector<Shown> shown_;
};

}  // namespace dle::predict
