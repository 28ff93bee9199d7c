#include "sensors/rapl.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/errors.hpp"
#include "fake_tree.hpp"

namespace dle::sensors {
namespace {

using testing::DenyingReader;
using testing::FakePowercap;

// The range Linux reports for a Skylake-SP package (2^32 energy units of 61.035 uJ).
constexpr std::uint64_t kSkylakeRangeUj = 262143328850ULL;

RaplSensor manual_sensor(const FakePowercap& tree, std::shared_ptr<const FileReader> reader = nullptr) {
  RaplConfig c;
  c.root = tree.root();
  c.background_poll = false;
  c.verify_counters_advance = false;  // these fake counters move only when the test says
  c.reader = std::move(reader);
  return RaplSensor(c);
}

double energy_of(const Reading& r, const std::string& domain) {
  for (const auto& d : r.domains)
    if (d.name == domain) return d.energy_j;
  ADD_FAILURE() << "no domain " << domain;
  return -1.0;
}

TEST(RaplDelta, NoWrapIsThePlainDifference) {
  EXPECT_EQ(rapl_delta_uj(1000, 4500, kSkylakeRangeUj), 3500u);
  EXPECT_EQ(rapl_delta_uj(7, 7, kSkylakeRangeUj), 0u);
}

TEST(RaplDelta, OneWrapAddsTheRestOfTheRange) {
  // The example: 262,143,000,000 -> 5,000,000 with range 262,143,328,850 is 5.32885 J.
  EXPECT_EQ(rapl_delta_uj(262143000000ULL, 5000000ULL, kSkylakeRangeUj), 5328850u);
}

TEST(RaplSensor, SingleWrapInAWindowWithoutAnyPollIsCorrected) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 262143000000ULL);
  auto sensor = manual_sensor(tree);
  auto window = sensor.start();
  tree.set_energy("intel-rapl:0", 5000000ULL);
  const Reading r = window->stop();
  ASSERT_EQ(r.domains.size(), 1u);
  EXPECT_EQ(r.domains[0].name, "package-0");
  EXPECT_NEAR(r.domains[0].energy_j, 5.32885, 1e-12);
  EXPECT_NEAR(r.total_j(), 5.32885, 1e-12);
}

TEST(RaplSensor, SeveralWrapsInOneWindowAreCountedThroughThePoller) {
  FakePowercap tree;
  constexpr std::uint64_t kRange = 1000000;  // 1 J, so a few joules wrap several times
  tree.add_zone("intel-rapl:0", "package-0", kRange, 900000);
  auto sensor = manual_sensor(tree);
  auto window = sensor.start();
  // Each poll sees at most one wrap: +300,000 (wrap), +600,000, +300,000 (wrap), +950,000 (wrap) uJ.
  for (std::uint64_t raw : {200000ULL, 800000ULL, 100000ULL, 50000ULL}) {
    tree.set_energy("intel-rapl:0", raw);
    sensor.poll();
  }
  tree.set_energy("intel-rapl:0", 60000);  // +10,000 uJ at stop
  const Reading r = window->stop();
  EXPECT_NEAR(energy_of(r, "package-0"), 2.16, 1e-12);
  // Without the polls the window would see a single wrap from 900,000 to 60,000: 0.16 J.
  EXPECT_EQ(rapl_delta_uj(900000, 60000, kRange), 160000u);
}

TEST(RaplSensor, WindowsOpenAtTheSameTimeEachSeeTheirOwnEnergy) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 1000000);
  auto sensor = manual_sensor(tree);
  auto outer = sensor.start();
  tree.set_energy("intel-rapl:0", 3000000);
  auto inner = sensor.start();
  tree.set_energy("intel-rapl:0", 3500000);
  EXPECT_NEAR(inner->stop().total_j(), 0.5, 1e-12);
  EXPECT_NEAR(outer->stop().total_j(), 2.5, 1e-12);
}

// Two packages with subzones plus psys, as on a dual-socket server with a platform domain.
TEST(RaplSensor, PackagesWithSubzonesAndPsysTotalOnlyThePackages) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 100000000);
  tree.add_zone("intel-rapl:0:0", "core", kSkylakeRangeUj, 0);
  tree.add_zone("intel-rapl:0:1", "dram", 65712999613ULL, 0);
  tree.add_zone("intel-rapl:1", "package-1", kSkylakeRangeUj, 0);
  tree.add_zone("intel-rapl:1:0", "core", kSkylakeRangeUj, 0);
  tree.add_zone("intel-rapl:1:1", "dram", 65712999613ULL, 0);
  tree.add_zone("intel-rapl:2", "psys", kSkylakeRangeUj, 0);
  auto sensor = manual_sensor(tree);
  EXPECT_EQ(sensor.domains(), (std::vector<std::string>{"package-0", "package-0/core", "package-0/dram", "package-1",
                                                         "package-1/core", "package-1/dram", "psys"}));
  auto window = sensor.start();
  tree.set_energy("intel-rapl:0", 110000000);  // +10 J
  tree.set_energy("intel-rapl:0:0", 4000000);  // +4 J
  tree.set_energy("intel-rapl:0:1", 3000000);  // +3 J
  tree.set_energy("intel-rapl:1", 20000000);   // +20 J
  tree.set_energy("intel-rapl:1:0", 5000000);  // +5 J
  tree.set_energy("intel-rapl:1:1", 2000000);  // +2 J
  tree.set_energy("intel-rapl:2", 50000000);   // +50 J
  const Reading r = window->stop();
  EXPECT_NEAR(energy_of(r, "package-0"), 10.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "package-0/core"), 4.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "package-0/dram"), 3.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "package-1"), 20.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "package-1/core"), 5.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "package-1/dram"), 2.0, 1e-12);
  EXPECT_NEAR(energy_of(r, "psys"), 50.0, 1e-12);
  EXPECT_EQ(r.top_level, (std::vector<std::string>{"package-0", "package-1"}));
  EXPECT_NEAR(r.total_j(), 30.0, 1e-12);
}

TEST(RaplSensor, PsysIsTheTotalWhenThereIsNoPackage) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "psys", kSkylakeRangeUj, 0);
  auto sensor = manual_sensor(tree);
  auto window = sensor.start();
  tree.set_energy("intel-rapl:0", 7250000);
  const Reading r = window->stop();
  EXPECT_EQ(r.top_level, (std::vector<std::string>{"psys"}));
  EXPECT_NEAR(r.total_j(), 7.25, 1e-12);
}

TEST(RaplSensor, IgnoresTheControlTypeAndMmioZones) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  tree.add_zone("intel-rapl-mmio:0", "package-0", kSkylakeRangeUj, 0);  // the same package through MMIO
  tree.set_file("intel-rapl", "enabled", "1\n");
  auto sensor = manual_sensor(tree);
  EXPECT_EQ(sensor.domains(), (std::vector<std::string>{"package-0"}));
}

TEST(RaplSensor, ZonesAreOrderedNumericallyNotAlphabetically) {
  FakePowercap tree;
  for (int p = 0; p < 12; ++p) tree.add_zone("intel-rapl:" + std::to_string(p), "package-" + std::to_string(p), kSkylakeRangeUj, 0);
  auto sensor = manual_sensor(tree);
  ASSERT_EQ(sensor.domains().size(), 12u);
  EXPECT_EQ(sensor.domains()[2], "package-2");
  EXPECT_EQ(sensor.domains()[10], "package-10");
}

TEST(RaplPollPeriod, DerivedFromRangeAndPlausiblePowerThenClamped) {
  // 262,143 J at 500 W wraps every 524 s; a quarter of that is 131 s, capped to 1 s.
  EXPECT_DOUBLE_EQ(rapl_poll_period_s(kSkylakeRangeUj, 500.0), 1.0);
  // 1,000 J at 500 W wraps every 2 s: poll every 0.5 s.
  EXPECT_DOUBLE_EQ(rapl_poll_period_s(1000000000ULL, 500.0), 0.5);
  // A tiny range would ask for microseconds; the floor is the counters' own 1 ms update interval.
  EXPECT_DOUBLE_EQ(rapl_poll_period_s(1000ULL, 500.0), 0.001);
}

TEST(RaplPollPeriod, AZoneDeclaringAHighPowerLimitIsPolledFaster) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 1000000000ULL, 0);  // 1,000 J range
  tree.set_file("intel-rapl:0", "constraint_0_max_power_uw", "400000000\n");  // 400 W -> plausible 800 W
  auto sensor = manual_sensor(tree);
  EXPECT_DOUBLE_EQ(sensor.zones()[0].max_power_w, 800.0);
  EXPECT_DOUBLE_EQ(sensor.poll_period_s(), 1000.0 / 800.0 / 4.0);
}

TEST(RaplSensor, BackgroundPollerCatchesWrapsBetweenStartAndStop) {
  FakePowercap tree;
  // 2 J range -> period clamps to 1 ms, so the poller reads many times during each 200 ms pause.
  constexpr std::uint64_t kRange = 2000000;
  tree.add_zone("intel-rapl:0", "package-0", kRange, 1500000);
  RaplConfig c;
  c.root = tree.root();
  RaplSensor sensor(c);
  EXPECT_DOUBLE_EQ(sensor.poll_period_s(), 0.001);
  auto window = sensor.start();
  // +1.0 J (wrap), +1.5 J, +1.0 J (wrap): three steps of which two wrap; a window without the poller would see
  // 1,500,000 -> 1,000,000 as one wrap (1.5 J).
  for (std::uint64_t raw : {500000ULL, 2000000ULL, 1000000ULL}) {
    tree.set_energy("intel-rapl:0", raw);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_NEAR(window->stop().total_j(), 3.5, 1e-12);
}

TEST(RaplProbe, NoZonesSaysThisMachineExposesNoRapl) {
  testing::TempDir empty;
  SensorOptions o;
  o.powercap_root = empty.path();
  const Probe p = probe_rapl(o, *real_file_reader());
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, "no powercap zones under " + empty.path() +
                          " (no intel-rapl:*): this machine or VM exposes no RAPL (on bare metal, check that the "
                          "intel_rapl_msr kernel module is loaded)");
  o.powercap_root = empty.path() + "/does-not-exist";
  EXPECT_FALSE(probe_rapl(o, *real_file_reader()).available);
  RaplConfig c;
  c.root = empty.path();
  EXPECT_THROW(RaplSensor{c}, SensorUnavailable);
}

TEST(RaplProbe, AvailableTreeSaysHowManyZonesAndThePollPeriod) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 123456789);
  tree.add_zone("intel-rapl:0:0", "dram", kSkylakeRangeUj, 0);  // a subzone may rest at 0
  SensorOptions o;
  o.powercap_root = tree.root();
  const Probe p = probe_rapl(o, *real_file_reader());
  EXPECT_TRUE(p.available);
  EXPECT_EQ(p.reason, "2 zone(s), 1 in the total; wraparound poll every 1 s");
}

TEST(RaplLiveness, PackageStuckAtZeroIsRefusedAsAnUnbackedVmCounter) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  SensorOptions o;
  o.powercap_root = tree.root();
  const Probe p = probe_rapl(o, *real_file_reader());
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, tree.root() + "/intel-rapl:0/energy_uj reads 0 uJ and did not advance in 0.1 s: this machine (a "
                                    "VM?) lists RAPL zones without backing them with real energy counters");
  RaplConfig c;
  c.root = tree.root();
  EXPECT_THROW(RaplSensor{c}, SensorUnavailable);
}

// Reads the real files, but energy_uj advances by 1,000 uJ at every read, like a live counter.
class TickingReader : public FileReader {
 public:
  FileRead read(const std::string& path) const override {
    FileRead r = real_file_reader()->read(path);
    if (path.size() > 10 && path.compare(path.size() - 10, 10, "/energy_uj") == 0) r.text = std::to_string(1000 * ++reads_);
    return r;
  }

 private:
  mutable std::uint64_t reads_ = 0;
};

TEST(RaplLiveness, ACounterLeavingZeroIsAccepted) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  SensorOptions o;
  o.powercap_root = tree.root();
  const TickingReader reader;
  const Probe p = probe_rapl(o, reader);
  EXPECT_TRUE(p.available) << p.reason;
}

void expect_safe_permission_message(const std::string& message, const std::string& path) {
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("readable by root only"), std::string::npos) << message;
  EXPECT_NE(message.find("CVE-2020-8694"), std::string::npos) << message;
  EXPECT_NE(message.find("run dlenergy as root"), std::string::npos) << message;
  EXPECT_NE(message.find("dedicated group"), std::string::npos) << message;
  EXPECT_NE(message.find("systemd-tmpfiles"), std::string::npos) << message;
  EXPECT_NE(message.find("udev rule"), std::string::npos) << message;
  EXPECT_NE(message.find("CAP_PERFMON"), std::string::npos) << message;
  EXPECT_NE(message.find("perf_event_paranoid"), std::string::npos) << message;
  // Never the unsafe advice the paper's repository gave.
  EXPECT_EQ(message.find("chmod"), std::string::npos) << message;
  EXPECT_EQ(message.find("a+r"), std::string::npos) << message;
  EXPECT_EQ(message.find("555"), std::string::npos) << message;
  EXPECT_EQ(message.find("world-readable"), std::string::npos) << message;
}

TEST(RaplPermissions, DeniedEnergyFileGivesTheSafeRemedies) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  const auto reader = std::make_shared<DenyingReader>(std::set<std::string>{"/energy_uj"});
  SensorOptions o;
  o.powercap_root = tree.root();
  const Probe p = probe_rapl(o, *reader);
  EXPECT_FALSE(p.available);
  expect_safe_permission_message(p.reason, tree.root() + "/intel-rapl:0/energy_uj");
  try {
    manual_sensor(tree, reader);
    FAIL() << "expected PermissionDenied";
  } catch (const PermissionDenied& e) {
    expect_safe_permission_message(e.what(), tree.root() + "/intel-rapl:0/energy_uj");
  }
}

TEST(RaplPermissions, Mode000FileOnDiskIsDeniedForNonRoot) {
  if (::geteuid() == 0) {
    GTEST_SKIP() << "running as root, which reads mode-000 files anyway; "
                    "RaplPermissions.DeniedEnergyFileGivesTheSafeRemedies covers the message with an injected reader";
  }
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  const std::string path = tree.root() + "/intel-rapl:0/energy_uj";
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  SensorOptions o;
  o.powercap_root = tree.root();
  const Probe p = probe_rapl(o, *real_file_reader());
  EXPECT_FALSE(p.available);
  expect_safe_permission_message(p.reason, path);
}

TEST(RaplMissingFiles, MissingEnergyFileIsNamed) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  std::filesystem::remove(tree.root() + "/intel-rapl:0/energy_uj");
  try {
    manual_sensor(tree);
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(tree.root() + "/intel-rapl:0/energy_uj is missing"), std::string::npos) << e.what();
  }
}

TEST(RaplMissingFiles, MissingRangeOrNameIsNamed) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  std::filesystem::remove(tree.root() + "/intel-rapl:0/max_energy_range_uj");
  SensorOptions o;
  o.powercap_root = tree.root();
  Probe p = probe_rapl(o, *real_file_reader());
  EXPECT_FALSE(p.available);
  EXPECT_NE(p.reason.find("intel-rapl:0/max_energy_range_uj is missing"), std::string::npos) << p.reason;
  tree.set_file("intel-rapl:0", "max_energy_range_uj", "1000\n");
  std::filesystem::remove(tree.root() + "/intel-rapl:0/name");
  p = probe_rapl(o, *real_file_reader());
  EXPECT_NE(p.reason.find("intel-rapl:0/name is missing"), std::string::npos) << p.reason;
}

TEST(RaplMissingFiles, MalformedOrOutOfRangeCountersAreRefused) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 1000, 0);
  tree.set_file("intel-rapl:0", "energy_uj", "12abc\n");
  SensorOptions o;
  o.powercap_root = tree.root();
  EXPECT_NE(probe_rapl(o, *real_file_reader()).reason.find("holds '12abc', not an unsigned integer"), std::string::npos);
  tree.set_energy("intel-rapl:0", 5000);
  EXPECT_NE(probe_rapl(o, *real_file_reader()).reason.find("above max_energy_range_uj 1000"), std::string::npos);
}

TEST(RaplSensor, CounterVanishingMidWindowIsAnErrorNotZero) {
  FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", kSkylakeRangeUj, 0);
  auto sensor = manual_sensor(tree);
  auto window = sensor.start();
  std::filesystem::remove(tree.root() + "/intel-rapl:0/energy_uj");
  EXPECT_THROW(window->stop(), SensorUnavailable);
}

// On a machine with readable RAPL counters, the real tree; skipped elsewhere with the probe's reason.
TEST(RaplHardware, RealCountersReportPositivePackageEnergy) {
  const Probe p = probe_rapl(SensorOptions{}, *real_file_reader());
  if (!p.available) GTEST_SKIP() << p.reason;
  RaplSensor sensor(RaplConfig{});
  auto window = sensor.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Reading r = window->stop();
  EXPECT_GT(r.total_j(), 0.0);  // a running package never draws 0 W for 0.3 s
  EXPECT_LT(r.total_j(), 2000.0 * r.duration_s);
  std::printf("rapl on this machine: %s; total %.4f J over %.4f s\n", p.reason.c_str(), r.total_j(), r.duration_s);
}

}  // namespace
}  // namespace dle::sensors
