#include "report/output_directory.hpp"

#include <unistd.h>

#include <cstdlib>
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

bool gnuplot_available() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  const std::string p = path;
  std::size_t start = 0;
  while (start <= p.size()) {
    const std::size_t end = p.find(':', start);
    const std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((std::filesystem::path(dir) / "gnuplot").c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

void prepare_plot_directory(const std::string& dir, const std::string& flag) {
  if (!gnuplot_available())
    throw ConfigError(flag + " needs gnuplot, which is not on PATH; install it (Debian: gnuplot-nox) or leave out " +
                      flag);
  prepare_output_directory(dir, flag);
}

}  // namespace dle::report
