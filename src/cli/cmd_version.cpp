#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "core/system_info.hpp"

#ifndef DLENERGY_VERSION
#define DLENERGY_VERSION "unknown"
#endif

namespace dle::cli {

void setup_version(CLI::App& app) {
  auto* sub = app.add_subcommand("version", "Print the version, the active BLAS and the machine.");
  sub->callback([] {
    std::cout << "dlenergy " << DLENERGY_VERSION << "\n"
              << "blas: " << sys::active_blas() << (sys::blas_is_optimised() ? "" : "  [WARNING: reference BLAS; install libopenblas0-pthread, Linear layers run ~18x slower]") << "\n"
              << "cpu: " << sys::cpu_model() << " (" << sys::online_cores() << " cores online)\n"
              << "host: " << sys::hostname() << "\n";
  });
}

}  // namespace dle::cli
