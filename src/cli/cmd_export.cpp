#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "cli/commands.hpp"
#include "core/errors.hpp"
#include "storage/export.hpp"
#include "storage/store.hpp"

namespace dle::cli {

namespace {
struct ExportOptions {
  std::string db;
  std::string format;
  std::string out;
  bool ok_only = false;
};

void run_export(const ExportOptions& o) {
  if (!o.out.empty() && o.out != "-") {
    refuse_directory_as_file(o.out, "--out");
    refuse_overwriting_input(o.out, "--out", o.db, "--db");
  }
  const auto store = open_database_to_read(o.db);
  storage::MeasurementFilter filter;
  filter.include_skipped = !o.ok_only;
  const auto ms = store.measurements(filter);
  auto write = [&](std::ostream& out) {
    if (o.format == "json")
      storage::write_measurements_json(out, ms);
    else
      storage::write_measurements_csv(out, ms);
  };
  if (o.out.empty() || o.out == "-") {
    write(std::cout);
    return;
  }
  std::ofstream file(o.out, std::ios::binary | std::ios::trunc);
  if (!file) throw StorageError("cannot write '" + o.out + "'; check that its folder exists and is writable");
  write(file);
  file.close();
  if (!file) throw StorageError("writing '" + o.out + "' failed (disk full?); the file is incomplete");
  std::cerr << "wrote " << ms.size() << " measurements to " << o.out << "\n";
}
}  // namespace

void setup_export(CLI::App& app) {
  auto opts = std::make_shared<ExportOptions>();
  auto* sub = app.add_subcommand(
      "export", "Write every measurement of a database as CSV or JSON, one row per measurement (energies in J).");
  sub->add_option("--db", opts->db, "Database to read")->required();
  add_format_option(*sub, opts->format, {"csv", "json"});
  require_nonempty(sub->add_option("--out", opts->out, "Output file (default: standard output)"));
  sub->add_flag("--ok-only", opts->ok_only, "Leave out measurements with status skipped");
  sub->callback([opts] { run_export(*opts); });
}

}  // namespace dle::cli
