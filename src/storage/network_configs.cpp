#include "storage/network_configs.hpp"

#include <algorithm>
#include <cctype>

#include "core/errors.hpp"

namespace dle::storage {

layers::LayerConfig network_config(std::int64_t batch) {
  layers::LayerConfig c;
  c.type = "network";
  c.set("batch_size", static_cast<double>(batch));
  return c;
}

layers::LayerConfig network_layer_config(const arch::InferredLayer& layer, std::int64_t batch) {
  const std::string type = layers::type_name(layer.spec);
  if (layers::is_configurable(type)) return layers::to_config(layers::LayerInstance{layer.spec, layer.input, batch});
  layers::LayerConfig c;
  c.type = type;
  c.set("batch_size", static_cast<double>(batch));
  for (const auto& p : layers::params(layer.spec)) c.set(p.name, p.value);
  return c;
}

std::string normalise_zoo_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (!arch::in_zoo(lower)) {
    std::string names;
    for (const auto& n : arch::zoo_names()) names += (names.empty() ? "" : ", ") + n;
    throw ConfigError("unknown network '" + name + "'; known networks: " + names);
  }
  return lower;
}

}  // namespace dle::storage
