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

// A source whose binary log is at 0-1-100 (MariaDB GTIDs), binlog.000008:4.
SourcePosition at_100() {
  SourcePosition pos;
  pos.gtid_binlog_pos = "0-1-100";
  pos.gtid_binlog_state = "0-1-100";
  pos.file = "binlog.000008";
  pos.position = 4;
  return pos;
}

// A source as the probe leaves it: server id 1, its binary log at_100.
SourceView source_view(const std::string& address, const std::string& error,
                       std::vector<PeerState> peers = {},
                       SourceReach reach = SourceReach::Answered) {
  SourceView s;
  s.source = address;
  s.error = error;
  s.server_id = 1;
  s.peers = std::move(peers);
  s.reach = reach;
  s.position = at_100();
  return s;
}

// The same source waiting for semi-sync acknowledgements, from `clients` replicas now.
SourceView with_semi_sync(SourceView s, int clients) {
  s.semi_sync_enabled = true;
  s.semi_sync_clients = clients;
  return s;
}

// A peer replica that reports itself healthy: both threads, no error, no delay, no lag,
// everything the source logged (at_100) received, read-only.
PeerState healthy_peer(const std::string& address, int64_t server_id) {
  PeerState p;
  p.address = address;
  p.server_id = server_id;
  p.replicates = true;
  p.io_running = "Yes";
  p.sql_running = "Yes";
  p.lag_seconds = 0;
  p.position.uses_gtid = true;
  p.position.gtid_io_pos = "0-1-100";
  p.position.gtid_binlog_state = "0-1-100";
  p.read_only = true;
  return p;
}

TEST(MysqlRecorded, Mysql8ReplicaColumnsAndLastReplica) {
  ProbeData d;
  d.version = "8.4.0";
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  InstanceProbe p = probe_with(d);
  p.sources.push_back(source_view("10.0.0.1:3306", "", {}, SourceReach::Answered));
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
  p.sources[0] =
      source_view("10.0.0.1:3306", "cannot connect to 10.0.0.1:3306", {}, SourceReach::NoAnswer);
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << "a source that does not answer: " << a.reason;
  EXPECT_NE(a.reason.find("may be the one to promote"), std::string::npos) << a.reason;
}

// A peer counts only when it is a failover candidate by its own account.
TEST(MysqlRecorded, PeerReplicasAreJudgedByTheirOwnState) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  d.read_only = true;
  InstanceProbe p = probe_with(d);
  auto with_peer = [&](PeerState peer) {
    p.sources = {source_view("10.0.0.1:3306", "", {std::move(peer)}, SourceReach::Answered)};
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
  PeerState stalled = healthy_peer("10.0.0.3:3306", 3);  // threads Yes, lag 0, link dead
  stalled.position.gtid_io_pos = "0-1-97";
  PeerState errant = healthy_peer("10.0.0.3:3306", 3);
  errant.position.gtid_binlog_state = "0-1-100,0-3-4";  // wrote 4 transactions of its own
  PeerState writable = healthy_peer("10.0.0.3:3306", 3);
  writable.read_only = false;
  PeerState file_behind = healthy_peer("10.0.0.3:3306", 3);  // no GTIDs: binlog coordinates
  file_behind.position = ReplicaPosition{false, "", "binlog.000007", 120, ""};
  for (const Case& c :
       {Case{"hung", hung, "unreachable"},
        Case{"SQL thread broken", sql_broken, "SQL thread No (Duplicate entry"},
        Case{"IO thread stopped", io_stopped, "IO thread No"},
        Case{"lagging", lagging, "600 s behind (max_lag = 30 s)"},
        Case{"delayed", delayed, "a delayed replica (SQL_Delay = 3600 s)"},
        Case{"archiver", archiver, "does not replicate from this source"},
        Case{"stalled link", stalled,
             "3 transaction(s) not received (received up to 0-1-97, the "
             "source is at 0-1-100)"},
        Case{"errant", errant,
             "has transactions of its own that the source does not have "
             "(errant GTIDs 0-3-4)"},
        Case{"writable", writable, "writable (read_only = OFF) where this replica is read-only"},
        Case{"binlog coordinates behind", file_behind,
             "not received up to the source's position (received up to "
             "binlog.000007:120, the source is at binlog.000008:4"}}) {
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
  p.sources = {with_semi_sync(
      source_view("10.0.0.1:3306", "", {healthy_peer("10.0.0.3:3306", 3)}, SourceReach::Answered),
      1)};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("the last semi-sync acknowledger of 10.0.0.1:3306"), std::string::npos)
      << a.reason;
  p.sources[0].semi_sync_clients = 2;
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Pass);
  // MySQL waiting for two acknowledgements on every commit, from exactly two: each is needed.
  p.sources[0].semi_sync_wait_for = 2;
  auto a2 = assess_replication(p, {});
  EXPECT_EQ(a2.outcome, Outcome::Veto) << a2.reason;
  EXPECT_NE(a2.reason.find("one of the 2 semi-sync acknowledgers of 10.0.0.1:3306, which waits "
                           "for 2 on every commit"),
            std::string::npos)
      << a2.reason;
  p.sources[0].semi_sync_clients = 3;
  EXPECT_EQ(assess_replication(p, {}).outcome, Outcome::Pass);
}

SourceView source_without_answer() {
  return source_view("10.0.0.1:3306", "cannot connect to 10.0.0.1:3306: Can't connect (error 2003)",
                     {}, SourceReach::NoAnswer);
}

SourceView source_that_answered(std::vector<PeerState> peers = {}) {
  return source_view("10.0.0.1:3306", "", std::move(peers), SourceReach::Answered);
}

// A source that does not answer leaves its data on its replica whatever the replica's
// threads say: retrying, given up after master_retry_count, or stopped by a DBA preparing
// a promotion. With the source answering, the same channel states do not refuse.
TEST(MysqlRecorded, ReplicaWhoseSourceIsDownIsRefusedInEveryThreadState) {
  struct Case {
    const char* what;
    const char* io;
    const char* sql;
    const char* io_error;
    const char* state;
  };
  for (const Case& c :
       {Case{"retrying", "Connecting", "Yes", "error reconnecting to master 'repl@10.0.0.1:3306'",
             "not replicating (IO thread Connecting: error reconnecting"},
        Case{"gave up (master_retry_count)", "No", "Yes",
             "error connecting to master 'repl@10.0.0.1:3306' - retry-time: 1  maximum-retries: 3",
             "not replicating (IO thread No: error connecting"},
        Case{"stopped by a DBA", "No", "No", "", "stopped (IO thread No, SQL thread No)"}}) {
    ProbeData d;
    d.version = "10.11.6-MariaDB";
    d.mariadb = true;
    Row ch = mysql8_channel(c.io, c.sql);
    ch["Last_IO_Error"] = c.io_error;
    d.replica_status = {ch};
    InstanceProbe p = probe_with(d);
    p.sources = {source_without_answer()};
    auto a = assess_replication(p, {});
    EXPECT_EQ(a.outcome, Outcome::Veto) << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find("its source 10.0.0.1:3306 does not answer (cannot connect"),
              std::string::npos)
        << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find(c.state), std::string::npos) << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find("this replica holds its data"), std::string::npos) << a.reason;

    p.sources = {source_that_answered()};
    a = assess_replication(p, {});
    EXPECT_EQ(a.outcome, Outcome::Pass) << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find("its channel from 10.0.0.1:3306 is " + std::string(c.state)),
              std::string::npos)
        << c.what << ": " << a.reason;
    EXPECT_NE(a.reason.find("the source answers and does not count on it"), std::string::npos)
        << a.reason;
  }
}

// A source that answered and refused (a login, a grant) is a setup problem, not a source
// that is gone: an error that names it, not "the one to promote".
TEST(MysqlRecorded, SourceThatRefusesIsASetupProblemNotADownSource) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.replica_status = {mysql8_channel("Yes", "Yes")};
  InstanceProbe p = probe_with(d);
  p.sources = {source_view("10.0.0.1:3306",
                           "cannot list the source's replicas (SHOW SLAVE HOSTS needs REPLICATION "
                           "MASTER ADMIN on MariaDB ...): Access denied (error 1227)",
                           {}, SourceReach::Answered)};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Error) << a.reason;
  EXPECT_NE(a.reason.find("cannot judge its channel from 10.0.0.1:3306: cannot list the "
                          "source's replicas"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.reason.find("promote"), std::string::npos) << a.reason;
}

// Multi-source replication: each named channel is its own replica of its own source. A
// broken channel is not "the last healthy replica" of its source, and a healthy channel of
// another source does not make it healthy; each is reported under its name.
TEST(MysqlRecorded, EachChannelOfAMultiSourceReplicaIsJudgedOnItsOwn) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  Row east = mysql8_channel("Yes", "Yes");
  east["Connection_name"] = "east";
  Row west = mysql8_channel("Yes", "No");
  west["Connection_name"] = "west";
  west["Master_Host"] = "10.0.0.2";
  west["Source_Host"] = "10.0.0.2";
  west["Last_SQL_Error"] = "Duplicate entry '7' for key 'PRIMARY'";
  d.replica_status = {east, west};
  InstanceProbe p = probe_with(d);
  SourceView west_source = source_that_answered();
  west_source.source = "10.0.0.2:3306";
  p.sources = {source_that_answered({healthy_peer("10.0.0.3:3306", 3)}), west_source};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Pass) << a.reason;
  EXPECT_NE(a.reason.find("10.0.0.1:3306 (channel 'east') has 1 other healthy replica(s)"),
            std::string::npos)
      << a.reason;
  EXPECT_NE(a.reason.find("its channel from 10.0.0.2:3306 (channel 'west') is not replicating "
                          "(SQL thread No: Duplicate entry '7'"),
            std::string::npos)
      << a.reason;

  // East's only peer gone: east refuses, whatever west says.
  p.sources[0].peers.clear();
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("the last healthy replica of 10.0.0.1:3306 (channel 'east')"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.reason.find("west"), std::string::npos) << "only what refuses: " << a.reason;

  // West's source gone: west refuses although its SQL thread is broken (its data is here).
  p.sources[0].peers = {healthy_peer("10.0.0.3:3306", 3)};
  p.sources[1].reach = SourceReach::NoAnswer;
  p.sources[1].error = "cannot connect to 10.0.0.2:3306 (error 2003)";
  a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("its source 10.0.0.2:3306 (channel 'west') does not answer"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.facts["replication"][1]["name"], "west");
  EXPECT_EQ(a.facts["sources"][1]["answered"], false);
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
  InstanceProbe p = probe_with(d);
  p.sources = {source_view("db1:3306", "", {}, SourceReach::Answered)};
  auto a = assess_replication(p, {});
  EXPECT_EQ(a.outcome, Outcome::Pass) << a.reason;
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
  EXPECT_NE(a.reason.find("intermediate primary: feeds 1 replica(s) (10.0.0.9); replicates "
                          "from 10.0.0.1:3306"),
            std::string::npos)
      << a.reason;
  // Its own channel stopped: it still feeds a replica, and the reason says the channel is
  // stopped rather than that it replicates.
  d.replica_status = {mysql8_channel("No", "No")};
  a = assess_replication(probe_with(d), {});
  EXPECT_EQ(a.outcome, Outcome::Veto);
  EXPECT_NE(a.reason.find("its channel from 10.0.0.1:3306 is stopped (IO thread No, SQL thread "
                          "No)"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.reason.find("replicates from"), std::string::npos) << a.reason;
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

// A transaction without a session (thread id 0) vetoes whatever max_clients allows; the
// xid XA RECOVER gives is shown with its bytes that are not printable escaped.
TEST(MysqlRecorded, TransactionWithoutASessionVetoes) {
  ProbeData d;
  d.version = "8.0.36";
  d.transactions = {{{"TRX_ID", "421"},
                     {"THREAD_ID", "0"},
                     {"STATE", "RUNNING"},
                     {"AGE_SECONDS", "3600"},
                     {"ROWS_MODIFIED", "2"}}};
  ConnectionsPolicy lenient;
  lenient.max_clients = 100;
  auto a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("1 transaction(s) without a session (trx 421 open for 3600 s, 2 "
                          "row(s) modified): prepared XA transactions, or a rollback after a "
                          "crash"),
            std::string::npos)
      << a.reason;
  d.prepared_xa = {{{"formatID", "1"}, {"data", std::string("pay\x01'9", 6)}}};
  a = assess_connections(probe_with(d), lenient);
  EXPECT_NE(a.reason.find("XA transaction(s) prepared and never committed: 'pay\\x01\\x279'"),
            std::string::npos)
      << a.reason;
}

// Locks on the whole server as MariaDB's metadata_lock_info plugin and MySQL's
// performance_schema name them; an ordinary writer's intention lock is none.
TEST(MysqlRecorded, GlobalLocksAreClassified) {
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_FTWRL2"), GlobalLock::ReadLock);
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_FTWRL1"), GlobalLock::ReadLock);
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_START"), GlobalLock::BackupLock);
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_BLOCK_DDL"), GlobalLock::BackupLock);
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_DML"), GlobalLock::None);
  EXPECT_EQ(classify_global_lock("Backup lock", "MDL_BACKUP_COMMIT"), GlobalLock::None);
  EXPECT_EQ(classify_global_lock("GLOBAL", "SHARED"), GlobalLock::ReadLock);
  EXPECT_EQ(classify_global_lock("GLOBAL", "INTENTION_EXCLUSIVE"), GlobalLock::None);
  EXPECT_EQ(classify_global_lock("BACKUP LOCK", "SHARED"), GlobalLock::BackupLock);
}

// An idle session holding FLUSH TABLES WITH READ LOCK (a backup) vetoes whatever
// max_clients allows; so does a session waiting behind such a lock, seen without the plugin.
TEST(MysqlRecorded, GlobalReadLockVetoesWhateverMaxClientsAllows) {
  ProbeData d;
  d.version = "10.11.6-MariaDB";
  d.mariadb = true;
  d.connection_id = 9;
  d.processlist = {pl("9", "guardd", "localhost", "Query"),
                   pl("12", "backup", "localhost", "Sleep")};
  d.global_locks =
      std::vector<Row>{{{"SESSION", "12"}, {"TYPE", "Backup lock"}, {"MODE", "MDL_BACKUP_FTWRL2"}}};
  ConnectionsPolicy lenient;
  lenient.max_clients = 10;
  auto a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("session 12 (backup) holds a global read lock (FLUSH TABLES WITH READ "
                          "LOCK)"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.facts["global_locks_visible"], true);

  d.global_locks.reset();  // no plugin, no performance_schema
  Row writer = pl("13", "app", "10.0.0.5:4000", "Query");
  writer["STATE"] = "Waiting for backup lock";
  writer["INFO"] = "INSERT INTO shop.orders VALUES (1)";
  d.processlist.push_back(writer);
  a = assess_connections(probe_with(d), lenient);
  EXPECT_EQ(a.outcome, Outcome::Veto) << a.reason;
  EXPECT_NE(a.reason.find("session 13 (app) waits for a global read lock or backup lock"),
            std::string::npos)
      << a.reason;
  EXPECT_EQ(a.facts["global_locks_visible"], false);
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
