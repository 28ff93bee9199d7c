#pragma once
// A network as an input shape and an ordered list of layer specs; shape inference through the list;
// architecture files (YAML or JSON); the built-in zoo (torchvision's AlexNet and VGG on 3x224x224).
//
// Layer indices are 0-based positions in the list, everywhere in dlenergy.
#include <cstdint>
#include <string>
#include <vector>

#include "layers/layer_spec.hpp"

namespace dle::arch {

struct Architecture {
  std::string name;
  layers::Shape input;  // per sample: {C, H, W} or {features}
  std::vector<layers::LayerSpec> layers;
};

struct InferredLayer {
  std::size_t index = 0;
  layers::LayerSpec spec;
  layers::Shape input;
  layers::Shape output;
  layers::Counts counts;
};

struct InferredArchitecture {
  std::string name;
  std::int64_t batch = 1;
  layers::Shape input;
  std::vector<InferredLayer> layers;
  layers::Counts total;  // sums of the layers' counts
};

// Validates every layer and propagates shapes; throws ConfigError listing every problem, each naming
// the layer index, its type and the field ("layer 4 (conv2d): in_channels 128 does not match ...").
InferredArchitecture infer(const Architecture& arch, std::int64_t batch);

// Parses an architecture file's text. `source` names the file in messages. Every problem is reported.
Architecture parse_yaml(const std::string& text, const std::string& source);
Architecture parse_json(const std::string& text, const std::string& source);
// Reads a file, choosing the format by extension (.yaml/.yml or .json), and checks shapes (batch 1).
Architecture load_file(const std::string& path);

// Built-in networks: alexnet, vgg11, vgg13, vgg16, vgg19.
const std::vector<std::string>& zoo_names();
bool in_zoo(const std::string& name);
Architecture zoo(const std::string& name);  // throws ConfigError listing the names

// torchvision numbers a network's leaf modules from 1 in definition order and has no Flatten module.
// Returns, for each of our layer indices, torchvision's leaf index (0 for our Flatten layers).
std::vector<int> torchvision_leaf_indices(const Architecture& arch);

}  // namespace dle::arch

namespace dle::arch {
// The --arch NAME | --model FILE choice every command offers: exactly one must be given.
Architecture resolve(const std::string& arch_name, const std::string& model_file);
}  // namespace dle::arch
