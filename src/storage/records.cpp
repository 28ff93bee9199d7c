#include "storage/records.hpp"

#include "core/errors.hpp"

namespace dle::storage {

std::string to_string(MeasurementKind k) {
  switch (k) {
    case MeasurementKind::kLayer:
      return "layer";
    case MeasurementKind::kNetwork:
      return "network";
    case MeasurementKind::kNetworkLayer:
      return "network_layer";
  }
  return "layer";
}

MeasurementKind kind_from_string(const std::string& s) {
  if (s == "layer") return MeasurementKind::kLayer;
  if (s == "network") return MeasurementKind::kNetwork;
  if (s == "network_layer") return MeasurementKind::kNetworkLayer;
  throw StorageError("unknown measurement kind '" + s +
                     "' in the database (known: layer, network, network_layer); the file was written by another "
                     "program or a newer dlenergy");
}

// Fields joined with '|', which none of them contains in practice (config text is "type name=value ...").
// The format is part of the schema: changing it breaks resume of runs collected before the change.
std::string MeasurementRecord::item_key() const {
  return to_string(kind) + "|" + architecture + "|" + std::to_string(layer_index) + "|" + config.to_string() + "|" +
         std::to_string(repeat) + (occurrence > 1 ? "|#" + std::to_string(occurrence) : std::string());
}

}  // namespace dle::storage
