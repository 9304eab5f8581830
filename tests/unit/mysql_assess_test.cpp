// Role and session assessment on recorded result sets. MySQL 5.7/8.0/8.4 and Group
// Replication cannot run here (Debian ships no MySQL server), so these rows, shaped as
// those servers return them, stand in for them; MariaDB is tested on real servers in
// tests/integration/mysql_test.cpp.
#include <gtest/gtest.h>

#include "plugins/mysql/assess.h"
#include "plugins/mysql/instance.h"

namespace guardd::mysql {
namespace {

InstanceProbe probe_with(ProbeData d) {
  InstanceProbe p;
  p.instance.pid = 4242;
  p.instance.name = "mysqld";
  p.instance.socket = "/run/mysqld/mysqld.sock";
  d.has_process_privilege = true;
  p.data = std::move(d);
  return p;
}

Row pl(const std::string& id, const std::string& user, const std::string& host,
       const std::string& command) {
  return {{"ID", id}, {"USER", user}, {"HOST", host}, {"COMMAND", command}, {"DB", std::nullopt}};
}

// SHOW REPLICA STATUS as MySQL 8.0.22+ names its columns.
Row mysql8_channel(const std::string& io, const std::string& sql) {
  return {{"Replica_IO_Running", io}, {"Replica_SQL_Running", sql}, {"Source_Host", "10.0.0.1"},
          {"Source_Port", "3306"},    {"Channel_Name", ""},         {"Seconds_Behind_Source", "0"},
          {"Last_IO_Error", ""},      {"Last_SQL_Error", ""}};
}

TEST(MysqlRecorded, Mysql8PrimaryWithReplicas) {
  ProbeData d;
  d.version = "8.0.36";
  d.connection_id = 9;
  d.processlist = {pl("9", "guardd", "localhost", "Query"),
                   pl("11", "repl", "10.0.0.2:51234", "Binlog Dump GTID"),
                   pl("12", "repl", "10.0.0.3:40000", "Binlog Dump"),
                   pl("5", "event_scheduler", "localhost", "Daemon")};
  auto a = assess_replication(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("primary with 2 connected replica(s): 10.0.0.2, 10.0.0.3"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.facts["role"], "primary");
  auto c = assess_connections(probe_with(d), {});
  EXPECT_EQ(c.outcome, Outcome::Pass) << "dump threads, daemons and guardd itself are no clients";
}

// A peer replica that reports itself healthy: both threads, no error, no delay, no lag.
PeerState healthy_peer(const std::string& address, int64_t server_id) {
  PeerState p;
  p.address = address;
  p.server_id = server_id;
  p.replicates = true;
  p.io_running = "Yes";
  p.sql_running = "Yes";
  p.lag_seconds = 0;
  return p;
}

TEST(MysqlRecorded, Mysql8ReplicaColumnsAndLastReplica) {
  ProbeData d;
  d.version = "8.4.0";
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  InstanceProbe p = probe_with(d);
  p.sources.push_back(SourceView{"10.0.0.1:3306", "", 1, {}, false, 0});
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("the last healthy replica of 10.0.0.1:3306 (no other replica is "
                          "registered)"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.facts["replication"][0]["source"], "10.0.0.1:3306");
  EXPECT_EQ(a.facts["replication"][0]["io_running"], "Yes");

  p.sources[0].peers = {healthy_peer("10.0.0.3:3306", 3)};
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Pass) << a.reason;
  EXPECT_NE(a.reason.find("1 other healthy replica(s): 10.0.0.3:3306 (server_id 3)"),
            std::string::npos)
      << a.reason;
  p.sources[0] = SourceView{"10.0.0.1:3306", "cannot connect to 10.0.0.1:3306", 1, {}, false, 0};
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << "a source that cannot be asked: " << a.reason;
  EXPECT_NE(a.reason.find("may be the one to promote"), std::string::npos) << a.reason;
}

// A peer counts only when it is a failover candidate by its own account.
TEST(MysqlRecorded, PeerReplicasAreJudgedByTheirOwnState) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  InstanceProbe p = probe_with(d);
  auto with_peer = [&](PeerState peer) {
    p.sources = {SourceView{"10.0.0.1:3306", "", 1, {std::move(peer)}, false, 0}};
    return assess_replication(p, {});
  };
  struct Case {
    const char* what;
    PeerState peer;
    const char* reason;
  };
  PeerState hung = healthy_peer("10.0.0.3:3306", 3);
  hung.error = "unreachable: Lost connection to server at 'handshake' (error 2013)";
  PeerState sql_broken = healthy_peer("10.0.0.3:3306", 3);
  sql_broken.sql_running = "No";
  sql_broken.last_sql_error = "Duplicate entry '1' for key 'PRIMARY'";
  sql_broken.lag_seconds.reset();
  PeerState io_stopped = healthy_peer("10.0.0.3:3306", 3);
  io_stopped.io_running = "No";
  PeerState lagging = healthy_peer("10.0.0.3:3306", 3);
  lagging.lag_seconds = 600;
  PeerState delayed = healthy_peer("10.0.0.3:3306", 3);
  delayed.sql_delay = 3600;
  PeerState archiver = healthy_peer("10.0.0.4:3306", 4);
  archiver.replicates = false;  // a binlog reader answering as a server, no channel from us
  for (const Case& c : {Case{"hung", hung, "unreachable"},
                        Case{"SQL thread broken", sql_broken, "SQL thread No (Duplicate entry"},
                        Case{"IO thread stopped", io_stopped, "IO thread No"},
                        Case{"lagging", lagging, "600 s behind (max_lag = 30 s)"},
                        Case{"delayed", delayed, "a delayed replica (SQL_Delay = 3600 s)"},
                        Case{"archiver", archiver, "does not replicate from this source"}}) {
    auto a = with_peer(c.peer);
    EXPECT_EQ(a.outcome, Outcome::Veto) << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find("the last healthy replica of 10.0.0.1:3306"), std::string::npos)
        << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find(c.reason), std::string::npos) << c.what << ": " << a.reason;
  }
  EXPECT_EQ(with_peer(healthy_peer("10.0.0.3:3306", 3)).outcome, Outcome::Pass);
}

// Semi-sync: the last acknowledger is refused even with other (asynchronous) replicas.
TEST(MysqlRecorded, LastSemiSyncAcknowledgerIsRefused) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  d.semi_sync_replica = true;
  InstanceProbe p = probe_with(d);
  p.sources = {SourceView{"10.0.0.1:3306", "", 1, {healthy_peer("10.0.0.3:3306", 3)}, true, 1}};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("the last semi-sync acknowledger of 10.0.0.1:3306"), std::string::npos)
      << a.reason;
  p.sources[0].semi_sync_clients = 2;
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Pass);
}

// The IO thread retrying while the SQL thread applies: the source is gone.
TEST(MysqlRecorded, ReplicaWhoseSourceIsDownIsRefused) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  Row ch = mysql8_channel("Connecting", "Yes");
  ch["Last_IO_Error"] = "error reconnecting to master 'repl@10.0.0.1:3306'";
  d.replica_status = {ch};
  auto a = assess_replication(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("replica whose source is unreachable: 10.0.0.1:3306 (error "
                          "reconnecting"),
            std::string::npos)
      << a.reason;
}

TEST(MysqlRecorded, Mysql57SlaveColumnsStoppedReplicaPasses) {
  ProbeData d;
  d.version = "5.7.44-log";
  d.replica_status = {{{"Slave_IO_Running", "No"},
                       {"Slave_SQL_Running", "No"},
                       {"Master_Host", "db1"},
                       {"Master_Port", "3306"},
                       {"Seconds_Behind_Master", std::nullopt},
                       {"Last_IO_Error", "error connecting to master"}}};
  auto a = assess_replication(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Pass);
  EXPECT_EQ(a.facts["role"], "replica");
  EXPECT_EQ(a.facts["replication"][0]["last_io_error"], "error connecting to master");
}

TEST(MysqlRecorded, IntermediatePrimary) {
  ProbeData d;
  d.version = "8.0.36";
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  d.processlist = {pl("20", "repl", "10.0.0.9:1", "Binlog Dump GTID")};
  auto a = assess_replication(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_EQ(a.facts["role"], "intermediate-primary");
}

std::vector<Row> group(std::initializer_list<std::tuple<const char*, const char*, const char*>> m) {
  std::vector<Row> rows;
  for (auto [id, state, role] : m)
    rows.push_back({{"MEMBER_ID", id},
                    {"MEMBER_HOST", std::string("h-") + id},
                    {"MEMBER_PORT", "3306"},
                    {"MEMBER_STATE", state},
                    {"MEMBER_ROLE", role}});
  return rows;
}

TEST(MysqlRecorded, GroupReplicationFaultTolerance) {
  ProbeData d;
  d.version = "8.0.36";
  d.server_uuid = "a";
  d.group_members = group(
      {{"a", "ONLINE", "PRIMARY"}, {"b", "ONLINE", "SECONDARY"}, {"c", "ONLINE", "SECONDARY"}});
  auto three = assess_replication(probe_with(d), {});
  EXPECT_EQ(three.outcome, Outcome::Pass) << three.reason;
  EXPECT_EQ(three.facts["group"]["fault_tolerance"], 1);

  d.group_members = group({{"a", "ONLINE", "PRIMARY"},
                           {"b", "ONLINE", "SECONDARY"},
                           {"c", "UNREACHABLE", "SECONDARY"}});
  auto two = assess_replication(probe_with(d), {});
  EXPECT_EQ(two.outcome, Outcome::Veto);
  EXPECT_NE(two.reason.find("no fault tolerance left"), std::string::npos) << two.reason;

  d.server_uuid = "c";
  d.group_members = group({{"a", "ONLINE", "PRIMARY"}, {"c", "RECOVERING", "SECONDARY"}});
  EXPECT_EQ(assess_replication(probe_with(d), {}).outcome, Outcome::Pass)
      << "a member the group does not count on";
}

std::vector<Row> wsrep(const std::string& size, const std::string& status,
                       const std::string& state) {
  return {{{"Variable_name", "wsrep_cluster_size"}, {"Value", size}},
          {{"Variable_name", "wsrep_cluster_status"}, {"Value", status}},
          {{"Variable_name", "wsrep_local_state_comment"}, {"Value", state}},
          {{"Variable_name", "wsrep_ready"}, {"Value", "ON"}}};
}

TEST(MysqlRecorded, GaleraRules) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.wsrep_on = true;
  d.wsrep_status = wsrep("3", "Primary", "Synced");
  auto p = probe_with(d);
  p.galera_peers = {GaleraPeer{"10.0.0.2:3306", "", "Synced", "Primary"},
                    GaleraPeer{"10.0.0.3:3306", "", "Synced", "Primary"}};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Pass) << a.reason;
  ReplicationPolicy three;
  three.min_remaining_nodes = 3;
  EXPECT_EQ(assess_replication(p, three).outcome, Outcome::Veto);
  // The cluster counts three members, but one of the others is no synced data copy:
  // a donor, or an arbitrator (not in wsrep_incoming_addresses, so no peer at all).
  p.galera_peers[1].local_state = "Donor/Desynced";
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("would keep 1 synced data node(s) (min_remaining_nodes = 2); not "
                          "counted: 10.0.0.3:3306 (Donor/Desynced)"),
            std::string::npos)
      << a.reason;
  p.galera_peers.pop_back();
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Veto) << "two data nodes and garbd";
  p.galera_peers = {GaleraPeer{"10.0.0.2:3306", "unreachable: timed out", "", ""},
                    GaleraPeer{"10.0.0.3:3306", "", "Synced", "Primary"}};
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Veto) << "an unreachable node";

  d.wsrep_status = wsrep("3", "Primary", "Donor/Desynced");
  auto donor = assess_replication(probe_with(d), {});
  EXPECT_EQ(donor.outcome, Outcome::Veto);
  EXPECT_NE(donor.reason.find("Donor/Desynced"), std::string::npos);
  d.wsrep_status = wsrep("1", "non-Primary", "Initialized");
  EXPECT_NE(assess_replication(probe_with(d), {}).reason.find("non-Primary"), std::string::npos);
}

TEST(MysqlRecorded, ConnectionsCountedByUserAndHost) {
  ProbeData d;
  d.version = "8.0.36";
  d.connection_id = 1;
  d.processlist = {pl("1", "guardd", "localhost", "Query"),
                   pl("2", "app", "10.1.1.1:5000", "Sleep"),
                   pl("3", "app", "10.1.1.2:5000", "Query"),
                   pl("4", "monitor", "localhost", "Sleep"), pl("6", "system user", "", "Connect")};
  auto a = assess_connections(probe_with(d), {0, {"monitor"}});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_EQ(a.facts["clients"]["total"], 2);
  EXPECT_EQ(a.facts["clients"]["active"], 1);
  EXPECT_EQ(a.facts["clients"]["by_host"]["10.1.1.1"], 1);
  EXPECT_NE(a.reason.find("app (2)"), std::string::npos) << a.reason;
  EXPECT_EQ(assess_connections(probe_with(d), {2, {"monitor"}}).outcome, Outcome::Pass);
}

// guardd's own session is known by its connection id only: logged in as root (Debian's
// debian.cnf), every other root session is a client like any other.
TEST(MysqlRecorded, OnlyGuarddsOwnSessionIsExcluded) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.connection_id = 1;
  d.account = "root";
  d.processlist = {pl("1", "root", "localhost", "Query"), pl("2", "root", "localhost", "Sleep")};
  auto a = assess_connections(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_EQ(a.facts["clients"]["total"], 1);
}

// What a reboot would cut short vetoes whatever max_clients allows: an open transaction
// (even in an idle session), DDL, a statement running longer than max_query_time.
// A handshake that never authenticated is no client.
TEST(MysqlRecorded, WorkInProgressVetoesWhateverMaxClientsAllows) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.connection_id = 1;
  Row idle_in_trx = pl("5", "app", "10.0.0.9:5000", "Sleep");
  Row ddl = pl("6", "dba", "localhost", "Query");
  ddl["INFO"] = "alter table orders add column x int";
  ddl["TIME"] = "2";
  Row report = pl("7", "report", "10.0.0.8:6000", "Query");
  report["INFO"] = "SELECT * FROM big";
  report["TIME"] = "45";
  Row probe = pl("8", "unauthenticated user", "10.0.0.1:7000", "Connect");
  Row applier = pl("9", "system user", "", "Slave_worker");
  ConnectionsPolicy lenient{100, {"app"}, 30};

  d.processlist = {pl("1", "guardd", "localhost", "Query"), probe};
  auto a = assess_connections(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Pass) << "an unauthenticated handshake: " << a.reason;

  d.processlist = {pl("1", "guardd", "localhost", "Query"), idle_in_trx, applier};
  d.transactions = {
      {{"THREAD_ID", "5"}, {"STATE", "RUNNING"}, {"AGE_SECONDS", "12"}, {"ROWS_MODIFIED", "3"}},
      {{"THREAD_ID", "9"}, {"STATE", "RUNNING"}, {"AGE_SECONDS", "0"}, {"ROWS_MODIFIED", "1"}}};
  a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("session 5 (app) has a transaction open for 12 s (3 row(s) modified)"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.reason.find("session 9"), std::string::npos) << "the applier is replication";
  d.transactions.clear();
  EXPECT_EQ(assess_connections(probe_with(d), lenient).outcome, Outcome::Pass);

  d.processlist = {ddl};
  a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("session 6 (dba) running DDL"), std::string::npos) << a.reason;
  // As tools send it: a comment first.
  for (const char* info :
       {"/* pt-online-schema-change */ ALTER TABLE orders ENGINE=InnoDB",
        "  -- migration 42\n  CREATE INDEX i ON orders (x)", "# gh-ost\nRENAME TABLE a TO b"}) {
    ddl["INFO"] = info;
    d.processlist = {ddl};
    a = assess_connections(probe_with(d), lenient);
    EXPECT_EQ(a.outcome, Outcome::Veto) << info;
    EXPECT_NE(a.reason.find("running DDL"), std::string::npos) << info << ": " << a.reason;
  }
  ddl["INFO"] = "/* ALTER */ SELECT 1";
  d.processlist = {ddl};
  EXPECT_EQ(assess_connections(probe_with(d), lenient).outcome, Outcome::Pass)
      << "a keyword in a comment is not the statement";

  d.processlist = {report};
  a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("running a statement for 45 s (max_query_time = 30 s)"),
            std::string::npos)
      << a.reason;
  report["TIME"] = "3";
  d.processlist = {report};
  EXPECT_EQ(assess_connections(probe_with(d), lenient).outcome, Outcome::Pass);
}

TEST(MysqlRecorded, MissingProcessGrantIsAnError) {
  ProbeData d;
  d.version = "8.0.36";
  auto p = probe_with(d);
  p.data->has_process_privilege = false;
  EXPECT_EQ(assess_connections(p, {}).outcome, Outcome::Error);
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Error);
}

TEST(MysqlArgs, ParsesServerCommandLines) {
  auto a = parse_server_args({"/usr/sbin/mariadbd", "--no-defaults", "--socket=/tmp/s.sock",
                              "--port", "3307", "--datadir=/srv/db", "--pid_file=x.pid",
                              "--defaults-group-suffix=.2"});
  EXPECT_EQ(a.socket, "/tmp/s.sock");
  EXPECT_EQ(a.port, 3307);
  EXPECT_EQ(a.datadir, "/srv/db");
  EXPECT_EQ(a.pid_file, "x.pid");
  EXPECT_EQ(a.group_suffix, ".2");
  EXPECT_FALSE(a.defaults_file);
}

}  // namespace
}  // namespace guardd::mysql
