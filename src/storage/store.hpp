#pragma once
// The SQLite store: schema versioned with PRAGMA user_version and forward migrations; every measurement
// committed as soon as it is added, so a process killed at any moment (kill -9 included) loses nothing that
// was reported done. WAL journal, synchronous=FULL.
#include <memory>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "storage/records.hpp"

struct sqlite3;

namespace dle::storage {

struct MeasurementFilter {
  std::optional<MeasurementKind> kind;
  std::vector<std::string> layer_types;  // empty = all
  std::optional<std::int64_t> run_id;
  bool include_skipped = false;
};

class Store {
 public:
  // Opens (creating if needed) and migrates to the current schema. A file that is not a dlenergy
  // database, or one of a newer schema, is a StorageError that says so.
  static Store open(const std::string& path);
  // Opens an existing database without creating it (StorageError when missing, or when the file holds no
  // tables: an empty file is not turned into a database by a command that only reads). A file this process may
  // not write, or one in a folder it may not write (a read-only mount), is opened read-only: it can be read, and
  // every write fails with SQLite's "readonly database".
  static Store open_existing(const std::string& path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // The newest schema this build writes (the last migration's version).
  static int current_schema_version();
  int schema_version() const;
  const std::string& path() const { return path_; }

  std::int64_t add_run(const RunRecord& run);  // returns the new id
  // The oldest run with this settings hash, if any.
  std::optional<RunRecord> find_run_by_settings_hash(const std::string& hash) const;
  std::optional<RunRecord> find_run(std::int64_t id) const;
  std::vector<RunRecord> runs() const;
  // Adds a run and its measurements (their run_id is replaced by the new run's id) in one transaction:
  // either all are stored or none (importers and merge use it so that a crash leaves no half run).
  std::int64_t add_run_with_measurements(const RunRecord& run, std::vector<MeasurementRecord> ms);
  // The same, unless `earlier()` names a run already in the database: it is asked inside the write transaction,
  // so two processes adding the same run (two imports of one file, two merges) store it once. Returns the run's
  // id and whether it was added now; `ms` is left to the caller (its run_id set when added).
  std::pair<std::int64_t, bool> add_run_with_measurements_unless(
      const RunRecord& run, std::vector<MeasurementRecord>& ms,
      const std::function<std::optional<std::int64_t>()>& earlier);

  // Inserts and commits one measurement; returns its id. An empty created_at is set to the current UTC time.
  // A second measurement with the same run and item_key() is a StorageError (UNIQUE(run_id, item_key)).
  std::int64_t add_measurement(const MeasurementRecord& m);
  // Inserts many in one transaction (importers, merge): all or none.
  void add_measurements(const std::vector<MeasurementRecord>& ms);
  std::vector<MeasurementRecord> measurements(const MeasurementFilter& filter = {}) const;
  std::size_t count_measurements(const MeasurementFilter& filter = {}) const;
  // item_key() of every measurement of a run (ok or skipped), for resume.
  std::set<std::string> item_keys(std::int64_t run_id) const;

  // The meta table: facts about the database itself (meta.application = 'dlenergy', markers of unfinished work).
  // Rows whose key starts with `prefix`, by key.
  std::map<std::string, std::string> meta(const std::string& prefix) const;
  void set_meta(const std::string& key, const std::string& value);  // inserts or replaces, committed at once
  void erase_meta(const std::string& key);

 private:
  Store(sqlite3* db, std::string path);
  static Store open_read_only(const std::string& path);
  enum class Opening { kCreate, kExisting, kReadOnly };
  // Checks the file is ours, sets the pragmas, migrates. Unless created, a file without tables (an empty file, a
  // failed copy) is a StorageError: it is not a database yet, and it is left as it was. Read-only, nothing is set
  // or migrated, and a schema older than this build's is a StorageError.
  void initialise(Opening opening);
  void migrate();
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace dle::storage
