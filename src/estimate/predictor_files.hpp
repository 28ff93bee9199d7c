#pragma once
// Which predictor file `estimate` and `validate` use when the user names none.
//
// Search order (the first that exists wins):
//   1. the path given with --predictors (must exist: a missing explicit file is an error, never a fallback);
//   2. the environment variable DLENERGY_PREDICTORS (must exist when set, for the same reason);
//   3. <directory of the dlenergy executable>/../share/dlenergy/default.json (an installed tree);
//   4. predictors/default.json of the source tree dlenergy was configured from (a path baked in at configure
//      time, so a build directory works without installing).
#include <string>
#include <vector>

namespace dle::estimate {

struct PredictorsLocation {
  std::string path;
  std::string found_by;  // "--predictors", "DLENERGY_PREDICTORS", "installed default", "source-tree default"
};

// Throws ConfigError naming every place tried and what to do when no file is found.
PredictorsLocation locate_predictors(const std::string& explicit_path);

// The places tried for the default file, in order (for messages and docs).
std::vector<std::string> default_predictor_candidates();

}  // namespace dle::estimate
