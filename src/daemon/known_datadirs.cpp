// The audit store's memory of MySQL/MariaDB datadirs (guardd/datadir_memory.h): a table
// beside the decisions, kept in memory so a check reads it without waiting on a commit.
#include <fmt/format.h>

#include "daemon/audit_store.h"
#include "daemon/sqlite_statement.h"

namespace guardd {

Result<std::vector<KnownDatadir>> AuditStore::known_datadirs() {
  {
    std::lock_guard lock(holds_mutex_);
    if (datadirs_) return *datadirs_;
  }
  std::lock_guard lock(mutex_);
  reload_datadirs();
  std::lock_guard memory_lock(holds_mutex_);
  if (!datadirs_) return Error{last_error_.value_or("cannot read remembered datadirs")};
  return *datadirs_;
}

Status AuditStore::remember_datadir(const KnownDatadir& seen) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot remember datadir")};
  if (Status intact = files_intact(); !intact) return Error{intact.error()};
  // An empty field of the sighting keeps what an earlier sighting knew (a server seen at
  // rest has no socket; mysqld-running does not judge the role).
  Statement s(db_,
              "INSERT INTO mysql_datadirs (datadir, server, socket, port, role, fs_uuid, "
              "fs_device, first_seen_us, last_seen_us) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8) "
              "ON CONFLICT(datadir) DO UPDATE SET "
              "server = CASE WHEN ?2 = '' THEN server ELSE ?2 END, "
              "socket = CASE WHEN ?3 = '' THEN socket ELSE ?3 END, "
              "port = CASE WHEN ?4 = 0 THEN port ELSE ?4 END, "
              "role = CASE WHEN ?5 = '' THEN role ELSE ?5 END, "
              "fs_uuid = CASE WHEN ?6 = '' THEN fs_uuid ELSE ?6 END, "
              "fs_device = CASE WHEN ?6 = '' THEN fs_device ELSE ?7 END, "
              "last_seen_us = ?8, retired_us = NULL, retired_uid = NULL, retired_reason = NULL");
  if (!s.ok()) return Error{failure("cannot remember datadir")};
  s.bind(1, seen.datadir);
  s.bind(2, seen.server);
  s.bind(3, seen.socket);
  s.bind(4, int64_t{seen.port});
  s.bind(5, seen.role);
  s.bind(6, seen.fs_uuid);
  s.bind(7, seen.fs_device);
  s.bind(8, seen.last_seen_us);
  if (s.step() != SQLITE_DONE) return Error{failure("cannot remember datadir")};
  reload_datadirs();
  return ok_status();
}

Result<bool> AuditStore::retire_datadir(const std::string& datadir, uid_t uid,
                                        const std::string& reason, int64_t now_us) {
  std::lock_guard lock(mutex_);
  if (!db_) return Error{failure("cannot retire datadir")};
  if (Status intact = files_intact(); !intact) return Error{intact.error()};
  Statement s(db_,
              "UPDATE mysql_datadirs SET retired_us = ?1, retired_uid = ?2, retired_reason = ?3 "
              "WHERE datadir = ?4 AND retired_us IS NULL");
  if (!s.ok()) return Error{failure("cannot retire datadir")};
  s.bind(1, now_us);
  s.bind(2, int64_t{uid});
  s.bind(3, reason);
  s.bind(4, datadir);
  if (s.step() != SQLITE_DONE) return Error{failure("cannot retire datadir")};
  const bool retired = sqlite3_changes(db_) > 0;
  reload_datadirs();
  return retired;
}

void AuditStore::reload_datadirs() {
  std::shared_ptr<std::vector<KnownDatadir>> datadirs;
  if (db_) {
    Statement s(db_,
                "SELECT datadir, server, socket, port, role, fs_uuid, fs_device, first_seen_us, "
                "last_seen_us FROM mysql_datadirs WHERE retired_us IS NULL ORDER BY datadir");
    if (s.ok()) {
      datadirs = std::make_shared<std::vector<KnownDatadir>>();
      int rc;
      while ((rc = s.step()) == SQLITE_ROW)
        datadirs->push_back(KnownDatadir{s.text(0), s.text(1), s.text(2),
                                         static_cast<int>(s.integer(3)), s.text(4), s.text(5),
                                         s.text(6), s.integer(7), s.integer(8)});
      if (rc != SQLITE_DONE) datadirs.reset();
    }
    if (!datadirs) failure("cannot read remembered datadirs");
  } else {
    failure("cannot read remembered datadirs");
  }
  std::lock_guard lock(holds_mutex_);
  datadirs_ = std::move(datadirs);
}

}  // namespace guardd
