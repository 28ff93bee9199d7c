#pragma once
// Directories that commands write several files into (plots of `analyze` and `validate`).
#include <string>

namespace dle::report {

// Creates `dir` (and its parents) if missing. ConfigError, naming `flag`, when `dir` is empty or an existing file
// that is not a directory; StorageError with the system's reason when it cannot be created. Called before the
// command's work, so a bad path costs nothing and prints no half-finished report.
void prepare_output_directory(const std::string& dir, const std::string& flag);

// True when an executable `gnuplot` is on PATH.
bool gnuplot_available();
// prepare_output_directory for plots, after checking that gnuplot is there (ConfigError naming `flag` and the
// package to install otherwise), so that a missing gnuplot is reported before the command's work, not after.
void prepare_plot_directory(const std::string& dir, const std::string& flag);

}  // namespace dle::report
