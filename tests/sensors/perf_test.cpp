#include "sensors/perf.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <map>

#include "core/errors.hpp"
#include "fake_tree.hpp"

namespace dle::sensors {
namespace {

using testing::FakePerfTree;

// What Linux writes into energy-*.scale on Intel: 2^-32 J per count.
const std::string kIntelScale = "2.3283064365386962890625e-10";
constexpr double kCountsPerJoule = 4294967296.0;  // 2^32

// Records every open and serves counters that the test advances.
class FakePerfApi : public PerfEventApi {
 public:
  struct Opened {
    PerfEventAttr attr;
    int cpu;
  };
  int open(const PerfEventAttr& attr, int cpu) override {
    if (open_error != 0) return -open_error;
    opened.push_back({attr, cpu});
    const int fd = 100 + static_cast<int>(opened.size()) - 1;
    counts[fd] = 0;
    return fd;
  }
  std::uint64_t read(int fd) override { return counts.at(fd) += advance_per_read; }
  void close(int fd) override { closed.push_back(fd); }

  // The fd opened for (config, cpu).
  int fd_of(std::uint64_t config, int cpu) const {
    for (size_t i = 0; i < opened.size(); ++i)
      if (opened[i].attr.config == config && opened[i].cpu == cpu) return 100 + static_cast<int>(i);
    return -1;
  }

  int open_error = 0;
  std::uint64_t advance_per_read = 0;  // 0: counters move only when the test says
  std::vector<Opened> opened;
  std::vector<int> closed;
  std::map<int, std::uint64_t> counts;
};

PerfConfig config_for(const FakePerfTree& tree, std::shared_ptr<FakePerfApi> api) {
  PerfConfig c;
  c.root = tree.root();
  c.api = std::move(api);
  c.verify_counters_advance = false;  // these fake counters move only when the test says
  return c;
}

TEST(PerfSysfs, ReadsTypeCpumaskEncodingScaleAndUnit) {
  FakePerfTree tree(11, "0,14");
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  tree.add_event("energy-ram", "event=0x03", kIntelScale);
  tree.add_event("energy-cores", "event=0x01", kIntelScale);
  const PerfPowerPmu pmu = read_power_pmu(tree.root(), *real_file_reader());
  EXPECT_EQ(pmu.type, 11u);
  EXPECT_EQ(pmu.cpus, (std::vector<int>{0, 14}));
  ASSERT_EQ(pmu.events.size(), 3u);
  EXPECT_EQ(pmu.events[0].event, "energy-cores");  // sorted by name
  EXPECT_EQ(pmu.events[1].event, "energy-pkg");
  EXPECT_EQ(pmu.events[1].attr.type, 11u);
  EXPECT_EQ(pmu.events[1].attr.config, 0x02u);
  EXPECT_EQ(pmu.events[2].attr.config, 0x03u);
  // The scale is parsed exactly: 2^-32.
  EXPECT_EQ(pmu.events[1].scale, std::ldexp(1.0, -32));
  EXPECT_EQ(pmu.events[1].unit, "Joules");
  EXPECT_EQ(pmu.events[1].joules_per_count, std::ldexp(1.0, -32));
  EXPECT_TRUE(pmu.skipped.empty());
}

TEST(PerfSysfs, FormatFilePlacesTheBitsOfEachTerm) {
  FakePerfTree tree;
  testing::write_file(tree.power() + "/format/event", "config:0-7,32-35\n");
  testing::write_file(tree.power() + "/format/umask", "config1:4-7\n");
  tree.add_event("energy-pkg", "event=0x1ff,umask=3", kIntelScale);
  const PerfPowerPmu pmu = read_power_pmu(tree.root(), *real_file_reader());
  ASSERT_EQ(pmu.events.size(), 1u);
  // 0x1ff: the low 8 bits go to config bits 0-7, the ninth to bit 32.
  EXPECT_EQ(pmu.events[0].attr.config, 0xffULL | (1ULL << 32));
  EXPECT_EQ(pmu.events[0].attr.config1, 3ULL << 4);
}

TEST(PerfSysfs, CpuListsAndUnits) {
  EXPECT_EQ(parse_cpu_list("0-2,8\n", "cpumask"), (std::vector<int>{0, 1, 2, 8}));
  EXPECT_THROW(parse_cpu_list("x", "cpumask"), SensorUnavailable);
  EXPECT_EQ(perf_unit_to_joules("Joules"), 1.0);
  EXPECT_EQ(perf_unit_to_joules("mJ"), 1e-3);
  EXPECT_THROW(perf_unit_to_joules("Watts"), SensorUnavailable);
}

TEST(PerfSysfs, EventsWithAnUnknownUnitOrScaleAreSkippedWithTheReason) {
  FakePerfTree tree;
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  tree.add_event("energy-gpu", "event=0x04", kIntelScale, "Watts");
  tree.add_event("energy-ram", "event=0x03", "-1");
  const PerfPowerPmu pmu = read_power_pmu(tree.root(), *real_file_reader());
  ASSERT_EQ(pmu.events.size(), 1u);
  EXPECT_EQ(pmu.events[0].event, "energy-pkg");
  ASSERT_EQ(pmu.skipped.size(), 2u);
  EXPECT_NE(pmu.skipped[0].find("energy-gpu: perf unit 'Watts' is not an energy unit"), std::string::npos) << pmu.skipped[0];
  EXPECT_NE(pmu.skipped[1].find("energy-ram.scale holds '-1', not a positive number"), std::string::npos) << pmu.skipped[1];
}

TEST(PerfSysfs, NoPowerPmuSaysWhy) {
  testing::TempDir empty;
  SensorOptions o;
  o.perf_root = empty.path();
  auto api = std::make_shared<FakePerfApi>();
  const Probe p = probe_perf(o, real_file_reader(), api);
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, "no `power` PMU under " + empty.path() + " (no " + empty.path() +
                          "/power/type): the kernel's RAPL perf driver is not loaded, or this machine or VM exposes "
                          "no RAPL");
  EXPECT_TRUE(api->opened.empty());
}

TEST(PerfDomains, NamesMatchTheRaplBackend) {
  EXPECT_EQ(perf_domain_name("energy-pkg", 0), "package-0");
  EXPECT_EQ(perf_domain_name("energy-ram", 1), "package-1/dram");
  EXPECT_EQ(perf_domain_name("energy-cores", 0), "package-0/core");
  EXPECT_EQ(perf_domain_name("energy-gpu", 0), "package-0/uncore");
  EXPECT_EQ(perf_domain_name("energy-psys", 0), "psys");
  EXPECT_EQ(perf_domain_name("energy-psys", 1), "psys-1");
}

TEST(PerfSensor, OneCounterPerEventPerPackageConvertedWithTheSysfsScale) {
  FakePerfTree tree(11, "0,14");
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  tree.add_event("energy-ram", "event=0x03", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  {
    PerfSensor sensor(config_for(tree, api));
    ASSERT_EQ(api->opened.size(), 4u);
    EXPECT_EQ(sensor.domains(), (std::vector<std::string>{"package-0", "package-0/dram", "package-1", "package-1/dram"}));
    EXPECT_EQ(sensor.resolution_j(), std::ldexp(1.0, -32));
    for (const auto& o : api->opened) EXPECT_EQ(o.attr.type, 11u);
    api->counts[api->fd_of(2, 0)] = 1000;  // counters do not start at 0
    auto window = sensor.start();
    api->counts[api->fd_of(2, 0)] += static_cast<std::uint64_t>(10 * kCountsPerJoule);   // 10 J
    api->counts[api->fd_of(3, 0)] += static_cast<std::uint64_t>(3 * kCountsPerJoule);    // 3 J
    api->counts[api->fd_of(2, 14)] += static_cast<std::uint64_t>(7.5 * kCountsPerJoule); // 7.5 J
    api->counts[api->fd_of(3, 14)] += static_cast<std::uint64_t>(kCountsPerJoule / 4);   // 0.25 J
    const Reading r = window->stop();
    ASSERT_EQ(r.domains.size(), 4u);
    EXPECT_DOUBLE_EQ(r.domains[0].energy_j, 10.0);
    EXPECT_DOUBLE_EQ(r.domains[1].energy_j, 3.0);
    EXPECT_DOUBLE_EQ(r.domains[2].energy_j, 7.5);
    EXPECT_DOUBLE_EQ(r.domains[3].energy_j, 0.25);
    EXPECT_EQ(r.top_level, (std::vector<std::string>{"package-0", "package-1"}));
    EXPECT_DOUBLE_EQ(r.total_j(), 17.5);
  }
  // RAII: every fd closed once the sensor (and its windows) are gone.
  EXPECT_EQ(api->closed.size(), 4u);
}

TEST(PerfSensor, SixtyFourBitCounterWrapStaysRight) {
  FakePerfTree tree;
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  PerfSensor sensor(config_for(tree, api));
  api->counts[100] = ~0ULL - (1ULL << 32) + 1;  // 1 J below the top of the 64-bit count
  auto window = sensor.start();
  api->counts[100] = 1ULL << 32;  // +1 J to wrap, +1 J after it
  EXPECT_DOUBLE_EQ(window->stop().total_j(), 2.0);
}

TEST(PerfSensor, UnitIsReadNotAssumed) {
  FakePerfTree tree;
  tree.add_event("energy-pkg", "event=0x02", "0.5", "mJ");  // one count = 0.5 mJ
  auto api = std::make_shared<FakePerfApi>();
  PerfSensor sensor(config_for(tree, api));
  auto window = sensor.start();
  api->counts[100] = 4000;
  EXPECT_DOUBLE_EQ(window->stop().total_j(), 2.0);
}

TEST(PerfPermissions, RefusedOpenGivesThePerfRemedies) {
  FakePerfTree tree;
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  api->open_error = EACCES;
  SensorOptions o;
  o.perf_root = tree.root();
  const Probe p = probe_perf(o, real_file_reader(), api);
  EXPECT_FALSE(p.available);
  EXPECT_NE(p.reason.find("perf_event_open(power/energy-pkg/) was refused (Permission denied)"), std::string::npos) << p.reason;
  EXPECT_NE(p.reason.find("CAP_PERFMON"), std::string::npos);
  EXPECT_NE(p.reason.find("perf_event_paranoid"), std::string::npos);
  EXPECT_EQ(p.reason.find("chmod"), std::string::npos);
  EXPECT_THROW(PerfSensor{config_for(tree, api)}, PermissionDenied);
}

TEST(PerfProbe, AvailableWithLiveFakeCountersClosesWhatItOpened) {
  FakePerfTree tree(11, "0,14");
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  api->advance_per_read = 1 << 20;
  SensorOptions o;
  o.perf_root = tree.root();
  const Probe p = probe_perf(o, real_file_reader(), api);
  EXPECT_TRUE(p.available) << p.reason;
  EXPECT_EQ(p.reason, "1 event(s) on 2 package(s)");
  EXPECT_EQ(api->opened.size(), 2u);
  EXPECT_EQ(api->closed.size(), 2u);
}

// What the Firecracker H200 machines show: a power PMU with energy-psys that opens and counts 0 forever.
TEST(PerfLiveness, AListedButUnbackedCounterIsRefused) {
  FakePerfTree tree(9, "0");
  tree.add_event("energy-psys", "event=0x05", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  SensorOptions o;
  o.perf_root = tree.root();
  const Probe p = probe_perf(o, real_file_reader(), api);
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, "power/energy-psys/ on CPU 0 did not advance in 0.1 s (it stays at 0): this machine (a VM?) "
                      "lists the power PMU without backing it with real energy counters");
  EXPECT_EQ(api->closed.size(), 1u);  // the probe's counter is closed even when it fails
}

TEST(PerfSensor, UnsupportedOpenIsUnavailable) {
  FakePerfTree tree;
  tree.add_event("energy-pkg", "event=0x02", kIntelScale);
  auto api = std::make_shared<FakePerfApi>();
  api->open_error = ENODEV;
  try {
    PerfSensor sensor(config_for(tree, api));
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("on CPU 0 failed (No such device)"), std::string::npos) << e.what();
  }
}

// On a machine whose kernel exposes the power PMU and lets us open it; skipped elsewhere with the probe's reason.
TEST(PerfHardware, RealPowerPmuReportsPositivePackageEnergy) {
  auto api = real_perf_event_api();
  const Probe p = probe_perf(SensorOptions{}, real_file_reader(), api);
  if (!p.available) GTEST_SKIP() << p.reason;
  PerfSensor sensor(PerfConfig{});
  auto window = sensor.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Reading r = window->stop();
  EXPECT_GT(r.total_j(), 0.0);
  std::printf("perf on this machine: %s; total %.4f J over %.4f s\n", p.reason.c_str(), r.total_j(), r.duration_s);
}

}  // namespace
}  // namespace dle::sensors
