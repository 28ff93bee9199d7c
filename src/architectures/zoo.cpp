#include <map>

#include "architectures/architecture.hpp"
#include "core/errors.hpp"

namespace dle::arch {

using namespace dle::layers;

namespace {

Conv2dSpec conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t pad) {
  return Conv2dSpec{in, out, k, stride, pad, 1, true};
}

// torchvision.models.alexnet
Architecture alexnet() {
  Architecture a{"alexnet", {3, 224, 224}, {}};
  a.layers = {conv(3, 64, 11, 4, 2),    ReLUSpec{true}, MaxPool2dSpec{3, 2, 0},
              conv(64, 192, 5, 1, 2),   ReLUSpec{true}, MaxPool2dSpec{3, 2, 0},
              conv(192, 384, 3, 1, 1),  ReLUSpec{true}, conv(384, 256, 3, 1, 1),
              ReLUSpec{true},           conv(256, 256, 3, 1, 1), ReLUSpec{true},
              MaxPool2dSpec{3, 2, 0},   AdaptiveAvgPool2dSpec{6, 6}, FlattenSpec{},
              DropoutSpec{0.5},         LinearSpec{256 * 6 * 6, 4096, true}, ReLUSpec{true},
              DropoutSpec{0.5},         LinearSpec{4096, 4096, true}, ReLUSpec{true},
              LinearSpec{4096, 1000, true}};
  return a;
}

// torchvision.models.vgg: cfgs "A", "B", "D", "E" (0 marks a max-pool), without batch norm.
Architecture vgg(const std::string& name, const std::vector<int>& cfg) {
  Architecture a{name, {3, 224, 224}, {}};
  std::int64_t in = 3;
  for (int v : cfg) {
    if (v == 0) {
      a.layers.push_back(MaxPool2dSpec{2, 2, 0});
    } else {
      a.layers.push_back(conv(in, v, 3, 1, 1));
      a.layers.push_back(ReLUSpec{true});
      in = v;
    }
  }
  a.layers.push_back(AdaptiveAvgPool2dSpec{7, 7});
  a.layers.push_back(FlattenSpec{});
  a.layers.push_back(LinearSpec{512 * 7 * 7, 4096, true});
  a.layers.push_back(ReLUSpec{true});
  a.layers.push_back(DropoutSpec{0.5});
  a.layers.push_back(LinearSpec{4096, 4096, true});
  a.layers.push_back(ReLUSpec{true});
  a.layers.push_back(DropoutSpec{0.5});
  a.layers.push_back(LinearSpec{4096, 1000, true});
  return a;
}

const std::map<std::string, std::vector<int>>& vgg_cfgs() {
  static const std::map<std::string, std::vector<int>> c = {
      {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg16", {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}},
      {"vgg19", {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0}},
  };
  return c;
}

}  // namespace

const std::vector<std::string>& zoo_names() {
  static const std::vector<std::string> n = {"alexnet", "vgg11", "vgg13", "vgg16", "vgg19"};
  return n;
}

bool in_zoo(const std::string& name) {
  for (const auto& n : zoo_names())
    if (n == name) return true;
  return false;
}

Architecture zoo(const std::string& name) {
  if (name == "alexnet") return alexnet();
  auto it = vgg_cfgs().find(name);
  if (it != vgg_cfgs().end()) return vgg(name, it->second);
  std::string names;
  for (const auto& n : zoo_names()) names += (names.empty() ? "" : ", ") + n;
  throw ConfigError("unknown built-in architecture '" + name + "'; built-in: " + names +
                    " (or pass --model FILE for your own)");
}

std::vector<int> torchvision_leaf_indices(const Architecture& arch) {
  std::vector<int> out;
  int next = 1;
  for (const auto& l : arch.layers) out.push_back(std::holds_alternative<FlattenSpec>(l) ? 0 : next++);
  return out;
}

}  // namespace dle::arch
