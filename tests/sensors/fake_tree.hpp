#pragma once
// Fake sysfs trees in a temporary directory: powercap zones and the perf `power` PMU, written the way the
// kernel lays them out, plus a FileReader that denies chosen paths (what a non-root user sees since
// CVE-2020-8694; tests usually run as root, which reads mode-000 files anyway).
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>

#include "sensors/sysfs.hpp"

namespace dle::sensors::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dle-sensors-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes through a temporary file and a rename, so a poller never reads a half-written value.
inline void write_file(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
  }
  std::filesystem::rename(tmp, path);
}

class FakePowercap {
 public:
  const std::string& root() const { return dir_.path(); }
  std::string zone_dir(const std::string& id) const { return root() + "/" + id; }

  // id "intel-rapl:0" (a package or psys) or "intel-rapl:0:2" (a subzone).
  void add_zone(const std::string& id, const std::string& name, std::uint64_t range_uj, std::uint64_t energy_uj) {
    write_file(zone_dir(id) + "/name", name + "\n");
    write_file(zone_dir(id) + "/max_energy_range_uj", std::to_string(range_uj) + "\n");
    set_energy(id, energy_uj);
    write_file(zone_dir(id) + "/enabled", "1\n");
  }
  void set_energy(const std::string& id, std::uint64_t energy_uj) {
    write_file(zone_dir(id) + "/energy_uj", std::to_string(energy_uj) + "\n");
  }
  void set_file(const std::string& id, const std::string& file, const std::string& text) {
    write_file(zone_dir(id) + "/" + file, text);
  }

 private:
  TempDir dir_;
};

class FakePerfTree {
 public:
  FakePerfTree(std::uint32_t type = 11, const std::string& cpumask = "0") {
    write_file(power() + "/type", std::to_string(type) + "\n");
    write_file(power() + "/cpumask", cpumask + "\n");
    write_file(power() + "/format/event", "config:0-7\n");
  }
  const std::string& root() const { return dir_.path(); }
  std::string power() const { return root() + "/power"; }
  void add_event(const std::string& name, const std::string& encoding, const std::string& scale,
                 const std::string& unit = "Joules") {
    write_file(power() + "/events/" + name, encoding + "\n");
    write_file(power() + "/events/" + name + ".scale", scale + "\n");
    write_file(power() + "/events/" + name + ".unit", unit + "\n");
  }

 private:
  TempDir dir_;
};

// Reads the real files but reports every path ending in one of `denied_suffixes` as permission denied.
class DenyingReader : public FileReader {
 public:
  explicit DenyingReader(std::set<std::string> denied_suffixes) : denied_(std::move(denied_suffixes)) {}
  FileRead read(const std::string& path) const override {
    for (const auto& s : denied_) {
      if (path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0) {
        FileRead r;
        r.status = FileRead::Status::kDenied;
        r.error = "Permission denied";
        return r;
      }
    }
    return real_file_reader()->read(path);
  }

 private:
  std::set<std::string> denied_;
};

}  // namespace dle::sensors::testing
