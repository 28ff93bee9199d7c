#pragma once
// One exception hierarchy for the whole program. Every error says what failed, the offending value,
// and what to do about it; `main` maps each class to its own exit code (see exit_code()).
#include <stdexcept>
#include <string>
#include <vector>

namespace dle {

// Exit codes of the dlenergy executable. 0 is success; 1 is an unexpected internal error.
enum class ExitCode : int {
  kOk = 0,
  kInternal = 1,
  kUsage = 2,              // bad flags (CLI11 parse errors)
  kConfig = 3,             // bad configuration, architecture file or data file
  kSensorUnavailable = 4,  // the requested sensor cannot be used here
  kPermissionDenied = 5,   // a counter exists but cannot be read
  kStorage = 6,            // SQLite or file I/O failure
  kFit = 7,                // model fitting or predictor-file failure
  kInterrupted = 130,      // Ctrl-C, after committing finished work
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  virtual ExitCode exit_code() const { return ExitCode::kInternal; }
};

// Bad user input: files, flags, configurations, data. May carry several problems at once.
class ConfigError : public Error {
 public:
  explicit ConfigError(const std::string& message) : Error(message), problems_{message} {}
  explicit ConfigError(std::vector<std::string> problems);
  const std::vector<std::string>& problems() const { return problems_; }
  ExitCode exit_code() const override { return ExitCode::kConfig; }

 private:
  std::vector<std::string> problems_;
};

// A flag missing or given in a combination that cannot work, found after parsing ("no network given"): bad input
// like ConfigError, reported as a usage error (exit 2) like the flags CLI11 itself rejects.
class UsageError : public ConfigError {
 public:
  using ConfigError::ConfigError;
  ExitCode exit_code() const override { return ExitCode::kUsage; }
};

class SensorUnavailable : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kSensorUnavailable; }
};

class PermissionDenied : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kPermissionDenied; }
};

class StorageError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kStorage; }
};

class FitError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kFit; }
};

// Thrown when the user interrupts (SIGINT) after finished work was committed.
class Interrupted : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::kInterrupted; }
};

// Joins problems one per line, each prefixed with "  - ", under a heading.
std::string join_problems(const std::string& heading, const std::vector<std::string>& problems);

}  // namespace dle
