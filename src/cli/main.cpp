// dlenergy: measure, learn and estimate the energy of deep-learning layers and networks.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "report/table.hpp"
#include "storage/merge.hpp"

namespace dle::cli {
int exit_status = 0;

void add_format_option(CLI::App& sub, std::string& target, const std::vector<std::string>& choices) {
  target = choices.front();
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
  sub.add_option("--format", target, "Output format: " + list)
      ->check(CLI::IsMember(choices))
      ->capture_default_str();
}

void add_network_flags(CLI::App& sub, std::string& arch, std::string& model, long long& batch_size,
                       const std::string& batch_help) {
  auto* a = sub.add_option("--arch", arch, "Built-in network: alexnet, vgg11, vgg13, vgg16, vgg19");
  auto* m = sub.add_option("--model", model, "Architecture file (.yaml, .yml or .json)");
  a->excludes(m);
  whole_in_range(sub.add_option("--batch-size", batch_size, batch_help)->capture_default_str(), 1, 1LL << 40);
}

CLI::Option* whole_in_range(CLI::Option* option, long long lo, long long hi) {
  return option->check(
      [lo, hi](const std::string& v) {
        char* end = nullptr;
        errno = 0;
        const long long n = std::strtoll(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0')
          return v + " is not a whole number; give one from " + std::to_string(lo) + " to " + std::to_string(hi);
        if (errno == ERANGE || n < lo || n > hi)
          return "Value " + v + " not in range " + std::to_string(lo) + " to " + std::to_string(hi);
        return std::string();
      },
      "whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

CLI::Option* finite_in_range(CLI::Option* option, double lo, double hi) {
  return option->check(
      [lo, hi](const std::string& v) {
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || *end != '\0') return v + " is not a number";
        if (!std::isfinite(d) || d < lo || d > hi)
          return "Value " + v + " not in range " + report::fmt_sig(lo, 6) + " to " + report::fmt_sig(hi, 6);
        return std::string();
      },
      "finite number in [" + report::fmt_sig(lo, 6) + ", " + report::fmt_sig(hi, 6) + "]");
}

CLI::Option* require_nonempty(CLI::Option* option) {
  return option->check(
      [](const std::string& v) { return v.empty() ? std::string("an empty path; give a file name") : std::string(); },
      "non-empty path");
}

void refuse_overwriting_input(const std::string& out, const std::string& out_flag, const std::string& in,
                              const std::string& in_flag) {
  std::error_code ec;
  const bool same = std::filesystem::exists(out, ec) && std::filesystem::exists(in, ec) &&
                    std::filesystem::equivalent(out, in, ec) && !ec;
  if (same)
    throw ConfigError(out_flag + " " + out + " is the file " + in_flag + " " + in +
                      " reads: writing it would replace what it holds; give " + out_flag + " another file name");
}

void refuse_directory_as_file(const std::string& path, const std::string& flag) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(flag + " " + path + " is a directory; give the name of a file (in it, or elsewhere)");
}

storage::Store open_database_to_read(const std::string& path) {
  storage::Store store = storage::Store::open_existing(path);
  const auto marks = storage::unfinished_merges(store);
  constexpr std::size_t kShown = 3;  // an edited database could hold any number
  for (std::size_t i = 0; i < marks.size() && i < kShown; ++i) {
    const auto& m = marks[i];
    std::cerr << "dlenergy: warning: " << path;
    if (m.in_progress()) {
      std::cerr << " is being written by a merge in progress, of " << storage::describe(m)
                << ": it may still lack some runs\n";
      continue;
    }
    std::cerr << " is the output of a merge that did not finish, of " << storage::describe(m)
              << ": it holds whole runs but may lack some; ";
    const bool inputs_there = std::any_of(m.inputs.begin(), m.inputs.end(), [](const auto& in) {
      std::error_code ec;
      return std::filesystem::exists(in.path, ec);
    });
    if (inputs_there)
      std::cerr << "run that merge again (into " << path << ") to complete it\n";
    else
      std::cerr << "its inputs are not where they were, so it cannot be run again: if " << path
                << " holds what you need, `dlenergy merge " << path << " --forget-unfinished` removes this mark\n";
  }
  if (marks.size() > kShown)
    std::cerr << "dlenergy: warning: " << path << ": and " << (marks.size() - kShown)
              << " more merges that did not finish\n";
  return store;
}
}  // namespace dle::cli

int main(int argc, char** argv) {
  CLI::App app{"Measure, learn and estimate the energy of deep-learning layers and networks."};
  app.name("dlenergy");
  app.require_subcommand(1, 1);
  app.fallthrough(false);
  dle::cli::setup_version(app);
  dle::cli::setup_inspect(app);
  dle::cli::setup_collect(app);
  dle::cli::setup_sensors(app);
  dle::cli::setup_measure(app);
  dle::cli::setup_idle(app);
  dle::cli::setup_import(app);
  dle::cli::setup_export(app);
  dle::cli::setup_merge(app);
  dle::cli::setup_analyze(app);
  dle::cli::setup_fit(app);
  dle::cli::setup_estimate(app);
  dle::cli::setup_validate(app);
  // An unknown command is named (CLI11 alone would say only that a subcommand is required).
  const auto subcommands = app.get_subcommands([](CLI::App*) { return true; });
  const auto known = [&](const std::string& name) {
    return std::any_of(subcommands.begin(), subcommands.end(), [&](const CLI::App* s) { return s->get_name() == name; });
  };
  if (argc >= 2 && argv[1][0] != '-' && !known(argv[1])) {
    std::string names;
    for (const auto* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();
    std::cerr << "dlenergy: unknown command '" << argv[1] << "'; commands: " << names
              << " (dlenergy --help describes them)\n";
    return static_cast<int>(dle::ExitCode::kUsage);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : static_cast<int>(dle::ExitCode::kUsage);
  } catch (const dle::Error& e) {
    std::cerr << "dlenergy: error: " << e.what() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "dlenergy: internal error: " << e.what() << "\n";
    return static_cast<int>(dle::ExitCode::kInternal);
  }
  // Output that never reached its file (a full disk, a closed pipe) is a failure, not a success with a truncated
  // report; each command's own files are checked where it writes them.
  std::cout.flush();
  if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    std::cerr << "dlenergy: error: could not write all of the output to standard output (disk full, or the reader "
                 "went away); what was written is incomplete\n";
    return static_cast<int>(dle::ExitCode::kStorage);
  }
  return dle::cli::exit_status;
}
