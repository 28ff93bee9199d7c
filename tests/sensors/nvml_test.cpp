#include "sensors/nvml.hpp"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/errors.hpp"
#include "fake_tree.hpp"

namespace dle::sensors {
namespace {

// Points FAKE_NVML_STATE at a state file for the test's lifetime; keeps the fake library loaded so its
// init counter survives the sensor's dlclose.
class FakeNvml : public ::testing::Test {
 protected:
  void SetUp() override {
    state_path_ = dir_.path() + "/nvml-state";
    ::setenv("FAKE_NVML_STATE", state_path_.c_str(), 1);
    handle_ = ::dlopen(DLE_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle_, nullptr) << ::dlerror();
  }
  void TearDown() override {
    ::unsetenv("FAKE_NVML_STATE");
    if (handle_) ::dlclose(handle_);
  }
  void write_state(const std::string& text) { testing::write_file(state_path_, text); }
  int live_inits() {
    auto f = reinterpret_cast<int (*)()>(::dlsym(handle_, "fake_nvml_live_inits"));
    return f ? f() : -1;
  }
  NvmlConfig config(double* now_s = nullptr) {
    NvmlConfig c;
    c.library = DLE_FAKE_NVML;
    c.background_sampling = false;
    if (now_s) c.clock = [now_s] { return *now_s; };
    return c;
  }

  testing::TempDir dir_;
  std::string state_path_;
  void* handle_ = nullptr;
};

TEST_F(FakeNvml, EnergyCounterPathReportsMillijoulesAsJoules) {
  write_state("count 2\nenergy_mj.0 1000\nenergy_mj.1 5000\npower_mw.0 1\npower_mw.1 1\n");
  NvmlSensor sensor(config());
  EXPECT_EQ(sensor.domains(), (std::vector<std::string>{"gpu-0", "gpu-1"}));
  EXPECT_EQ(sensor.uses_energy_counter(), (std::vector<bool>{true, true}));
  EXPECT_DOUBLE_EQ(sensor.resolution_j(), 0.001);
  EXPECT_TRUE(sensor.assumptions().empty());
  auto window = sensor.start();
  write_state("count 2\nenergy_mj.0 4500\nenergy_mj.1 5000\npower_mw.0 1\npower_mw.1 1\n");
  const Reading r = window->stop();
  ASSERT_EQ(r.domains.size(), 2u);
  EXPECT_DOUBLE_EQ(r.domains[0].energy_j, 3.5);
  EXPECT_DOUBLE_EQ(r.domains[1].energy_j, 0.0);
  EXPECT_DOUBLE_EQ(r.total_j(), 3.5);
}

TEST_F(FakeNvml, PowerIntegrationPathUsesTheTrapezoidalRule) {
  write_state("count 1\nenergy_supported.0 0\npower_mw.0 100000\n");
  double now_s = 0.0;
  NvmlSensor sensor(config(&now_s));
  EXPECT_EQ(sensor.uses_energy_counter(), (std::vector<bool>{false}));
  EXPECT_NE(sensor.assumptions().find("gpu-0: no energy counter; energy integrated from nvmlDeviceGetPowerUsage"), std::string::npos);
  auto window = sensor.start();  // sample: 100 W at t = 0
  write_state("count 1\nenergy_supported.0 0\npower_mw.0 300000\n");
  now_s = 1.0;
  sensor.sample();  // 300 W at t = 1: (100 + 300) / 2 * 1 s = 200 J
  now_s = 2.0;
  const Reading r = window->stop();  // 300 W at t = 2: + 300 J
  EXPECT_DOUBLE_EQ(r.duration_s, 2.0);
  ASSERT_EQ(r.domains.size(), 1u);
  EXPECT_EQ(r.domains[0].name, "gpu-0");
  EXPECT_DOUBLE_EQ(r.domains[0].energy_j, 500.0);
}

TEST_F(FakeNvml, MixedGpusUseTheirOwnPath) {
  write_state("count 2\nenergy_mj.0 0\nenergy_supported.1 0\npower_mw.1 50000\n");
  double now_s = 10.0;
  NvmlSensor sensor(config(&now_s));
  EXPECT_EQ(sensor.uses_energy_counter(), (std::vector<bool>{true, false}));
  auto window = sensor.start();
  write_state("count 2\nenergy_mj.0 2000\nenergy_supported.1 0\npower_mw.1 50000\n");
  now_s = 14.0;
  const Reading r = window->stop();
  EXPECT_DOUBLE_EQ(r.domains[0].energy_j, 2.0);
  EXPECT_DOUBLE_EQ(r.domains[1].energy_j, 200.0);  // 50 W for 4 s
  EXPECT_DOUBLE_EQ(r.total_j(), 202.0);
}

TEST_F(FakeNvml, InitAndShutdownAreBalanced) {
  write_state("count 1\nenergy_mj.0 0\n");
  {
    NvmlSensor sensor(config());
    EXPECT_EQ(live_inits(), 1);
  }
  EXPECT_EQ(live_inits(), 0);
}

TEST_F(FakeNvml, DriverNotLoadedIsUnavailableWithNvmlsOwnText) {
  write_state("init_error 9\n");
  SensorOptions o;
  o.nvml_library = DLE_FAKE_NVML;
  const Probe p = probe_nvml(o);
  EXPECT_FALSE(p.available);
  EXPECT_NE(p.reason.find("nvmlInit_v2 failed in " + std::string(DLE_FAKE_NVML) + ": Driver Not Loaded (code 9)"), std::string::npos) << p.reason;
}

TEST_F(FakeNvml, NoGpuIsUnavailable) {
  write_state("count 0\n");
  SensorOptions o;
  o.nvml_library = DLE_FAKE_NVML;
  const Probe p = probe_nvml(o);
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, "NVML (" + std::string(DLE_FAKE_NVML) + ") sees no NVIDIA GPU");
}

TEST_F(FakeNvml, ProbeNamesEachGpusPath) {
  write_state("count 2\nenergy_supported.1 0\npower_mw.1 1\n");
  SensorOptions o;
  o.nvml_library = DLE_FAKE_NVML;
  const Probe p = probe_nvml(o);
  EXPECT_TRUE(p.available);
  EXPECT_EQ(p.reason, "2 GPU(s): gpu-0 energy counter, gpu-1 power sampling");
}

TEST(Nvml, MissingLibraryTellsHowToPointAtOne) {
  SensorOptions o;
  o.nvml_library = "/nonexistent/libnvidia-ml.so.1";
  const Probe p = probe_nvml(o);
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason.rfind("cannot load /nonexistent/libnvidia-ml.so.1 (", 0), 0u) << p.reason;
  EXPECT_NE(p.reason.find("pass --nvml-library FILE or set DLENERGY_NVML_LIBRARY"), std::string::npos) << p.reason;
}

TEST(Nvml, ALibraryThatIsNotNvmlIsNamed) {
  SensorOptions o;
  o.nvml_library = "libm.so.6";
  const Probe p = probe_nvml(o);
  EXPECT_FALSE(p.available);
  EXPECT_EQ(p.reason, "libm.so.6 does not export nvmlInit_v2: not an NVML library, or a driver older than 418");
}

// On a machine with an NVIDIA GPU (and driver), the real library; skipped elsewhere with the probe's reason.
TEST(NvmlHardware, RealGpuReportsNonNegativeEnergy) {
  SensorOptions o;
  const Probe p = probe_nvml(o);
  if (!p.available) GTEST_SKIP() << p.reason;
  NvmlConfig c;
  NvmlSensor sensor(c);
  auto window = sensor.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // several of the driver's ~0.1 s updates
  const Reading r = window->stop();
  ASSERT_EQ(r.domains.size(), sensor.domains().size());
  for (const auto& d : r.domains) {
    EXPECT_GT(d.energy_j, 0.0) << d.name;  // a powered GPU never draws 0 W for half a second
    // A GPU draws between idle (tens of W) and about 1 kW; the window's energy must fit that at any length.
    EXPECT_LE(d.energy_j, 1000.0 * r.duration_s + 1.0) << d.name;
  }
  std::printf("nvml on this machine: %s; %zu GPU(s), total %.4f J over %.4f s\n", p.reason.c_str(), r.domains.size(),
              r.total_j(), r.duration_s);
}

TEST_F(FakeNvml, ForcedPowerSamplingIgnoresTheCounter) {
  write_state("count 1\nenergy_mj.0 0\npower_mw.0 40000\n");
  double now_s = 0.0;
  NvmlConfig c = config(&now_s);
  c.force_power_sampling = true;
  NvmlSensor sensor(c);
  EXPECT_EQ(sensor.uses_energy_counter(), (std::vector<bool>{false}));
  auto window = sensor.start();
  write_state("count 1\nenergy_mj.0 999000\npower_mw.0 40000\n");
  now_s = 0.5;
  EXPECT_DOUBLE_EQ(window->stop().total_j(), 20.0);  // 40 W x 0.5 s, not the counter's 999 J
}

// On a real GPU with an energy counter, the two paths over the same window must roughly agree.
TEST(NvmlHardware, PowerIntegrationAgreesWithTheEnergyCounter) {
  const Probe p = probe_nvml(SensorOptions{});
  if (!p.available) GTEST_SKIP() << p.reason;
  NvmlSensor counter{NvmlConfig{}};
  for (bool has : counter.uses_energy_counter())
    if (!has) GTEST_SKIP() << "a GPU here has no energy counter to compare with: " << p.reason;
  NvmlConfig sampled_config;
  sampled_config.force_power_sampling = true;
  NvmlSensor sampled(sampled_config);
  auto a = counter.start();
  auto b = sampled.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const Reading rb = b->stop();
  const Reading ra = a->stop();
  for (size_t i = 0; i < ra.domains.size(); ++i) {
    const double ea = ra.domains[i].energy_j, eb = rb.domains[i].energy_j;
    std::printf("%s over 2 s: energy counter %.3f J (%.2f W), power integration %.3f J (%.2f W)\n",
                ra.domains[i].name.c_str(), ea, ea / ra.duration_s, eb, eb / rb.duration_s);
    EXPECT_GT(ea, 0.0);
    EXPECT_NEAR(eb / ea, 1.0, 0.3) << ra.domains[i].name;  // idle power is steady; 30 % allows update lag
  }
}

}  // namespace
}  // namespace dle::sensors
