// Runs the built dlenergy (DLENERGY_BIN) against fake sysfs trees and the fake NVML library.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fake_tree.hpp"

namespace dle::sensors {
namespace {

using nlohmann::json;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Quotes one shell word.
std::string q(const std::string& word) {
  std::string s = "'";
  for (char c : word) s += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return s + "'";
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("DLENERGY_BIN");
    ASSERT_NE(bin, nullptr) << "DLENERGY_BIN is not set; run through ctest";
    bin_ = bin;
    ASSERT_TRUE(std::filesystem::exists(bin_)) << bin_ << " is not built; make dlenergy";
  }

  // Runs `dlenergy ARGS` with an environment prefix (e.g. "FAKE_NVML_STATE=... "); captures both streams.
  Result run(const std::string& args, const std::string& env = "") {
    const std::string err_path = tmp_.path() + "/stderr";
    const std::string cmd = "env -u DLENERGY_POWERCAP_ROOT -u DLENERGY_PERF_ROOT -u DLENERGY_NVML_LIBRARY -u "
                            "DLENERGY_WATTS_PER_CORE " + env + " " + q(bin_) + " " + args + " 2>" + q(err_path);
    Result r;
    FILE* pipe = ::popen(cmd.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
    const int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(err_path);
    std::stringstream ss;
    ss << err.rdbuf();
    r.err = ss.str();
    return r;
  }

  static json sensor_named(const json& doc, const std::string& name) {
    for (const auto& s : doc.at("sensors"))
      if (s.at("name") == name) return s;
    ADD_FAILURE() << "no sensor " << name;
    return json::object();
  }

  std::string no_counter_flags() const {
    return "--powercap-root " + q(tmp_.path()) + " --perf-root " + q(tmp_.path()) +
           " --nvml-library /nonexistent/libnvidia-ml.so.1";
  }

  std::string bin_;
  testing::TempDir tmp_;
};

TEST_F(Cli, SensorsJsonOnAMachineWithoutCounters) {
  const Result r = run("sensors --format json " + no_counter_flags());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  ASSERT_EQ(doc.at("sensors").size(), 4u);
  const json rapl = sensor_named(doc, "rapl");
  EXPECT_EQ(rapl.at("available"), false);
  EXPECT_EQ(rapl.at("reason"), "no powercap zones under " + tmp_.path() +
                                   " (no intel-rapl:*): this machine or VM exposes no RAPL (on bare metal, check "
                                   "that the intel_rapl_msr kernel module is loaded)");
  EXPECT_EQ(rapl.at("domains"), json::array());
  EXPECT_TRUE(rapl.at("resolution_j").is_null());
  const json perf = sensor_named(doc, "perf");
  EXPECT_EQ(perf.at("available"), false);
  EXPECT_EQ(perf.at("reason").get<std::string>().rfind("no `power` PMU under " + tmp_.path(), 0), 0u);
  const json nvml = sensor_named(doc, "nvml");
  EXPECT_EQ(nvml.at("available"), false);
  EXPECT_EQ(nvml.at("reason").get<std::string>().rfind("cannot load /nonexistent/libnvidia-ml.so.1", 0), 0u);
  const json est = sensor_named(doc, "estimated");
  EXPECT_EQ(est.at("available"), true);
  EXPECT_EQ(est.at("estimated"), true);
  EXPECT_EQ(est.at("domains"), json::array({"cpu"}));
  EXPECT_DOUBLE_EQ(est.at("resolution_j").get<double>(), 7.5e-6);
  EXPECT_EQ(est.at("assumptions").get<std::string>().rfind("NOT a measurement", 0), 0u);
}

// A path the user gave that is wrong is named as such, not taken for a machine without the hardware.
TEST_F(Cli, SensorPathsThatAreWrongAreNamedAsWrongPaths) {
  const std::string fake = tmp_.path() + "/libfake.so";
  std::ofstream(fake) << "not a shared library\n";
  const Result r = run("sensors --format json --powercap-root " + q(tmp_.path() + "/missing") + " --perf-root " +
                       q(tmp_.path()) + " --nvml-library " + q(fake));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(sensor_named(doc, "rapl").at("reason"),
            "the powercap root " + tmp_.path() + "/missing does not exist or is not a directory; check "
            "--powercap-root or DLENERGY_POWERCAP_ROOT (default /sys/class/powercap)");
  const std::string nvml = sensor_named(doc, "nvml").at("reason");
  EXPECT_NE(nvml.find(fake + " exists but is not a loadable NVML library"), std::string::npos) << nvml;
  EXPECT_EQ(nvml.find("not installed"), std::string::npos) << nvml;
}

TEST_F(Cli, SensorsJsonWithFakeRaplAndFakeNvml) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 1000);
  tree.add_zone("intel-rapl:0:0", "dram", 65712999613ULL, 0);
  tree.add_zone("intel-rapl:1", "package-1", 262143328850ULL, 2000);
  const std::string state = tmp_.path() + "/nvml-state";
  testing::write_file(state, "count 2\nenergy_supported.1 0\npower_mw.1 1000\n");
  const Result r = run("sensors --format json --powercap-root " + q(tree.root()) + " --perf-root " + q(tmp_.path()) +
                           " --nvml-library " + q(DLE_FAKE_NVML) + " --watts-per-core 10",
                       "FAKE_NVML_STATE=" + q(state));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  const json rapl = sensor_named(doc, "rapl");
  EXPECT_EQ(rapl.at("available"), true);
  EXPECT_EQ(rapl.at("reason"), "3 zone(s), 2 in the total; wraparound poll every 1 s");
  EXPECT_EQ(rapl.at("domains"), json::array({"package-0", "package-0/dram", "package-1"}));
  EXPECT_EQ(rapl.at("estimated"), false);
  EXPECT_DOUBLE_EQ(rapl.at("resolution_j").get<double>(), 1e-6);
  EXPECT_DOUBLE_EQ(rapl.at("update_interval_s").get<double>(), 0.001);
  const json nvml = sensor_named(doc, "nvml");
  EXPECT_EQ(nvml.at("available"), true);
  EXPECT_EQ(nvml.at("domains"), json::array({"gpu-0", "gpu-1"}));
  EXPECT_EQ(nvml.at("reason"), "2 GPU(s): gpu-0 energy counter, gpu-1 power sampling");
  EXPECT_DOUBLE_EQ(sensor_named(doc, "estimated").at("resolution_j").get<double>(), 10e-6);
}

TEST_F(Cli, SensorsTableLabelsEstimatedAndPrintsAssumptions) {
  const Result r = run("sensors " + no_counter_flags());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rapl: no powercap zones under"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("assumptions of estimated: NOT a measurement"), std::string::npos) << r.out;
}

TEST_F(Cli, RaplZoneStuckAtZeroIsUnavailableAndAutoFallsBack) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 0);
  Result r = run("sensors --format json --powercap-root " + q(tree.root()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json rapl = sensor_named(json::parse(r.out), "rapl");
  EXPECT_EQ(rapl.at("available"), false);
  EXPECT_NE(rapl.at("reason").get<std::string>().find("reads 0 uJ and did not advance in 0.1 s"), std::string::npos);
  r = run("measure --format json --powercap-root " + q(tree.root()) + " --perf-root " + q(tmp_.path()) + " -- true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out).at("sensor"), "estimated");
}

TEST_F(Cli, MeasureRaplAcrossAWrapAndPassesTheExitCodeThrough) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 262143000000ULL);
  // The command itself advances the counter past the wrap (atomically, as the kernel would) and exits 3.
  const std::string energy = tree.root() + "/intel-rapl:0/energy_uj";
  const std::string script = "echo 5000000 > " + q(energy + ".new") + " && mv " + q(energy + ".new") + " " + q(energy) + "; exit 3";
  const Result r = run("measure --sensor rapl --format json --powercap-root " + q(tree.root()) + " -- sh -c " + q(script));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc.at("sensor"), "rapl");
  EXPECT_EQ(doc.at("estimated"), false);
  ASSERT_EQ(doc.at("domains").size(), 1u);
  EXPECT_EQ(doc.at("domains")[0].at("name"), "package-0");
  EXPECT_NEAR(doc.at("domains")[0].at("energy_j").get<double>(), 5.32885, 1e-9);
  EXPECT_NEAR(doc.at("total_energy_j").get<double>(), 5.32885, 1e-9);
  EXPECT_GT(doc.at("duration_s").get<double>(), 0.0);
  EXPECT_EQ(doc.at("exit_status"), 3);
  EXPECT_EQ(doc.at("command"), json::array({"sh", "-c", script}));
}

TEST_F(Cli, MeasureEstimatedPassesTheExitCodeThroughAndIsLabelled) {
  const Result r = run("measure --sensor estimated --format json " + no_counter_flags() + " -- sh -c 'exit 3'");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc.at("sensor"), "estimated");
  EXPECT_EQ(doc.at("estimated"), true);
  EXPECT_EQ(doc.at("domains")[0].at("name"), "cpu");
  EXPECT_GE(doc.at("total_energy_j").get<double>(), 0.0);
  EXPECT_EQ(doc.at("assumptions").get<std::string>().rfind("NOT a measurement", 0), 0u);
}

TEST_F(Cli, MeasureAutoWithoutCountersUsesEstimatedAndTheTableSaysSo) {
  const Result r = run("measure " + no_counter_flags() + " -- true");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sensor: estimated (estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("auto skipped rapl: no powercap zones"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("energy_j (estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("assumptions: NOT a measurement"), std::string::npos) << r.out;
}

TEST_F(Cli, MeasureACommandThatCannotRunExits127LikeAShell) {
  const Result r = run("measure --sensor estimated -- /nonexistent/command arg");
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot execute '/nonexistent/command': No such file or directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(Cli, MeasureReportsAKilledCommandAs128PlusTheSignal) {
  const Result r = run("measure --sensor estimated --format json -- sh -c 'kill -TERM $$'");
  EXPECT_EQ(r.exit_code, 128 + 15) << r.err;
  EXPECT_EQ(json::parse(r.out).at("exit_status"), 143);
}

TEST_F(Cli, IdleOnAStillFakeCounterIsZeroWatts) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 1000);
  const Result r = run("idle --seconds 0.2 --sensor rapl --format json --powercap-root " + q(tree.root()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json doc = json::parse(r.out);
  EXPECT_EQ(doc.at("sensor"), "rapl");
  EXPECT_GE(doc.at("duration_s").get<double>(), 0.2);
  EXPECT_EQ(doc.at("domains")[0].at("name"), "package-0");
  EXPECT_DOUBLE_EQ(doc.at("domains")[0].at("power_w").get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(doc.at("total_power_w").get<double>(), 0.0);
}

TEST_F(Cli, IdleNeedsPositiveSeconds) {
  EXPECT_EQ(run("idle --seconds 0 --sensor estimated").exit_code, 2);
  EXPECT_EQ(run("idle --sensor estimated").exit_code, 2);
}

// A bad flag is a usage error (2); a bad environment variable is bad input (3).
TEST_F(Cli, UnknownSensorAndBadWattsAreUsageOrConfigErrors) {
  Result r = run("measure --sensor rpal -- true");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown sensor 'rpal'; valid names: auto, rapl, perf, nvml, estimated"), std::string::npos) << r.err;
  r = run("sensors", "DLENERGY_WATTS_PER_CORE=lots");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("DLENERGY_WATTS_PER_CORE='lots' is not a number of watts per core"), std::string::npos) << r.err;
  r = run("sensors --watts-per-core -2");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--watts-per-core = -2 is not a plausible power per busy core"), std::string::npos) << r.err;
  r = run("idle --seconds nan --sensor estimated");  // NaN is not inside any range
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--seconds: Value nan not in range 0.001 to 86400"), std::string::npos) << r.err;
  r = run("idle --seconds 1 --sensor bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown sensor 'bogus'"), std::string::npos) << r.err;
}

TEST_F(Cli, FlagsOverrideTheEnvironment) {
  testing::FakePowercap tree;
  tree.add_zone("intel-rapl:0", "package-0", 262143328850ULL, 1000);
  const Result r = run("sensors --format json --powercap-root " + q(tree.root()),
                       "DLENERGY_POWERCAP_ROOT=" + q(tmp_.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(sensor_named(json::parse(r.out), "rapl").at("available"), true);
  const Result from_env = run("sensors --format json", "DLENERGY_POWERCAP_ROOT=" + q(tree.root()));
  EXPECT_EQ(sensor_named(json::parse(from_env.out), "rapl").at("available"), true);
}

TEST_F(Cli, MeasureWritesTheReportToAFileWhenAsked) {
  const std::string report = tmp_.path() + "/report.json";
  const Result r = run("measure --sensor estimated --format json -o " + q(report) + " -- echo hello");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");  // only the command's own output on stdout
  std::ifstream in(report);
  const json doc = json::parse(in);
  EXPECT_EQ(doc.at("command"), json::array({"echo", "hello"}));
}

// The report file is written after the command: a command that cannot start leaves an earlier report as it was.
// A failed write is an error (exit 6), not a lost report.
TEST_F(Cli, MeasureKeepsAnEarlierReportWhenNothingWasMeasuredAndReportsAFailedWrite) {
  const std::string report = tmp_.path() + "/kept.txt";
  std::ofstream(report) << "earlier report\n";
  const Result r = run("measure --sensor estimated -o " + q(report) + " -- /nonexistent/command");
  EXPECT_EQ(r.exit_code, 127);
  std::ifstream in(report);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "earlier report");
  if (std::filesystem::exists("/dev/full")) {
    const Result full = run("measure --sensor estimated -o /dev/full -- true");
    EXPECT_EQ(full.exit_code, 6);
    EXPECT_NE(full.err.find("writing the report to /dev/full failed"), std::string::npos) << full.err;
  }
}

// SIGTERM to measure (timeout, a batch system cancelling the job) goes to the command; the measurement of the
// command so far is still reported, with the command's status 143, and no command is left running.
TEST_F(Cli, MeasureForwardsSigtermToTheCommandAndStillReports) {
  const std::string report = tmp_.path() + "/term.json";
  const std::string marker = tmp_.path() + "/still-running";
  const Result r = run("measure --sensor estimated --format json -o " + q(report) + " -- sh -c 'sleep 2; touch " +
                           q(marker) + "' & m=$!; sleep 0.5; kill -TERM $m; wait $m; echo \"measure $?\"",
                       "");
  EXPECT_NE(r.out.find("measure 143"), std::string::npos) << r.out << r.err;
  std::ifstream in(report);
  const json doc = json::parse(in);
  EXPECT_EQ(doc.at("exit_status"), 143);
  ::sleep(3);  // had the command been left running, it would have created the marker by now
  EXPECT_FALSE(std::filesystem::exists(marker));
}

}  // namespace
}  // namespace dle::sensors
