#include "plugins/mysql/assess.h"

#include <cctype>
#include <cstdlib>
#include <map>

#include <fmt/format.h>

namespace guardd::mysql {
namespace {

using nlohmann::json;

std::string value(const Row& row, std::initializer_list<const char*> names) {
  return column(row, names).value_or("");
}

std::string label(const InstanceProbe& p) {
  return fmt::format("{} (pid {}, {})", p.instance.name, p.instance.pid, p.instance.socket);
}

Assessment probe_error(const InstanceProbe& p) {
  return {Outcome::Error, fmt::format("{}: {}", label(p), p.error), p.instance.facts()};
}

// "PROCESS" is what makes the processlist show other sessions: without it a count is wrong,
// not zero, so it cannot be trusted either way.
std::optional<Assessment> missing_process_grant(const InstanceProbe& p) {
  if (p.data->has_process_privilege) return std::nullopt;
  return Assessment{Outcome::Error,
                    fmt::format("{}: the account lacks the PROCESS privilege, so the processlist "
                                "shows only its own session; grant PROCESS (see README)",
                                label(p)),
                    p.instance.facts()};
}

std::string host_only(const std::string& host_port) {
  // Processlist HOST is "host:port" for TCP clients; keep the host.
  auto colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

std::map<std::string, std::string> wsrep_map(const ProbeData& d) {
  std::map<std::string, std::string> m;
  for (const auto& r : d.wsrep_status) m[value(r, {"Variable_name"})] = value(r, {"Value"});
  return m;
}

Assessment assess_galera(const InstanceProbe& p, const ReplicationPolicy& policy, json facts) {
  auto ws = wsrep_map(*p.data);
  std::string status = ws["wsrep_cluster_status"];
  std::string state = ws["wsrep_local_state_comment"];
  int size = 0;
  try {
    size = std::stoi(ws["wsrep_cluster_size"]);
  } catch (...) {
  }
  facts["role"] = "galera-node";
  facts["galera"] = {{"cluster_size", size},
                     {"cluster_status", status},
                     {"local_state", state},
                     {"ready", ws["wsrep_ready"]}};
  if (status != "Primary")
    return {Outcome::Veto,
            fmt::format("{}: Galera node in a non-Primary component (status {})", label(p),
                        status.empty() ? "unknown" : status),
            facts};
  if (state != "Synced")
    return {Outcome::Veto,
            fmt::format("{}: Galera node is {} (a donor or desynced node is serving the cluster)",
                        label(p), state.empty() ? "in an unknown state" : state),
            facts};
  // What remains is the other nodes that are data copies in step with the cluster, by
  // their own account: an arbitrator (no client address), a donor, a joining or an
  // unreachable node is not one.
  std::vector<std::string> synced, not_synced;
  json peers = json::array();
  for (const auto& peer : p.galera_peers) {
    std::string problem = !peer.error.empty()                ? peer.error
                          : peer.cluster_status != "Primary" ? "not in the Primary component"
                          : peer.local_state != "Synced"     ? peer.local_state
                                                             : "";
    peers.push_back({{"address", peer.address},
                     {"local_state", peer.local_state},
                     {"cluster_status", peer.cluster_status},
                     {"problem", problem}});
    (problem.empty() ? synced : not_synced)
        .push_back(problem.empty() ? peer.address : fmt::format("{} ({})", peer.address, problem));
  }
  facts["galera"]["peers"] = peers;
  facts["galera"]["incoming_addresses"] = ws["wsrep_incoming_addresses"];
  const int remaining = static_cast<int>(synced.size());
  facts["galera"]["synced_peers"] = remaining;
  // Members that list no client address: an arbitrator (garbd) votes but holds no data;
  // a node bound to loopback shows AUTO. Neither can be counted as a copy.
  const int unlisted = size - 1 - static_cast<int>(p.galera_peers.size());
  if (unlisted > 0)
    not_synced.push_back(
        fmt::format("{} member(s) without a client address (arbitrator, or AUTO)", unlisted));
  std::string others =
      not_synced.empty() ? "" : fmt::format("; not counted: {}", fmt::join(not_synced, ", "));
  if (remaining < policy.min_remaining_nodes)
    return {Outcome::Veto,
            fmt::format("{}: Galera cluster of {} nodes would keep {} synced data node(s) "
                        "(min_remaining_nodes = {}){}",
                        label(p), size, remaining, policy.min_remaining_nodes, others),
            facts};
  return {Outcome::Pass,
          fmt::format("{}: synced Galera node; {} synced data node(s) remain of {}: {}{}", label(p),
                      remaining, size, fmt::join(synced, ", "), others),
          facts};
}

Assessment assess_group(const InstanceProbe& p, json facts) {
  const auto& members = p.data->group_members;
  int online = 0;
  std::string my_state, my_role;
  json list = json::array();
  for (const auto& m : members) {
    std::string state = value(m, {"MEMBER_STATE"});
    if (state == "ONLINE") ++online;
    if (value(m, {"MEMBER_ID"}) == p.data->server_uuid) {
      my_state = state;
      my_role = value(m, {"MEMBER_ROLE"});
    }
    list.push_back({{"host", value(m, {"MEMBER_HOST"})},
                    {"port", value(m, {"MEMBER_PORT"})},
                    {"state", state},
                    {"role", value(m, {"MEMBER_ROLE"})}});
  }
  facts["role"] = "group-member";
  facts["group"] = {
      {"members", list}, {"online", online}, {"member_state", my_state}, {"member_role", my_role}};
  if (my_state != "ONLINE")
    return {Outcome::Pass,
            fmt::format("{}: Group Replication member not ONLINE ({}); the group does not count on "
                        "it",
                        label(p), my_state.empty() ? "unknown" : my_state),
            facts};
  int tolerance = (online - 1) / 2;  // failures a group of `online` members survives
  facts["group"]["fault_tolerance"] = tolerance;
  if (tolerance == 0)
    return {Outcome::Veto,
            fmt::format("{}: Group Replication {} in a group of {} ONLINE members with no fault "
                        "tolerance left",
                        label(p), my_role.empty() ? "member" : my_role, online),
            facts};
  return {Outcome::Pass,
          fmt::format("{}: Group Replication member; the group of {} tolerates {} failures",
                      label(p), online, tolerance),
          facts};
}

// Why a peer replica is no failover candidate; empty when it is one. Its threads and lag
// are its own account; its position is compared with the source's (`source`), and its
// own transactions with the source's, since both threads running with no lag is also what
// a silently stalled link, or a replica that took writes of its own, reports.
std::string peer_problem(const PeerState& peer, const SourcePosition& source,
                         bool this_replica_read_only, const ReplicationPolicy& policy) {
  if (!peer.error.empty()) return peer.error;
  if (!peer.replicates) return "does not replicate from this source";
  if (peer.io_running != "Yes")
    return fmt::format("IO thread {}{}", peer.io_running.empty() ? "not running" : peer.io_running,
                       peer.last_io_error.empty() ? "" : " (" + peer.last_io_error + ")");
  if (peer.sql_running != "Yes")
    return fmt::format("SQL thread {}{}",
                       peer.sql_running.empty() ? "not running" : peer.sql_running,
                       peer.last_sql_error.empty() ? "" : " (" + peer.last_sql_error + ")");
  if (auto errant = errant_transactions(source, peer.position, peer.server_id); !errant.empty())
    return fmt::format(
        "has transactions of its own that the source does not have (errant GTIDs "
        "{})",
        fmt::join(errant, ", "));
  if (this_replica_read_only && peer.read_only == false)
    return "writable (read_only = OFF) where this replica is read-only";
  if (auto receipt = received(source, peer.position); receipt.state != Receipt::State::All)
    return receipt.detail;
  if (peer.sql_delay > 0)
    return fmt::format("a delayed replica (SQL_Delay = {} s)", peer.sql_delay);
  if (!peer.lag_seconds) return "lag unknown";
  if (*peer.lag_seconds > policy.max_lag_seconds)
    return fmt::format("{} s behind (max_lag = {} s)", *peer.lag_seconds, policy.max_lag_seconds);
  return "";
}

// One replication channel as its replica status row describes it.
struct Channel {
  std::string name, source, io, sql, lag, last_io_error, last_sql_error;

  static Channel from(const Row& row) {
    return {value(row, {"Connection_name", "Channel_Name", "Channel_name"}),
            fmt::format("{}:{}", value(row, {"Source_Host", "Master_Host"}),
                        value(row, {"Source_Port", "Master_Port"})),
            value(row, {"Replica_IO_Running", "Slave_IO_Running"}),
            value(row, {"Replica_SQL_Running", "Slave_SQL_Running"}),
            value(row, {"Seconds_Behind_Source", "Seconds_Behind_Master"}),
            value(row, {"Last_IO_Error"}),
            value(row, {"Last_SQL_Error"})};
  }
  bool replicating() const { return io == "Yes" && sql == "Yes"; }
  /// "10.0.0.1:3306", or with its name when it has one (multi-source replication).
  std::string from_where() const {
    return name.empty() ? source : fmt::format("{} (channel '{}')", source, name);
  }
  /// "replicating", "stopped (IO thread No, SQL thread No)", or what does not run and why.
  std::string state() const {
    if (replicating()) return "replicating";
    std::vector<std::string> parts;
    auto thread = [&](const char* which, const std::string& running, const std::string& error) {
      if (running == "Yes") return;
      parts.push_back(fmt::format("{} thread {}{}", which,
                                  running.empty() ? "not running" : running,
                                  error.empty() ? "" : ": " + error));
    };
    thread("IO", io, last_io_error);
    thread("SQL", sql, last_sql_error);
    const bool stopped =
        io == "No" && sql == "No" && last_io_error.empty() && last_sql_error.empty();
    return fmt::format("{} ({})", stopped ? "stopped" : "not replicating", fmt::join(parts, ", "));
  }
  json facts() const {
    return {{"name", name},
            {"source", source},
            {"io_running", io},
            {"sql_running", sql},
            {"lag_seconds", lag},
            {"last_io_error", last_io_error},
            {"last_sql_error", last_sql_error},
            {"state", state()}};
  }
};

// What one channel says about taking this replica away.
struct ChannelVerdict {
  Outcome outcome;
  std::string text;
};

// A replicating channel whose source answered: refused while this replica is the source's
// last failover candidate or its last semi-sync acknowledger.
ChannelVerdict judge_against_peers(const Channel& c, const SourceView& s, const ProbeData& d,
                                   const ReplicationPolicy& policy, json& source_facts) {
  json peers = json::array();
  std::vector<std::string> healthy, unhealthy;
  for (const auto& peer : s.peers) {
    std::string problem = peer_problem(peer, s.position, d.read_only, policy);
    std::string name = fmt::format("{} (server_id {})", peer.address, peer.server_id);
    peers.push_back({{"address", peer.address},
                     {"server_id", peer.server_id},
                     {"healthy", problem.empty()},
                     {"problem", problem},
                     {"io_running", peer.io_running},
                     {"sql_running", peer.sql_running},
                     {"lag_seconds", peer.lag_seconds ? json(*peer.lag_seconds) : json(nullptr)},
                     {"sql_delay", peer.sql_delay},
                     {"received", peer.position.uses_gtid ? peer.position.gtid_io_pos
                                                          : fmt::format("{}:{}", peer.position.file,
                                                                        peer.position.position)},
                     {"read_only", peer.read_only ? json(*peer.read_only) : json(nullptr)}});
    (problem.empty() ? healthy : unhealthy)
        .push_back(problem.empty() ? name : fmt::format("{}: {}", name, problem));
  }
  source_facts["peers"] = peers;
  source_facts["position"] = {{"gtid_binlog_pos", s.position.gtid_binlog_pos},
                              {"file", s.position.file},
                              {"position", s.position.position}};
  std::vector<std::string> vetoes;
  // Semi-sync: without this replica, fewer replicas acknowledge than each commit waits for.
  if (s.semi_sync_enabled && d.semi_sync_replica && s.semi_sync_clients <= s.semi_sync_wait_for)
    vetoes.push_back(
        s.semi_sync_wait_for == 1
            ? fmt::format("the last semi-sync acknowledger of {} "
                          "(Rpl_semi_sync_master_clients = {}): without it the "
                          "source's commits stall or fall back to asynchronous",
                          c.from_where(), s.semi_sync_clients)
            : fmt::format("one of the {} semi-sync acknowledgers of {}, which waits for {} on "
                          "every commit: without it the source's commits stall or fall back to "
                          "asynchronous",
                          s.semi_sync_clients, c.from_where(), s.semi_sync_wait_for));
  if (healthy.empty())
    vetoes.push_back(fmt::format(
        "the last healthy replica of {} ({})", c.from_where(),
        unhealthy.empty() ? std::string("no other replica is registered")
                          : fmt::format("other replicas: {}", fmt::join(unhealthy, "; "))));
  if (!vetoes.empty()) return {Outcome::Veto, fmt::format("{}", fmt::join(vetoes, "; "))};
  return {Outcome::Pass, fmt::format("{} has {} other healthy replica(s): {}", c.from_where(),
                                     healthy.size(), fmt::join(healthy, ", "))};
}

// One channel, judged by what its source answered, whatever the channel's threads say.
ChannelVerdict judge_channel(const Channel& c, const SourceView* s, const ProbeData& d,
                             const ReplicationPolicy& policy, json& source_facts) {
  if (s == nullptr)
    return {Outcome::Error, fmt::format("its source {} was not asked", c.from_where())};
  source_facts = {{"source", c.source},
                  {"channel", c.name},
                  {"answered", s->reach == SourceReach::Answered},
                  {"error", s->error},
                  {"semi_sync",
                   {{"enabled", s->semi_sync_enabled},
                    {"clients", s->semi_sync_clients},
                    {"wait_for", s->semi_sync_wait_for}}}};
  // No answer: the source is down, hung or cut off, and this replica holds its data.
  if (s->reach == SourceReach::NoAnswer)
    return {Outcome::Veto,
            fmt::format("its source {} does not answer ({}) and its channel is {}: with the "
                        "source down, this replica holds its data and may be the one to promote",
                        c.from_where(), s->error, c.state())};
  // The source answered but would not say (a login refused, a grant missing): a setup
  // problem, never taken for a source that is gone.
  if (!s->error.empty())
    return {Outcome::Error,
            fmt::format("cannot judge its channel from {}: {}", c.from_where(), s->error)};
  if (!c.replicating())
    return {Outcome::Pass, fmt::format("its channel from {} is {}; the source answers and does "
                                       "not count on it",
                                       c.from_where(), c.state())};
  return judge_against_peers(c, *s, d, policy, source_facts);
}

// A replica: each channel judged on its own (multi-source replication has several); any
// channel that refuses refuses, then any that cannot be judged.
Assessment assess_replica(const InstanceProbe& p, const std::vector<Channel>& channels,
                          const ReplicationPolicy& policy, json facts) {
  json sources = json::array();
  std::vector<std::string> vetoes, errors, passes;
  for (size_t i = 0; i < channels.size(); ++i) {
    const SourceView* s = i < p.sources.size() ? &p.sources[i] : nullptr;
    json source_facts;
    ChannelVerdict v = judge_channel(channels[i], s, *p.data, policy, source_facts);
    sources.push_back(std::move(source_facts));
    (v.outcome == Outcome::Veto    ? vetoes
     : v.outcome == Outcome::Error ? errors
                                   : passes)
        .push_back(std::move(v.text));
  }
  facts["sources"] = sources;
  const Outcome outcome = !vetoes.empty()   ? Outcome::Veto
                          : !errors.empty() ? Outcome::Error
                                            : Outcome::Pass;
  const auto& texts = outcome == Outcome::Veto    ? vetoes
                      : outcome == Outcome::Error ? errors
                                                  : passes;
  return {outcome, fmt::format("{}: replica: {}", label(p), fmt::join(texts, "; ")), facts};
}

}  // namespace

Assessment assess_replication(const InstanceProbe& p, const ReplicationPolicy& policy) {
  if (!p.data) return probe_error(p);
  if (auto e = missing_process_grant(p)) return *e;
  const ProbeData& d = *p.data;
  json facts = p.instance.facts();
  facts["version"] = d.version;

  if (d.wsrep_on) return assess_galera(p, policy, facts);
  if (!d.group_members.empty()) return assess_group(p, facts);

  json replicas = json::array();
  for (const auto& row : d.processlist)
    if (is_binlog_dump(row)) replicas.push_back(host_only(value(row, {"HOST"})));
  facts["replicas"] = replicas;

  std::vector<Channel> channels;
  json channel_facts = json::array();
  for (const auto& row : d.replica_status) {
    channels.push_back(Channel::from(row));
    channel_facts.push_back(channels.back().facts());
  }
  if (!channels.empty()) facts["replication"] = channel_facts;

  if (!replicas.empty() && !channels.empty() && p.downstream_error.empty()) {
    // A replica with Binlog Dump threads feeds others only if some registered replica
    // still replicates from it. One that answers that it does not (after a switchover the
    // new primary's old channel lingers here for a while) does not count; one that cannot
    // be asked does (it may be replicating and only unreachable from here).
    json stale = json::array();
    bool feeds = p.downstream.empty();  // dump threads but none registered: an archiver?
    for (const auto& r : p.downstream) {
      if (!r.error.empty() || (r.replicates && r.io_running == "Yes"))
        feeds = true;
      else
        stale.push_back(r.address);
    }
    if (!stale.empty()) facts["not_replicating_from_it"] = stale;
    if (!feeds) replicas = json::array();  // judged as the replica it now is
  }
  if (!replicas.empty() && !channels.empty()) {
    facts["role"] = "intermediate-primary";
    std::vector<std::string> upstream;
    for (const auto& c : channels)
      upstream.push_back(c.replicating()
                             ? fmt::format("replicates from {}", c.from_where())
                             : fmt::format("its channel from {} is {}", c.from_where(), c.state()));
    return {Outcome::Veto,
            fmt::format("{}: intermediate primary: feeds {} replica(s) ({}); {}", label(p),
                        replicas.size(), fmt::join(replicas, ", "), fmt::join(upstream, "; ")),
            facts};
  }
  if (!replicas.empty()) {
    facts["role"] = "primary";
    return {Outcome::Veto,
            fmt::format("{}: primary with {} connected replica(s): {}", label(p), replicas.size(),
                        fmt::join(replicas, ", ")),
            facts};
  }
  if (!channels.empty()) {
    facts["role"] = "replica";
    return assess_replica(p, channels, policy, std::move(facts));
  }
  facts["role"] = "standalone";
  return {Outcome::Pass, fmt::format("{}: standalone (no replicas, no source)", label(p)), facts};
}

namespace {

// Where a statement's first keyword starts: after blanks and comments (/* ... */, "-- "
// and "#" to the end of the line), as tools such as pt-online-schema-change prefix them.
size_t first_keyword(const std::string& sql) {
  size_t i = 0;
  while (i < sql.size()) {
    if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      ++i;
    } else if (sql.compare(i, 2, "/*") == 0) {
      size_t end = sql.find("*/", i + 2);
      i = end == std::string::npos ? sql.size() : end + 2;
    } else if (sql[i] == '#' || sql.compare(i, 3, "-- ") == 0) {
      size_t end = sql.find('\n', i);
      i = end == std::string::npos ? sql.size() : end + 1;
    } else {
      break;
    }
  }
  return i;
}

// Statements that change a schema: interrupted by a reboot, some leave work to redo or
// a table to rebuild.
bool is_ddl(const std::string& info) {
  const size_t start = first_keyword(info);
  std::string head = info.substr(start, info.find_first_of(" \t\n(", start) - start);
  for (char& c : head) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return head == "ALTER" || head == "CREATE" || head == "DROP" || head == "RENAME" ||
         head == "TRUNCATE" || head == "OPTIMIZE";
}

// Sessions waiting for a global read lock or a backup lock that another session holds.
bool waits_for_global_lock(const std::string& state) {
  return state == "Waiting for backup lock" || state == "Waiting for global read lock";
}

// An XA id as XA RECOVER returns it (gtrid and bqual, possibly binary), quoted, with
// bytes that are not printable shown as \xNN.
std::string printable_xid(const std::string& data) {
  std::string out = "'";
  for (unsigned char c : data)
    out += std::isprint(c) && c != '\'' && c != '\\' ? std::string(1, static_cast<char>(c))
                                                     : fmt::format("\\x{:02x}", c);
  return out + "'";
}

}  // namespace

Assessment assess_connections(const InstanceProbe& p, const ConnectionsPolicy& policy) {
  if (!p.data) return probe_error(p);
  if (auto e = missing_process_grant(p)) return *e;
  const ProbeData& d = *p.data;
  std::map<std::string, int> by_user, by_host;
  int active = 0, sleeping = 0, total = 0;
  std::vector<std::string> work;               // what vetoes whatever max_clients allows
  std::map<std::string, const Row*> sessions;  // client sessions by id
  auto is_own = [&](const std::string& id) {
    return id == std::to_string(d.connection_id) || d.own_sessions.count(std::atoll(id.c_str()));
  };
  std::map<std::string, std::string> user_of;  // every session's user, by id
  for (const auto& row : d.processlist) user_of[value(row, {"ID"})] = value(row, {"USER"});
  for (const auto& row : d.processlist) {
    std::string user = value(row, {"USER"});
    std::string command = value(row, {"COMMAND"});
    std::string id = value(row, {"ID"});
    if (waits_for_global_lock(value(row, {"STATE"})))
      work.push_back(
          fmt::format("session {} ({}) waits for a global read lock or backup lock "
                      "that another session holds: {}",
                      id, user, value(row, {"INFO"}).substr(0, 60)));
    // guardd's own session, and an earlier probe's still closing. By id only: the account
    // guardd logs in as may be root, whose other sessions are clients like any other.
    if (is_own(id)) continue;
    if (user == "system user" || user == "event_scheduler" || command == "Daemon" ||
        is_binlog_dump(row) || command == "Killed" || command == "Quit")
      continue;  // system threads, replication, and sessions already going away
    // A handshake that never authenticated (a load balancer's or port probe's): no client.
    if (user == "unauthenticated user" || command == "Connect") continue;
    sessions[id] = &row;
    std::string info = value(row, {"INFO"});
    int64_t seconds = std::atoll(value(row, {"TIME"}).c_str());
    if (command == "Query" && is_ddl(info))
      work.push_back(fmt::format("session {} ({}) running DDL for {} s: {}", id, user, seconds,
                                 info.substr(0, 60)));
    else if (command == "Query" && seconds > policy.max_query_seconds)
      work.push_back(
          fmt::format("session {} ({}) running a statement for {} s "
                      "(max_query_time = {} s): {}",
                      id, user, seconds, policy.max_query_seconds, info.substr(0, 60)));
    if (policy.ignore_users.count(user)) continue;
    ++total;
    ++by_user[user];
    ++by_host[host_only(value(row, {"HOST"}))];
    (command == "Sleep" ? sleeping : active)++;
  }
  json transactions = json::array();
  std::vector<std::string> sessionless;
  for (const auto& t : d.transactions) {
    if (is_sessionless(t)) {
      transactions.push_back({{"session", nullptr},
                              {"trx_id", value(t, {"TRX_ID"})},
                              {"state", value(t, {"STATE"})},
                              {"age_seconds", value(t, {"AGE_SECONDS"})},
                              {"rows_modified", value(t, {"ROWS_MODIFIED"})}});
      sessionless.push_back(fmt::format("trx {} open for {} s, {} row(s) modified",
                                        value(t, {"TRX_ID"}), value(t, {"AGE_SECONDS"}),
                                        value(t, {"ROWS_MODIFIED"})));
      continue;
    }
    std::string id = value(t, {"THREAD_ID"});
    auto it = sessions.find(id);
    if (it == sessions.end()) continue;  // replication applier, system, or guardd's own
    std::string user = value(*it->second, {"USER"});
    transactions.push_back({{"session", id},
                            {"user", user},
                            {"state", value(t, {"STATE"})},
                            {"age_seconds", value(t, {"AGE_SECONDS"})},
                            {"rows_modified", value(t, {"ROWS_MODIFIED"})}});
    work.push_back(
        fmt::format("session {} ({}) has a transaction open for {} s ({} row(s) "
                    "modified)",
                    id, user, value(t, {"AGE_SECONDS"}), value(t, {"ROWS_MODIFIED"})));
  }
  // A backup in progress: the session is idle, and only the lock says so.
  if (d.global_locks) {
    for (const auto& lock : *d.global_locks) {
      const std::string id = value(lock, {"SESSION"});
      const GlobalLock kind = classify_global_lock(value(lock, {"TYPE"}), value(lock, {"MODE"}));
      if (kind == GlobalLock::None || is_own(id)) continue;
      const std::string user = user_of.count(id) ? user_of[id] : "?";
      work.push_back(kind == GlobalLock::ReadLock
                         ? fmt::format("session {} ({}) holds a global read lock (FLUSH TABLES "
                                       "WITH READ LOCK): a backup or snapshot in progress",
                                       id, user)
                         : fmt::format("session {} ({}) holds a backup lock ({}): a backup in "
                                       "progress",
                                       id, user, value(lock, {"MODE"})));
    }
  }
  // No client will end these: they hold their locks (and a prepared XA transaction its
  // promise to commit) until a DBA resolves them, across a restart.
  std::vector<std::string> xids;
  for (const auto& x : d.prepared_xa) xids.push_back(printable_xid(value(x, {"data"})));
  if (!xids.empty())
    work.push_back(fmt::format(
        "XA transaction(s) prepared and never committed: {} (a DBA ends them with XA COMMIT "
        "or XA ROLLBACK)",
        fmt::join(xids, ", ")));
  if (!sessionless.empty())
    work.push_back(fmt::format("{} transaction(s) without a session ({}){}", sessionless.size(),
                               fmt::join(sessionless, "; "),
                               xids.empty() ? ": prepared XA transactions, or a rollback after a "
                                              "crash"
                                            : ""));
  json facts = p.instance.facts();
  facts["global_locks_visible"] = d.global_locks.has_value();
  facts["clients"] = {{"total", total},          {"active", active},
                      {"sleeping", sleeping},    {"by_user", by_user},
                      {"by_host", by_host},      {"transactions", transactions},
                      {"work_in_progress", work}};
  if (!work.empty())
    return {Outcome::Veto, fmt::format("{}: {}", label(p), fmt::join(work, "; ")), facts};
  if (total <= policy.max_clients)
    return {Outcome::Pass,
            fmt::format("{}: {} client session(s) (max_clients = {})", label(p), total,
                        policy.max_clients),
            facts};
  std::vector<std::string> users;
  for (const auto& [u, n] : by_user) users.push_back(fmt::format("{} ({})", u, n));
  return {Outcome::Veto,
          fmt::format("{}: {} client session(s) open, {} active (max_clients = {}): {}", label(p),
                      total, active, policy.max_clients, fmt::join(users, ", ")),
          facts};
}

GlobalLock classify_global_lock(const std::string& type, const std::string& mode) {
  const std::string m = mode.rfind("MDL_", 0) == 0 ? mode.substr(4) : mode;
  if (m == "BACKUP_FTWRL1" || m == "BACKUP_FTWRL2") return GlobalLock::ReadLock;
  for (const char* stage : {"BACKUP_START", "BACKUP_FLUSH", "BACKUP_WAIT_FLUSH", "BACKUP_WAIT_DDL",
                            "BACKUP_WAIT_COMMIT", "BACKUP_BLOCK_DDL"})
    if (m == stage) return GlobalLock::BackupLock;
  if ((type == "GLOBAL" || type == "Global read lock") && m == "SHARED")
    return GlobalLock::ReadLock;
  if (type == "BACKUP LOCK" && m == "SHARED") return GlobalLock::BackupLock;
  return GlobalLock::None;
}

std::vector<std::string> probe_setup_problems(const InstanceProbe& p) {
  if (!p.data) return {probe_error(p).reason};
  if (auto missing = missing_process_grant(p)) return {missing->reason};
  return {};
}

std::vector<std::string> replication_setup_problems(const InstanceProbe& p) {
  std::vector<std::string> problems = probe_setup_problems(p);
  if (!p.data) return problems;
  for (const auto& s : p.sources) {
    if (!s.error.empty()) {
      problems.push_back(fmt::format("{}: replica of {}, {}", label(p), s.source, s.error));
      continue;
    }
    for (const auto& peer : s.peers)
      if (!peer.error.empty())
        problems.push_back(fmt::format("{}: cannot ask {}, a replica of its source {}: {}",
                                       label(p), peer.address, s.source, peer.error));
  }
  if (!p.downstream_error.empty())
    problems.push_back(fmt::format("{}: {}", label(p), p.downstream_error));
  for (const auto& d : p.downstream)
    if (!d.error.empty())
      problems.push_back(
          fmt::format("{}: cannot ask its replica {}: {}", label(p), d.address, d.error));
  for (const auto& g : p.galera_peers)
    if (!g.error.empty())
      problems.push_back(
          fmt::format("{}: cannot ask Galera node {}: {}", label(p), g.address, g.error));
  return problems;
}

}  // namespace guardd::mysql
