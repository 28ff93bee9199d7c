#include <gtest/gtest.h>
#include <functional>
#include <grp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "storage/store.hpp"
#include "temp_dir.hpp"

namespace dle::storage {
namespace {

using testing::TempDir;

RunRecord sample_run() {
  RunRecord r;
  r.started_at = "2024-01-02T03:04:05Z";
  r.source = "dlenergy collect";
  r.hostname = "node17";
  r.cpu_model = "Intel(R) Xeon(R) Gold 5120 CPU @ 2.20GHz";
  r.cores = 28;
  r.threads = 2;
  r.sensor = "rapl";
  r.estimated = false;
  r.libtorch_version = "1.13.1";
  r.blas = "openblas-pthread";
  r.seed = 18446744073709551615ULL;  // largest uint64: must survive SQLite's signed INTEGER
  r.settings_json = R"({"layers":["conv2d"],"configs":4})";
  r.settings_hash = "0123456789abcdef";
  return r;
}

MeasurementRecord sample_measurement(std::int64_t run_id, int repeat) {
  MeasurementRecord m;
  m.run_id = run_id;
  m.kind = MeasurementKind::kLayer;
  m.config.type = "conv2d";
  for (const auto& [k, v] : std::vector<std::pair<std::string, double>>{{"batch_size", 8},
                                                                         {"image_size", 32},
                                                                         {"kernel_size", 3},
                                                                         {"in_channels", 16},
                                                                         {"out_channels", 32},
                                                                         {"stride", 1},
                                                                         {"padding", 1}})
    m.config.set(k, v);
  m.repeat = repeat;
  m.passes = 1234;
  m.duration_s = 2.5;
  m.domains = {{"package-0", 40.25}, {"dram", 4.75}};
  m.energy_j = 45.0;
  m.idle_power_w = 10.0;
  m.energy_per_pass_j = 45.0 / 1234;
  m.net_energy_per_pass_j = (45.0 - 10.0 * 2.5) / 1234;
  m.sensor = "rapl";
  m.status = "ok";
  m.note = "first, \"quoted\"";
  m.created_at = "2024-01-02T03:05:00Z";
  return m;
}

void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StorageError& e) {
    return e.what();
  }
  return "(no StorageError)";
}

TEST(Store, FreshDatabaseGetsCurrentSchemaVersionAndMeta) {
  TempDir dir;
  auto store = Store::open(dir.file("a.sqlite"));
  EXPECT_EQ(Store::current_schema_version(), 1);
  EXPECT_EQ(store.schema_version(), Store::current_schema_version());
  EXPECT_TRUE(store.runs().empty());
  EXPECT_EQ(store.count_measurements(), 0u);
  // Reopening an up-to-date database changes nothing.
  store = Store::open(dir.file("a.sqlite"));
  EXPECT_EQ(store.schema_version(), 1);
}

TEST(Store, NewerSchemaIsRefusedWithWhatToDo) {
  TempDir dir;
  const auto path = dir.file("new.sqlite");
  { Store::open(path); }
  raw_exec(path, "PRAGMA user_version = 99");
  const std::string msg = error_of([&] { Store::open(path); });
  EXPECT_NE(msg.find("schema version 99"), std::string::npos) << msg;
  EXPECT_NE(msg.find("newer dlenergy"), std::string::npos) << msg;
}

TEST(Store, NonSqliteFileIsRefusedAndLeftUntouched) {
  TempDir dir;
  const auto path = dir.file("notes.sqlite");
  const std::string content = "this is a text file, not a database\n";
  std::ofstream(path) << content;
  const std::string msg = error_of([&] { Store::open(path); });
  EXPECT_NE(msg.find("not an SQLite database"), std::string::npos) << msg;
  std::ifstream in(path);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, content);
}

TEST(Store, ForeignSqliteDatabaseIsRefused) {
  TempDir dir;
  const auto path = dir.file("other.sqlite");
  raw_exec(path, "CREATE TABLE t(x)");
  const std::string msg = error_of([&] { Store::open(path); });
  EXPECT_NE(msg.find("not a dlenergy one"), std::string::npos) << msg;
}

TEST(Store, OpenExistingRefusesMissingFile) {
  TempDir dir;
  const std::string msg = error_of([&] { Store::open_existing(dir.file("missing.sqlite")); });
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));
}

TEST(Store, PragmasAreWalFullAndForeignKeys) {
  TempDir dir;
  const auto path = dir.file("p.sqlite");
  auto store = Store::open(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), "wal");
  sqlite3_finalize(s);
  sqlite3_close(db);
  // foreign_keys=ON: a measurement of an unknown run is refused.
  const std::string msg = error_of([&] { store.add_measurement(sample_measurement(42, 1)); });
  EXPECT_NE(msg.find("run id 42 does not exist"), std::string::npos) << msg;
}

TEST(Store, RunAndMeasurementRoundTripEveryField) {
  TempDir dir;
  auto store = Store::open(dir.file("rt.sqlite"));
  const RunRecord run = sample_run();
  const auto run_id = store.add_run(run);
  EXPECT_EQ(run_id, 1);
  const auto runs = store.runs();
  ASSERT_EQ(runs.size(), 1u);
  const RunRecord& r = runs[0];
  EXPECT_EQ(r.id, run_id);
  EXPECT_EQ(r.started_at, run.started_at);
  EXPECT_EQ(r.source, run.source);
  EXPECT_EQ(r.hostname, run.hostname);
  EXPECT_EQ(r.cpu_model, run.cpu_model);
  EXPECT_EQ(r.cores, 28);
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(r.sensor, "rapl");
  EXPECT_FALSE(r.estimated);
  EXPECT_EQ(r.libtorch_version, "1.13.1");
  EXPECT_EQ(r.blas, "openblas-pthread");
  EXPECT_EQ(r.seed, 18446744073709551615ULL);
  EXPECT_EQ(r.settings_json, run.settings_json);
  EXPECT_EQ(r.settings_hash, run.settings_hash);
  ASSERT_TRUE(store.find_run_by_settings_hash("0123456789abcdef"));
  EXPECT_EQ(store.find_run_by_settings_hash("0123456789abcdef")->id, run_id);
  EXPECT_FALSE(store.find_run_by_settings_hash("ffff"));
  EXPECT_EQ(store.find_run(run_id)->hostname, "node17");
  EXPECT_FALSE(store.find_run(run_id + 1));

  MeasurementRecord m = sample_measurement(run_id, 1);
  m.kind = MeasurementKind::kNetworkLayer;
  m.architecture = "vgg16";
  m.layer_index = 7;
  m.estimated = true;
  m.status = "skipped";
  const auto id = store.add_measurement(m);
  EXPECT_EQ(id, 1);
  EXPECT_EQ(store.count_measurements(), 0u);  // skipped rows are hidden by default
  MeasurementFilter all;
  all.include_skipped = true;
  const auto back = store.measurements(all);
  ASSERT_EQ(back.size(), 1u);
  const MeasurementRecord& b = back[0];
  EXPECT_EQ(b.id, id);
  EXPECT_EQ(b.run_id, run_id);
  EXPECT_EQ(b.kind, MeasurementKind::kNetworkLayer);
  EXPECT_EQ(b.config.to_string(), m.config.to_string());
  EXPECT_EQ(b.config.values, m.config.values);  // same names, same order
  EXPECT_EQ(b.architecture, "vgg16");
  EXPECT_EQ(b.layer_index, 7);
  EXPECT_EQ(b.repeat, 1);
  EXPECT_EQ(b.passes, 1234);
  EXPECT_DOUBLE_EQ(b.duration_s, 2.5);
  ASSERT_EQ(b.domains.size(), 2u);
  EXPECT_EQ(b.domains[0].name, "package-0");
  EXPECT_DOUBLE_EQ(b.domains[0].energy_j, 40.25);
  EXPECT_EQ(b.domains[1].name, "dram");
  EXPECT_DOUBLE_EQ(b.domains[1].energy_j, 4.75);
  EXPECT_DOUBLE_EQ(b.energy_j, 45.0);
  EXPECT_DOUBLE_EQ(b.idle_power_w, 10.0);
  EXPECT_EQ(b.energy_per_pass_j, m.energy_per_pass_j);  // bit-exact
  EXPECT_EQ(b.net_energy_per_pass_j, m.net_energy_per_pass_j);
  EXPECT_EQ(b.sensor, "rapl");
  EXPECT_TRUE(b.estimated);
  EXPECT_EQ(b.status, "skipped");
  EXPECT_EQ(b.note, m.note);
  EXPECT_EQ(b.created_at, "2024-01-02T03:05:00Z");
  EXPECT_EQ(b.item_key(), m.item_key());
}

TEST(Store, NotANumberSurvivesAsNotANumber) {
  TempDir dir;
  auto store = Store::open(dir.file("nan.sqlite"));
  const auto run_id = store.add_run(sample_run());
  MeasurementRecord m = sample_measurement(run_id, 1);
  m.energy_j = std::nan("");
  m.energy_per_pass_j = std::nan("");
  m.domains = {{"package", std::nan("")}};
  m.status = "skipped";
  store.add_measurement(m);
  MeasurementFilter all;
  all.include_skipped = true;
  const auto b = store.measurements(all).at(0);
  EXPECT_TRUE(std::isnan(b.energy_j));
  EXPECT_TRUE(std::isnan(b.energy_per_pass_j));
  EXPECT_TRUE(std::isnan(b.domains.at(0).energy_j));
  EXPECT_DOUBLE_EQ(b.duration_s, 2.5);
}

TEST(Store, SameItemTwiceInOneRunIsRefusedButAnotherRunMayHaveIt) {
  TempDir dir;
  auto store = Store::open(dir.file("u.sqlite"));
  const auto run1 = store.add_run(sample_run());
  RunRecord other = sample_run();
  other.settings_hash = "other";
  const auto run2 = store.add_run(other);
  store.add_measurement(sample_measurement(run1, 1));
  const std::string msg = error_of([&] { store.add_measurement(sample_measurement(run1, 1)); });
  EXPECT_NE(msg.find("already has the measurement"), std::string::npos) << msg;
  store.add_measurement(sample_measurement(run1, 2));
  store.add_measurement(sample_measurement(run2, 1));
  EXPECT_EQ(store.count_measurements(), 3u);
  EXPECT_EQ(store.item_keys(run1).size(), 2u);
  EXPECT_EQ(store.item_keys(run1).count(sample_measurement(run1, 2).item_key()), 1u);
  EXPECT_EQ(store.item_keys(run2).size(), 1u);
}

TEST(Store, BatchInsertIsAllOrNothing) {
  TempDir dir;
  auto store = Store::open(dir.file("b.sqlite"));
  const auto run = store.add_run(sample_run());
  std::vector<MeasurementRecord> batch = {sample_measurement(run, 1), sample_measurement(run, 2),
                                          sample_measurement(run, 1)};
  EXPECT_THROW(store.add_measurements(batch), StorageError);
  EXPECT_EQ(store.count_measurements(), 0u);
  EXPECT_THROW(store.add_run_with_measurements(sample_run(), batch), StorageError);
  EXPECT_EQ(store.runs().size(), 1u);  // the run of the failed transaction was rolled back too
  batch.pop_back();
  const auto run2 = store.add_run_with_measurements(sample_run(), batch);
  EXPECT_EQ(run2, 2);
  MeasurementFilter f;
  f.run_id = run2;
  EXPECT_EQ(store.count_measurements(f), 2u);
}

TEST(Store, FiltersByKindTypeRunAndStatus) {
  TempDir dir;
  auto store = Store::open(dir.file("f.sqlite"));
  const auto run = store.add_run(sample_run());
  MeasurementRecord conv = sample_measurement(run, 1);
  MeasurementRecord lin = sample_measurement(run, 1);
  lin.config = layers::LayerConfig{"linear", {{"batch_size", 1}, {"input_size", 10}, {"output_size", 5}}};
  MeasurementRecord net = sample_measurement(run, 1);
  net.kind = MeasurementKind::kNetwork;
  net.architecture = "alexnet";
  net.config = layers::LayerConfig{"network", {{"batch_size", 4}}};
  MeasurementRecord skipped = sample_measurement(run, 2);
  skipped.status = "skipped";
  store.add_measurements({conv, lin, net, skipped});

  EXPECT_EQ(store.count_measurements(), 3u);
  MeasurementFilter f;
  f.layer_types = {"linear", "conv2d"};
  EXPECT_EQ(store.count_measurements(f), 2u);
  f.include_skipped = true;
  EXPECT_EQ(store.count_measurements(f), 3u);
  MeasurementFilter k;
  k.kind = MeasurementKind::kNetwork;
  const auto nets = store.measurements(k);
  ASSERT_EQ(nets.size(), 1u);
  EXPECT_EQ(nets[0].architecture, "alexnet");
  MeasurementFilter r;
  r.run_id = run + 1;
  EXPECT_EQ(store.count_measurements(r), 0u);
}

// Runs `body` as a user who may not write what it does not own: in this process when that is not root, else in a
// child that became `nobody` (root may write anything). Returns what body returns ("" for success) or what it threw.
std::string as_unprivileged(const std::function<std::string()>& body) {
  const auto run = [&]() -> std::string {
    try {
      return body();
    } catch (const std::exception& e) {
      return std::string("threw: ") + e.what();
    }
  };
  if (::geteuid() != 0) return run();
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t child = fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    close(fds[0]);
    const std::string out = (setgroups(0, nullptr) == 0 && setgid(65534) == 0 && setuid(65534) == 0)
                                ? run()
                                : std::string("could not become nobody");
    const ssize_t written = write(fds[1], out.data(), out.size());
    _exit(written == static_cast<ssize_t>(out.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  return out;
}

// A database this process may not write (a read-only mount, another user's data) is read as it is: writes fail, and
// nothing is created next to it, since files left there would belong to this user and stop the owner writing. Its
// write-ahead log is read through the log's index when both are there; a log with changes but no index is refused
// instead of being read without them.
TEST(Store, DatabaseThisProcessMayNotWriteIsReadAsItIsAndLeftAsItWas) {
  namespace fs = std::filesystem;
  TempDir dir;
  fs::permissions(dir.path(), fs::perms(0755));  // nobody may enter, not write
  const fs::path shelf = dir.path() / "shelf";
  fs::create_directory(shelf);
  const std::string path = (shelf / "m.sqlite").string();
  const auto files_next_to = [&](const std::string& db) {
    return std::to_string(fs::exists(db + "-shm")) + std::to_string(fs::exists(db + "-wal"));
  };
  const auto read_count = [&](const std::string& db) {
    return as_unprivileged([&]() -> std::string {
      const auto store = Store::open_existing(db);
      return std::to_string(store.count_measurements()) + " measurements, " + std::to_string(store.runs().size()) +
             " run(s)";
    });
  };
  {
    auto store = Store::open(path);
    const auto run = store.add_run(sample_run());
    for (int rep = 1; rep <= 3; ++rep) store.add_measurement(sample_measurement(run, rep));
  }
  ASSERT_EQ(files_next_to(path), "00");  // the last writer folded its log in and removed it

  // A folder it may not write.
  fs::permissions(path, fs::perms(0444));
  fs::permissions(shelf, fs::perms(0555));
  EXPECT_EQ(read_count(path), "3 measurements, 1 run(s)");
  const std::string write = as_unprivileged([&]() -> std::string {
    auto store = Store::open_existing(path);
    store.add_run(sample_run());
    return "a run was added";
  });
  EXPECT_NE(write.find("readonly database"), std::string::npos) << write;
  EXPECT_EQ(files_next_to(path), "00");

  // A folder it may write, a database it may not: still nothing created.
  fs::permissions(shelf, fs::perms(0777));
  EXPECT_EQ(read_count(path), "3 measurements, 1 run(s)");
  EXPECT_EQ(files_next_to(path), "00");

  // A stale index without a log is no obstacle.
  fs::permissions(shelf, fs::perms(0755));
  std::ofstream(path + "-shm") << std::string(32768, '\0');
  fs::permissions(shelf, fs::perms(0555));
  EXPECT_EQ(read_count(path), "3 measurements, 1 run(s)");
  fs::permissions(shelf, fs::perms(0755));
  fs::remove(path + "-shm");

  // A copy taken while a writer still ran: its last rows are in the log. Read through the copied index they are
  // there; without the index the copy is refused.
  const fs::path copies = dir.path() / "copies";
  fs::create_directory(copies);
  const std::string live = dir.file("live.sqlite"), copy = (copies / "live.sqlite").string();
  {
    auto writer = Store::open(live);
    const auto run = writer.add_run(sample_run());
    writer.add_measurement(sample_measurement(run, 1));
    for (const char* ext : {"", "-wal", "-shm"}) fs::copy_file(live + ext, copy + ext);
  }
  ASSERT_GT(fs::file_size(copy + "-wal"), 0u);
  fs::permissions(copies, fs::perms(0555));
  EXPECT_EQ(read_count(copy), "1 measurements, 1 run(s)");
  fs::permissions(copies, fs::perms(0755));
  fs::remove(copy + "-shm");
  fs::permissions(copies, fs::perms(0555));
  const std::string refused = read_count(copy);
  EXPECT_EQ(refused.rfind("threw: database '" + copy + "' has ", 0), 0u) << refused;
  EXPECT_NE(refused.find("bytes of changes in " + copy + "-wal that can only be read through its index " + copy +
                         "-shm, which is missing"),
            std::string::npos)
      << refused;
  EXPECT_NE(refused.find("open it once as a user who may write it"), std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(copy + "-shm"));
  fs::permissions(copies, fs::perms(0755));
  fs::permissions(shelf, fs::perms(0755));
  fs::permissions(path, fs::perms(0644));
}

// A writer killed with SIGKILL at an arbitrary moment loses nothing it reported as committed, and the
// database opens cleanly afterwards.
TEST(Store, KillNineLosesNoCommittedMeasurement) {
  TempDir dir;
  const auto path = dir.file("crash.sqlite");
  std::int64_t run_id = 0;
  {
    auto store = Store::open(path);
    run_id = store.add_run(sample_run());
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    try {
      auto store = Store::open(path);
      for (int i = 1; i <= 100000; ++i) {
        store.add_measurement(sample_measurement(run_id, i));
        const char done = 'x';  // one byte per committed measurement
        if (write(fds[1], &done, 1) != 1) _exit(3);
      }
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  close(fds[1]);
  std::size_t reported = 0;
  char buf[64];
  while (reported < 40) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    reported += static_cast<std::size_t>(n);
  }
  kill(child, SIGKILL);
  // Drain what was reported before the kill took effect.
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) reported += static_cast<std::size_t>(n);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended before it was killed (status " << status << ")";
  ASSERT_GE(reported, 40u);

  auto store = Store::open(path);
  const std::size_t stored = store.count_measurements();
  // Every reported commit is there; at most one more (committed, killed before it could report).
  EXPECT_GE(stored, reported);
  EXPECT_LE(stored, reported + 1);
  // Resume: the keys tell which repeats are done, and adding the next one works.
  const auto keys = store.item_keys(run_id);
  EXPECT_EQ(keys.size(), stored);
  store.add_measurement(sample_measurement(run_id, static_cast<int>(stored) + 1));
  EXPECT_EQ(store.count_measurements(), stored + 1);
}

}  // namespace
}  // namespace dle::storage
