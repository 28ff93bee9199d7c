#pragma once
// Building layer specs from named text fields (architecture files, databases, command lines), with every
// problem collected rather than the first one thrown.
#include <map>
#include <string>
#include <vector>

#include "layers/layer_spec.hpp"

namespace dle::layers {

struct FieldInfo {
  std::string name;
  std::string kind;  // "integer", "boolean" or "number"
  bool required = false;
  std::string help;
};

// Fields a layer type accepts, in documentation order. Throws ConfigError for an unknown type (listing them).
const std::vector<FieldInfo>& fields_of(const std::string& type);

// Builds a spec of `type` from text values ("11", "true", "0.5"). Problems (unknown type, unknown field,
// missing required field, unparsable value, invalid value) are appended to `problems`, each prefixed with
// `where` (e.g. "layer 3 (conv2d)"); the returned spec is only meaningful when none were added.
LayerSpec make_spec(const std::string& type, const std::map<std::string, std::string>& values,
                    const std::string& where, std::vector<std::string>& problems);

}  // namespace dle::layers
