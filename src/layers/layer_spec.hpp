#pragma once
// Layer specifications as plain value types (no LibTorch types), held in one std::variant.
//
// Shapes are per sample, without the batch dimension: {C, H, W} for images, {F} for feature vectors.
// Counting conventions (see docs/counting.md):
//   * MACs exclude bias. Conv2d: batch * Cout * Hout * Wout * (Cin / groups) * K^2. Linear: batch * in * out.
//   * FLOPs = 2 * MACs + bias adds (one per output element when bias is on) for Conv2d and Linear;
//     for pooling and activations one FLOP per visited element (see `ops` below).
//   * Pooling and activations do no multiply-accumulates: their `macs` is 0 and `ops` counts the work
//     (MaxPool2d: batch * C * Hout * Wout * K^2 comparisons; activations: one per element).
//   * Bytes moved = (input + output elements) * element size + parameters * element size (weights once per
//     forward pass, not per sample). Element size defaults to 4 (float32).
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dle::layers {

using Shape = std::vector<std::int64_t>;

std::string shape_to_string(const Shape& s);  // "3x224x224"
std::int64_t elements(const Shape& s);          // product of dimensions (1 for an empty shape)

struct Conv2dSpec {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel_size = 0;  // square kernel
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t groups = 1;
  bool bias = true;
};

struct MaxPool2dSpec {
  std::int64_t kernel_size = 0;
  std::int64_t stride = 0;  // 0 means "equal to kernel_size", as in PyTorch
  std::int64_t padding = 0;
  std::int64_t effective_stride() const { return stride == 0 ? kernel_size : stride; }
};

struct AdaptiveAvgPool2dSpec {
  std::int64_t output_height = 0;
  std::int64_t output_width = 0;
};

struct LinearSpec {
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  bool bias = true;
};

struct ReLUSpec {
  bool inplace = false;
};
struct TanhSpec {};
struct SigmoidSpec {};
struct SoftmaxSpec {
  std::int64_t dim = 1;  // dimension of the batched tensor, as in torch.nn.Softmax(dim)
};
struct DropoutSpec {
  double p = 0.5;
};
struct FlattenSpec {};

using LayerSpec = std::variant<Conv2dSpec, MaxPool2dSpec, AdaptiveAvgPool2dSpec, LinearSpec, ReLUSpec, TanhSpec,
                               SigmoidSpec, SoftmaxSpec, DropoutSpec, FlattenSpec>;

struct Counts {
  std::int64_t macs = 0;
  std::int64_t flops = 0;
  std::int64_t ops = 0;  // elementary operations: MACs for conv/linear, comparisons or elements otherwise
  std::int64_t bytes = 0;
  std::int64_t params = 0;  // learnable parameters (weights + bias)
  std::int64_t inputs = 0;  // input elements of the whole batch
  std::int64_t outputs = 0; // output elements of the whole batch
  // Some count exceeds 2^63 - 1 (a huge batch size or layer): the values above are meaningless, and callers
  // refuse the layer (arch::infer, config_counts).
  bool overflow = false;
};

// Type name as used in files, databases and predictor files: "conv2d", "maxpool2d", "adaptiveavgpool2d",
// "linear", "relu", "tanh", "sigmoid", "softmax", "dropout", "flatten".
std::string type_name(const LayerSpec& spec);
// Every known type name, in variant order.
const std::vector<std::string>& type_names();

// Every problem with the spec's own fields ("kernel_size 0 must be >= 1"), each naming field and value.
std::vector<std::string> validate(const LayerSpec& spec);
// Every problem with applying the spec to an input shape (channel mismatch, kernel larger than padded input).
std::vector<std::string> check_input(const LayerSpec& spec, const Shape& input);
// Output shape; call only when validate() and check_input() returned no problems (throws ConfigError otherwise).
Shape output_shape(const LayerSpec& spec, const Shape& input);
Counts counts(const LayerSpec& spec, const Shape& input, std::int64_t batch, std::int64_t element_bytes = 4);
// output_shape() and counts() without validating again: for callers that just checked validate() and
// check_input() (shape inference, the estimator).
Shape output_shape_of_valid(const LayerSpec& spec, const Shape& input);
Counts counts_of_valid(const LayerSpec& spec, const Shape& input, std::int64_t batch, std::int64_t element_bytes = 4);

// True for layers that do no arithmetic at inference: Dropout (identity in eval mode), Flatten (a view), and
// AdaptiveAvgPool2d whose output size equals its input size (every window holds one element).
bool is_zero_work(const LayerSpec& spec, const Shape& input);
std::string zero_work_reason(const LayerSpec& spec, const Shape& input);

// Named parameters, for printing and files. Values are numbers; booleans are 0 or 1.
struct Param {
  std::string name;
  double value;
  bool is_bool = false;
  bool is_integer = true;
};
std::vector<Param> params(const LayerSpec& spec);
// "in_channels=3 out_channels=64 kernel_size=11 stride=4 padding=2"
std::string params_to_string(const LayerSpec& spec);

}  // namespace dle::layers
