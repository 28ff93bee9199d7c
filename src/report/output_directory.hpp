#pragma once
// Directories that commands write several files into (plots of `analyze` and `validate`).
#include <string>

namespace dle::report {

// Creates `dir` (and its parents) if missing. ConfigError, naming `flag`, when `dir` is empty or an existing file
// that is not a directory; StorageError with the system's reason when it cannot be created. Called before the
// command's work, so a bad path costs nothing and prints no half-finished report.
void prepare_output_directory(const std::string& dir, const std::string& flag);

}  // namespace dle::report
