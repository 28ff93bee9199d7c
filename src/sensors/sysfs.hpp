#pragma once
// Reading small sysfs files (powercap zones, perf PMU descriptions) through an injectable reader, so tests
// can fake a tree on disk and also fake what only a non-root user sees (a denied energy_uj; tests run as root
// in CI, and root reads mode-000 files anyway).
#include <cstdint>
#include <memory>
#include <string>

namespace dle::sensors {

struct FileRead {
  enum class Status { kOk, kMissing, kDenied, kError };
  Status status = Status::kOk;
  std::string text;   // the file's contents when kOk
  std::string error;  // strerror text otherwise
};

class FileReader {
 public:
  virtual ~FileReader() = default;
  virtual FileRead read(const std::string& path) const = 0;
};

// Reads the real file system with open(2)/read(2), mapping ENOENT/ENOTDIR to kMissing and EACCES/EPERM to
// kDenied.
std::shared_ptr<const FileReader> real_file_reader();

// The message every backend gives when a RAPL energy counter cannot be read: why (CVE-2020-8694) and the
// safe remedies. It never suggests opening the counters to all users (that reopens the side channel).
std::string rapl_permission_message(const std::string& path);

// Strict readers for sysfs values: trailing whitespace allowed, anything else is an error naming the path.
// Missing -> SensorUnavailable, denied -> PermissionDenied (with `denied_message` when given, otherwise a
// generic one), malformed -> SensorUnavailable.
std::string read_sysfs_text(const FileReader& reader, const std::string& path, const std::string& denied_message = {});
std::uint64_t read_sysfs_u64(const FileReader& reader, const std::string& path, const std::string& denied_message = {});

// Parses a whole string as an unsigned decimal integer (surrounding whitespace allowed); false when it is not.
bool parse_u64(const std::string& text, std::uint64_t& value);
std::string trim(const std::string& text);

}  // namespace dle::sensors
