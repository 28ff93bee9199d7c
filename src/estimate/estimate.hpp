#pragma once
// Estimating a network's energy from its configuration: the sum of one predicted energy per layer.
//
// The core does no I/O: it takes a network and a loaded PredictorSet and returns value objects; writers
// (estimate_report.hpp) and the CLI print them. Energies are in joules per forward pass of one batch.
//
// Every layer ends up in exactly one of three states, so that nothing is silently zero:
//   * predicted:      the predictor of its type gave the energy (a model that extrapolates below zero for a
//                     small layer counts as 0 J, with a note on the row and a warning on the result; a
//                     layer outside the predictor's training ranges is marked extrapolated, with the feature
//                     in its note; a non-finite prediction is a FitError);
//   * zero-work:      the layer does no arithmetic at inference (Dropout, Flatten, identity
//                     AdaptiveAvgPool2d): 0 J by definition, with the reason;
//   * not-estimated:  no predictor exists for its type and the caller allowed that (allow_missing); the
//                     layer carries no energy and the total says it is incomplete.
// Without allow_missing a layer type without a predictor is a ConfigError that lists the supported types.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "architectures/architecture.hpp"
#include "layers/layer_config.hpp"
#include "predict/predictor_set.hpp"

namespace dle::estimate {

enum class LayerStatus { kPredicted, kZeroWork, kNotEstimated };
std::string to_string(LayerStatus s);  // "predicted", "zero-work", "not-estimated"

struct LayerEstimate {
  std::size_t index = 0;  // 0-based position in the architecture
  std::string type;       // layers::type_name
  std::int64_t macs = 0;  // at the estimate's batch size (0 for pooling and activations)
  double energy_j = 0.0;  // per forward pass; 0 for zero-work and not-estimated layers
  double share = 0.0;     // energy_j / total energy_j (0 when the total is 0)
  LayerStatus status = LayerStatus::kPredicted;
  std::string note;       // why zero-work or not estimated; for predicted layers, what to know (extrapolated)
  // Predicted from features outside the ranges the predictor was trained on (the note says which).
  bool extrapolated = false;
};

struct EstimateOptions {
  // Number of images to also report (0 = none). M images at batch size B run floor(M/B) full passes
  // plus, when M is not a multiple of B, one last pass at batch size M mod B, estimated at that size
  // (as a data loader with drop_last=False does).
  std::int64_t images = 0;
  // Grid carbon intensity in g CO2 per kWh; when set, the result carries grams of CO2.
  std::optional<double> carbon_g_per_kwh;
  // Turn "no predictor for this layer type" from an error into not-estimated rows.
  bool allow_missing = false;
};

struct ImagesEstimate {
  std::int64_t images = 0;
  std::int64_t full_passes = 0;  // passes at the estimate's batch size
  std::int64_t last_batch = 0;   // batch size of the one extra, partial pass (0 = none)
  std::int64_t passes = 0;       // full_passes + (last_batch > 0)
  double energy_j = 0.0;
  double energy_wh = 0.0;
  std::optional<double> co2_g;  // when a carbon intensity was given
};

struct EstimateResult {
  std::string architecture;
  std::int64_t batch = 1;
  std::vector<LayerEstimate> layers;
  double energy_j = 0.0;   // per forward pass: the sum of the layers' energy_j
  double energy_wh = 0.0;  // the same in Wh
  std::int64_t macs = 0;   // sum of the layers' MACs
  std::optional<double> carbon_g_per_kwh;
  std::optional<double> co2_g;  // per forward pass, when an intensity was given
  std::optional<ImagesEstimate> images;
  // Types of the not-estimated layers, sorted (only non-empty with allow_missing): no predictor for the
  // type, or a layer its measurement schema cannot describe. The total leaves those layers out.
  std::vector<std::string> missing_types;
  // Things the reader must know about the figures (a predictor extrapolating below 0 J, counted as 0 J; layers
  // outside the ranges their predictors were trained on).
  std::vector<std::string> warnings;
  bool complete() const { return missing_types.empty(); }
};

// A network prepared for repeated estimates against one PredictorSet (architecture search, batch-size
// sweeps). Preparing derives each layer's configuration and its predictor's raw feature columns once.
// Every feature the predictors use (schema parameters, counts of work and bytes, log1p of them) is affine
// in the batch size before its log1p, so a column is kept as a + k * batch and evaluated without building a
// configuration; this is checked per layer at two further batch sizes when preparing, and a layer whose
// columns are not affine falls back to the predictor's own path (LayerPredictor::predict_j).
// Preparing costs about 20 us for VGG16 (docs/estimate.md, Speed); after that energy_j costs about 1.5 us.
// The one-shot estimate() below skips the columns: it predicts each layer once, through the predictor's
// own path, which is cheaper than deriving and checking them.
// The PredictorSet must outlive the Estimator. The const members are safe to call from several threads.
class Estimator {
 public:
  // Throws ConfigError when a layer type has no predictor and allow_missing is false; the message lists
  // the layers concerned and the types the predictors cover.
  Estimator(const arch::Architecture& architecture, const predict::PredictorSet& predictors,
            bool allow_missing = false);
  Estimator(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
            bool allow_missing = false);
  // The Estimator keeps a pointer to the predictors: a temporary would dangle.
  Estimator(const arch::Architecture&, predict::PredictorSet&&, bool = false) = delete;
  Estimator(const arch::InferredArchitecture&, predict::PredictorSet&&, bool = false) = delete;

  const std::string& architecture() const { return name_; }
  const std::vector<std::string>& missing_types() const { return missing_types_; }

  // Predicted energy of one forward pass at `batch` (>= 1), in joules. The hot path: no allocation after
  // the first call on a thread, no shape inference, no string building.
  double energy_j(std::int64_t batch) const;
  // energy_j for many batch sizes at once.
  std::vector<double> energies_j(const std::vector<std::int64_t>& batches) const;
  // The full, per-layer result (slower: builds strings for every row).
  EstimateResult estimate(std::int64_t batch, const EstimateOptions& options = {}) const;

 private:
  static constexpr std::size_t kMaxColumns = 16;  // raw feature columns of the fast path
  // One distinct layer configuration (networks repeat layers: VGG16 has 23 distinct among 34 predicted).
  struct Slot {
    layers::LayerConfig config;  // at batch 1; batch_size is values[0]
    int uses = 0;                // predicted layers with this configuration
    std::int64_t macs_per_sample = 0;  // of the configuration (the schema's view of the layer)
    std::int64_t ops_per_sample = 0;
    std::shared_ptr<const predict::LayerPredictor> predictor;  // kept even if the set replaces it
    bool affine = false;         // the fast path applies
    std::size_t columns = 0;
    double offset[kMaxColumns] = {};  // column c before log1p = offset[c] + slope[c] * batch
    double slope[kMaxColumns] = {};
    bool log1p[kMaxColumns] = {};
    // The one-shot estimate's prediction, made while preparing at the one batch size it needs (0 = none).
    std::int64_t predicted_batch = 0;
    double predicted_j = 0.0;
    // That prediction's first feature outside the predictor's training ranges (-1: none) and its value.
    int outside_feature = -1;
    double outside_value = 0.0;
  };
  // The one-shot estimate's prediction of a new slot at `batch`, from `counts` (config_counts of its configuration
  // at that batch size): fills predicted_j, predicted_batch and the extrapolation.
  void predict_once(Slot& slot, std::int64_t batch, const layers::Counts& counts) const;
  // Which of the slot's features at `batch` lie outside its predictor's training ranges, in words ("" if none).
  std::string extrapolation_at(const Slot& slot, std::int64_t batch) const;
  struct Layer {
    std::string type;
    std::int64_t macs_per_sample = 0;  // MACs are linear in the batch size
    LayerStatus status = LayerStatus::kPredicted;
    std::string note;
    std::size_t slot = 0;  // predicted layers: index into slots_
  };
  // Whether preparing derives the fast path's columns (Estimator) or leaves every layer on the predictor's
  // own path (the one-shot estimate(), which predicts each distinct layer once).
  enum class Columns { kDerive, kSkip };
  Estimator(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors, bool allow_missing,
            Columns columns);
  friend EstimateResult estimate(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
                                 const EstimateOptions& options);

  void prepare(const arch::InferredArchitecture& inferred, bool allow_missing, Columns columns);
  void prepare_columns(Slot& slot) const;  // slot.config and slot.predictor set
  double predict_slot(const Slot& slot, std::int64_t batch) const;
  // FitError for a non-finite prediction (a predictor file that cannot describe this layer).
  double checked_j(const Slot& slot, std::int64_t batch, double j) const;
  // j when finite, else a FitError naming the network, the batch size and `what` overflowed (a sum of finite rows).
  double checked_total_j(double j, std::int64_t batch, const char* what) const;

  const predict::PredictorSet* predictors_;
  std::string name_;
  std::vector<Layer> layers_;
  std::vector<Slot> slots_;
  std::vector<std::string> missing_types_;
  std::string unranged_types_;  // "conv2d, relu": predicted types whose predictors record no training ranges
};

// One-shot: the same result as Estimator(inferred, predictors, options.allow_missing).estimate(inferred.batch,
// options), with every layer predicted through LayerPredictor::predict_j (the fast path's affine columns agree
// with it to about 1e-15 relative). The cost of a network seen for the first time, as in an architecture search.
EstimateResult estimate(const arch::InferredArchitecture& inferred, const predict::PredictorSet& predictors,
                        const EstimateOptions& options = {});

}  // namespace dle::estimate
