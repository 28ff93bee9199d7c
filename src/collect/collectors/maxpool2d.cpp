#include "collect/collectors/builtin.hpp"

namespace dle::collect::builtin {

// The paper's ranges and rules (maxpool2d.py). PyTorch itself refuses padding above half the kernel.
Collector maxpool2d() {
  Collector c;
  c.name = "maxpool2d";
  c.description = "torch.nn.MaxPool2d on square float32 images";
  c.ranges = {{"batch_size", 1, 256}, {"image_size", 4, 224}, {"kernel_size", 1, 11},
              {"in_channels", 1, 512}, {"stride", 1, 5},      {"padding", 0, 3}};
  c.rules = {
      {"kernel_size <= image_size", [](const layers::LayerConfig& x) { return x.get("kernel_size") <= x.get("image_size"); }},
      {"stride <= image_size", [](const layers::LayerConfig& x) { return x.get("stride") <= x.get("image_size"); }},
      {"padding <= kernel_size/2", [](const layers::LayerConfig& x) { return 2 * x.get("padding") <= x.get("kernel_size"); }},
  };
  return c;
}

}  // namespace dle::collect::builtin
