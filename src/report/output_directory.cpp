#include "report/output_directory.hpp"

#include <filesystem>
#include <system_error>

#include "core/errors.hpp"

namespace dle::report {

void prepare_output_directory(const std::string& dir, const std::string& flag) {
  namespace fs = std::filesystem;
  if (dir.empty()) throw ConfigError(flag + " is empty; give the directory to write into (created if missing)");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw ConfigError(flag + " " + dir + " is a file, not a directory; give a directory (created if missing)");
  fs::create_directories(dir, ec);
  if (ec) throw StorageError("cannot create " + flag + " directory " + dir + ": " + ec.message());
}

}  // namespace dle::report
