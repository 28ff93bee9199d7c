#include "core/errors.hpp"

#include <sstream>

namespace dle {

namespace {
std::string summarize(const std::vector<std::string>& problems) {
  if (problems.size() == 1) return problems.front();
  std::ostringstream out;
  out << problems.size() << " problems:";
  for (const auto& p : problems) out << "\n  - " << p;
  return out.str();
}
}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : Error(summarize(problems)), problems_(std::move(problems)) {}

std::string join_problems(const std::string& heading, const std::vector<std::string>& problems) {
  std::ostringstream out;
  out << heading;
  for (const auto& p : problems) out << "\n  - " << p;
  return out.str();
}

}  // namespace dle
