// dlenergy measure: runs any command and reports its energy per domain, duration and average power (like
// `perf stat -e power/...`, for every backend). The command's exit status is passed through.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "report/table.hpp"
#include "sensors/sensor.hpp"

namespace dle::cli {

namespace {

// A shell's status for a command it could not execute.
constexpr int kCannotExecute = 127;

struct MeasureOptions {
  SensorFlags flags;
  std::string sensor = "auto";
  std::string format;
  std::string output;
  std::vector<std::string> command;
};

struct ChildResult {
  int exit_status = 0;
  int exec_errno = 0;  // non-zero: the command could not be executed
};

// The running command, for the SIGTERM handler (0 when none), and a SIGTERM that came before it started.
volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_pending_term = 0;
void forward_to_child(int sig) {
  if (g_child > 0)
    ::kill(static_cast<pid_t>(g_child), sig);
  else
    g_pending_term = 1;
}

// RAII: the parent ignores SIGINT and SIGQUIT while the child runs (as system(3) does), so Ctrl-C stops the
// command, not the measurement of it, and the report and exit status still come out. SIGTERM (timeout, a batch
// system cancelling the job) is sent to the command too, instead of ending the measurement and leaving the
// command running without a parent.
class IgnoreInterrupts {
 public:
  IgnoreInterrupts() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGINT, &ignore, &old_int_);
    sigaction(SIGQUIT, &ignore, &old_quit_);
    struct sigaction forward {};
    forward.sa_handler = forward_to_child;
    sigemptyset(&forward.sa_mask);
    sigaction(SIGTERM, &forward, &old_term_);
  }
  ~IgnoreInterrupts() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGQUIT, &old_quit_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_child = 0;
    g_pending_term = 0;
  }
  const struct sigaction& old_int() const { return old_int_; }
  const struct sigaction& old_quit() const { return old_quit_; }
  const struct sigaction& old_term() const { return old_term_; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_quit_ {};
  struct sigaction old_term_ {};
};

ChildResult run_child(const std::vector<std::string>& command, const IgnoreInterrupts& signals) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // The child reports a failed exec through a close-on-exec pipe: EOF means exec succeeded.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("measure: pipe2 failed: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error(std::string("measure: fork failed: ") + std::strerror(err) + "; the system is out of processes or memory");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on (the parent may have a poller thread).
    sigaction(SIGINT, &signals.old_int(), nullptr);
    sigaction(SIGQUIT, &signals.old_quit(), nullptr);
    sigaction(SIGTERM, &signals.old_term(), nullptr);
    ::close(fds[0]);
    ::execvp(argv[0], argv.data());
    const int err = errno;
    ssize_t ignored = ::write(fds[1], &err, sizeof err);
    (void)ignored;
    ::_exit(kCannotExecute);
  }
  ::close(fds[1]);
  g_child = pid;
  if (g_pending_term) ::kill(pid, SIGTERM);  // asked to stop before the command had started
  ChildResult result;
  int err = 0;
  ssize_t n;
  do {
    n = ::read(fds[0], &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof err)) result.exec_errno = err;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw Error(std::string("measure: waitpid failed: ") + std::strerror(errno));
  }
  if (WIFEXITED(status))
    result.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.exit_status = 128 + WTERMSIG(status);  // as a shell reports a command killed by a signal
  return result;
}

std::string joined(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : " ") + w;
  return s;
}

nlohmann::ordered_json to_json(const MeasureOptions& o, const sensors::Sensor& sensor, const sensors::Reading& r,
                       int exit_status, const std::vector<std::string>& notes) {
  nlohmann::ordered_json domains = nlohmann::ordered_json::array();
  for (const auto& d : r.domains) domains.push_back({{"name", d.name}, {"energy_j", d.energy_j}});
  const double total = r.total_j();
  nlohmann::ordered_json j;
  j["sensor"] = sensor.name();
  j["estimated"] = sensor.estimated();
  j["duration_s"] = r.duration_s;
  j["domains"] = domains;
  j["total_energy_j"] = total;
  j["total_domains"] = r.top_level;
  j["average_power_w"] = r.duration_s > 0 ? nlohmann::ordered_json(total / r.duration_s) : nlohmann::ordered_json();
  j["command"] = o.command;
  j["exit_status"] = exit_status;
  j["assumptions"] = sensor.assumptions();
  j["sensor_notes"] = notes;
  return j;
}

void write_table(std::ostream& out, const MeasureOptions& o, const sensors::Sensor& sensor, const sensors::Reading& r,
                 int exit_status, const std::vector<std::string>& notes) {
  const std::string label = sensor.estimated() ? "estimated" : "measured";
  out << "sensor: " << sensor.name() << " (" << label << ")\n";
  for (const auto& n : notes) out << "  auto skipped " << n << "\n";
  out << "command: " << joined(o.command) << "  (exit status " << exit_status << ")\n\n";
  report::Table t({"domain", "energy_j (" + label + ")", "average_power_w (" + label + ")", "in total"});
  t.align_right({1, 2});
  for (const auto& d : r.domains) {
    const bool in_total = r.top_level.empty() ||
                          std::find(r.top_level.begin(), r.top_level.end(), d.name) != r.top_level.end();
    t.add_row({d.name, report::fmt_sig(d.energy_j, 6), r.duration_s > 0 ? report::fmt_sig(d.energy_j / r.duration_s, 4) : "-",
               in_total ? "yes" : "no (nested or overlapping)"});
  }
  t.write_text(out);
  const double total = r.total_j();
  out << "\ntotal_energy_j: " << report::fmt_sig(total, 6) << " J (" << label << ")\n"
      << "duration_s: " << report::fmt_sig(r.duration_s, 6) << " s (measured, steady clock)\n";
  if (r.duration_s > 0) out << "average_power_w: " << report::fmt_sig(total / r.duration_s, 4) << " W (" << label << ")\n";
  if (!sensor.assumptions().empty()) out << "assumptions: " << sensor.assumptions() << "\n";
}

void run_measure(const CLI::App& sub, const MeasureOptions& o) {
  const sensors::SensorOptions options = sensor_options_from(sub, o.flags);
  std::vector<std::string> notes;
  const auto sensor = sensors::open_sensor(o.sensor, options, &notes);

  // The report file is written after the command, so that a command that fails to start, or a measurement that
  // is stopped, leaves an earlier report in place; whether it can be written is checked before the command runs.
  if (!o.output.empty()) {
    refuse_directory_as_file(o.output, "--output");
    namespace fs = std::filesystem;
    const fs::path parent = fs::path(o.output).has_parent_path() ? fs::path(o.output).parent_path() : fs::path(".");
    if (::access(o.output.c_str(), W_OK) != 0 && (errno != ENOENT || ::access(parent.c_str(), W_OK) != 0))
      throw StorageError("cannot write the report to " + o.output + "; check the directory exists and is writable");
  }
  std::ostringstream report;
  std::ostream& out = o.output.empty() ? static_cast<std::ostream&>(std::cout) : report;
  std::cout.flush();  // nothing of ours may be buffered twice across fork

  ChildResult child;
  sensors::Reading reading;
  {
    IgnoreInterrupts guard;
    auto window = sensor->start();
    child = run_child(o.command, guard);
    reading = window->stop();
  }
  if (child.exec_errno != 0) {
    std::cerr << "dlenergy: error: cannot execute '" << o.command.front() << "': " << std::strerror(child.exec_errno)
              << "; check the command name, PATH and permissions (nothing was measured)\n";
    exit_status = kCannotExecute;
    return;
  }
  if (o.format == "json")
    out << to_json(o, *sensor, reading, child.exit_status, notes).dump(2) << "\n";
  else
    write_table(out, o, *sensor, reading, child.exit_status, notes);
  out.flush();
  if (!o.output.empty()) {
    std::ofstream file(o.output, std::ios::binary | std::ios::trunc);
    file << report.str();
    file.close();
    if (!file)
      throw StorageError("writing the report to " + o.output + " failed (disk full?); the file is incomplete");
  }
  exit_status = child.exit_status;
}

}  // namespace

void setup_measure(CLI::App& app) {
  auto opts = std::make_shared<MeasureOptions>();
  auto* sub = app.add_subcommand("measure", "Run a command and report its energy per domain, duration and average power.");
  sensor_choice(sub->add_option("--sensor", opts->sensor, "Sensor: auto, rapl, perf, nvml, estimated")->capture_default_str());
  add_format_option(*sub, opts->format, {"table", "json"});
  require_nonempty(sub->add_option("-o,--output", opts->output, "Write the report to FILE instead of standard output"));
  add_sensor_flags(*sub, opts->flags);
  sub->add_option("command", opts->command, "The command and its arguments, after --")->required();
  sub->footer("Example: dlenergy measure --sensor rapl -- python3 train.py --epochs 1");
  sub->callback([opts, sub] { run_measure(*sub, *opts); });
}

}  // namespace dle::cli
