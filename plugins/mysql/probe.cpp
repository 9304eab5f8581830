#include "plugins/mysql/probe.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "plugins/mysql/in_parallel.h"
#include "plugins/mysql/shared_probe.h"

namespace guardd::mysql {
namespace {

bool mentions_process_grant(const std::string& grant) {
  // Global grants only: "GRANT ... ON *.* TO ...".
  if (grant.find(" ON *.* ") == std::string::npos) return false;
  return grant.find("ALL PRIVILEGES") != std::string::npos ||
         grant.find("PROCESS") != std::string::npos;
}

std::string os_user() {
  struct passwd* pw = getpwuid(geteuid());
  return pw ? pw->pw_name : "root";
}

bool is_mariadb(const std::string& version) {
  return version.find("MariaDB") != std::string::npos;
}

// True for MySQL (not MariaDB) at `major.minor.patch` or later: MySQL renames statements.
bool mysql_at_least(const std::string& version, int major, int minor, int patch) {
  if (is_mariadb(version)) return false;
  int v[3] = {0, 0, 0};
  std::sscanf(version.c_str(), "%d.%d.%d", &v[0], &v[1], &v[2]);
  return std::tie(v[0], v[1], v[2]) >= std::tie(major, minor, patch);
}

// MariaDB 10.x/11.x, MySQL 5.7 and MySQL 8.0.22+ spell "show me my sources" differently.
std::string replica_status_sql(const std::string& version) {
  if (is_mariadb(version)) return "SHOW ALL SLAVES STATUS";
  return mysql_at_least(version, 8, 0, 22) ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS";
}

// The replicas registered with a server (SHOW SLAVE HOSTS; SHOW REPLICAS on MySQL 8),
// with MySQL 8's column names (Server_Id, Host_name) read as MariaDB's.
Result<std::vector<Row>> registered_replicas(Connection& conn) {
  const std::string version = conn.server_version();
  const bool old_syntax = is_mariadb(version) || version.rfind("5.", 0) == 0;
  auto rows = conn.query(old_syntax ? "SHOW SLAVE HOSTS" : "SHOW REPLICAS");
  if (!rows) return rows;
  for (Row& r : *rows) {
    if (!r.count("Server_id") && r.count("Server_Id")) r["Server_id"] = r["Server_Id"];
    if (!r.count("Host") && r.count("Host_name")) r["Host"] = r["Host_name"];
  }
  return rows;
}

// SHOW PROCESSLIST names its columns Id, User, db...; the checks read them as
// information_schema spells them (ID, USER, DB...).
Row uppercase_keys(Row row) {
  Row out;
  for (auto& [key, value] : row) {
    std::string upper = key;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.emplace(std::move(upper), std::move(value));
  }
  return out;
}

// The server's sessions, with upper-case column names. SHOW PROCESSLIST, not
// information_schema's table, which MariaDB materialises first (about 0.7 ms against
// 0.02 ms on an idle server).
Result<std::vector<Row>> read_processlist(Connection& conn) {
  auto rows = conn.query("SHOW PROCESSLIST");
  if (!rows) return Error{rows.error()};
  for (auto& row : *rows) row = uppercase_keys(std::move(row));
  return rows;
}

// Each peer gets at most a second (libmariadb's smallest timeout), so a hung peer is
// reported as such instead of running the whole check out of time.
constexpr auto kPeerTimeout = std::chrono::seconds(1);

std::chrono::steady_clock::time_point peer_deadline(
    std::chrono::steady_clock::time_point deadline) {
  return std::min(deadline, std::chrono::steady_clock::now() + kPeerTimeout);
}

// A port as a server lists it; MySQL's default where it lists none that parses.
int to_port(const std::string& text) {
  auto port = parse_integer(text, 1, 65535);
  return port ? static_cast<int>(*port) : 3306;
}

int64_t to_int(const std::optional<std::string>& text) {
  return text ? std::atoll(text->c_str()) : 0;
}

// What to do when a TCP login to a peer (a source, a replica, a Galera node) is refused.
// Root logs in locally over unix_socket (Debian's default) and has no TCP account there.
std::string login_hint(const std::string& error, const ProbeSettings& settings) {
  const bool refused = error.find("(error 1045)") != std::string::npos ||
                       error.find("(error 1698)") != std::string::npos;
  if (!refused) return error;
  if (settings.defaults_file.empty())
    return error +
           "; guardd logs in as root over the local unix socket, which cannot log in to "
           "another server over TCP: create the monitoring account on the primary (README, "
           "Accounts) and set defaults_file in the MySQL checks";
  return error +
         "; the monitoring account of defaults_file must exist for this host's "
         "address on that server (README, Accounts)";
}

Result<std::unique_ptr<Connection>> connect_tcp(const std::string& host, int port,
                                                const ProbeSettings& settings,
                                                std::chrono::steady_clock::time_point deadline) {
  return Connection::open(Endpoint{"", host, port, settings.defaults_file}, deadline,
                          settings.defaults_file.empty() ? os_user() : "");
}

// How long a peer replica is given to receive what its source had logged when asked: on
// a live link that takes milliseconds; one that has not caught up by then has stalled, or
// is too slow to be counted on.
constexpr auto kCatchUp = std::chrono::milliseconds(500);
// Read again after 2 ms, then twice as long each time up to 50 ms: a live link under load
// is usually a few milliseconds behind, a stalled one is not worth a query every 2 ms.
constexpr auto kFirstCatchUpPoll = std::chrono::milliseconds(2);
constexpr auto kLongestCatchUpPoll = std::chrono::milliseconds(50);

// The channel from the source `source_id` in a replica's status rows, read into `peer`.
void read_channel(const std::vector<Row>& rows, int64_t source_id, PeerState& peer) {
  for (const auto& ch : rows) {
    if (to_int(column(ch, {"Source_Server_Id", "Master_Server_Id"})) != source_id) continue;
    peer.replicates = true;
    peer.io_running = column(ch, {"Replica_IO_Running", "Slave_IO_Running"}).value_or("");
    peer.sql_running = column(ch, {"Replica_SQL_Running", "Slave_SQL_Running"}).value_or("");
    peer.last_io_error = column(ch, {"Last_IO_Error"}).value_or("");
    peer.last_sql_error = column(ch, {"Last_SQL_Error"}).value_or("");
    peer.lag_seconds.reset();
    if (auto lag = column(ch, {"Seconds_Behind_Source", "Seconds_Behind_Master"}); lag)
      peer.lag_seconds = std::atoll(lag->c_str());
    peer.sql_delay = to_int(column(ch, {"SQL_Delay"}));
    const std::string using_gtid = column(ch, {"Using_Gtid"}).value_or("No");
    peer.position.uses_gtid = using_gtid != "No" && !using_gtid.empty();
    peer.position.gtid_io_pos = column(ch, {"Gtid_IO_Pos"}).value_or("");
    peer.position.file = column(ch, {"Source_Log_File", "Master_Log_File"}).value_or("");
    peer.position.position = to_int(column(ch, {"Read_Source_Log_Pos", "Read_Master_Log_Pos"}));
    return;
  }
}

// A peer replica asked about itself: its channel from the source `source_id`. With
// `wait_for`, its channel is read again (for at most kCatchUp) until it has received what
// the source had logged.
PeerState ask_peer(const Row& host_row, int64_t source_id, const SourcePosition* wait_for,
                   const ProbeSettings& settings, std::chrono::steady_clock::time_point deadline) {
  PeerState peer;
  std::string host = column(host_row, {"Host"}).value_or("");
  int port = to_port(column(host_row, {"Port"}).value_or("3306"));
  peer.address = fmt::format("{}:{}", host, port);
  peer.server_id = to_int(column(host_row, {"Server_id"}));
  if (host.empty()) {
    peer.error = "the source lists it without a host (set report_host on it)";
    return peer;
  }
  auto conn = connect_tcp(host, port, settings, deadline);
  if (!conn) {
    peer.error = "unreachable: " + login_hint(conn.error(), settings);
    return peer;
  }
  const std::string version = (*conn)->server_version();
  // Whether it takes writes, and (MariaDB) what its own binary log holds: its own
  // transactions that the source lacks make it no clean failover target.
  auto vars =
      (*conn)->query(is_mariadb(version) ? "SELECT @@read_only AS ro, @@gtid_binlog_state AS state"
                                         : "SELECT @@read_only AS ro");
  if (vars && !vars->empty()) {
    peer.read_only = (*vars)[0]["ro"].value_or("0") != "0";
    peer.position.gtid_binlog_state = (*vars)[0]["state"].value_or("");
  }
  const auto catch_up_until = std::min(deadline, std::chrono::steady_clock::now() + kCatchUp);
  std::chrono::milliseconds poll = kFirstCatchUpPoll;
  while (true) {
    auto rows = (*conn)->query(replica_status_sql(version));
    if (!rows) {
      peer.error = "cannot read its replica status: " + rows.error();
      return peer;
    }
    read_channel(*rows, source_id, peer);
    // Only a peer behind is given time: positions that cannot be compared never will be.
    const bool settled = wait_for == nullptr || !peer.replicates || peer.io_running != "Yes" ||
                         received(*wait_for, peer.position).state != Receipt::State::Behind;
    if (settled || std::chrono::steady_clock::now() + poll > catch_up_until) return peer;
    std::this_thread::sleep_for(poll);
    poll = std::min(poll * 2, kLongestCatchUpPoll);
  }
}

// Where the source's binary log stands (for comparison with what its replicas received).
// What cannot be read stays empty: a peer is then compared by what can be.
SourcePosition read_source_position(Connection& conn) {
  SourcePosition pos;
  const std::string version = conn.server_version();
  if (is_mariadb(version)) {
    if (auto rows = conn.query("SELECT @@gtid_binlog_pos AS pos, @@gtid_binlog_state AS state");
        rows && !rows->empty()) {
      pos.gtid_binlog_pos = (*rows)[0]["pos"].value_or("");
      pos.gtid_binlog_state = (*rows)[0]["state"].value_or("");
    }
  }
  const bool renamed = mysql_at_least(version, 8, 2, 0);
  if (auto rows = conn.query(renamed ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS");
      rows && !rows->empty()) {
    pos.file = column((*rows)[0], {"File"}).value_or("");
    pos.position = to_int(column((*rows)[0], {"Position"}));
  }
  return pos;
}

// Semi-sync on a source: whether it waits for acknowledgements, from how many replicas
// at once (MySQL's wait_for_*_count; MariaDB waits for one), and how many ack now. Nothing
// is read where no semi-sync plugin is loaded (asynchronous replication).
void read_semi_sync(Connection& conn, SourceView& s) {
  auto value_of = [](const Row& r) { return column(r, {"Value"}).value_or(""); };
  auto vars = conn.query(
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
      "('rpl_semi_sync_master_enabled', 'rpl_semi_sync_source_enabled', "
      "'rpl_semi_sync_master_wait_for_slave_count', "
      "'rpl_semi_sync_source_wait_for_replica_count')");
  if (!vars) return;
  for (const auto& r : *vars) {
    const std::string name = column(r, {"Variable_name"}).value_or("");
    if (name.find("enabled") != std::string::npos) s.semi_sync_enabled = value_of(r) == "ON";
    if (name.find("wait_for") != std::string::npos)
      s.semi_sync_wait_for = std::max(1, std::atoi(value_of(r).c_str()));
  }
  // SHOW GLOBAL STATUS sums every session's counters (a millisecond on a busy server): only
  // when the source waits for acknowledgements at all.
  if (!s.semi_sync_enabled) return;
  auto status = conn.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN "
      "('Rpl_semi_sync_master_clients', 'Rpl_semi_sync_source_clients')");
  if (!status) return;
  for (const auto& r : *status) s.semi_sync_clients = std::atoi(value_of(r).c_str());
}

// Whether the peers of a channel's source are asked too: only a replicating channel is
// judged against them.
enum class AskPeers { No, Yes };

// The source of a replication channel asked for its registered replicas, and each of those
// (but this server) asked for its own state: a Binlog Dump thread outlives a stopped,
// crashed or hung replica and says nothing of its SQL thread, lag or delay.
SourceView ask_source(const Row& channel, int64_t own_server_id, AskPeers ask_peers,
                      const ProbeSettings& settings,
                      std::chrono::steady_clock::time_point deadline) {
  SourceView s;
  std::string host = column(channel, {"Source_Host", "Master_Host"}).value_or("");
  int port = to_port(column(channel, {"Source_Port", "Master_Port"}).value_or("3306"));
  s.source = fmt::format("{}:{}", host, port);
  s.server_id = to_int(column(channel, {"Source_Server_Id", "Master_Server_Id"}));
  if (host.empty()) {
    s.error = "replica status names no source host";
    return s;
  }
  auto conn = connect_tcp(host, port, settings, deadline);
  if (!conn) {
    if (no_server_answered(conn.error_code())) {
      s.reach = SourceReach::NoAnswer;
      s.error = conn.error();
    } else {
      s.error = "cannot ask the source about its replicas: " + login_hint(conn.error(), settings);
    }
    return s;
  }
  auto hosts = registered_replicas(**conn);
  if (!hosts) {
    s.error =
        "cannot list the source's replicas (SHOW SLAVE HOSTS needs REPLICATION MASTER "
        "ADMIN on MariaDB, REPLICATION SLAVE on MySQL; see README): " +
        hosts.error();
    return s;
  }
  read_semi_sync(**conn, s);
  if (ask_peers == AskPeers::Yes) s.position = read_source_position(**conn);
  conn->reset();  // the source is not kept waiting while the peers are asked
  if (ask_peers == AskPeers::No) return s;
  std::vector<Row> others;
  for (const auto& r : *hosts)
    if (to_int(column(r, {"Server_id"})) != own_server_id) others.push_back(r);
  const auto peers_until = peer_deadline(deadline);
  s.peers = in_parallel(others, [&](const Row& r) {
    return ask_peer(r, s.server_id, &s.position, settings, peers_until);
  });
  return s;
}

// Every other Galera node with a client address (an arbitrator has none) asked for its
// own state: wsrep_cluster_size counts arbitrators and donors, which hold no usable copy.
std::vector<GaleraPeer> ask_galera_peers(const ProbeData& d, const Instance& self,
                                         const ProbeSettings& settings,
                                         std::chrono::steady_clock::time_point deadline) {
  std::string addresses;
  for (const auto& r : d.wsrep_status)
    if (column(r, {"Variable_name"}).value_or("") == "wsrep_incoming_addresses")
      addresses = column(r, {"Value"}).value_or("");
  std::vector<std::string> others;  // host:port of the other nodes
  std::stringstream list(addresses);
  std::string address;
  bool self_seen = false;
  int unknown = 0;  // members listed without a client address
  while (std::getline(list, address, ',')) {
    auto colon = address.rfind(':');
    if (address.empty() || address == "AUTO" || colon == std::string::npos) {
      ++unknown;
      continue;
    }
    std::string host = address.substr(0, colon);
    if (to_port(address.substr(colon + 1)) == self.port &&
        (host == "127.0.0.1" || host == "localhost" || host == "::1")) {
      self_seen = true;
      continue;  // this node
    }
    others.push_back(address);
  }
  // Each asked about itself; nullopt when it turns out to be this node by another name.
  const auto peers_until = peer_deadline(deadline);
  auto answers = in_parallel(others, [&](const std::string& addr) -> std::optional<GaleraPeer> {
    const auto colon = addr.rfind(':');
    GaleraPeer peer;
    peer.address = addr;
    auto conn =
        connect_tcp(addr.substr(0, colon), to_port(addr.substr(colon + 1)), settings, peers_until);
    if (!conn) {
      peer.error = "unreachable: " + login_hint(conn.error(), settings);
      return peer;
    }
    auto rows = (*conn)->query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', "
        "'wsrep_cluster_status', 'wsrep_gcomm_uuid')");
    if (!rows) {
      peer.error = "cannot read its Galera status: " + rows.error();
      return peer;
    }
    std::string uuid;
    for (const auto& r : *rows) {
      std::string name = column(r, {"Variable_name"}).value_or("");
      std::string value = column(r, {"Value"}).value_or("");
      if (name == "wsrep_local_state_comment") peer.local_state = value;
      if (name == "wsrep_cluster_status") peer.cluster_status = value;
      if (name == "wsrep_gcomm_uuid") uuid = value;
    }
    if (!uuid.empty() && uuid == d.galera_node_uuid) return std::nullopt;
    return peer;
  });
  std::vector<GaleraPeer> peers;
  for (auto& answer : answers) {
    if (answer)
      peers.push_back(std::move(*answer));
    else
      self_seen = true;
  }
  // A member without a client address cannot be asked, so it is no verified data copy
  // (an arbitrator has none; a node whose wsrep_node_incoming_address resolves to AUTO
  // neither). When this node is not among the addressed ones, it is one of those.
  if (!self_seen && unknown > 0) --unknown;
  for (int i = 0; i < unknown; ++i)
    peers.push_back(GaleraPeer{"AUTO",
                               "no client address to ask it (an arbitrator, or "
                               "wsrep_node_incoming_address unset)",
                               "", ""});
  return peers;
}

// Who holds a global read lock (FLUSH TABLES WITH READ LOCK) or a backup lock (BACKUP
// STAGE, LOCK INSTANCE FOR BACKUP): an idle session that does is a backup in progress, and
// the processlist shows nothing of it. Only MariaDB's metadata_lock_info plugin or an
// enabled performance_schema MDL instrument shows it; nullopt when neither does.
std::optional<std::vector<Row>> read_global_locks(Connection& conn) {
  if (auto plugin =
          conn.query("SELECT THREAD_ID AS SESSION, LOCK_TYPE AS TYPE, LOCK_MODE AS MODE FROM "
                     "information_schema.METADATA_LOCK_INFO WHERE LOCK_TYPE IN ('Backup lock', "
                     "'Global read lock')"))
    return std::move(*plugin);
  auto instrumented = conn.query(
      "SELECT ENABLED FROM performance_schema.setup_instruments WHERE NAME = "
      "'wait/lock/metadata/sql/mdl' AND @@performance_schema = 1");
  if (!instrumented || instrumented->empty() ||
      column((*instrumented)[0], {"ENABLED"}).value_or("") != "YES")
    return std::nullopt;
  auto locks = conn.query(
      "SELECT t.PROCESSLIST_ID AS SESSION, m.OBJECT_TYPE AS TYPE, m.LOCK_TYPE AS MODE FROM "
      "performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = "
      "m.OWNER_THREAD_ID WHERE m.LOCK_STATUS = 'GRANTED' AND m.OBJECT_TYPE IN ('GLOBAL', "
      "'BACKUP', 'BACKUP LOCK')");
  if (!locks) return std::nullopt;
  return std::move(*locks);
}

// InnoDB's refresh interval for information_schema.INNODB_TRX (100 ms), and a margin.
constexpr auto kTrxCacheWindow = std::chrono::milliseconds(110);

// A session other than guardd's own that is idle: it may sit inside a transaction.
bool has_idle_session(const ProbeData& d) {
  for (const auto& row : d.processlist) {
    std::string user = column(row, {"USER"}).value_or("");
    if (column(row, {"COMMAND"}).value_or("") != "Sleep" || user == "system user") continue;
    if (column(row, {"ID"}).value_or("") != std::to_string(d.connection_id)) return true;
  }
  return false;
}

// Empty when the server that answered is `instance`: its pid file (as @@pid_file names it,
// read through the instance's root) holds the instance's pid, or failing that its
// @@datadir is the instance's.
std::string answered_by_other_server(const Instance& instance, const ProbeData& d) {
  const std::string root =
      instance.other_namespace ? fmt::format("/proc/{}/root", instance.pid) : "";
  std::string pid_file = d.pid_file;
  if (!pid_file.empty() && pid_file[0] != '/') pid_file = d.datadir + "/" + pid_file;
  std::ifstream in(root + pid_file);
  long pid = 0;
  if (!pid_file.empty() && in >> pid) {
    if (pid == instance.pid) return "";
    return fmt::format("the server answering on {} is not pid {}: its pid file {} names pid {}",
                       instance.socket, instance.pid, pid_file, pid);
  }
  auto trimmed = [](std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  if (!d.datadir.empty() && trimmed(d.datadir) == trimmed(instance.datadir)) return "";
  return fmt::format(
      "cannot confirm that the server answering on {} is pid {} (pid file {} "
      "unreadable, datadir {} is not {})",
      instance.socket, instance.pid, pid_file, d.datadir, instance.datadir);
}

}  // namespace

bool is_sessionless(const Row& transaction) {
  return column(transaction, {"THREAD_ID"}).value_or("") == "0";
}

bool is_replicating(const Row& channel) {
  return column(channel, {"Replica_IO_Running", "Slave_IO_Running"}).value_or("") == "Yes" &&
         column(channel, {"Replica_SQL_Running", "Slave_SQL_Running"}).value_or("") == "Yes";
}

bool is_binlog_dump(const Row& row) {
  auto cmd = column(row, {"COMMAND"}).value_or("");
  return cmd.rfind("Binlog Dump", 0) == 0;
}

Result<ProbeData> collect(Connection& conn) {
  ProbeData d;
  d.version = conn.server_version();
  d.mariadb = is_mariadb(d.version);
  // Each query is a round trip to the server: ask what the server has in one. MySQL has
  // @@server_uuid; MariaDB has none, but has @@wsrep_on (unless built without Galera).
  const std::string who =
      "SELECT CONNECTION_ID() AS id, SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS account, "
      "@@server_id AS server_id, @@pid_file AS pid_file, @@datadir AS datadir, "
      "@@read_only AS read_only";
  // MariaDB (10.3+) has semi-sync built in, so its switch can be read with the rest.
  auto id = conn.query(who + (d.mariadb ? ", @@wsrep_on AS wsrep_on, "
                                          "@@rpl_semi_sync_slave_enabled AS semi_sync_enabled"
                                        : ", @@server_uuid AS uuid"));
  if (!id) id = conn.query(who);
  if (!id) return Error{"cannot read the connection id: " + id.error()};
  std::optional<bool> wsrep_on, semi_sync_enabled;
  if (!id->empty()) {
    Row& first = (*id)[0];
    d.connection_id = std::stoll(first["id"].value_or("0"));
    d.account = first["account"].value_or("");
    d.server_id = std::stoll(first["server_id"].value_or("0"));
    d.pid_file = first["pid_file"].value_or("");
    d.datadir = first["datadir"].value_or("");
    d.read_only = first["read_only"].value_or("0") != "0";
    d.server_uuid = first.count("uuid") ? first["uuid"].value_or("") : "";
    if (first.count("wsrep_on")) wsrep_on = first["wsrep_on"].value_or("0") == "1";
    if (first.count("semi_sync_enabled"))
      semi_sync_enabled = first["semi_sync_enabled"].value_or("0") == "1";
  }
  auto grants = conn.query("SHOW GRANTS");
  if (!grants) return Error{"cannot read the account's grants: " + grants.error()};
  for (const auto& row : *grants)
    for (const auto& [col, value] : row)
      if (value && mentions_process_grant(*value)) d.has_process_privilege = true;

  auto pl = read_processlist(conn);
  if (!pl) return Error{"cannot read the processlist: " + pl.error()};
  d.processlist = std::move(*pl);

  // Open transactions, idle or not: an idle session inside one holds uncommitted work.
  // Reading them needs PROCESS, whose absence the checks report as such.
  if (d.has_process_privilege) {
    const std::string trx_sql =
        "SELECT trx_id AS TRX_ID, trx_mysql_thread_id AS THREAD_ID, trx_state AS STATE, "
        "TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS AGE_SECONDS, "
        "trx_rows_modified AS ROWS_MODIFIED FROM information_schema.INNODB_TRX";
    auto trx = conn.query(trx_sql);
    // InnoDB answers INNODB_TRX from a cache it refills only when nobody has read it for
    // 100 ms (every read restarts that clock), so a transaction begun just now by a session
    // that is idle again can be missing. A second read after that window is fresh: this
    // process's probes of one instance are serialised, so none reads meanwhile. It is paid
    // only while idle sessions exist (a running statement is seen in the processlist, and
    // a prepared XA transaction left by its client in XA RECOVER below).
    if (trx && has_idle_session(d)) {
      std::this_thread::sleep_for(kTrxCacheWindow);
      trx = conn.query(trx_sql);
    }
    if (!trx) return Error{"cannot read open transactions: " + trx.error()};
    d.transactions = std::move(*trx);
  }
  if (d.has_process_privilege) d.global_locks = read_global_locks(conn);
  // Prepared XA transactions, read from the engine (no cache): one left by its client has
  // no session and holds its locks until a DBA ends it. Where XA RECOVER is not allowed
  // (MySQL 8 without XA_RECOVER_ADMIN), INNODB_TRX still shows it, without its name.
  if (auto xa = conn.query("XA RECOVER")) d.prepared_xa = std::move(*xa);

  auto rs = conn.query(replica_status_sql(d.version));
  if (!rs) return Error{"cannot read replica status: " + rs.error()};
  d.replica_status = std::move(*rs);
  // A replica acknowledges semi-sync commits only with its switch on (SHOW GLOBAL STATUS
  // sums every session's counters: not read when the switch says no).
  if (!d.replica_status.empty() && semi_sync_enabled.value_or(true)) {
    auto semi = conn.query(
        "SHOW GLOBAL STATUS WHERE Variable_name IN "
        "('Rpl_semi_sync_slave_status', 'Rpl_semi_sync_replica_status')");
    if (semi)
      for (const auto& r : *semi)
        if (column(r, {"Value"}).value_or("") == "ON") d.semi_sync_replica = true;
  }

  if (d.mariadb) {
    d.wsrep_on = wsrep_on.value_or(false);
    if (d.wsrep_on) {
      auto ws = conn.query("SHOW GLOBAL STATUS LIKE 'wsrep%'");
      if (!ws) return Error{"cannot read Galera status: " + ws.error()};
      d.wsrep_status = std::move(*ws);
      for (const auto& r : d.wsrep_status)
        if (column(r, {"Variable_name"}).value_or("") == "wsrep_gcomm_uuid")
          d.galera_node_uuid = column(r, {"Value"}).value_or("");
    }
  } else {
    // Group Replication exists only on MySQL; a server without the plugin has an empty table.
    auto gr = conn.query(
        "SELECT MEMBER_ID, MEMBER_HOST, MEMBER_PORT, MEMBER_STATE, MEMBER_ROLE FROM "
        "performance_schema.replication_group_members");
    if (gr) d.group_members = std::move(*gr);
  }
  return d;
}

// The server drops a closed session asynchronously, so the next probe may still see the
// previous one: remember the ids this process closed in the last few seconds.
class ClosedSessions {
 public:
  void add(const std::string& socket, int64_t id) {
    std::lock_guard lock(mutex_);
    auto& list = closed_[socket];
    list.emplace_back(id, std::chrono::steady_clock::now());
    while (list.size() > 64) list.pop_front();
  }
  std::set<int64_t> recent(const std::string& socket) {
    std::lock_guard lock(mutex_);
    std::set<int64_t> ids;
    auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    for (const auto& [id, when] : closed_[socket])
      if (when > cutoff) ids.insert(id);
    return ids;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::deque<std::pair<int64_t, std::chrono::steady_clock::time_point>>>
      closed_;
};

ClosedSessions& closed_sessions() {
  static ClosedSessions sessions;
  return sessions;
}

namespace {

// How one replication channel's source is asked.
struct SourceAsk {
  Row channel;
  int64_t own_server_id = 0;
  AskPeers ask_peers = AskPeers::No;
};

SourceAsk source_ask(const Row& channel, int64_t own_server_id) {
  return {channel, own_server_id, is_replicating(channel) ? AskPeers::Yes : AskPeers::No};
}

// True when two asks put the same questions to the same source.
bool same_ask(const SourceAsk& a, const SourceAsk& b) {
  auto what = [](const SourceAsk& s) {
    return std::tuple(column(s.channel, {"Connection_name", "Channel_Name"}),
                      column(s.channel, {"Source_Host", "Master_Host"}),
                      column(s.channel, {"Source_Port", "Master_Port"}),
                      column(s.channel, {"Source_Server_Id", "Master_Server_Id"}), s.own_server_id,
                      s.ask_peers);
  };
  return what(a) == what(b);
}

// One probe of `instance`: its own queries, then every source, peer and Galera node it
// names, asked in parallel. The sources `last` (the previous probe of this server) found
// are asked while the server itself is read: a replica's channels rarely change, so the
// decision waits for the slower of the two, not their sum. A guess that no longer holds
// is not used: that source is asked again.
InstanceProbe probe_now(const Instance& instance, const ProbeSettings& settings,
                        std::chrono::steady_clock::time_point deadline, const InstanceProbe* last) {
  auto ask = [&](const SourceAsk& a) {
    return ask_source(a.channel, a.own_server_id, a.ask_peers, settings, deadline);
  };
  std::vector<SourceAsk> guessed;
  if (last && last->data)
    for (const auto& channel : last->data->replica_status)
      guessed.push_back(source_ask(channel, last->data->server_id));
  std::optional<std::future<std::vector<SourceView>>> early;  // joined on every return
  if (!guessed.empty())
    early = std::async(std::launch::async, [&] { return in_parallel(guessed, ask); });

  InstanceProbe p;
  p.instance = instance;
  Endpoint ep{instance.connect_socket, "", instance.port, settings.defaults_file};
  auto conn = Connection::open(ep, deadline, settings.defaults_file.empty() ? os_user() : "");
  if (!conn) {
    p.error = conn.error();
    return p;
  }
  auto data = collect(**conn);
  if (!data) {
    p.error = data.error();
    return p;
  }
  // The server that answered must be the process found: another server (a container's,
  // or one that took over a stale socket path) would be judged in its place.
  if (auto mismatch = answered_by_other_server(instance, *data); !mismatch.empty()) {
    p.error = mismatch;
    return p;
  }
  // Keyed by pid too: a restarted server hands out the same ids again.
  const std::string key = fmt::format("{}#{}", instance.socket, instance.pid);
  data->own_sessions = closed_sessions().recent(key);
  closed_sessions().add(key, data->connection_id);  // closed when `conn` goes
  if (data->wsrep_on) p.galera_peers = ask_galera_peers(*data, instance, settings, deadline);
  // Every channel's source is asked, whatever the threads say: a source that does not
  // answer leaves its data here, whether the IO thread retries, gave up after
  // master_retry_count, or was stopped by a DBA preparing a promotion.
  std::vector<SourceView> early_views = early ? early->get() : std::vector<SourceView>{};
  std::vector<std::optional<SourceView>> views(data->replica_status.size());
  std::vector<bool> taken(early_views.size());  // each early answer serves one channel
  std::vector<SourceAsk> late;                  // the channels no early answer fits
  std::vector<size_t> late_at;
  for (size_t i = 0; i < views.size(); ++i) {
    SourceAsk wanted = source_ask(data->replica_status[i], data->server_id);
    for (size_t j = 0; j < early_views.size() && !views[i]; ++j)
      if (!taken[j] && same_ask(wanted, guessed[j])) {
        views[i] = std::move(early_views[j]);
        taken[j] = true;
      }
    if (!views[i]) {
      late.push_back(std::move(wanted));
      late_at.push_back(i);
    }
  }
  auto late_views = in_parallel(late, ask);
  for (size_t k = 0; k < late_at.size(); ++k) views[late_at[k]] = std::move(late_views[k]);
  for (auto& v : views) p.sources.push_back(std::move(*v));
  if (!data->replica_status.empty() &&
      std::any_of(data->processlist.begin(), data->processlist.end(), is_binlog_dump)) {
    auto hosts = registered_replicas(**conn);
    if (!hosts) {
      p.downstream_error = "cannot list its replicas: " + hosts.error();
    } else {
      const auto peers_until = peer_deadline(deadline);
      p.downstream = in_parallel(*hosts, [&](const Row& r) {
        return ask_peer(r, data->server_id, nullptr, settings, peers_until);
      });
    }
  }
  p.data = std::move(*data);
  return p;
}

}  // namespace

InstanceProbe probe_instance(const Instance& instance, const ProbeSettings& settings,
                             std::chrono::steady_clock::time_point deadline) {
  static SharedProbes probes;
  // Shared only among callers that expect the same process and log in as the same account.
  const std::string variant = fmt::format("{}#{}", instance.pid, settings.defaults_file);
  auto shared = probes.join(
      instance.connect_socket, variant, deadline,
      [&](const InstanceProbe* last) { return probe_now(instance, settings, deadline, last); });
  if (!shared) {
    InstanceProbe p;
    p.instance = instance;
    p.error = "timed out waiting for another probe of this instance";
    return p;
  }
  shared->instance = instance;  // as this caller's discovery found it
  return std::move(*shared);
}

}  // namespace guardd::mysql
