// The audit log: every decision and every hold, durably in SQLite.
#pragma once

#include <sys/types.h>

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sqlite_statement.h"
#include "guardd/datadir_memory.h"
#include "guardd/decision.h"
#include "guardd/hold.h"
#include "guardd/result.h"

namespace guardd {

/// Which decisions ListDecisions returns.
struct DecisionFilter {
  std::optional<int64_t> since_us;
  std::optional<int64_t> until_us;
  std::optional<std::string> operation;
  std::optional<Verdict> verdict;
  int limit = 100;
};

/// Facts about the audit database for GetStatus.
struct AuditStats {
  std::string path;
  int schema_version = 0;
  int64_t last_decision_id = 0;
  int64_t size_bytes = 0;
  std::optional<std::string> last_error;  // the most recent failed write, if any
};

/// SQLite-backed store, safe to call from any thread (calls are serialised).
class AuditStore final : public HoldSource, public DatadirMemory {
 public:
  /// Newest schema this build writes.
  static constexpr int kSchemaVersion = 3;

  /// Opens (creating if needed) and migrates the database up to `target_version`; tests pass
  /// an older version to build a database of an older schema.
  static Result<std::shared_ptr<AuditStore>> open(const std::string& path,
                                                  int target_version = kSchemaVersion);

  ~AuditStore() override;
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  /// Commits a decision durably (synchronous=FULL) and returns its id. Calls that arrive
  /// while a commit is under way share the next one: one transaction and one fsync for
  /// all of them, so a burst of decisions does not queue behind one fsync each.
  Result<int64_t> record(const Decision& decision);

  /// As record(), unless a hold was placed after `holds_seen` (a holds_generation() read
  /// before the decision's checks ran): then nothing is written and nullopt returned, so
  /// the decision is made again with that hold in view.
  Result<std::optional<int64_t>> record_unless_holds_changed(const Decision& decision,
                                                             uint64_t holds_seen);

  /// Counts placed holds; read before deciding, compared when committing.
  uint64_t holds_generation();

  /// Decisions matching the filter: the newest `limit` of them, oldest first.
  Result<std::vector<Decision>> list(const DecisionFilter& filter);

  /// Stores a new active hold.
  Result<Hold> place_hold(uid_t uid, const std::string& reason,
                          const std::vector<std::string>& operations, int64_t now_us);

  /// Releases an active hold; false when no active hold has that id.
  Result<bool> release_hold(int64_t id, uid_t uid, int64_t now_us);

  /// Holds placed and not yet released, oldest first. Answered from memory (kept in step
  /// with every hold change), so a check never waits behind a commit's fsync.
  Result<std::vector<Hold>> active_holds() override;

  /// Remembered datadirs not retired, answered from memory (see DatadirMemory; the
  /// definitions are in known_datadirs.cpp).
  Result<std::vector<KnownDatadir>> known_datadirs() override;
  Status remember_datadir(const KnownDatadir& seen) override;
  Result<bool> retire_datadir(const std::string& datadir, uid_t uid, const std::string& reason,
                              int64_t now_us) override;

  /// The time of the newest decision on record (0 when there is none).
  Result<int64_t> newest_decision_time();

  /// Deletes decisions older than `before_us`; returns how many.
  Result<int64_t> prune(int64_t before_us);

  /// Path, schema version, size and health.
  AuditStats stats();

  /// Closes the database; later calls fail with an error.
  void close();

 private:
  AuditStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status migrate(int target_version);
  Status exec(const char* sql);
  std::string failure(const char* what);
  /// Reads the active holds into the in-memory copy (mutex_ held); on failure the copy is
  /// dropped, and active_holds() reads the database until a read succeeds.
  void reload_holds();
  /// The same for the remembered datadirs (mutex_ held).
  void reload_datadirs();

  /// A decision waiting in the group commit (audit_record.cpp).
  struct PendingRecord;
  /// Queues `pending` and returns once it is committed or refused: by this thread, when
  /// no commit is under way, together with everything queued meanwhile.
  void commit_in_group(PendingRecord& pending);
  /// What became of one record: its id, nullopt when refused as stale, or the error.
  using RecordOutcome = Result<std::optional<int64_t>>;
  /// Writes a group in one transaction (mutex_ held); falls back to one at a time if it
  /// fails, so each record's outcome is its own. Returns the outcomes in the group's
  /// order; the caller hands them to the records under group_mutex_, where their
  /// waiters read them.
  std::vector<RecordOutcome> commit_group(const std::vector<PendingRecord*>& group);
  /// Inserts one decision (mutex_ held) and returns its id.
  Result<int64_t> insert_decision(const PendingRecord& pending);
  /// Whether the database and its write-ahead log on disk are still the files this store
  /// opened (mutex_ held): one deleted or replaced under guardd would take every record
  /// written since with it. On failure the store stays failed (last_error_) until reopened.
  Status files_intact();

  /// A file's identity on disk.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId&) const = default;
  };
  std::optional<FileId> database_id_, wal_id_;  // as opened; the log's from its first use
  std::optional<std::string> files_broken_;     // set once: what happened to them

  std::mutex mutex_;
  sqlite3* db_;
  std::unique_ptr<Statement> insert_decision_;  // prepared once: every decision runs it
  std::string path_;
  std::optional<std::string> last_error_;
  // Raised under mutex_ when a hold is placed, before it is acknowledged; read without it,
  // so that a decision does not wait for a commit to learn it.
  std::atomic<uint64_t> holds_generation_{0};

  std::mutex group_mutex_;  // guards the group commit's queue; never held across SQLite
  std::condition_variable group_done_;
  std::vector<PendingRecord*> group_queue_;
  bool group_committing_ = false;
  std::mutex holds_mutex_;  // guards holds_ and datadirs_; never held while waiting on SQLite
  std::shared_ptr<const std::vector<Hold>> holds_;             // null: not known, read the database
  std::shared_ptr<const std::vector<KnownDatadir>> datadirs_;  // null: not known
};

}  // namespace guardd
