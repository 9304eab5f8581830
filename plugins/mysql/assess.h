// Judging a probed instance: its replication role and its client sessions. Pure functions
// of the probe, so recorded result sets (MySQL 8, Group Replication) can be tested too.
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/decision.h"
#include "plugins/mysql/probe.h"

namespace guardd::mysql {

/// One instance's verdict from one check.
struct Assessment {
  Outcome outcome = Outcome::Error;
  std::string reason;
  nlohmann::json facts;
};

/// Policy of the mysql-replication check.
struct ReplicationPolicy {
  int min_remaining_nodes = 2;   // Galera: synced nodes that must remain after this one leaves
  int64_t max_lag_seconds = 30;  // a peer replica further behind is no failover candidate
};

/// Classifies the instance (standalone, primary, replica, intermediate primary, Galera node,
/// group member) and says whether taking it away would hurt.
Assessment assess_replication(const InstanceProbe& probe, const ReplicationPolicy& policy);

/// Policy of the mysql-connections check.
struct ConnectionsPolicy {
  int max_clients = 0;                 // idle client sessions allowed
  std::set<std::string> ignore_users;  // their sessions do not count against max_clients
  int64_t max_query_seconds = 30;      // a statement running longer vetoes (config: max_query_time)
};

/// Counts client sessions (not replication, system, unauthenticated or guardd's own,
/// which is known by connection id only) against max_clients; an open transaction,
/// running DDL or a statement running longer than max_query_seconds vetoes regardless.
Assessment assess_connections(const InstanceProbe& probe, const ConnectionsPolicy& policy);

/// What a metadata lock held on the whole server stops.
enum class GlobalLock {
  None,        // an ordinary statement's intention lock
  ReadLock,    // FLUSH TABLES WITH READ LOCK: every write waits
  BackupLock,  // BACKUP STAGE (MariaDB), LOCK INSTANCE FOR BACKUP (MySQL): a backup runs
};

/// Classifies a lock as METADATA_LOCK_INFO (type "Backup lock", mode "MDL_BACKUP_FTWRL2")
/// or performance_schema.metadata_locks (type "GLOBAL", mode "SHARED") names it.
GlobalLock classify_global_lock(const std::string& type, const std::string& mode);

/// What keeps the probe from seeing the instance as a decision must (a refused login, a
/// missing PROCESS grant), one sentence each; empty when it sees it.
std::vector<std::string> probe_setup_problems(const InstanceProbe& probe);

/// probe_setup_problems, and every source, peer replica, downstream replica and Galera node
/// the probe could not ask, with what to do (a replica without credentials for its peers).
std::vector<std::string> replication_setup_problems(const InstanceProbe& probe);

}  // namespace guardd::mysql
