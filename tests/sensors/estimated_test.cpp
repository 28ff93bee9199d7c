#include "sensors/estimated.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>

#include "core/errors.hpp"

namespace dle::sensors {
namespace {

TEST(Estimated, EnergyIsCpuTimeTimesWattsPerCore) {
  double cpu_s = 10.0, now_s = 100.0;
  EstimatedConfig c;
  c.watts_per_core = 7.5;
  c.cpu_time = [&] { return cpu_s; };
  c.clock = [&] { return now_s; };
  EstimatedSensor sensor(c);
  auto window = sensor.start();
  cpu_s = 12.5;  // 2.5 core-seconds, e.g. two busy threads for 1.25 s
  now_s = 103.0;
  const Reading r = window->stop();
  ASSERT_EQ(r.domains.size(), 1u);
  EXPECT_EQ(r.domains[0].name, "cpu");
  EXPECT_DOUBLE_EQ(r.domains[0].energy_j, 18.75);
  EXPECT_DOUBLE_EQ(r.total_j(), 18.75);
  EXPECT_DOUBLE_EQ(r.duration_s, 3.0);
}

TEST(Estimated, IsLabelledAndStatesItsAssumptions) {
  EstimatedConfig c;
  c.watts_per_core = 12.0;
  EstimatedSensor sensor(c);
  EXPECT_TRUE(sensor.estimated());
  EXPECT_EQ(sensor.name(), "estimated");
  EXPECT_EQ(sensor.domains(), (std::vector<std::string>{"cpu"}));
  const std::string a = sensor.assumptions();
  EXPECT_EQ(a.rfind("NOT a measurement: ", 0), 0u) << a;
  EXPECT_NE(a.find("x 12 W per busy core"), std::string::npos) << a;
  EXPECT_NE(a.find("getrusage"), std::string::npos) << a;
  EXPECT_NE(a.find("default 7.5 W = Intel Xeon Gold 5120, 105 W TDP / 14 cores"), std::string::npos) << a;
  EXPECT_DOUBLE_EQ(sensor.resolution_j(), 12e-6);
}

TEST(Estimated, DefaultIsThePapersCpuPerCore) {
  EXPECT_DOUBLE_EQ(kDefaultWattsPerCore, 7.5);
  EXPECT_DOUBLE_EQ(SensorOptions{}.watts_per_core, 7.5);
  EXPECT_DOUBLE_EQ(EstimatedSensor(EstimatedConfig{}).watts_per_core(), 7.5);
}

TEST(Estimated, NonPositiveWattsAreAConfigError) {
  for (double w : {0.0, -1.0, std::nan("")}) {
    EstimatedConfig c;
    c.watts_per_core = w;
    EXPECT_THROW(EstimatedSensor{c}, ConfigError) << w;
  }
}

// The real source counts a child the process waited for (what `dlenergy measure` relies on).
TEST(Estimated, ProcessCpuTimeIncludesWaitedForChildren) {
  const CpuTimeSource cpu = process_cpu_time_s();
  const double before = cpu();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Burn at least 0.2 s of this child's own CPU time, then exit.
    volatile double sink = 0;
    rusage ru{};
    do {
      for (int i = 0; i < 1000000; ++i) sink = sink + i;
      ::getrusage(RUSAGE_SELF, &ru);
    } while (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) < 0.2);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_GE(cpu() - before, 0.2);
}

}  // namespace
}  // namespace dle::sensors
