#pragma once
// The configurations stored for whole-network measurements, shared by `collect --architectures` and
// `import codecarbon` so that both write the same item keys and predictors and the validator read them alike.
#include <cstdint>
#include <string>

#include "architectures/architecture.hpp"
#include "layers/layer_config.hpp"

namespace dle::storage {

// kNetwork: type "network" with values {batch_size}.
layers::LayerConfig network_config(std::int64_t batch);

// kNetworkLayer: one inferred layer of a network measured alone at `batch`. Configurable types (conv2d,
// maxpool2d, linear, relu, sigmoid, tanh, softmax) give layers::to_config of the layer; other types
// (dropout, adaptiveavgpool2d, flatten) give their type with batch_size followed by the spec's params
// (booleans as 0/1), e.g. "dropout batch_size=8 p=0.5".
layers::LayerConfig network_layer_config(const arch::InferredLayer& layer, std::int64_t batch);

// Lower-cases a network name ("VGG16" -> "vgg16") and checks it is a zoo network; ConfigError naming the
// value and listing the zoo otherwise.
std::string normalise_zoo_name(const std::string& name);

}  // namespace dle::storage
