#include "collect/collectors/builtin.hpp"

namespace dle::collect::builtin {

// Ranges and rules as the paper's data collection (data_collection_config.yaml, conv2d.py): kernel and
// stride never exceed the unpadded image, which is stricter than PyTorch's own rule
// (kernel_size <= image_size + 2*padding, checked afterwards by layers::from_config).
Collector conv2d() {
  Collector c;
  c.name = "conv2d";
  c.description = "torch.nn.Conv2d on square float32 images (bias on, groups 1)";
  c.ranges = {{"batch_size", 1, 256},  {"image_size", 4, 224},   {"kernel_size", 1, 11}, {"in_channels", 1, 512},
              {"out_channels", 1, 512}, {"stride", 1, 5},        {"padding", 0, 3}};
  c.rules = {
      {"kernel_size <= image_size", [](const layers::LayerConfig& x) { return x.get("kernel_size") <= x.get("image_size"); }},
      {"stride <= image_size", [](const layers::LayerConfig& x) { return x.get("stride") <= x.get("image_size"); }},
  };
  return c;
}

}  // namespace dle::collect::builtin
