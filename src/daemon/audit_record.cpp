// The audit store's decision records, committed in groups: when decisions finish together
// (a burst of callers, or every caller of a hung server at its deadline), the first to
// arrive commits for all that queue behind it, in one transaction and one fsync, instead
// of each waiting for the fsyncs of those ahead of it.
#include <fmt/format.h>

#include "daemon/audit_store.h"
#include "daemon/decision_json.h"
#include "daemon/sqlite_statement.h"

namespace guardd {

struct AuditStore::PendingRecord {
  const Decision* decision = nullptr;
  std::string checks_text;             // serialised before queueing: no work under the lock
  std::optional<uint64_t> holds_seen;  // set: refuse the write if a hold was placed since
  std::optional<Result<std::optional<int64_t>>> result;  // set once committed or refused
};

namespace {

std::string checks_as_text(const Decision& d) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : d.checks) checks.push_back(check_result_to_json(c));
  return checks.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Result<int64_t> AuditStore::record(const Decision& d) {
  PendingRecord pending{&d, checks_as_text(d), std::nullopt, std::nullopt};
  commit_in_group(pending);
  if (!*pending.result) return Error{pending.result->error()};
  return ***pending.result;  // no holds_seen: never refused as stale
}

Result<std::optional<int64_t>> AuditStore::record_unless_holds_changed(const Decision& d,
                                                                       uint64_t holds_seen) {
  PendingRecord pending{&d, checks_as_text(d), holds_seen, std::nullopt};
  commit_in_group(pending);
  return std::move(*pending.result);
}

uint64_t AuditStore::holds_generation() {
  return holds_generation_.load();
}

void AuditStore::commit_in_group(PendingRecord& pending) {
  std::unique_lock lock(group_mutex_);
  group_queue_.push_back(&pending);
  // Wait while another thread commits: it may take this record with its group; if not,
  // the first waiter to find no commit under way commits the next group.
  while (!pending.result) {
    if (group_committing_) {
      group_done_.wait(lock);
      continue;
    }
    group_committing_ = true;
    std::vector<PendingRecord*> group;
    group.swap(group_queue_);
    lock.unlock();
    std::vector<RecordOutcome> outcomes;
    {
      std::lock_guard store_lock(mutex_);
      outcomes = commit_group(group);
    }
    lock.lock();
    // Published under group_mutex_: each waiter reads its own result under it.
    for (size_t i = 0; i < group.size(); ++i) group[i]->result.emplace(std::move(outcomes[i]));
    group_committing_ = false;
    group_done_.notify_all();
  }
}

std::vector<AuditStore::RecordOutcome> AuditStore::commit_group(
    const std::vector<PendingRecord*>& group) {
  std::vector<std::optional<RecordOutcome>> outcomes(group.size());
  std::vector<size_t> writes;  // indexes into group
  // Two stats a group: a database deleted or replaced on disk would lose what is written.
  const Status intact = db_ ? files_intact() : ok_status();
  for (size_t i = 0; i < group.size(); ++i) {
    const PendingRecord* p = group[i];
    if (!db_) {
      outcomes[i].emplace(Error{failure("cannot record decision")});
    } else if (!intact) {
      outcomes[i].emplace(Error{intact.error()});
    } else if (p->holds_seen && *p->holds_seen != holds_generation_.load()) {
      outcomes[i].emplace(std::optional<int64_t>{});  // a hold was acknowledged since: decide again
    } else {
      writes.push_back(i);
    }
  }
  // One record: its own implicit transaction, as before grouping existed.
  bool written = false;
  if (writes.size() > 1 && exec("BEGIN IMMEDIATE")) {
    std::vector<int64_t> ids;
    for (size_t i : writes) {
      auto id = insert_decision(*group[i]);
      if (!id) break;
      ids.push_back(*id);
    }
    if (ids.size() == writes.size() && exec("COMMIT")) {
      for (size_t k = 0; k < writes.size(); ++k)
        outcomes[writes[k]].emplace(std::optional<int64_t>{ids[k]});
      last_error_.reset();
      written = true;
    } else {
      // A failed insert or COMMIT: nothing of the group is durable. Undo it and write the
      // records one by one, so each gets the answer its own write earns.
      (void)exec("ROLLBACK");
    }
  }
  if (!written)
    for (size_t i : writes) {
      auto id = insert_decision(*group[i]);
      if (id) {
        outcomes[i].emplace(std::optional<int64_t>{*id});
        last_error_.reset();
      } else {
        outcomes[i].emplace(Error{id.error()});
      }
    }
  std::vector<RecordOutcome> out;
  out.reserve(group.size());
  for (auto& o : outcomes) out.push_back(std::move(*o));
  return out;
}

Result<int64_t> AuditStore::insert_decision(const PendingRecord& pending) {
  const Decision& d = *pending.decision;
  if (!insert_decision_) {
    auto prepared = std::make_unique<Statement>(
        db_,
        "INSERT INTO decisions (time_us, operation, target, reason, verdict, dry_run, "
        "caller_uid, caller_gid, caller_pid, caller_exe, caller_cmdline, "
        "caller_parent_cmdline, checks, duration_us, hostname, guardd_version, error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        StatementUse::Reused);
    if (!prepared->ok()) return Error{failure("cannot record decision")};
    insert_decision_ = std::move(prepared);
  }
  Statement& s = *insert_decision_;
  s.reset();
  s.bind(1, d.time_us);
  s.bind(2, d.operation);
  s.bind(3, d.target);
  s.bind(4, d.reason);
  s.bind(5, std::string(to_string(d.verdict)));
  s.bind(6, int64_t{d.dry_run});
  s.bind(7, int64_t{d.caller.uid});
  s.bind(8, int64_t{d.caller.gid});
  s.bind(9, int64_t{d.caller.pid});
  s.bind(10, d.caller.exe);
  s.bind(11, d.caller.cmdline);
  s.bind(12, d.caller.parent_cmdline);
  s.bind(13, pending.checks_text);
  s.bind(14, d.duration_us);
  s.bind(15, d.hostname);
  s.bind(16, d.guardd_version);
  s.bind(17, d.error);
  const int rc = s.step();
  std::optional<std::string> failed;
  if (rc != SQLITE_DONE) failed = failure("cannot record decision");  // before reset
  s.reset();  // ends this run of the statement; the next decision reuses it
  if (failed) return Error{*failed};
  return sqlite3_last_insert_rowid(db_);
}

}  // namespace guardd
