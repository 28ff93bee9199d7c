#pragma once
// MAC-only synthetic predictors with hand-checkable energies (no intercepts):
//   conv2d, linear: 1e-9 J per multiply-accumulate
//   maxpool2d:      5e-10 J per window comparison
//   relu:           2e-10 J per element
// fixtures/mac_predictors.json holds the same set as a predictor file, and fixtures/no_relu_predictors.json
// the set without relu (both written by PredictorSet::save; a test checks that file and code agree, and
// `DLE_REGENERATE_FIXTURES=1 estimate_test` rewrites them after a change of the file format).
#include <memory>
#include <string>
#include <vector>

#include "predict/model.hpp"
#include "predict/predictor_set.hpp"

namespace dle::estimate::testing {

inline constexpr double kJPerMac = 1e-9;
inline constexpr double kJPerComparison = 5e-10;
inline constexpr double kJPerElement = 2e-10;

// `types` limits the set (default: all four).
inline predict::PredictorSet mac_predictors(std::vector<std::string> types = {"conv2d", "linear", "maxpool2d", "relu"}) {
  predict::PredictorSet set;
  predict::PredictorSource src;
  src.description = "synthetic MAC-only predictors for tests";
  src.cpu_model = "Test CPU";
  src.cores = 2;
  src.sensor = "synthetic";
  src.estimated = false;
  src.data_hash = "none";
  src.created_at = "2024-01-01T00:00:00Z";
  src.recipe = "synthetic";
  set.set_source(src);
  for (const auto& t : types) {
    const double c = (t == "maxpool2d") ? kJPerComparison : (t == "relu") ? kJPerElement : kJPerMac;
    set.put(t, std::make_shared<const predict::LayerPredictor>(predict::LayerPredictor::linear(t, {"macs"}, {c}, 0.0)));
  }
  return set;
}

}  // namespace dle::estimate::testing
