#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "storage/codecarbon_import.hpp"
#include "storage/store.hpp"

namespace dle::cli {

namespace {
struct ImportCodeCarbonOptions {
  std::string db;
  std::vector<std::string> inputs;
};

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

void run_import_codecarbon(const ImportCodeCarbonOptions& o) {
  // Check every input before the database is created or touched.
  auto files = storage::read_codecarbon_files(o.inputs);
  auto store = storage::Store::open(o.db);
  const auto reports = storage::store_codecarbon_files(store, std::move(files));
  std::size_t rows = 0, ok = 0, skipped = 0, already = 0;
  for (const auto& r : reports) {
    if (r.already_imported) {
      ++already;
      std::cout << r.path << ": already imported as run " << r.run_id << " ("
                << (r.imported_as == std::filesystem::path(r.path).filename().string()
                        ? std::string("same file name and content")
                        : "same content as " + r.imported_as)
                << "); nothing stored\n";
      continue;
    }
    rows += r.rows;
    ok += r.ok;
    skipped += r.skipped;
    std::cout << r.path << ": " << plural(r.rows, "row") << " read, " << r.ok << " stored ok, " << r.skipped
              << " stored as skipped (run " << r.run_id << ")";
    if (!r.skip_reasons.empty()) {
      std::cout << "; skipped:";
      bool first = true;
      for (const auto& [reason, n] : r.skip_reasons) {
        std::cout << (first ? " " : ", ") << reason << " " << n;
        first = false;
      }
    }
    std::cout << "\n";
  }
  std::cout << "total: " << plural(rows, "row") << " read, " << ok << " stored ok, " << skipped
            << " stored as skipped, " << plural(already, "file") << " already imported; database " << o.db
            << " (sensor rapl via CodeCarbon, measured)\n";
}
}  // namespace

void setup_import(CLI::App& app) {
  auto* imp = app.add_subcommand("import", "Import energy measurements made by other tools into a database.");
  imp->require_subcommand(1, 1);
  auto opts = std::make_shared<ImportCodeCarbonOptions>();
  auto* cc = imp->add_subcommand(
      "codecarbon",
      "Import CodeCarbon CSV output as the paper published it (configuration in project_name, energies in kWh, "
      "forward_passes per window): one measurement per row, every row kept.");
  cc->add_option("--db", opts->db, "Database to import into (created if missing)")->required();
  cc->add_option("inputs", opts->inputs, "CodeCarbon CSV files, or directories (every *.csv below them)")
      ->required()
      ->expected(1, -1);
  cc->callback([opts] { run_import_codecarbon(*opts); });
}

}  // namespace dle::cli
