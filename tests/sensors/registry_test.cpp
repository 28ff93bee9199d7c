#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/errors.hpp"
#include "fake_tree.hpp"
#include "sensors/sensor.hpp"

namespace dle::sensors {
namespace {

TEST(Registry, BuiltinsRegisterOnceInAFixedOrder) {
  register_builtin_sensors();
  register_builtin_sensors();  // idempotent
  EXPECT_EQ(sensor_registry().names(), (std::vector<std::string>{"rapl", "perf", "nvml", "estimated"}));
  EXPECT_EQ(sensor_names(), (std::vector<std::string>{"auto", "rapl", "perf", "nvml", "estimated"}));
}

TEST(Registry, UnknownNameListsTheValidOnes) {
  try {
    open_sensor("rpal", SensorOptions{});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "unknown sensor 'rpal'; valid names: auto, rapl, perf, nvml, estimated");
  }
}

SensorOptions no_counters(const testing::TempDir& empty) {
  SensorOptions o;
  o.powercap_root = empty.path();
  o.perf_root = empty.path();
  o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  return o;
}

TEST(Registry, AutoFallsBackToEstimatedAndSaysWhy) {
  testing::TempDir empty;
  std::vector<std::string> notes;
  const auto sensor = open_sensor("auto", no_counters(empty), &notes);
  EXPECT_EQ(sensor->name(), "estimated");
  EXPECT_TRUE(sensor->estimated());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].rfind("rapl: no powercap zones under " + empty.path(), 0), 0u) << notes[0];
  EXPECT_EQ(notes[1].rfind("perf: no `power` PMU under " + empty.path(), 0), 0u) << notes[1];
}

TEST(Registry, AutoPrefersRapl) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 42000000);
  SensorOptions o;
  o.powercap_root = tree.root();
  EXPECT_EQ(open_sensor("auto", o)->name(), "rapl");
}

TEST(Registry, NamedUnavailableSensorSaysWhy) {
  testing::TempDir empty;
  try {
    open_sensor("rapl", no_counters(empty));
    FAIL() << "expected SensorUnavailable";
  } catch (const SensorUnavailable& e) {
    EXPECT_EQ(std::string(e.what()).rfind("sensor rapl is unavailable: no powercap zones under", 0), 0u) << e.what();
  }
  EXPECT_THROW(open_sensor("nvml", no_counters(empty)), SensorUnavailable);
}

TEST(Registry, ProbesOnAMachineWithoutCountersOnlyEstimatedIsAvailable) {
  testing::TempDir empty;
  register_builtin_sensors();
  const SensorOptions o = no_counters(empty);
  for (const auto& name : sensor_registry().names()) {
    const Probe p = sensor_registry().get(name).probe(o);
    EXPECT_EQ(p.available, name == "estimated") << name << ": " << p.reason;
    EXPECT_FALSE(p.reason.empty()) << name;
  }
}

TEST(Reading, TotalAddsOnlyTopLevelDomains) {
  Reading r;
  r.domains = {{"package-0", 10.0}, {"package-0/dram", 3.0}, {"package-1", 5.0}};
  EXPECT_DOUBLE_EQ(r.total_j(), 18.0);  // no top-level list: every domain
  r.top_level = {"package-0", "package-1"};
  EXPECT_DOUBLE_EQ(r.total_j(), 15.0);
}

// Sets environment variables for one test and restores them after.
class Environment : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"DLENERGY_POWERCAP_ROOT", "DLENERGY_PERF_ROOT", "DLENERGY_NVML_LIBRARY", "DLENERGY_WATTS_PER_CORE"})
      ::unsetenv(v);
  }
};

TEST_F(Environment, DefaultsWithoutVariables) {
  const SensorOptions o = SensorOptions::from_environment();
  EXPECT_EQ(o.powercap_root, "/sys/class/powercap");
  EXPECT_EQ(o.perf_root, "/sys/bus/event_source/devices");
  EXPECT_EQ(o.nvml_library, "libnvidia-ml.so.1");
  EXPECT_DOUBLE_EQ(o.watts_per_core, 7.5);
}

TEST_F(Environment, VariablesOverrideTheDefaults) {
  ::setenv("DLENERGY_POWERCAP_ROOT", "/tmp/pc", 1);
  ::setenv("DLENERGY_PERF_ROOT", "/tmp/perf", 1);
  ::setenv("DLENERGY_NVML_LIBRARY", "/tmp/libnvml.so", 1);
  ::setenv("DLENERGY_WATTS_PER_CORE", "12.5", 1);
  const SensorOptions o = SensorOptions::from_environment();
  EXPECT_EQ(o.powercap_root, "/tmp/pc");
  EXPECT_EQ(o.perf_root, "/tmp/perf");
  EXPECT_EQ(o.nvml_library, "/tmp/libnvml.so");
  EXPECT_DOUBLE_EQ(o.watts_per_core, 12.5);
}

TEST_F(Environment, MalformedValuesAreConfigErrorsNamingTheVariable) {
  ::setenv("DLENERGY_WATTS_PER_CORE", "7.5W", 1);
  ::setenv("DLENERGY_PERF_ROOT", "", 1);
  try {
    SensorOptions::from_environment();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 2u);
    EXPECT_EQ(e.problems()[0], "DLENERGY_PERF_ROOT is set but empty; give a path or unset it");
    EXPECT_EQ(e.problems()[1], "DLENERGY_WATTS_PER_CORE='7.5W' is not a number of watts per core; set it to e.g. 7.5 or unset it");
  }
  ::unsetenv("DLENERGY_PERF_ROOT");
  ::setenv("DLENERGY_WATTS_PER_CORE", "-3", 1);
  try {
    SensorOptions::from_environment();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "DLENERGY_WATTS_PER_CORE = -3 is not a plausible power per busy core; give watts between 0 and 1000, e.g. "
              "7.5 (the default)");
  }
}

}  // namespace
}  // namespace dle::sensors
