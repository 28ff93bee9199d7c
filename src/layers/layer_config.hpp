#pragma once
// The measurement configuration schema: one flat list of named numbers per measurable layer type, as the
// paper's data encodes it (batch_size, image_size, kernel_size, ...). Collectors sample these, the store
// keeps them as columns, predictors compute features from them, and the estimator derives them from a
// network's layers, so all four agree on one definition.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "layers/layer_spec.hpp"

namespace dle::layers {

// One layer applied to one input at one batch size.
struct LayerInstance {
  LayerSpec spec;
  Shape input;  // per sample
  std::int64_t batch = 1;
};

struct LayerConfig {
  std::string type;
  std::vector<std::pair<std::string, double>> values;  // in schema order

  bool has(const std::string& name) const;
  double get(const std::string& name) const;  // throws ConfigError naming the missing parameter
  void set(const std::string& name, double value);
  std::string to_string() const;  // "conv2d batch_size=8 image_size=32 ..." (canonical, used as a key)
};

// Layer types that have a measurement schema (and can have a collector and a predictor), in order:
// conv2d, maxpool2d, linear, relu, sigmoid, tanh, softmax.
const std::vector<std::string>& configurable_types();
bool is_configurable(const std::string& type);
// Parameter names of a type's schema, batch_size first. Throws ConfigError for other types.
const std::vector<std::string>& config_params(const std::string& type);
// What one unit of a schema parameter counts, for texts that show its value: "samples" (batch_size), "pixels"
// (image_size, kernel_size, stride, padding), "channels", "features" (linear's input_size and output_size),
// "elements per sample" (an activation's input_size); "" for other names.
std::string param_unit(const std::string& type, const std::string& param);

// A value a configuration may carry after its schema parameters. Absent means its default, and a configuration
// leaves it out at its default, so that configurations written before it existed keep their text (their key).
// relu: "inplace", 1 when the ReLU overwrites its input, as inside torchvision's networks; 0 (absent) means out
// of place, as in the paper's random configurations.
struct OptionalParam {
  std::string name;
  std::int64_t default_value = 0;
  std::vector<std::int64_t> allowed;  // every value it may take
  std::string meaning;
};
// The optional values of a type (empty for most). Throws ConfigError for types without a schema.
const std::vector<OptionalParam>& optional_params(const std::string& type);
// The named optional value of the type, or nullptr (also for types without a schema).
const OptionalParam* find_optional_param(const std::string& type, const std::string& name);

// conv2d:    batch_size, image_size, kernel_size, in_channels, out_channels, stride, padding
// maxpool2d: batch_size, image_size, kernel_size, in_channels, stride, padding
// linear:    batch_size, input_size, output_size
// relu, sigmoid, tanh, softmax: batch_size, input_size (elements per sample)
// Square images are assumed: image_size is the input height (and width).
// Optional values outside the schema: see optional_params.
LayerConfig to_config(const LayerInstance& instance);
// The same without building a LayerInstance (no copy of the input shape).
LayerConfig to_config(const LayerSpec& spec, const Shape& input, std::int64_t batch);
// Inverse of to_config: the spec and input it describes. Throws ConfigError listing every problem
// (missing parameter, non-integer value, invalid spec, kernel larger than the padded image).
LayerInstance from_config(const LayerConfig& config);

// Work and traffic of the configuration, by the counting conventions of layer_spec.hpp.
Counts config_counts(const LayerConfig& config);

// True when the layer writes its output over its input (an in-place ReLU) instead of a new buffer.
bool writes_in_place(const LayerConfig& config);

}  // namespace dle::layers
