#include "sensors/rapl.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/errors.hpp"
#include "core/units.hpp"

namespace dle::sensors {

namespace fs = std::filesystem;

namespace {

// "intel-rapl:3" -> {3, -1}; "intel-rapl:3:1" -> {3, 1}; anything else (the "intel-rapl" control type,
// "intel-rapl-mmio:0", which duplicates package 0 through MMIO) -> false.
bool parse_zone_id(const std::string& id, long& package, long& sub) {
  static const std::string kPrefix = "intel-rapl:";
  if (id.rfind(kPrefix, 0) != 0) return false;
  std::string rest = id.substr(kPrefix.size());
  std::vector<std::string> parts;
  std::stringstream ss(rest);
  std::string part;
  while (std::getline(ss, part, ':')) parts.push_back(part);
  if (parts.empty() || parts.size() > 2) return false;
  std::uint64_t v = 0;
  if (parts[0].empty() || !parse_u64(parts[0], v) || parts[0].find_first_not_of("0123456789") != std::string::npos)
    return false;
  package = static_cast<long>(v);
  sub = -1;
  if (parts.size() == 2) {
    if (parts[1].empty() || !parse_u64(parts[1], v) || parts[1].find_first_not_of("0123456789") != std::string::npos)
      return false;
    sub = static_cast<long>(v);
  }
  return true;
}

std::string no_zones_message(const std::string& root) {
  // A root the user chose that is not there is a typo to fix; the kernel's own missing is a machine without RAPL.
  std::error_code ec;
  if (root != RaplConfig{}.root && !std::filesystem::is_directory(root, ec))
    return "the powercap root " + root + " does not exist or is not a directory; check --powercap-root or "
           "DLENERGY_POWERCAP_ROOT (default " + RaplConfig{}.root + ")";
  return "no powercap zones under " + root +
         " (no intel-rapl:*): this machine or VM exposes no RAPL (on bare metal, check that the intel_rapl_msr "
         "kernel module is loaded)";
}

// The largest power limit the zone declares (constraint_N_max_power_uw, else constraint_N_power_limit_uw), in
// watts; 0 when it declares none. Unreadable or malformed constraint files are ignored: they only refine the
// poll period, which is already bounded by kRaplMaxPollS.
double declared_max_power_w(const FileReader& reader, const std::string& dir) {
  double best_w = 0.0;
  for (int c = 0; c < 8; ++c) {
    for (const char* file : {"_max_power_uw", "_power_limit_uw"}) {
      const FileRead r = reader.read(dir + "/constraint_" + std::to_string(c) + file);
      std::uint64_t uw = 0;
      if (r.status == FileRead::Status::kOk && parse_u64(r.text, uw)) best_w = std::max(best_w, units::uj_to_j(static_cast<double>(uw)));
    }
  }
  return best_w;
}

}  // namespace

void check_rapl_zones_advance(const std::vector<RaplZone>& zones, const FileReader& reader) {
  std::vector<const RaplZone*> at_zero;
  for (const auto& z : zones)
    if (z.top_level && read_sysfs_u64(reader, z.energy_path, rapl_permission_message(z.energy_path)) == 0) at_zero.push_back(&z);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(kRaplLivenessTimeoutS);
  while (!at_zero.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (size_t i = at_zero.size(); i-- > 0;)
      if (read_sysfs_u64(reader, at_zero[i]->energy_path, rapl_permission_message(at_zero[i]->energy_path)) != 0)
        at_zero.erase(at_zero.begin() + static_cast<long>(i));
    if (!at_zero.empty() && std::chrono::steady_clock::now() >= deadline) {
      std::ostringstream out;
      out << at_zero.front()->energy_path << " reads 0 uJ and did not advance in " << kRaplLivenessTimeoutS
          << " s: this machine (a VM?) lists RAPL zones without backing them with real energy counters";
      throw SensorUnavailable(out.str());
    }
  }
}

std::uint64_t rapl_delta_uj(std::uint64_t before_uj, std::uint64_t after_uj, std::uint64_t range_uj) {
  if (after_uj >= before_uj) return after_uj - before_uj;
  // One wrap: from `before` up to the top of the range, then from 0 up to `after`.
  return (range_uj - before_uj) + after_uj;
}

double rapl_poll_period_s(std::uint64_t range_uj, double max_power_w) {
  if (max_power_w <= 0.0) max_power_w = kRaplPlausibleMaxPowerW;
  const double wrap_s = units::uj_to_j(static_cast<double>(range_uj)) / max_power_w;
  return std::clamp(wrap_s / kRaplPollsPerWrap, kRaplMinPollS, kRaplMaxPollS);
}

std::vector<RaplZone> discover_rapl_zones(const std::string& root, const FileReader& reader) {
  struct Found {
    long package, sub;
    std::string id;
  };
  std::vector<Found> found;
  std::error_code ec;
  if (fs::is_directory(root, ec)) {
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string id = it->path().filename().string();
      long package = 0, sub = 0;
      if (parse_zone_id(id, package, sub)) found.push_back({package, sub, id});
    }
  }
  if (found.empty()) throw SensorUnavailable(no_zones_message(root));
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.package != b.package ? a.package < b.package : a.sub < b.sub;
  });

  std::vector<RaplZone> zones;
  std::map<long, std::string> package_domain;  // package number -> its domain name
  for (const Found& f : found) {
    const std::string dir = root + "/" + f.id;
    RaplZone z;
    z.id = f.id;
    const std::string name = trim(read_sysfs_text(reader, dir + "/name"));
    if (name.empty()) throw SensorUnavailable(dir + "/name is empty; the powercap tree is corrupt");
    if (f.sub < 0) {
      z.domain = name;
      package_domain[f.package] = name;
    } else {
      const auto parent = package_domain.find(f.package);
      z.domain = (parent != package_domain.end() ? parent->second : "intel-rapl:" + std::to_string(f.package)) +
                 "/" + name;
    }
    z.range_uj = read_sysfs_u64(reader, dir + "/max_energy_range_uj");
    if (z.range_uj == 0) {
      throw SensorUnavailable(dir + "/max_energy_range_uj is 0, so wraparound cannot be corrected; this zone's "
                              "counter is unusable");
    }
    z.energy_path = dir + "/energy_uj";
    const std::uint64_t now_uj = read_sysfs_u64(reader, z.energy_path, rapl_permission_message(z.energy_path));
    if (now_uj > z.range_uj) {
      throw SensorUnavailable(z.energy_path + " reads " + std::to_string(now_uj) + " uJ, above max_energy_range_uj " +
                              std::to_string(z.range_uj) + " uJ; the powercap tree is inconsistent");
    }
    z.max_power_w = std::max(kRaplPlausibleMaxPowerW, 2.0 * declared_max_power_w(reader, dir));
    zones.push_back(std::move(z));
  }

  // Totals add the packages only: subzones (core, uncore, dram) are listed under their package, and psys
  // covers the packages and more, so adding it too would count the packages twice. psys is the total only
  // on machines that expose no package zone. See docs/sensors.md, "What total_energy_j adds".
  bool any_package = false;
  for (auto& z : zones) {
    if (z.id.find(':', std::string("intel-rapl:").size()) == std::string::npos && z.domain != "psys") {
      z.top_level = true;
      any_package = true;
    }
  }
  if (!any_package) {
    for (auto& z : zones)
      if (z.domain == "psys") z.top_level = true;
  }

  // Two zones with the same name (firmware quirks) would merge in every report; keep them apart.
  std::map<std::string, int> seen;
  for (const auto& z : zones) ++seen[z.domain];
  for (auto& z : zones)
    if (seen[z.domain] > 1) z.domain += " (" + z.id + ")";
  return zones;
}

struct RaplSensor::State {
  std::shared_ptr<const FileReader> reader;
  Clock clock;
  std::vector<RaplZone> zones;

  std::mutex mutex;
  std::vector<std::uint64_t> last_raw_uj;
  std::vector<std::uint64_t> total_uj;  // wrap-corrected energy since the sensor opened
  std::uint64_t failures = 0;           // background polls that failed
  std::string last_failure;

  std::vector<std::uint64_t> read_all() const {
    std::vector<std::uint64_t> raw;
    raw.reserve(zones.size());
    for (const auto& z : zones) {
      const std::uint64_t v = read_sysfs_u64(*reader, z.energy_path, rapl_permission_message(z.energy_path));
      if (v > z.range_uj) {
        throw SensorUnavailable(z.energy_path + " reads " + std::to_string(v) + " uJ, above max_energy_range_uj " +
                                std::to_string(z.range_uj) + " uJ; the counter cannot be corrected for wraparound");
      }
      raw.push_back(v);
    }
    return raw;
  }

  // Caller holds `mutex`.
  void poll_locked() {
    const auto raw = read_all();
    for (size_t i = 0; i < zones.size(); ++i) {
      total_uj[i] += rapl_delta_uj(last_raw_uj[i], raw[i], zones[i].range_uj);
      last_raw_uj[i] = raw[i];
    }
  }
};

namespace {

class RaplWindow : public Window {
 public:
  explicit RaplWindow(std::shared_ptr<RaplSensor::State> state) : state_(std::move(state)) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->poll_locked();
    start_uj_ = state_->total_uj;
    failures_at_start_ = state_->failures;
    start_s_ = state_->clock();
  }

  Reading stop() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->poll_locked();
    const double end_s = state_->clock();
    if (state_->failures != failures_at_start_) {
      throw SensorUnavailable("rapl: " + std::to_string(state_->failures - failures_at_start_) +
                              " background poll(s) failed during the window (last: " + state_->last_failure +
                              "), so a counter wrap may have been missed; the window's energy is not reported");
    }
    Reading r;
    r.duration_s = end_s - start_s_;
    for (size_t i = 0; i < state_->zones.size(); ++i) {
      const auto& z = state_->zones[i];
      r.domains.push_back({z.domain, units::uj_to_j(static_cast<double>(state_->total_uj[i] - start_uj_[i]))});
      if (z.top_level) r.top_level.push_back(z.domain);
    }
    return r;
  }

 private:
  std::shared_ptr<RaplSensor::State> state_;
  std::vector<std::uint64_t> start_uj_;
  std::uint64_t failures_at_start_ = 0;
  double start_s_ = 0.0;
};

}  // namespace

RaplSensor::RaplSensor(RaplConfig config) : state_(std::make_shared<State>()) {
  state_->reader = config.reader ? config.reader : real_file_reader();
  state_->clock = config.clock ? config.clock : steady_clock_s();
  state_->zones = discover_rapl_zones(config.root, *state_->reader);
  if (config.verify_counters_advance) check_rapl_zones_advance(state_->zones, *state_->reader);
  state_->last_raw_uj = state_->read_all();
  state_->total_uj.assign(state_->zones.size(), 0);
  // One poller for all zones, at the period of the fastest-wrapping one.
  for (const auto& z : state_->zones) poll_period_s_ = std::min(poll_period_s_, rapl_poll_period_s(z.range_uj, z.max_power_w));
  if (config.background_poll) {
    auto state = state_;
    poller_ = std::make_unique<PeriodicThread>(poll_period_s_, [state] {
      try {
        std::lock_guard<std::mutex> lock(state->mutex);
        state->poll_locked();
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(state->mutex);
        ++state->failures;
        state->last_failure = e.what();
      }
    });
  }
}

// The poller holds the state through a shared_ptr of its own; destroying it first stops the thread.
RaplSensor::~RaplSensor() { poller_.reset(); }

std::vector<std::string> RaplSensor::domains() const {
  std::vector<std::string> names;
  for (const auto& z : state_->zones) names.push_back(z.domain);
  return names;
}

const std::vector<RaplZone>& RaplSensor::zones() const { return state_->zones; }

void RaplSensor::poll() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->poll_locked();
}

std::unique_ptr<Window> RaplSensor::start() { return std::make_unique<RaplWindow>(state_); }

Probe probe_rapl(const SensorOptions& options, const FileReader& reader) {
  try {
    const auto zones = discover_rapl_zones(options.powercap_root, reader);
    check_rapl_zones_advance(zones, reader);
    int top = 0;
    double period = kRaplMaxPollS;
    for (const auto& z : zones) {
      top += z.top_level ? 1 : 0;
      period = std::min(period, rapl_poll_period_s(z.range_uj, z.max_power_w));
    }
    std::ostringstream note;
    note << zones.size() << " zone(s), " << top << " in the total; wraparound poll every " << period << " s";
    return {true, note.str()};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

}  // namespace dle::sensors
