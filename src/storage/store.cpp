#include "storage/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/errors.hpp"
#include "core/system_info.hpp"

namespace dle::storage {

namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int kBusyTimeoutMs = 30000;  // a concurrent writer (another shard, merge) holds the lock briefly
constexpr const char* kApplication = "dlenergy";

// Forward migrations: entry N turns a schema of version N-1 into version N. A new schema version is one
// more entry at the end; existing entries never change once released.
struct Migration {
  int version;
  const char* description;
  const char* sql;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> m = {
      {1, "initial schema: meta, runs, measurements",
       R"SQL(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('application', 'dlenergy');
CREATE TABLE runs (
  id               INTEGER PRIMARY KEY,
  started_at       TEXT NOT NULL,
  source           TEXT NOT NULL,
  hostname         TEXT NOT NULL,
  cpu_model        TEXT NOT NULL,
  cores            INTEGER NOT NULL,
  threads          INTEGER NOT NULL,
  sensor           TEXT NOT NULL,
  estimated        INTEGER NOT NULL CHECK (estimated IN (0, 1)),
  libtorch_version TEXT NOT NULL,
  blas             TEXT NOT NULL,
  seed             INTEGER NOT NULL,
  settings_json    TEXT NOT NULL,
  settings_hash    TEXT NOT NULL
);
CREATE INDEX runs_settings_hash ON runs(settings_hash);
CREATE TABLE measurements (
  id                    INTEGER PRIMARY KEY,
  run_id                INTEGER NOT NULL REFERENCES runs(id),
  item_key              TEXT NOT NULL,
  kind                  TEXT NOT NULL CHECK (kind IN ('layer', 'network', 'network_layer')),
  layer_type            TEXT NOT NULL,
  architecture          TEXT NOT NULL,
  layer_index           INTEGER NOT NULL,
  repeat                INTEGER NOT NULL,
  occurrence            INTEGER NOT NULL DEFAULT 1,
  passes                INTEGER NOT NULL,
  duration_s            REAL,
  energy_j              REAL,
  idle_power_w          REAL,
  energy_per_pass_j     REAL,
  net_energy_per_pass_j REAL,
  sensor                TEXT NOT NULL,
  estimated             INTEGER NOT NULL CHECK (estimated IN (0, 1)),
  status                TEXT NOT NULL CHECK (status IN ('ok', 'skipped')),
  note                  TEXT NOT NULL,
  created_at            TEXT NOT NULL,
  config_json           TEXT NOT NULL,
  domains_json          TEXT NOT NULL,
  UNIQUE (run_id, item_key)
);
CREATE INDEX measurements_kind ON measurements(kind);
CREATE INDEX measurements_layer_type ON measurements(layer_type);
CREATE INDEX measurements_architecture ON measurements(architecture);
)SQL"},
  };
  return m;
}

std::string advice_for(int code) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "another process kept the database locked for more than 30 s; wait for it to finish and try again";
    case SQLITE_FULL:
      return "the disk is full; free space and try again";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      return "check that the path exists and that you may read and write it and its folder";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "the file is damaged or not an SQLite database; use another file";
    case SQLITE_IOERR:
      return "an I/O error occurred; check the disk and the file system";
    default:
      return "see the SQLite message above";
  }
}

[[noreturn]] void fail(sqlite3* db, int code, const std::string& path, const std::string& what) {
  const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  throw StorageError("database '" + path + "': " + what + " failed: " + (msg ? msg : "unknown error") + "; " +
                     advice_for(code));
}

// RAII prepared statement.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql, const std::string& path) : db_(db), path_(path) {
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, path, "preparing '" + sql.substr(0, 60) + "'");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void bind(int i, std::int64_t v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  void bind(int i, int v) { check(sqlite3_bind_int64(stmt_, i, v)); }
  // SQLite stores NaN as NULL; reading maps NULL back to NaN.
  void bind(int i, double v) { check(sqlite3_bind_double(stmt_, i, v)); }
  void bind(int i, const std::string& v) {
    check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }

  // Returns true while a row is available; throws on errors. `what` names the operation in messages.
  bool step(const std::string& what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const int code = sqlite3_extended_errcode(db_);
    if ((rc & 0xff) == SQLITE_CONSTRAINT) throw ConstraintError{code, sqlite3_errmsg(db_)};
    fail(db_, rc, path_, what);
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  double col_double(int i) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::numeric_limits<double>::quiet_NaN();
    return sqlite3_column_double(stmt_, i);
  }
  std::string col_text(int i) const {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  bool col_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

  struct ConstraintError {
    int code;
    std::string message;
  };

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail(db_, rc, path_, "binding a value");
  }
  sqlite3* db_;
  std::string path_;
  sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const std::string& sql, const std::string& path, const std::string& what) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw StorageError("database '" + path + "': " + what + " failed: " + msg + "; " + advice_for(rc));
  }
}

// BEGIN IMMEDIATE takes the write lock up front, so concurrent writers wait (busy_timeout) instead of failing
// half way. Rolls back unless commit() was called.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& path) : db_(db), path_(path) {
    exec(db_, "BEGIN IMMEDIATE", path_, "starting a transaction");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, "COMMIT", path_, "committing");
    done_ = true;
  }

 private:
  sqlite3* db_;
  std::string path_;
  bool done_ = false;
};

std::int64_t query_int(sqlite3* db, const std::string& sql, const std::string& path) {
  Statement s(db, sql, path);
  if (!s.step("reading '" + sql + "'")) return 0;
  return s.col_int(0);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

void refuse_directory(const std::string& path) {
  if (is_directory(path))
    throw ConfigError("database '" + path + "' is a directory; pass a database file inside it (e.g. " + path +
                      "/measurements.sqlite)");
}

// The folder a database file lies in: SQLite creates its -wal and -shm files there.
std::string folder_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

bool may_write(const std::string& path) { return ::access(path.c_str(), W_OK) == 0; }

// "file:/abs/path?query" for sqlite3_open_v2 with SQLITE_OPEN_URI: '%', '?' and '#' escaped, one leading slash
// (two would start an authority).
std::string sqlite_uri(const std::string& path, const std::string& query) {
  std::string abs = std::filesystem::absolute(path).lexically_normal().string();
  while (abs.size() > 1 && abs[0] == '/' && abs[1] == '/') abs.erase(0, 1);
  std::string out = "file:";
  for (char c : abs) {
    if (c == '%') out += "%25";
    else if (c == '?') out += "%3f";
    else if (c == '#') out += "%23";
    else out += c;
  }
  return out + "?" + query;
}

// ---- JSON columns -------------------------------------------------------------------------------------

ordered_json number_json(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<std::int64_t>(v);
  return v;  // NaN and infinities are written as null by nlohmann::json
}

double json_number(const ordered_json& j) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  return j.get<double>();
}

std::string config_to_json(const layers::LayerConfig& c) {
  ordered_json j = ordered_json::object();
  j["type"] = c.type;
  for (const auto& [k, v] : c.values) j[k] = number_json(v);
  return j.dump();
}

layers::LayerConfig config_from_json(const std::string& text, const std::string& path, std::int64_t id) {
  try {
    const auto j = ordered_json::parse(text);
    layers::LayerConfig c;
    for (const auto& [k, v] : j.items()) {
      if (k == "type")
        c.type = v.get<std::string>();
      else
        c.values.emplace_back(k, json_number(v));
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw StorageError("database '" + path + "': measurement " + std::to_string(id) + " has an unreadable config_json (" +
                       e.what() + "); the file was edited by hand or damaged");
  }
}

std::string domains_to_json(const std::vector<DomainEnergy>& ds) {
  ordered_json j = ordered_json::array();
  for (const auto& d : ds) j.push_back(ordered_json{{"name", d.name}, {"energy_j", d.energy_j}});
  return j.dump();
}

std::vector<DomainEnergy> domains_from_json(const std::string& text, const std::string& path, std::int64_t id) {
  try {
    std::vector<DomainEnergy> out;
    for (const auto& d : ordered_json::parse(text)) out.push_back({d.at("name").get<std::string>(), json_number(d.at("energy_j"))});
    return out;
  } catch (const nlohmann::json::exception& e) {
    throw StorageError("database '" + path + "': measurement " + std::to_string(id) +
                       " has an unreadable domains_json (" + e.what() + "); the file was edited by hand or damaged");
  }
}

// ---- rows ----------------------------------------------------------------------------------------------

const char* kRunColumns =
    "id, started_at, source, hostname, cpu_model, cores, threads, sensor, estimated, libtorch_version, blas, seed, "
    "settings_json, settings_hash";

RunRecord read_run(const Statement& s) {
  RunRecord r;
  r.id = s.col_int(0);
  r.started_at = s.col_text(1);
  r.source = s.col_text(2);
  r.hostname = s.col_text(3);
  r.cpu_model = s.col_text(4);
  r.cores = static_cast<int>(s.col_int(5));
  r.threads = static_cast<int>(s.col_int(6));
  r.sensor = s.col_text(7);
  r.estimated = s.col_int(8) != 0;
  r.libtorch_version = s.col_text(9);
  r.blas = s.col_text(10);
  r.seed = static_cast<std::uint64_t>(s.col_int(11));  // stored as the same 64 bits in a signed INTEGER
  r.settings_json = s.col_text(12);
  r.settings_hash = s.col_text(13);
  return r;
}

const char* kMeasurementColumns =
    "id, run_id, kind, architecture, layer_index, repeat, passes, duration_s, energy_j, idle_power_w, "
    "energy_per_pass_j, net_energy_per_pass_j, sensor, estimated, status, note, created_at, config_json, domains_json, occurrence";

MeasurementRecord read_measurement(const Statement& s, const std::string& path) {
  MeasurementRecord m;
  m.id = s.col_int(0);
  m.run_id = s.col_int(1);
  m.kind = kind_from_string(s.col_text(2));
  m.architecture = s.col_text(3);
  m.layer_index = static_cast<int>(s.col_int(4));
  m.repeat = static_cast<int>(s.col_int(5));
  m.passes = s.col_int(6);
  m.duration_s = s.col_double(7);
  m.energy_j = s.col_double(8);
  m.idle_power_w = s.col_double(9);
  m.energy_per_pass_j = s.col_double(10);
  m.net_energy_per_pass_j = s.col_double(11);
  m.sensor = s.col_text(12);
  m.estimated = s.col_int(13) != 0;
  m.status = s.col_text(14);
  m.note = s.col_text(15);
  m.created_at = s.col_text(16);
  m.config = config_from_json(s.col_text(17), path, m.id);
  m.domains = domains_from_json(s.col_text(18), path, m.id);
  m.occurrence = static_cast<int>(s.col_int(19));
  return m;
}

const char* kInsertMeasurement =
    "INSERT INTO measurements (run_id, item_key, kind, layer_type, architecture, layer_index, repeat, passes, "
    "duration_s, energy_j, idle_power_w, energy_per_pass_j, net_energy_per_pass_j, sensor, estimated, status, note, "
    "created_at, config_json, domains_json, occurrence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
    "?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)";

std::int64_t insert_measurement(sqlite3* db, Statement& s, const MeasurementRecord& m, const std::string& path) {
  if (m.status != "ok" && m.status != "skipped")
    throw StorageError("measurement status '" + m.status + "' is not 'ok' or 'skipped' (programming error in the caller)");
  const std::string key = m.item_key();
  s.reset();
  s.bind(1, m.run_id);
  s.bind(2, key);
  s.bind(3, to_string(m.kind));
  s.bind(4, m.config.type);
  s.bind(5, m.architecture);
  s.bind(6, m.layer_index);
  s.bind(7, m.repeat);
  s.bind(8, m.passes);
  s.bind(9, m.duration_s);
  s.bind(10, m.energy_j);
  s.bind(11, m.idle_power_w);
  s.bind(12, m.energy_per_pass_j);
  s.bind(13, m.net_energy_per_pass_j);
  s.bind(14, m.sensor);
  s.bind(15, m.estimated ? 1 : 0);
  s.bind(16, m.status);
  s.bind(17, m.note);
  s.bind(18, m.created_at.empty() ? sys::utc_now_iso8601() : m.created_at);
  s.bind(19, config_to_json(m.config));
  s.bind(20, domains_to_json(m.domains));
  s.bind(21, m.occurrence);
  try {
    s.step("storing a measurement");
  } catch (const Statement::ConstraintError& e) {
    if (e.code == SQLITE_CONSTRAINT_UNIQUE)
      throw StorageError("database '" + path + "': run " + std::to_string(m.run_id) + " already has the measurement '" +
                         key + "' (each run stores an item once): is another process collecting into the same "
                         "database with the same settings? Run one collect per database, or give each machine its "
                         "own --shard K/N and database and `dlenergy merge` them");
    if (e.code == SQLITE_CONSTRAINT_FOREIGNKEY)
      throw StorageError("database '" + path + "': run id " + std::to_string(m.run_id) +
                         " does not exist; add the run before its measurements");
    throw StorageError("database '" + path + "': storing measurement '" + key + "' broke a constraint: " + e.message);
  }
  return sqlite3_last_insert_rowid(db);
}

std::int64_t insert_run(sqlite3* db, const RunRecord& r, const std::string& path) {
  Statement s(db,
              "INSERT INTO runs (started_at, source, hostname, cpu_model, cores, threads, sensor, estimated, "
              "libtorch_version, blas, seed, settings_json, settings_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
              "?10, ?11, ?12, ?13)",
              path);
  s.bind(1, r.started_at.empty() ? sys::utc_now_iso8601() : r.started_at);
  s.bind(2, r.source);
  s.bind(3, r.hostname);
  s.bind(4, r.cpu_model);
  s.bind(5, r.cores);
  s.bind(6, r.threads);
  s.bind(7, r.sensor);
  s.bind(8, r.estimated ? 1 : 0);
  s.bind(9, r.libtorch_version);
  s.bind(10, r.blas);
  s.bind(11, static_cast<std::int64_t>(r.seed));
  s.bind(12, r.settings_json);
  s.bind(13, r.settings_hash);
  try {
    s.step("storing a run");
  } catch (const Statement::ConstraintError& e) {
    throw StorageError("database '" + path + "': storing a run broke a constraint: " + e.message);
  }
  return sqlite3_last_insert_rowid(db);
}

std::string where_clause(const MeasurementFilter& f) {
  std::vector<std::string> parts;
  if (!f.include_skipped) parts.push_back("status = 'ok'");
  if (f.kind) parts.push_back("kind = ?1");
  if (f.run_id) parts.push_back("run_id = ?2");
  if (!f.layer_types.empty()) {
    std::string in = "layer_type IN (";
    for (std::size_t i = 0; i < f.layer_types.size(); ++i) in += (i ? ", ?" : "?") + std::to_string(3 + i);
    parts.push_back(in + ")");
  }
  std::string sql;
  for (std::size_t i = 0; i < parts.size(); ++i) sql += (i ? " AND " : " WHERE ") + parts[i];
  return sql;
}

void bind_filter(Statement& s, const MeasurementFilter& f) {
  if (f.kind) s.bind(1, to_string(*f.kind));
  if (f.run_id) s.bind(2, *f.run_id);
  for (std::size_t i = 0; i < f.layer_types.size(); ++i) s.bind(static_cast<int>(3 + i), f.layer_types[i]);
}

}  // namespace

// ---- Store ---------------------------------------------------------------------------------------------

Store::Store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

Store::Store(Store&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }

Store& Store::operator=(Store&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close_v2(db_);
    db_ = o.db_;
    path_ = std::move(o.path_);
    o.db_ = nullptr;
  }
  return *this;
}

Store::~Store() {
  if (db_) sqlite3_close_v2(db_);
}

int Store::current_schema_version() { return migrations().back().version; }

int Store::schema_version() const { return static_cast<int>(query_int(db_, "PRAGMA user_version", path_)); }

Store Store::open(const std::string& path) {
  if (path.empty()) throw ConfigError("no database path given; pass --db FILE");
  refuse_directory(path);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Store store(db, path);  // closes the handle on every path out of here, errors included
  if (rc != SQLITE_OK) fail(db, rc, path, "opening");
  store.initialise(Opening::kCreate);
  return store;
}

Store Store::open_existing(const std::string& path) {
  if (path.empty()) throw ConfigError("no database path given; pass --db FILE");
  if (!file_exists(path))
    throw StorageError("database '" + path +
                       "' does not exist; check the path, or create one with `dlenergy collect`, `dlenergy import` "
                       "or `dlenergy merge`");
  refuse_directory(path);
  if (!may_write(path) || !may_write(folder_of(path))) return open_read_only(path);
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  Store store(db, path);
  if (rc != SQLITE_OK) fail(db, rc, path, "opening");
  store.initialise(Opening::kExisting);
  return store;
}

Store Store::open_read_only(const std::string& path) {
  // Nothing is created next to a database this process may not write: files it left there (SQLite's -shm index and
  // -wal log) would belong to it, and the database's owner could then no longer write the database. With an empty
  // or missing log the file is opened as immutable, which reads it exactly as it is (dlenergy's writers fold the
  // log into the file when they close). A log that holds changes is read through its index if that is there; if it
  // is not, reading the file alone would silently miss those changes, so the database is refused.
  const std::int64_t log_bytes = file_exists(path + "-wal") ? file_size(path + "-wal") : 0;
  std::string query = "immutable=1";
  if (log_bytes > 0) {
    if (!file_exists(path + "-shm"))
      throw StorageError("database '" + path + "' has " + std::to_string(log_bytes) + " bytes of changes in " + path +
                         "-wal that can only be read through its index " + path + "-shm, which is missing; this "
                         "process may not write the database, and will not create the index next to it (its owner "
                         "could then no longer write the database): open it once as a user who may write it and its "
                         "folder (any dlenergy command that reads it folds the changes in), or copy the database "
                         "together with its -wal file to a folder you may write");
    query = "mode=ro";
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(sqlite_uri(path, query).c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  Store store(db, path);
  if (rc != SQLITE_OK) fail(db, rc, path, "opening read-only");
  store.initialise(Opening::kReadOnly);
  return store;
}

void Store::initialise(Opening opening) {
  const bool create = opening == Opening::kCreate;
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);

  // Is it SQLite at all? Reading the schema fails with SQLITE_NOTADB otherwise.
  std::int64_t tables = 0;
  {
    sqlite3_stmt* probe = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", -1, &probe, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(probe);
      if (rc == SQLITE_ROW) tables = sqlite3_column_int64(probe, 0);
    }
    sqlite3_finalize(probe);
    if ((rc & 0xff) == SQLITE_NOTADB)
      throw StorageError("'" + path_ +
                         "' is not an SQLite database; pass a dlenergy database, or a new file name to create one");
    if (rc != SQLITE_ROW) fail(db_, rc, path_, "reading the schema");
  }

  // Is it ours? Checked before anything is written, so a foreign file is never modified.
  const int version = schema_version();
  if (tables == 0 && !create)
    throw StorageError("'" + path_ + "' holds no tables (" +
                       (file_size(path_) == 0 ? std::string("an empty file") : "an empty SQLite database") +
                       "), so it is not a dlenergy database yet; pass the database that collect, import or merge "
                       "wrote (was the copy complete?)");
  if (tables > 0) {
    const bool has_meta = query_int(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                                    path_) > 0;
    std::string app;
    if (has_meta) {
      Statement s(db_, "SELECT value FROM meta WHERE key = 'application'", path_);
      if (s.step("reading meta")) app = s.col_text(0);
    }
    if (app != kApplication)
      throw StorageError("'" + path_ +
                         "' is an SQLite database but not a dlenergy one (no meta.application = 'dlenergy'); pass a "
                         "dlenergy database, or a new file name to create one");
    if (version > current_schema_version())
      throw StorageError("database '" + path_ + "' has schema version " + std::to_string(version) +
                         ", newer than this dlenergy understands (up to " + std::to_string(current_schema_version()) +
                         "); use a newer dlenergy to read it");
  }
  if (opening == Opening::kReadOnly) {
    if (version < current_schema_version())
      throw StorageError("database '" + path_ + "' has schema version " + std::to_string(version) +
                         ", which this dlenergy reads after migrating it to version " +
                         std::to_string(current_schema_version()) + ", a change it may not make here (read-only); "
                         "open it once where it may be written, or copy it to a folder you may write");
    return;  // nothing to set or migrate: the file stays as it is
  }

  exec(db_, "PRAGMA foreign_keys = ON", path_, "enabling foreign keys");
  // WAL: readers never block the writer and a commit is one append; synchronous=FULL makes each commit
  // durable (fsync of the WAL) before add_measurement returns, so kill -9 or a power cut loses nothing done.
  // The switch to WAL takes an exclusive lock for which SQLite does not call the busy handler: two processes
  // opening a new database at once would see "locked" at once. Retry for as long as the busy timeout allows.
  for (int waited_ms = 0;; waited_ms += 10) {
    const int rc = sqlite3_exec(db_, "PRAGMA journal_mode = WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) break;
    if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) || waited_ms >= kBusyTimeoutMs) {
      exec(db_, "PRAGMA journal_mode = WAL", path_, "switching to WAL");  // throws with SQLite's message
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  exec(db_, "PRAGMA synchronous = FULL", path_, "setting synchronous=FULL");
  migrate();
}

void Store::migrate() {
  if (schema_version() >= current_schema_version()) return;
  Transaction t(db_, path_);
  // Read again under the write lock: another process may have migrated meanwhile.
  const int version = schema_version();
  for (const auto& m : migrations()) {
    if (m.version <= version) continue;
    exec(db_, m.sql, path_, "migrating to schema version " + std::to_string(m.version) + " (" + m.description + ")");
    exec(db_, "PRAGMA user_version = " + std::to_string(m.version), path_, "recording the schema version");
  }
  t.commit();
}

std::int64_t Store::add_run(const RunRecord& run) {
  Transaction t(db_, path_);
  const std::int64_t id = insert_run(db_, run, path_);
  t.commit();
  return id;
}

std::int64_t Store::add_run_with_measurements(const RunRecord& run, std::vector<MeasurementRecord> ms) {
  return add_run_with_measurements_unless(run, ms, [] { return std::optional<std::int64_t>(); }).first;
}

std::pair<std::int64_t, bool> Store::add_run_with_measurements_unless(
    const RunRecord& run, std::vector<MeasurementRecord>& ms, const std::function<std::optional<std::int64_t>()>& earlier) {
  Transaction t(db_, path_);  // BEGIN IMMEDIATE: no other writer between the check and the insert
  if (const auto id = earlier()) return {*id, false};  // the destructor rolls the empty transaction back
  const std::int64_t id = insert_run(db_, run, path_);
  Statement s(db_, kInsertMeasurement, path_);
  for (auto& m : ms) {
    m.run_id = id;
    insert_measurement(db_, s, m, path_);
  }
  t.commit();
  return {id, true};
}

std::map<std::string, std::string> Store::meta(const std::string& prefix) const {
  Statement s(db_, "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key", path_);
  s.bind(1, prefix);
  std::map<std::string, std::string> out;
  while (s.step("reading meta")) out.emplace(s.col_text(0), s.col_text(1));
  return out;
}

void Store::set_meta(const std::string& key, const std::string& value) {
  Statement s(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", path_);
  s.bind(1, key);
  s.bind(2, value);
  s.step("writing meta");
}

void Store::erase_meta(const std::string& key) {
  Statement s(db_, "DELETE FROM meta WHERE key = ?1", path_);
  s.bind(1, key);
  s.step("erasing meta");
}

std::optional<RunRecord> Store::find_run_by_settings_hash(const std::string& hash) const {
  Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs WHERE settings_hash = ?1 ORDER BY id LIMIT 1",
              path_);
  s.bind(1, hash);
  if (!s.step("reading runs")) return std::nullopt;
  return read_run(s);
}

std::optional<RunRecord> Store::find_run(std::int64_t id) const {
  Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1", path_);
  s.bind(1, id);
  if (!s.step("reading runs")) return std::nullopt;
  return read_run(s);
}

std::vector<RunRecord> Store::runs() const {
  Statement s(db_, std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY id", path_);
  std::vector<RunRecord> out;
  while (s.step("reading runs")) out.push_back(read_run(s));
  return out;
}

std::int64_t Store::add_measurement(const MeasurementRecord& m) {
  // One statement in autocommit mode is its own transaction: committed (and, with synchronous=FULL, on disk)
  // when this returns.
  Statement s(db_, kInsertMeasurement, path_);
  return insert_measurement(db_, s, m, path_);
}

void Store::add_measurements(const std::vector<MeasurementRecord>& ms) {
  Transaction t(db_, path_);
  Statement s(db_, kInsertMeasurement, path_);
  for (const auto& m : ms) insert_measurement(db_, s, m, path_);
  t.commit();
}

std::vector<MeasurementRecord> Store::measurements(const MeasurementFilter& filter) const {
  Statement s(db_, std::string("SELECT ") + kMeasurementColumns + " FROM measurements" + where_clause(filter) +
                       " ORDER BY id",
              path_);
  bind_filter(s, filter);
  std::vector<MeasurementRecord> out;
  while (s.step("reading measurements")) out.push_back(read_measurement(s, path_));
  return out;
}

std::size_t Store::count_measurements(const MeasurementFilter& filter) const {
  Statement s(db_, "SELECT count(*) FROM measurements" + where_clause(filter), path_);
  bind_filter(s, filter);
  s.step("counting measurements");
  return static_cast<std::size_t>(s.col_int(0));
}

std::set<std::string> Store::item_keys(std::int64_t run_id) const {
  Statement s(db_, "SELECT item_key FROM measurements WHERE run_id = ?1", path_);
  s.bind(1, run_id);
  std::set<std::string> out;
  while (s.step("reading item keys")) out.insert(s.col_text(0));
  return out;
}

}  // namespace dle::storage
