#include "sensors/perf.hpp"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <utility>

#include "core/errors.hpp"

namespace dle::sensors {

namespace fs = std::filesystem;

namespace {

class RealPerfEventApi : public PerfEventApi {
 public:
  int open(const PerfEventAttr& a, int cpu) override {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = a.type;
    attr.config = a.config;
    attr.config1 = a.config1;
    attr.config2 = a.config2;
    // pid -1 + a cpu: a system-wide counter on that package, which is what the power PMU supports.
    const long fd = ::syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : static_cast<int>(fd);
  }
  std::uint64_t read(int fd) override {
    std::uint64_t count = 0;
    ssize_t n;
    do {
      n = ::read(fd, &count, sizeof count);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof count)) {
      throw SensorUnavailable(std::string("perf: reading a power counter failed: ") +
                              (n < 0 ? std::strerror(errno) : "short read"));
    }
    return count;
  }
  void close(int fd) override { ::close(fd); }
};

// Parses "0x02" or "2".
bool parse_number(const std::string& text, std::uint64_t& value) {
  const std::string t = trim(text);
  if (t.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(t.c_str(), &end, 0);
  if (errno != 0 || end != t.c_str() + t.size() || t[0] == '-') return false;
  value = v;
  return true;
}

// Places `value` into the bit ranges of a format file such as "config:0-7" or "config:0-7,32-35" (low bits of
// the value into the first range).
void place_term(PerfEventAttr& attr, const std::string& format, std::uint64_t value, const std::string& path) {
  const std::string f = trim(format);
  const auto colon = f.find(':');
  if (colon == std::string::npos) throw SensorUnavailable(path + " holds '" + f + "', not a 'config:LO-HI' format");
  const std::string field = f.substr(0, colon);
  std::uint64_t* target = field == "config" ? &attr.config
                          : field == "config1" ? &attr.config1
                          : field == "config2" ? &attr.config2
                                               : nullptr;
  if (!target) throw SensorUnavailable(path + " names field '" + field + "'; only config, config1, config2 exist");
  std::stringstream ranges(f.substr(colon + 1));
  std::string range;
  while (std::getline(ranges, range, ',')) {
    std::uint64_t lo = 0, hi = 0;
    const auto dash = range.find('-');
    const bool ok = dash == std::string::npos
                        ? parse_u64(range, lo) && ((hi = lo), true)
                        : parse_u64(range.substr(0, dash), lo) && parse_u64(range.substr(dash + 1), hi);
    if (!ok || hi < lo || hi > 63) throw SensorUnavailable(path + " holds '" + f + "': bad bit range '" + range + "'");
    const unsigned width = static_cast<unsigned>(hi - lo + 1);
    const std::uint64_t mask = width == 64 ? ~0ULL : ((1ULL << width) - 1);
    *target |= (value & mask) << lo;
    value = width == 64 ? 0 : value >> width;
  }
  if (value != 0) throw SensorUnavailable(path + ": the event's value does not fit the format '" + f + "'");
}

std::string power_dir(const std::string& root) { return root + "/power"; }

std::string perf_permission_message(const std::string& event, const std::string& err, const FileReader& reader) {
  std::string paranoid;
  const FileRead r = reader.read("/proc/sys/kernel/perf_event_paranoid");
  if (r.status == FileRead::Status::kOk) paranoid = " (now " + trim(r.text) + ")";
  return "perf_event_open(power/" + event + "/) was refused (" + err +
         "): system-wide power events need CAP_PERFMON (or CAP_SYS_ADMIN) or kernel.perf_event_paranoid <= 0" +
         paranoid +
         ". Safe remedies: run dlenergy as root (sudo); or give the dlenergy binary CAP_PERFMON (setcap "
         "cap_perfmon+ep, and restrict who may execute it to a dedicated group); or set kernel.perf_event_paranoid "
         "to 0 on a machine you do not share (see docs/sensors.md, section Permissions).";
}

}  // namespace

std::shared_ptr<PerfEventApi> real_perf_event_api() { return std::make_shared<RealPerfEventApi>(); }

std::vector<int> parse_cpu_list(const std::string& text, const std::string& path) {
  std::vector<int> cpus;
  std::stringstream ss(trim(text));
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::uint64_t lo = 0, hi = 0;
    const auto dash = item.find('-');
    const bool ok = dash == std::string::npos
                        ? parse_u64(item, lo) && ((hi = lo), true)
                        : parse_u64(item.substr(0, dash), lo) && parse_u64(item.substr(dash + 1), hi);
    if (!ok || hi < lo || hi > 1u << 20) throw SensorUnavailable(path + " holds '" + trim(text) + "', not a CPU list such as 0,14");
    for (std::uint64_t c = lo; c <= hi; ++c) cpus.push_back(static_cast<int>(c));
  }
  if (cpus.empty()) throw SensorUnavailable(path + " is empty: the power PMU names no CPU to count on");
  return cpus;
}

double perf_unit_to_joules(const std::string& unit) {
  const std::string u = trim(unit);
  if (u == "Joules" || u == "joules" || u == "J") return 1.0;
  if (u == "mJ") return 1e-3;
  if (u == "uJ") return 1e-6;
  throw SensorUnavailable("perf unit '" + u + "' is not an energy unit this backend knows (Joules, mJ, uJ)");
}

std::string perf_domain_name(const std::string& event, size_t package_index) {
  const std::string package = "package-" + std::to_string(package_index);
  const std::string kind = event.rfind("energy-", 0) == 0 ? event.substr(7) : event;
  if (kind == "pkg") return package;
  if (kind == "psys") return package_index == 0 ? "psys" : "psys-" + std::to_string(package_index);
  if (kind == "cores") return package + "/core";
  if (kind == "gpu") return package + "/uncore";
  if (kind == "ram") return package + "/dram";
  return package + "/" + kind;
}

PerfPowerPmu read_power_pmu(const std::string& perf_root, const FileReader& reader) {
  const std::string dir = power_dir(perf_root);
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || reader.read(dir + "/type").status == FileRead::Status::kMissing) {
    throw SensorUnavailable("no `power` PMU under " + perf_root + " (no " + dir +
                            "/type): the kernel's RAPL perf driver is not loaded, or this machine or VM exposes no "
                            "RAPL");
  }
  PerfPowerPmu pmu;
  const std::uint64_t type = read_sysfs_u64(reader, dir + "/type");
  if (type > UINT32_MAX) throw SensorUnavailable(dir + "/type holds " + std::to_string(type) + ", too large for a PMU type");
  pmu.type = static_cast<std::uint32_t>(type);
  pmu.cpus = parse_cpu_list(read_sysfs_text(reader, dir + "/cpumask"), dir + "/cpumask");

  std::vector<std::string> names;
  for (fs::directory_iterator it(dir + "/events", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind("energy-", 0) == 0 && n.find('.') == std::string::npos) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    const std::string base = dir + "/events/" + n;
    try {
      PerfEventSpec spec;
      spec.event = n;
      spec.attr.type = pmu.type;
      // "event=0x02[,term=value...]": each term's bits are placed by format/<term>.
      std::stringstream terms(trim(read_sysfs_text(reader, base)));
      std::string term;
      while (std::getline(terms, term, ',')) {
        const auto eq = term.find('=');
        const std::string key = trim(term.substr(0, eq));
        std::uint64_t value = 1;  // a bare term means 1, as in perf's own parser
        if (eq != std::string::npos && !parse_number(term.substr(eq + 1), value))
          throw SensorUnavailable(base + " holds '" + term + "', not term=number");
        const std::string format_path = dir + "/format/" + key;
        place_term(spec.attr, read_sysfs_text(reader, format_path), value, format_path);
      }
      const std::string scale_text = trim(read_sysfs_text(reader, base + ".scale"));
      char* end = nullptr;
      spec.scale = std::strtod(scale_text.c_str(), &end);
      if (scale_text.empty() || end != scale_text.c_str() + scale_text.size() || !std::isfinite(spec.scale) || spec.scale <= 0)
        throw SensorUnavailable(base + ".scale holds '" + scale_text + "', not a positive number");
      spec.unit = trim(read_sysfs_text(reader, base + ".unit"));
      spec.joules_per_count = spec.scale * perf_unit_to_joules(spec.unit);
      pmu.events.push_back(spec);
    } catch (const PermissionDenied&) {
      throw;
    } catch (const Error& e) {
      pmu.skipped.push_back(n + ": " + e.what());
    }
  }
  if (pmu.events.empty()) {
    std::string why = "the power PMU under " + dir + " lists no usable energy-* event";
    for (const auto& s : pmu.skipped) why += "; " + s;
    throw SensorUnavailable(why);
  }
  return pmu;
}

struct PerfSensor::Counter {
  std::shared_ptr<PerfEventApi> api;
  int fd = -1;
  std::string domain;
  double joules_per_count = 0.0;
  bool top_level = false;
  std::string event;
  int cpu = 0;

  Counter(std::shared_ptr<PerfEventApi> a, int f) : api(std::move(a)), fd(f) {}
  Counter(Counter&& o) noexcept
      : api(std::move(o.api)), fd(std::exchange(o.fd, -1)), domain(std::move(o.domain)),
        joules_per_count(o.joules_per_count), top_level(o.top_level), event(std::move(o.event)), cpu(o.cpu) {}
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;
  Counter& operator=(Counter&&) = delete;
  ~Counter() {
    if (fd >= 0 && api) api->close(fd);
  }
};

namespace {

class PerfWindow : public Window {
 public:
  PerfWindow(std::shared_ptr<std::vector<PerfSensor::Counter>> counters, Clock clock)
      : counters_(std::move(counters)), clock_(std::move(clock)) {
    for (auto& c : *counters_) start_.push_back(c.api->read(c.fd));
    start_s_ = clock_();
  }
  Reading stop() override {
    std::vector<std::uint64_t> end;
    for (auto& c : *counters_) end.push_back(c.api->read(c.fd));
    Reading r;
    r.duration_s = clock_() - start_s_;
    for (size_t i = 0; i < counters_->size(); ++i) {
      const auto& c = (*counters_)[i];
      // Unsigned subtraction stays right across a (theoretical) wrap of the 64-bit count.
      r.domains.push_back({c.domain, static_cast<double>(end[i] - start_[i]) * c.joules_per_count});
      if (c.top_level) r.top_level.push_back(c.domain);
    }
    return r;
  }

 private:
  std::shared_ptr<std::vector<PerfSensor::Counter>> counters_;
  Clock clock_;
  std::vector<std::uint64_t> start_;
  double start_s_ = 0.0;
};

}  // namespace

PerfSensor::PerfSensor(PerfConfig config)
    : api_(config.api ? config.api : real_perf_event_api()),
      clock_(config.clock ? config.clock : steady_clock_s()),
      counters_(std::make_shared<std::vector<Counter>>()) {
  const auto reader = config.reader ? config.reader : real_file_reader();
  pmu_ = read_power_pmu(config.root, *reader);
  bool any_package = false;
  for (const auto& e : pmu_.events) any_package = any_package || e.event == "energy-pkg";
  for (size_t p = 0; p < pmu_.cpus.size(); ++p) {
    for (const auto& e : pmu_.events) {
      const int fd = api_->open(e.attr, pmu_.cpus[p]);
      if (fd < 0) {
        const int err = -fd;
        if (err == EACCES || err == EPERM) throw PermissionDenied(perf_permission_message(e.event, std::strerror(err), *reader));
        throw SensorUnavailable("perf_event_open(power/" + e.event + "/) on CPU " + std::to_string(pmu_.cpus[p]) +
                                " failed (" + std::strerror(err) +
                                "): the power PMU is listed but the event cannot be counted here");
      }
      Counter c(api_, fd);
      c.domain = perf_domain_name(e.event, p);
      c.joules_per_count = e.joules_per_count;
      c.top_level = e.event == "energy-pkg" || (!any_package && e.event == "energy-psys");
      c.event = e.event;
      c.cpu = pmu_.cpus[p];
      counters_->push_back(std::move(c));
    }
  }
  if (config.verify_counters_advance) check_counters_advance();
}

void PerfSensor::check_counters_advance() const {
  std::vector<const Counter*> pending;
  std::vector<std::uint64_t> first;
  for (const auto& c : *counters_) {
    if (!c.top_level) continue;  // energy-gpu or energy-ram may rest at 0 W; a package never does
    pending.push_back(&c);
    first.push_back(c.api->read(c.fd));
  }
  const double deadline = clock_() + kPerfLivenessTimeoutS;
  while (!pending.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (size_t i = pending.size(); i-- > 0;) {
      if (pending[i]->api->read(pending[i]->fd) != first[i]) {
        pending.erase(pending.begin() + static_cast<long>(i));
        first.erase(first.begin() + static_cast<long>(i));
      }
    }
    if (!pending.empty() && clock_() >= deadline) {
      const Counter& c = *pending.front();
      std::ostringstream out;
      out << "power/" << c.event << "/ on CPU " << c.cpu << " did not advance in " << kPerfLivenessTimeoutS
          << " s (it stays at " << first.front()
          << "): this machine (a VM?) lists the power PMU without backing it with real energy counters";
      throw SensorUnavailable(out.str());
    }
  }
}

PerfSensor::~PerfSensor() = default;

std::vector<std::string> PerfSensor::domains() const {
  std::vector<std::string> names;
  for (const auto& c : *counters_) names.push_back(c.domain);
  return names;
}

double PerfSensor::resolution_j() const {
  double best = 0.0;
  for (const auto& e : pmu_.events) best = best == 0.0 ? e.joules_per_count : std::min(best, e.joules_per_count);
  return best;
}

std::unique_ptr<Window> PerfSensor::start() { return std::make_unique<PerfWindow>(counters_, clock_); }

Probe probe_perf(const SensorOptions& options, std::shared_ptr<const FileReader> reader,
                 std::shared_ptr<PerfEventApi> api) {
  try {
    PerfConfig c;
    c.root = options.perf_root;
    c.reader = std::move(reader);
    c.api = std::move(api);
    PerfSensor sensor(c);
    const auto& pmu = sensor.pmu();
    std::string note = std::to_string(pmu.events.size()) + " event(s) on " + std::to_string(pmu.cpus.size()) + " package(s)";
    if (!pmu.skipped.empty()) note += "; skipped " + std::to_string(pmu.skipped.size()) + ": " + pmu.skipped.front();
    return {true, note};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

}  // namespace dle::sensors
