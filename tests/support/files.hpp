#pragma once
// A whole file as a string (empty when it cannot be read), for tests that compare outputs with goldens.
#include <fstream>
#include <sstream>
#include <string>

namespace dle::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dle::testing
