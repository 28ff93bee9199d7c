#pragma once
// Each subcommand lives in its own file with a setup_<name>(CLI::App&) that adds it and its flags; the
// subcommand runs from its callback. Errors are thrown as dle::Error and mapped to exit codes by main.
#include <string>
#include <vector>

#include "storage/store.hpp"

namespace CLI {
class App;
class Option;
}
namespace dle::sensors {
struct SensorOptions;
}
namespace dle::predict {
struct DatabaseTrainingData;
}

namespace dle::cli {

// A callback that must end the process with a given status without an error (measure passes its child's
// exit code through) sets this; main returns it.
extern int exit_status;

void setup_version(CLI::App& app);
void setup_inspect(CLI::App& app);
// Added by later work, one line each:
void setup_estimate(CLI::App& app);
void setup_validate(CLI::App& app);
void setup_collect(CLI::App& app);
void setup_sensors(CLI::App& app);
void setup_measure(CLI::App& app);
void setup_idle(CLI::App& app);
// Sensor flags shared by sensors, measure and idle (cmd_sensors.cpp): --powercap-root, --perf-root,
// --nvml-library, --watts-per-core. sensor_options_from() = SensorOptions::from_environment() with the flags
// given on `sub`'s command line applied over it.
struct SensorFlags {
  std::string powercap_root, perf_root, nvml_library;
  double watts_per_core = 0.0;
};
void add_sensor_flags(CLI::App& sub, SensorFlags& flags);
sensors::SensorOptions sensor_options_from(const CLI::App& sub, const SensorFlags& flags);
// The flags given on `sub`'s command line, applied over `options` (for commands with their own layering).
void apply_sensor_flags(const CLI::App& sub, const SensorFlags& flags, sensors::SensorOptions& options);
void setup_import(CLI::App& app);
void setup_export(CLI::App& app);
void setup_merge(CLI::App& app);
void setup_analyze(CLI::App& app);
void setup_fit(CLI::App& app);
// Training-data flags shared by analyze and fit (cmd_fit.cpp): --db | --training-sets, --layers, --repeats,
// --include-network-layers. `purpose` completes the help texts ("study", "train on").
struct TrainingDataFlags {
  std::string db, training_sets;
  std::vector<std::string> layers;
  bool include_network_layers = false;
  std::string repeats = "mean";
};
void add_training_data_flags(CLI::App& sub, TrainingDataFlags& flags, const std::string& purpose);
// The training sets the flags name: the paper's CSV directory (only --layers, each of which must have its
// file) or the database's ok layer measurements. ConfigError when neither --db nor --training-sets is given.
predict::DatabaseTrainingData load_training_data(const TrainingDataFlags& flags, const std::string& command);

// Adds "--format" restricted to `choices` (first is the default).
void add_format_option(CLI::App& sub, std::string& target, const std::vector<std::string>& choices);
// Adds the network choice every network command offers: --arch NAME | --model FILE (arch::resolve checks that
// exactly one is given) and --batch-size N (>= 1), described by `batch_help`.
void add_network_flags(CLI::App& sub, std::string& arch, std::string& model, long long& batch_size,
                       const std::string& batch_help);

// A number flag that must be finite and within [lo, hi]: NaN and infinities are usage errors (exit 2), as is a
// value outside the range (CLI11's own Range lets NaN through).
CLI::Option* finite_in_range(CLI::Option* option, double lo, double hi);
// A whole-number flag within [lo, hi]: "abc" or "1.5" is named as not a whole number (exit 2).
CLI::Option* whole_in_range(CLI::Option* option, long long lo, long long hi);
// A sensor flag: one of sensors::sensor_names() ("auto", rapl, perf, nvml, estimated), else a usage error.
CLI::Option* sensor_choice(CLI::Option* option);

// Output paths. An option given as "" is a usage error (exit 2), not a silent fall-back to a default.
CLI::Option* require_nonempty(CLI::Option* option);
// ConfigError when `out` (the file `out_flag` writes) is the file `in_flag` reads, by path or through a link: the
// write would replace the input (a database turned into a predictor file or a CSV).
void refuse_overwriting_input(const std::string& out, const std::string& out_flag, const std::string& in,
                              const std::string& in_flag);
// ConfigError when `path` exists and is a directory: `flag` names a file to write.
void refuse_directory_as_file(const std::string& path, const std::string& flag);

// Opens a database that a command reads (storage::Store::open_existing) and warns on stderr when it is the output
// of a merge that did not finish, naming that merge and how to complete it.
storage::Store open_database_to_read(const std::string& path);

}  // namespace dle::cli
