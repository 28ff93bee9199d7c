#pragma once
// Helpers shared by the collect tests: a temporary directory, the plugin check, and (support/child.hpp) a child
// process running dlenergy.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/child.hpp"

namespace dle::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/dle-collect-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline bool plugin_built() {
  return std::filesystem::exists(std::string(DLE_BINARY_DIR) + "/lib/libdlenergy_torch.so");
}

}  // namespace dle::testing
