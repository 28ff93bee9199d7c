#pragma once
// Each subcommand lives in its own file with a setup_<name>(CLI::App&) that adds it and its flags; the
// subcommand runs from its callback. Errors are thrown as dle::Error and mapped to exit codes by main.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace dle::cli {

// A callback that must end the process with a given status without an error (measure passes its child's
// exit code through) sets this; main returns it.
extern int exit_status;

void setup_version(CLI::App& app);
void setup_inspect(CLI::App& app);
// Added by later work, one line each:
// @@SUBCOMMANDS@@

// Adds "--format" restricted to `choices` (first is the default).
void add_format_option(CLI::App& sub, std::string& target, const std::vector<std::string>& choices);

}  // namespace dle::cli
