#include "collect/collectors/builtin.hpp"

namespace dle::collect::builtin {

// Whole networks of the zoo (--architectures, --batch-sizes), each followed by every one of its layers measured
// alone at the same batch size and input shape (--with-layers), as the paper did.
Collector architectures() {
  Collector c;
  c.name = "architectures";
  c.description = "whole zoo networks (alexnet, vgg11, vgg13, vgg16, vgg19) and each of their layers alone";
  c.kind = CollectorKind::kArchitectures;
  return c;
}

}  // namespace dle::collect::builtin
