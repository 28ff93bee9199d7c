#include "estimate/predictor_files.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/errors.hpp"

#ifndef DLENERGY_SOURCE_PREDICTORS
#define DLENERGY_SOURCE_PREDICTORS ""
#endif

namespace dle::estimate {

namespace fs = std::filesystem;

namespace {

std::string exe_dir() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return fs::path(buf).parent_path().string();
}

// A default file below the working directory is named relative to it ("predictors/default.json" in the source
// tree), as a user would type it; elsewhere by its full path. Both open the same file.
std::string as_typed(const std::string& path) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec || cwd.empty()) return path;
  const fs::path rel = fs::path(path).lexically_relative(cwd);
  if (rel.empty() || *rel.begin() == "..") return path;
  return rel.string();
}

bool is_file(const std::string& p) {
  std::error_code ec;
  return !p.empty() && fs::is_regular_file(p, ec);
}

}  // namespace

std::vector<std::string> default_predictor_candidates() {
  std::vector<std::string> out;
  const std::string dir = exe_dir();
  if (!dir.empty()) out.push_back((fs::path(dir) / ".." / "share" / "dlenergy" / "default.json").lexically_normal().string());
  const std::string src = DLENERGY_SOURCE_PREDICTORS;
  if (!src.empty()) out.push_back(src);
  return out;
}

PredictorsLocation locate_predictors(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!is_file(explicit_path))
      throw ConfigError("predictor file '" + explicit_path +
                        "' does not exist or is not a file; write one with `dlenergy fit --db FILE --out " +
                        explicit_path + "` or leave out --predictors to use the default predictors");
    return {explicit_path, "--predictors"};
  }
  if (const char* env = std::getenv("DLENERGY_PREDICTORS"); env != nullptr && *env != '\0') {
    if (!is_file(env))
      throw ConfigError(std::string("DLENERGY_PREDICTORS names '") + env +
                        "', which does not exist or is not a file; point it at a predictor file or unset it to use "
                        "the default predictors");
    return {env, "DLENERGY_PREDICTORS"};
  }
  const auto candidates = default_predictor_candidates();
  for (std::size_t i = 0; i < candidates.size(); ++i)
    if (is_file(candidates[i]))
      return {as_typed(candidates[i]), i + 1 == candidates.size() && !std::string(DLENERGY_SOURCE_PREDICTORS).empty()
                                 ? "source-tree default"
                                 : "installed default"};
  std::vector<std::string> problems = {"no predictor file given and no default predictor file found; looked at:"};
  for (const auto& c : candidates) problems.push_back("  " + c);
  problems.push_back(
      "pass --predictors FILE, set DLENERGY_PREDICTORS, or regenerate the default with "
      "scripts/make-default-predictors.sh DATA_DIR");
  throw ConfigError(problems);
}

}  // namespace dle::estimate
