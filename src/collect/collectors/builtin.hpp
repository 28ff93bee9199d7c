#pragma once
// One factory per built-in collector, each in its own file of this folder.
#include "collect/collectors.hpp"

namespace dle::collect::builtin {

Collector conv2d();
Collector maxpool2d();
Collector linear();
Collector relu();
Collector sigmoid();
Collector tanh();
Collector softmax();
Collector architectures();

// The activations share their schema (batch_size, input_size) and the paper's ranges.
Collector activation(const std::string& name, const std::string& description);

}  // namespace dle::collect::builtin
