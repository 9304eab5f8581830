// One look at a running instance: version, sessions, replication, cluster membership.
// One connection and a handful of cheap queries, shared by the MySQL checks of a decision.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plugins/mysql/connection.h"
#include "plugins/mysql/instance.h"

namespace guardd::mysql {

/// What the queries returned. A field is empty when its query does not apply (no replica
/// status on a primary, no wsrep status without Galera, no group on MariaDB).
struct ProbeData {
  std::string version;
  bool mariadb = false;
  int64_t connection_id = 0;
  std::string server_uuid;
  std::string account;  // the user guardd is logged in as (CURRENT_USER(), without @host)
  std::set<int64_t> own_sessions;  // guardd's recently closed probe sessions, maybe not gone yet
  bool has_process_privilege = false;
  std::vector<Row> processlist;
  std::vector<Row> transactions;    // information_schema.INNODB_TRX: THREAD_ID, STATE, AGE_SECONDS
  std::vector<Row> replica_status;  // one row per channel
  std::vector<Row> wsrep_status;    // SHOW GLOBAL STATUS LIKE 'wsrep%' (Variable_name, Value)
  bool wsrep_on = false;
  std::vector<Row> group_members;  // performance_schema.replication_group_members
};

/// The replicas a replica's source has connected, asked of the source itself.
struct SourceReplicas {
  std::string source;           // host:port
  std::optional<int> replicas;  // Binlog Dump threads on the source
  std::string error;            // why it could not be asked
};

/// The probe of one instance: data, or why it could not be had.
struct InstanceProbe {
  Instance instance;
  std::optional<ProbeData> data;
  std::string error;
  std::vector<SourceReplicas> sources;  // for each running replication channel
};

/// Settings shared by the probe's connections.
struct ProbeSettings {
  std::string defaults_file;  // a dedicated monitoring account when set
};

/// Connects over the instance's unix socket and runs the queries, before `deadline`.
/// Probes of one instance are serialised within the process, so concurrent decisions never
/// see each other's sessions as clients.
InstanceProbe probe_instance(const Instance& instance, const ProbeSettings& settings,
                             std::chrono::steady_clock::time_point deadline);

/// Runs the probe's queries on an open connection (also used on recorded servers in tests).
Result<ProbeData> collect(Connection& conn);

/// True when a processlist row is a replica's binlog dump thread.
bool is_binlog_dump(const Row& row);

}  // namespace guardd::mysql
