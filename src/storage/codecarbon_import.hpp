#pragma once
// Import of CodeCarbon output as the paper (Getzner et al. 2023) published it: one CSV row per measurement
// window, the configuration encoded in `project_name`
// ("module:Conv2d,rep_no:1,macs:...,batch_size:...,...,freeText:...,forward_passes:N"), energies in kWh over
// the window. Whole networks: module AlexNet or VGG with "freeText:architecture=NAME;layer_idx=0", and
// "layer_idx=K" (K >= 1) for the K-th torchvision leaf module measured alone. Mapping: docs/storage.md.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "storage/records.hpp"
#include "storage/store.hpp"

namespace dle::storage {

inline constexpr const char* kCodeCarbonSensor = "rapl (via CodeCarbon)";
inline constexpr const char* kCodeCarbonDomain = "package (RAPL via CodeCarbon cpu_energy)";
inline constexpr const char* kCodeCarbonSource = "codecarbon import";

// One file, parsed and checked, not yet stored.
struct CodeCarbonFile {
  std::string name;  // base name, used in notes and messages ("00_conv2d-raw.csv:17")
  RunRecord run;     // settings_hash identifies the file (name + content hash)
  std::vector<MeasurementRecord> measurements;  // one per data row, in file order (run_id 0)
  std::vector<std::string> skip_reasons;        // parallel to measurements: "" for ok rows, else the reason
  std::vector<std::string> problems;            // malformed rows and columns, each "name:line: what"
};

// Parses one file's text. Never throws for bad content: every malformed row is listed in `problems`.
// `imported_at` (ISO 8601 UTC) becomes the run's started_at and the measurements' created_at.
CodeCarbonFile parse_codecarbon(const std::string& text, const std::string& name, const std::string& imported_at);

struct ImportReport {
  std::string path;
  std::int64_t run_id = 0;        // the new run, or the earlier import of the same file
  bool already_imported = false;  // the same content was imported before; nothing stored
  std::string imported_as;        // when already_imported: the file name it was imported under
  std::size_t rows = 0;           // data rows read
  std::size_t ok = 0;             // stored with status ok
  std::size_t skipped = 0;        // stored with status skipped
  std::map<std::string, std::size_t> skip_reasons;  // reason -> rows
};

// Paths to files; a directory stands for every *.csv below it (recursively, sorted by path). ConfigError
// for a missing path or a directory without CSV files.
std::vector<std::string> expand_csv_paths(const std::vector<std::string>& paths);

// Reads and checks every file (after expand_csv_paths): one malformed row anywhere is a ConfigError listing
// every problem (the first 50), so that nothing is stored from a bad input.
std::vector<std::pair<std::string, CodeCarbonFile>> read_codecarbon_files(const std::vector<std::string>& paths);

// Stores checked files: each becomes one run with one measurement per row, in its own transaction. A file whose
// content was imported before (under any name, also earlier in the same list) is reported and skipped: a renamed
// copy would count every measurement twice.
std::vector<ImportReport> store_codecarbon_files(Store& store,
                                                 std::vector<std::pair<std::string, CodeCarbonFile>> files);

// read_codecarbon_files then store_codecarbon_files.
std::vector<ImportReport> import_codecarbon(Store& store, const std::vector<std::string>& paths);

}  // namespace dle::storage
