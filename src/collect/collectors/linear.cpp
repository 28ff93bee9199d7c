#include "collect/collectors/builtin.hpp"

namespace dle::collect::builtin {

// The paper's ranges (linear.py); every combination is a valid layer.
Collector linear() {
  Collector c;
  c.name = "linear";
  c.description = "torch.nn.Linear (bias on) on float32 feature vectors";
  c.ranges = {{"batch_size", 1, 512}, {"input_size", 1, 5000}, {"output_size", 1, 5000}};
  return c;
}

}  // namespace dle::collect::builtin
