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
#include "plugins/mysql/replication_position.h"

namespace guardd::mysql {

/// What the queries returned. A field is empty when its query does not apply (no replica
/// status on a primary, no wsrep status without Galera, no group on MariaDB).
struct ProbeData {
  std::string version;
  bool mariadb = false;
  int64_t connection_id = 0;
  int64_t server_id = 0;
  bool read_only = false;          // @@read_only
  bool semi_sync_replica = false;  // this server acknowledges its source's semi-sync commits
  std::string server_uuid;
  std::string account;            // the user guardd is logged in as (CURRENT_USER(), without @host)
  std::string pid_file, datadir;  // @@pid_file and @@datadir: which server answered
  std::set<int64_t> own_sessions;  // guardd's recently closed probe sessions, maybe not gone yet
  bool has_process_privilege = false;
  std::vector<Row> processlist;
  std::vector<Row> transactions;  // information_schema.INNODB_TRX: TRX_ID, THREAD_ID, STATE,
                                  // AGE_SECONDS, ROWS_MODIFIED
  std::vector<Row> prepared_xa;   // XA RECOVER (data: the xid)
  // Global read and backup locks held (SESSION, TYPE, MODE), from MariaDB's
  // metadata_lock_info plugin or performance_schema.metadata_locks; nullopt when the
  // server shows neither (an idle session holding one is then invisible).
  std::optional<std::vector<Row>> global_locks;
  std::vector<Row> replica_status;  // one row per channel
  std::vector<Row> wsrep_status;    // SHOW GLOBAL STATUS LIKE 'wsrep%' (Variable_name, Value)
  bool wsrep_on = false;
  std::string galera_node_uuid;    // wsrep_gcomm_uuid: this node among the others
  std::vector<Row> group_members;  // performance_schema.replication_group_members
};

/// Another replica of the same source, as it reports its own replication state.
struct PeerState {
  std::string address;  // host:port as the source lists it (SHOW SLAVE HOSTS)
  int64_t server_id = 0;
  std::string error;        // why it could not be asked (unreachable, refused, hung)
  bool replicates = false;  // it has a channel from this source (by Master_Server_Id)
  std::string io_running, sql_running, last_io_error, last_sql_error;
  std::optional<int64_t> lag_seconds;  // NULL while the SQL thread is not running
  int64_t sql_delay = 0;               // a delayed replica's configured delay
  ReplicaPosition position;            // what it has received, and what it logged itself
  std::optional<bool> read_only;       // @@read_only; unknown when it could not be read
};

/// Whether a source answered when asked: one that did not may be down, and then its
/// replicas hold its data; one that answered and refused is a setup problem.
enum class SourceReach { Answered, NoAnswer };

/// What a replica's source says about its replicas, and each of them about itself.
struct SourceView {
  std::string source;  // host:port
  std::string error;   // why the source could not be asked; empty when it was
  int64_t server_id = 0;
  std::vector<PeerState> peers;    // the other registered replicas (not this one)
  bool semi_sync_enabled = false;  // the source waits for a semi-sync acknowledgement
  int semi_sync_clients = 0;       // replicas acknowledging semi-sync now
  int semi_sync_wait_for = 1;      // acknowledgements each commit waits for
  SourceReach reach = SourceReach::Answered;
  SourcePosition position;  // read before its peers are asked
};

/// Another Galera node, as it reports its own state.
struct GaleraPeer {
  std::string address;         // from wsrep_incoming_addresses
  std::string error;           // why it could not be asked
  std::string local_state;     // wsrep_local_state_comment: Synced, Donor/Desynced, Joining...
  std::string cluster_status;  // wsrep_cluster_status: Primary or not
};

/// The probe of one instance: data, or why it could not be had.
struct InstanceProbe {
  Instance instance;
  std::optional<ProbeData> data;
  std::string error;
  std::vector<SourceView> sources;       // one per replication channel, in replica_status order
  std::vector<GaleraPeer> galera_peers;  // the other nodes with a client address
  // A replica that also has Binlog Dump threads: the replicas registered with it, each
  // asked whether it still replicates from it (a demoted primary's threads linger).
  std::vector<PeerState> downstream;
  std::string downstream_error;  // why they could not be listed
};

/// Settings shared by the probe's connections.
struct ProbeSettings {
  std::string defaults_file;  // a dedicated monitoring account when set
};

/// Connects over the instance's unix socket and runs the queries, then asks the sources,
/// peers and Galera nodes it names in parallel, before `deadline`. One probe of an instance
/// runs at a time in the process (concurrent decisions never see each other's sessions as
/// clients); callers that arrive while one runs share the next (see SharedProbes).
InstanceProbe probe_instance(const Instance& instance, const ProbeSettings& settings,
                             std::chrono::steady_clock::time_point deadline);

/// Runs the probe's queries on an open connection (also used on recorded servers in tests).
Result<ProbeData> collect(Connection& conn);

/// True when an INNODB_TRX row belongs to no session (a prepared XA transaction left by
/// its client, or a rollback after a crash).
bool is_sessionless(const Row& transaction);

/// True when a replica status row's IO and SQL threads both run.
bool is_replicating(const Row& channel);

/// True when a processlist row is a replica's binlog dump thread.
bool is_binlog_dump(const Row& row);

}  // namespace guardd::mysql
