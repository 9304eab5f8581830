#include "daemon/audit_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "daemon/decision_json.h"
#include "daemon/sqlite_statement.h"

namespace guardd {
namespace {

// Forward migrations: entry N takes the schema from version N to N+1. Never edit a
// released entry; append a new one.
constexpr const char* kMigrations[] = {
    // 0 -> 1: decisions and holds.
    R"sql(
CREATE TABLE decisions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_us INTEGER NOT NULL,
  operation TEXT NOT NULL,
  target TEXT,
  reason TEXT,
  verdict TEXT NOT NULL,
  dry_run INTEGER NOT NULL DEFAULT 0,
  caller_uid INTEGER NOT NULL,
  caller_gid INTEGER NOT NULL,
  caller_pid INTEGER NOT NULL,
  caller_exe TEXT,
  caller_cmdline TEXT,
  caller_parent_cmdline TEXT,
  checks TEXT NOT NULL,
  duration_us INTEGER NOT NULL
);
CREATE INDEX decisions_time ON decisions(time_us);
CREATE TABLE holds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_us INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  reason TEXT NOT NULL,
  operations TEXT NOT NULL,
  released_us INTEGER,
  released_uid INTEGER
);
)sql",
    // 1 -> 2: host and version on each row, the rejection message, and query indexes.
    R"sql(
ALTER TABLE decisions ADD COLUMN hostname TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN guardd_version TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN error TEXT;
CREATE INDEX decisions_verdict ON decisions(verdict, time_us);
CREATE INDEX decisions_operation ON decisions(operation, time_us);
CREATE INDEX holds_active ON holds(released_us);
)sql",
    // 2 -> 3: MySQL/MariaDB datadirs seen in use, so they stay protected while stopped.
    R"sql(
CREATE TABLE mysql_datadirs (
  datadir TEXT PRIMARY KEY,
  server TEXT NOT NULL DEFAULT '',
  socket TEXT NOT NULL DEFAULT '',
  port INTEGER NOT NULL DEFAULT 0,
  role TEXT NOT NULL DEFAULT '',
  fs_uuid TEXT NOT NULL DEFAULT '',
  fs_device TEXT NOT NULL DEFAULT '',
  first_seen_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL,
  retired_us INTEGER,
  retired_uid INTEGER,
  retired_reason TEXT
);
)sql",
};
static_assert(std::size(kMigrations) == AuditStore::kSchemaVersion);

constexpr const char* kDecisionColumns =
    "id, time_us, operation, target, reason, verdict, dry_run, caller_uid, caller_gid, "
    "caller_pid, caller_exe, caller_cmdline, caller_parent_cmdline, checks, duration_us, "
    "hostname, guardd_version, error";

Decision decision_from_row(const Statement& s) {
  Decision d;
  d.id = s.integer(0);
  d.time_us = s.integer(1);
  d.operation = s.text(2);
  d.target = s.optional_text(3);
  d.reason = s.optional_text(4);
  d.verdict = parse_verdict(s.text(5)).value_or(Verdict::Refused);
  d.dry_run = s.integer(6) != 0;
  d.caller.uid = static_cast<uid_t>(s.integer(7));
  d.caller.gid = static_cast<gid_t>(s.integer(8));
  d.caller.pid = static_cast<pid_t>(s.integer(9));
  d.caller.exe = s.optional_text(10);
  d.caller.cmdline = s.optional_text(11);
  d.caller.parent_cmdline = s.optional_text(12);
  auto checks = nlohmann::json::parse(s.text(13), nullptr, false);
  if (checks.is_array())
    for (const auto& c : checks) d.checks.push_back(check_result_from_json(c));
  d.duration_us = s.integer(14);
  d.hostname = s.text(15);
  d.guardd_version = s.text(16);
  d.error = s.optional_text(17);
  return d;
}

}  // namespace

Result<std::shared_ptr<AuditStore>> AuditStore::open(const std::string& path, int target_version) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error{fmt::format("cannot open audit database {}: {}", path, msg)};
  }
  std::shared_ptr<AuditStore> store(new AuditStore(db, path));
  sqlite3_busy_timeout(db, 2000);
  // Page size: a commit writes whole pages (table, three indexes, the id sequence) to the
  // WAL and syncs them; 1 KiB pages make that 5 KiB instead of 20, about 20 us less per
  // decision at one client (guardd-bench). It takes effect for a new database only.
  // The page cache: a commit touches only the right edge of the table and its indexes,
  // and listing reads through the kernel's cache; SQLite's default 2 MiB would sit idle.
  for (const char* pragma : {"PRAGMA page_size = 1024", "PRAGMA journal_mode = WAL",
                             "PRAGMA synchronous = FULL", "PRAGMA cache_size = -256"}) {
    Status st = store->exec(pragma);
    if (!st) return Error{fmt::format("audit database {}: {}", path, st.error())};
  }
  Status migrated = store->migrate(target_version);
  if (!migrated) return Error{fmt::format("audit database {}: {}", path, migrated.error())};
  // journal_mode=WAL only reports, it cannot fail silently: verify it took.
  Statement mode(db, "PRAGMA journal_mode");
  if (!mode.ok() || mode.step() != SQLITE_ROW || mode.text(0) != "wal")
    return Error{fmt::format("audit database {}: cannot switch to WAL mode", path)};
  {
    std::lock_guard lock(store->mutex_);
    Status intact = store->files_intact();  // learns their identities
    if (!intact) return Error{intact.error()};
    store->reload_holds();
    if (target_version >= 3) store->reload_datadirs();
  }
  return store;
}

AuditStore::~AuditStore() {
  close();
}

void AuditStore::close() {
  std::lock_guard lock(mutex_);
  insert_decision_.reset();
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
  std::lock_guard holds_lock(holds_mutex_);
  holds_.reset();
  datadirs_.reset();
}

Status AuditStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Error{msg};
  }
  return ok_status();
}

std::string AuditStore::failure(const char* what) {
  std::string msg = db_ ? fmt::format("{}: {}", what, sqlite3_errmsg(db_))
                        : fmt::format("{}: audit database is closed", what);
  last_error_ = msg;
  return msg;
}

Status AuditStore::migrate(int target_version) {
  Statement v(db_, "PRAGMA user_version");
  if (!v.ok() || v.step() != SQLITE_ROW) return Error{failure("cannot read schema version")};
  int current = static_cast<int>(v.integer(0));
  if (current > kSchemaVersion)
    return Error{fmt::format("schema version {} is newer than this guardd understands ({})",
                             current, kSchemaVersion)};
  for (int version = current; version < target_version; ++version) {
    std::string sql = fmt::format("BEGIN IMMEDIATE; {} PRAGMA user_version = {}; COMMIT;",
                                  kMigrations[version], version + 1);
    Status st = exec(sql.c_str());
    if (!st) {
      (void)exec("ROLLBACK");
      return Error{
          fmt::format("migration to schema version {} failed: {}", version + 1, st.error())};
    }
  }
  return ok_status();
}

Result<std::vector<Decision>> AuditStore::list(const DecisionFilter& f) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot list decisions")};
  // Build the WHERE clause from the filters present so SQLite can use the indexes.
  std::vector<std::string> where;
  if (f.since_us) where.push_back("time_us >= ?1");
  if (f.until_us) where.push_back("time_us <= ?2");
  if (f.operation) where.push_back("operation = ?3");
  if (f.verdict) where.push_back("verdict = ?4");
  std::string sql =
      fmt::format("SELECT {} FROM decisions {} {} ORDER BY time_us DESC, id DESC LIMIT ?5",
                  kDecisionColumns, where.empty() ? "" : "WHERE", fmt::join(where, " AND "));
  Statement s(db_, sql.c_str());
  if (!s.ok()) return Error{failure("cannot list decisions")};
  if (f.since_us) s.bind(1, *f.since_us);
  if (f.until_us) s.bind(2, *f.until_us);
  if (f.operation) s.bind(3, *f.operation);
  if (f.verdict) s.bind(4, std::string(to_string(*f.verdict)));
  s.bind(5, int64_t{f.limit});
  std::vector<Decision> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(decision_from_row(s));
  if (rc != SQLITE_DONE) return Error{failure("cannot list decisions")};
  std::reverse(out.begin(), out.end());
  return out;
}

Result<Hold> AuditStore::place_hold(uid_t uid, const std::string& reason,
                                    const std::vector<std::string>& operations, int64_t now_us) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot place hold")};
  if (Status intact = files_intact(); !intact) return Error{intact.error()};
  Statement s(db_, "INSERT INTO holds (created_us, uid, reason, operations) VALUES (?1,?2,?3,?4)");
  if (!s.ok()) return Error{failure("cannot place hold")};
  s.bind(1, now_us);
  s.bind(2, int64_t{uid});
  s.bind(3, reason);
  s.bind(4, fmt::format("{}", fmt::join(operations, " ")));
  if (s.step() != SQLITE_DONE) return Error{failure("cannot place hold")};
  Hold placed{sqlite3_last_insert_rowid(db_), now_us, uid, reason, operations};
  // The new holds first, then the count: a decision that reads the raised count is sure
  // to see the hold; one that read the count before is stopped at its commit, which
  // needs mutex_ and so comes after this. Both before the acknowledgement.
  reload_holds();
  ++holds_generation_;
  return placed;
}

Result<bool> AuditStore::release_hold(int64_t id, uid_t uid, int64_t now_us) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot release hold")};
  if (Status intact = files_intact(); !intact) return Error{intact.error()};
  Statement s(db_,
              "UPDATE holds SET released_us = ?1, released_uid = ?2 "
              "WHERE id = ?3 AND released_us IS NULL");
  if (!s.ok()) return Error{failure("cannot release hold")};
  s.bind(1, now_us);
  s.bind(2, int64_t{uid});
  s.bind(3, id);
  if (s.step() != SQLITE_DONE) return Error{failure("cannot release hold")};
  const bool released = sqlite3_changes(db_) > 0;
  reload_holds();
  return released;
}

Result<std::vector<Hold>> AuditStore::active_holds() {
  {
    std::lock_guard lock(holds_mutex_);
    if (holds_) return *holds_;
  }
  std::lock_guard lock(mutex_);
  reload_holds();
  std::lock_guard holds_lock(holds_mutex_);
  if (!holds_) return Error{last_error_.value_or("cannot read holds")};
  return *holds_;
}

void AuditStore::reload_holds() {
  std::shared_ptr<std::vector<Hold>> holds;
  if (db_) {
    Statement s(db_,
                "SELECT id, created_us, uid, reason, operations FROM holds "
                "WHERE released_us IS NULL ORDER BY id");
    if (s.ok()) {
      holds = std::make_shared<std::vector<Hold>>();
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        holds->push_back(Hold{s.integer(0), s.integer(1), static_cast<uid_t>(s.integer(2)),
                              s.text(3), parse_list(s.text(4))});
      if (rc != SQLITE_DONE) holds.reset();
    }
    if (!holds) failure("cannot read holds");
  } else {
    failure("cannot read holds");
  }
  std::lock_guard lock(holds_mutex_);
  holds_ = std::move(holds);
}

Result<int64_t> AuditStore::newest_decision_time() {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot read the newest decision")};
  // By id, the order of recording: the row's time is what the clock said then.
  Statement s(db_, "SELECT coalesce((SELECT time_us FROM decisions ORDER BY id DESC LIMIT 1), 0)");
  if (!s.ok() || s.step() != SQLITE_ROW) return Error{failure("cannot read the newest decision")};
  return s.integer(0);
}

Result<int64_t> AuditStore::prune(int64_t before_us) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot prune")};
  Statement s(db_, "DELETE FROM decisions WHERE time_us < ?1");
  if (!s.ok()) return Error{failure("cannot prune")};
  s.bind(1, before_us);
  if (s.step() != SQLITE_DONE) return Error{failure("cannot prune")};
  return int64_t{sqlite3_changes(db_)};
}

namespace {

std::optional<struct stat> stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

}  // namespace

Status AuditStore::files_intact() {
  if (files_broken_) return Error{*files_broken_};
  auto check = [&](const std::string& path, std::optional<FileId>& known) -> Status {
    auto st = stat_of(path);
    if (!st) {
      // The log appears with the first write; before that its absence is normal.
      if (!known) return ok_status();
      return Error{fmt::format("{} was deleted while guardd had it open", path)};
    }
    FileId id{st->st_dev, st->st_ino};
    if (!known) {
      known = id;
      return ok_status();
    }
    if (!(*known == id))
      return Error{fmt::format("{} was replaced while guardd had it open", path)};
    return ok_status();
  };
  for (auto [path, known] :
       {std::pair{path_, &database_id_}, std::pair{path_ + "-wal", &wal_id_}}) {
    Status ok = check(path, *known);
    if (!ok) {
      files_broken_ = fmt::format(
          "audit database unusable: {}: records written now would be lost (restore it, or "
          "move what is left aside, and restart guardd)",
          ok.error());
      last_error_ = files_broken_;
      return Error{*files_broken_};
    }
  }
  return ok_status();
}

AuditStats AuditStore::stats() {
  std::lock_guard lock(mutex_);
  AuditStats st;
  st.path = path_;
  (void)files_intact();  // status says at once when the files are gone
  st.last_error = last_error_;
  if (!db_) return st;
  Statement v(db_, "PRAGMA user_version");
  if (v.ok() && v.step() == SQLITE_ROW) st.schema_version = static_cast<int>(v.integer(0));
  Statement last(db_, "SELECT coalesce(max(id), 0) FROM decisions");
  if (last.ok() && last.step() == SQLITE_ROW) st.last_decision_id = last.integer(0);
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    auto size = std::filesystem::file_size(path_ + suffix, ec);
    if (!ec) st.size_bytes += static_cast<int64_t>(size);
  }
  return st;
}

}  // namespace guardd
