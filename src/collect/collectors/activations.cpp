#include "collect/collectors/builtin.hpp"

namespace dle::collect::builtin {

// The paper's activation ranges: batch 1-512, 50,000 to 5,000,000 elements per sample. Every combination is
// valid; the memory guard, not a rule, refuses the largest (512 x 5e6 float32 = 10 GB per tensor).
Collector activation(const std::string& name, const std::string& description) {
  Collector c;
  c.name = name;
  c.description = description;
  c.ranges = {{"batch_size", 1, 512}, {"input_size", 50000, 5000000}};
  return c;
}

// ReLU also samples `inplace` (an optional value, see layers::optional_params): 0 by default, out of place as in
// the paper; --range relu.inplace=0,1 measures both.
Collector relu() {
  Collector c = activation("relu", "torch.nn.ReLU on flat float32 inputs (out of place unless inplace=1)");
  ParamRange inplace;
  inplace.name = "inplace";
  inplace.values = {0};
  c.ranges.push_back(std::move(inplace));
  return c;
}
Collector sigmoid() { return activation("sigmoid", "torch.nn.Sigmoid on flat float32 inputs"); }
Collector tanh() { return activation("tanh", "torch.nn.Tanh on flat float32 inputs"); }
Collector softmax() { return activation("softmax", "torch.nn.Softmax(dim=1) on flat float32 inputs"); }

}  // namespace dle::collect::builtin
