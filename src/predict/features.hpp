#pragma once
// The feature schema, declared once for every layer type that has a measurement schema
// (layers::config_params). A feature is a named column computed from a LayerConfig; its name describes it
// completely and is what predictor files store:
//   * a schema parameter of the type:  "batch_size", "image_size", "kernel_size", ...
//   * a derived quantity:             "macs"  (layers::Counts::ops: multiply-accumulates for conv2d and linear,
//                                               window comparisons for maxpool2d, elements for activations),
//                                      "bytes" (Counts::bytes: input + output + weights, float32),
//                                      "paper_macs" (the `macs` column of the paper's data; see derived table),
//                                      "inputs", "outputs" (elements of the batch), "fresh_outputs" (see below),
//                                      "traffic" (bytes through the memory hierarchy; see below)
//   * "log1p(<either of the above>)".
// Feature groups name families of columns ("base" = every schema parameter, "log1p" = log1p of each, ...);
// a feature set is groups joined by '+', e.g. "base+log1p+macs", expanded per type in that order.
#include <cstddef>
#include <string>
#include <vector>

#include "layers/layer_config.hpp"
#include "predict/linear_algebra.hpp"

namespace dle::predict {

struct FeatureInfo {
  std::string name;
  std::string help;
};

// Output buffers above this size come from fresh mmap'd pages on every pass (glibc's largest dynamic mmap
// threshold, 32 MiB on 64-bit): the kernel zero-fills them page by page, which an in-place layer avoids.
inline constexpr double kFreshBufferBytes = 32.0 * 1024 * 1024;

// Bytes a layer moves through write-allocate caches: it reads its input and weights and writes its output, and
// an output written to a new buffer is first read for ownership (one more read per output element). A layer
// working in place writes back the lines it has just read, so it moves `bytes` (input + output + weights); one
// writing a new buffer moves `bytes` + 4 per output element. For an elementwise activation that is 8 bytes per
// element in place and 12 out of place.
double traffic_bytes(const layers::LayerConfig& config, const layers::Counts& counts);

// oneDNN computes a float32 convolution in blocks of 16 channels on AVX-512 (nChw16c): a layer with 65 output
// channels costs as much as one with 80. Inputs with fewer than 16 channels (an image's 3) go to direct
// first-layer kernels that read them unpadded.
inline constexpr double kSimdBlockChannels = 16.0;

// conv2d MACs with out_channels, and in_channels >= 16, rounded up to a multiple of kSimdBlockChannels.
double blocked_macs(const layers::LayerConfig& config, const layers::Counts& counts);
// conv2d: 1 when in_channels < kSimdBlockChannels (the first-layer regime), else 0.
double narrow_input(const layers::LayerConfig& config);

// An L1 data cache's set index repeats every 4 KiB (64 sets of 64-byte lines, on every current x86 core). A linear
// layer whose weight rows are a multiple of 4 KiB long (input_size a multiple of 1024 floats: 1024, 4096, 9216)
// puts the same column of every row in one cache set, so a GEMM reading many rows at once evicts its own lines.
// Measured with dlenergy on the development VM (AMD EPYC, OpenBLAS; CPU time): 1.2-2x the time per weight byte of
// rows one float longer or shorter at batch 1-16; 2 KiB rows (4608, 25088 floats) cost no more (docs/predictors.md).
inline constexpr double kCacheSetPeriodBytes = 4096.0;
// linear: 1 when input_size x 4 bytes is a multiple of kCacheSetPeriodBytes, else 0.
double aligned_rows(const layers::LayerConfig& config);

// Derived quantities ("macs", "bytes", "paper_macs", "inputs", "outputs", "fresh_outputs", "traffic", "blocked_macs",
// "narrow_input", "aligned_rows") with what they count.
const std::vector<FeatureInfo>& derived_quantities();
// The unit of a feature column's quantity for `type`, for texts that show its value: "bytes" (bytes, traffic),
// "elements" (inputs, outputs, fresh_outputs; the work of an activation), "MACs" or "comparisons" (the work of
// conv2d and linear, maxpool2d), or a schema parameter's (layers::param_unit: "samples", "pixels", ...). A
// log1p(X) column has X's unit. "" for 0/1 flags.
std::string feature_unit(const std::string& type, const std::string& column);
// Feature groups usable in a feature set, with their meaning.
const std::vector<FeatureInfo>& feature_groups();
// The feature sets the study (dlenergy analyze) compares, in display order.
const std::vector<std::string>& study_feature_sets();

// Column names of `feature_set` for `type`, in order, without duplicates. ConfigError for an unknown group
// (listing the valid ones) or a type without a measurement schema.
std::vector<std::string> expand_feature_set(const std::string& type, const std::string& feature_set);

struct DerivedQuantity;  // one row of the derived-quantity table (features.cpp)

// A compiled list of feature columns for one layer type: evaluates configs without re-parsing names.
class FeatureExtractor {
 public:
  FeatureExtractor() = default;
  // ConfigError naming the column when a name is not a parameter of `type`, a derived quantity or log1p(...).
  FeatureExtractor(std::string type, std::vector<std::string> columns);

  const std::string& type() const { return type_; }
  const std::vector<std::string>& columns() const { return columns_; }
  // Writes columns().size() values. ConfigError when the config lacks a parameter or is not a valid layer.
  void extract(const layers::LayerConfig& config, double* out) const;
  // The same with the configuration's counts already made (layers::config_counts(config)), so that a caller that
  // needs them too counts once.
  void extract(const layers::LayerConfig& config, const layers::Counts& counts, double* out) const;
  Matrix extract(const std::vector<layers::LayerConfig>& configs) const;

 private:
  struct Source {
    const DerivedQuantity* derived = nullptr;  // a derived quantity, or nullptr for the schema parameter
    std::string param;
    bool log1p = false;
  };
  std::string type_;
  std::vector<std::string> columns_;
  std::vector<Source> sources_;
  bool needs_counts_ = false;
};

// Degree-2 polynomial expansion in scikit-learn's PolynomialFeatures column order, without the bias column
// (the models carry their own intercept): x0..xn-1, then x0*x0, x0*x1, ..., x1*x1, ... (kFull) or only the
// products of distinct columns x0*x1, x0*x2, ..., x1*x2, ... (kInteraction).
enum class Polynomial { kNone, kInteraction, kFull };
std::string to_string(Polynomial p);          // "none", "interaction", "full"
Polynomial polynomial_from_string(const std::string& s);  // ConfigError on other text
std::size_t polynomial_size(std::size_t n, Polynomial p);
std::vector<std::string> polynomial_names(const std::vector<std::string>& names, Polynomial p);  // "a", "a^2", "a b"
void polynomial_expand(const double* in, std::size_t n, Polynomial p, double* out);
Matrix polynomial_expand(const Matrix& x, Polynomial p);

}  // namespace dle::predict
