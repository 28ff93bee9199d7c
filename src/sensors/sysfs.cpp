#include "sensors/sysfs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/errors.hpp"

namespace dle::sensors {

namespace {

class RealFileReader : public FileReader {
 public:
  FileRead read(const std::string& path) const override {
    FileRead result;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      result.error = std::strerror(err);
      if (err == ENOENT || err == ENOTDIR) {
        result.status = FileRead::Status::kMissing;
      } else if (err == EACCES || err == EPERM) {
        result.status = FileRead::Status::kDenied;
      } else {
        result.status = FileRead::Status::kError;
      }
      return result;
    }
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        result.text.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        // sysfs reports a denied MSR read on read(2) on some kernels, not on open(2).
        const int err = errno;
        result.error = std::strerror(err);
        result.status = (err == EACCES || err == EPERM) ? FileRead::Status::kDenied : FileRead::Status::kError;
      }
      break;
    }
    ::close(fd);
    return result;
  }
};

}  // namespace

std::shared_ptr<const FileReader> real_file_reader() {
  static const auto reader = std::make_shared<RealFileReader>();
  return reader;
}

std::string rapl_permission_message(const std::string& path) {
  return path +
         " is readable by root only (since CVE-2020-8694, PLATYPUS, energy counters leak what other processes "
         "compute). Safe remedies: run dlenergy as root (sudo); or give a dedicated group read access (mode "
         "0440, group e.g. 'powercap') with a systemd-tmpfiles 'z' entry or a udev rule, and add your user to "
         "that group (docs/sensors.md, section Permissions); or use --sensor perf with CAP_PERFMON (or "
         "kernel.perf_event_paranoid <= 0). Do not grant read access to all users: that reopens the side "
         "channel.";
}

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool parse_u64(const std::string& text, std::uint64_t& value) {
  const std::string t = trim(text);
  if (t.empty() || t.size() > 20) return false;
  std::uint64_t v = 0;
  for (const char c : t) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  value = v;
  return true;
}

std::string read_sysfs_text(const FileReader& reader, const std::string& path, const std::string& denied_message) {
  const FileRead r = reader.read(path);
  switch (r.status) {
    case FileRead::Status::kOk:
      return r.text;
    case FileRead::Status::kMissing:
      throw SensorUnavailable(path + " is missing (" + r.error + "): the sysfs tree is incomplete; check the root "
                              "directory given (--powercap-root / --perf-root) or the kernel driver");
    case FileRead::Status::kDenied:
      throw PermissionDenied(denied_message.empty()
                                 ? path + " cannot be read (" + r.error + "); run as a user allowed to read it"
                                 : denied_message);
    case FileRead::Status::kError:
      break;
  }
  throw SensorUnavailable("cannot read " + path + " (" + r.error + ")");
}

std::uint64_t read_sysfs_u64(const FileReader& reader, const std::string& path, const std::string& denied_message) {
  const std::string text = read_sysfs_text(reader, path, denied_message);
  std::uint64_t value = 0;
  if (!parse_u64(text, value)) {
    throw SensorUnavailable(path + " holds '" + trim(text).substr(0, 40) +
                            "', not an unsigned integer; the sysfs tree is corrupt or not a powercap/perf tree");
  }
  return value;
}

}  // namespace dle::sensors
