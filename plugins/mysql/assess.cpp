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

// Why a peer replica is no failover candidate; empty when it is one.
std::string peer_problem(const PeerState& peer, const ReplicationPolicy& policy) {
  if (!peer.error.empty()) return peer.error;
  if (!peer.replicates) return "does not replicate from this source";
  if (peer.io_running != "Yes")
    return fmt::format("IO thread {}{}", peer.io_running.empty() ? "not running" : peer.io_running,
                       peer.last_io_error.empty() ? "" : " (" + peer.last_io_error + ")");
  if (peer.sql_running != "Yes")
    return fmt::format("SQL thread {}{}",
                       peer.sql_running.empty() ? "not running" : peer.sql_running,
                       peer.last_sql_error.empty() ? "" : " (" + peer.last_sql_error + ")");
  if (peer.sql_delay > 0)
    return fmt::format("a delayed replica (SQL_Delay = {} s)", peer.sql_delay);
  if (!peer.lag_seconds) return "lag unknown";
  if (*peer.lag_seconds > policy.max_lag_seconds)
    return fmt::format("{} s behind (max_lag = {} s)", *peer.lag_seconds, policy.max_lag_seconds);
  return "";
}

// A healthy replica: refused while it is the last failover candidate of a source, the
// last semi-sync acknowledger, or a replica whose source is gone (a promotion candidate).
Assessment assess_replica(const InstanceProbe& p, const ReplicationPolicy& policy, json facts) {
  json sources = json::array();
  std::vector<std::string> vetoes, passes;
  for (const auto& s : p.sources) {
    json peers = json::array();
    std::vector<std::string> healthy, unhealthy;
    for (const auto& peer : s.peers) {
      std::string problem = peer_problem(peer, policy);
      std::string name = fmt::format("{} (server_id {})", peer.address, peer.server_id);
      peers.push_back({{"address", peer.address},
                       {"server_id", peer.server_id},
                       {"healthy", problem.empty()},
                       {"problem", problem},
                       {"io_running", peer.io_running},
                       {"sql_running", peer.sql_running},
                       {"lag_seconds", peer.lag_seconds ? json(*peer.lag_seconds) : json(nullptr)},
                       {"sql_delay", peer.sql_delay}});
      (problem.empty() ? healthy : unhealthy)
          .push_back(problem.empty() ? name : fmt::format("{}: {}", name, problem));
    }
    sources.push_back(
        {{"source", s.source},
         {"error", s.error},
         {"peers", peers},
         {"semi_sync", {{"enabled", s.semi_sync_enabled}, {"clients", s.semi_sync_clients}}}});
    if (!s.error.empty()) {
      vetoes.push_back(
          fmt::format("its source {} cannot be asked ({}); with the source gone, "
                      "this replica may be the one to promote",
                      s.source, s.error));
      continue;
    }
    if (s.semi_sync_enabled && p.data->semi_sync_replica && s.semi_sync_clients <= 1)
      vetoes.push_back(
          fmt::format("the last semi-sync acknowledger of {} "
                      "(Rpl_semi_sync_master_clients = {}): without it the "
                      "source's commits stall or fall back to asynchronous",
                      s.source, s.semi_sync_clients));
    if (healthy.empty())
      vetoes.push_back(fmt::format(
          "the last healthy replica of {} ({})", s.source,
          unhealthy.empty() ? std::string("no other replica is registered")
                            : fmt::format("other replicas: {}", fmt::join(unhealthy, "; "))));
    else
      passes.push_back(fmt::format("{} has {} other healthy replica(s): {}", s.source,
                                   healthy.size(), fmt::join(healthy, ", ")));
  }
  facts["sources"] = sources;
  if (!vetoes.empty())
    return {Outcome::Veto, fmt::format("{}: replica: {}", label(p), fmt::join(vetoes, "; ")),
            facts};
  return {Outcome::Pass, fmt::format("{}: replica; {}", label(p), fmt::join(passes, "; ")), facts};
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

  json channels = json::array();
  bool healthy_replica = false;
  for (const auto& ch : d.replica_status) {
    std::string io = value(ch, {"Replica_IO_Running", "Slave_IO_Running"});
    std::string sql = value(ch, {"Replica_SQL_Running", "Slave_SQL_Running"});
    json c = {{"name", value(ch, {"Connection_name", "Channel_Name", "Channel_name"})},
              {"source", fmt::format("{}:{}", value(ch, {"Source_Host", "Master_Host"}),
                                     value(ch, {"Source_Port", "Master_Port"}))},
              {"io_running", io},
              {"sql_running", sql},
              {"lag_seconds", value(ch, {"Seconds_Behind_Source", "Seconds_Behind_Master"})},
              {"last_io_error", value(ch, {"Last_IO_Error"})},
              {"last_sql_error", value(ch, {"Last_SQL_Error"})}};
    channels.push_back(c);
    if (io == "Yes" && sql == "Yes") healthy_replica = true;
  }
  if (!channels.empty()) facts["replication"] = channels;

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
    return {Outcome::Veto,
            fmt::format("{}: intermediate primary: replicates from {} and feeds {} replica(s) ({})",
                        label(p), channels[0]["source"].get<std::string>(), replicas.size(),
                        fmt::join(replicas, ", ")),
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
    // The IO thread retrying while the SQL thread applies: the source is down or cut off,
    // and a replica whose source is gone is a promotion candidate.
    std::vector<std::string> lost;
    for (const auto& c : channels)
      if (c["io_running"] == "Connecting" && c["sql_running"] == "Yes")
        lost.push_back(fmt::format("{} ({})", c["source"].get<std::string>(),
                                   c["last_io_error"].get<std::string>().empty()
                                       ? std::string("IO thread Connecting")
                                       : c["last_io_error"].get<std::string>()));
    if (!lost.empty())
      return {Outcome::Veto,
              fmt::format("{}: replica whose source is unreachable: {}; with its source down, "
                          "this replica may be the one to promote",
                          label(p), fmt::join(lost, ", ")),
              facts};
    if (!healthy_replica)
      return {Outcome::Pass,
              fmt::format("{}: replica with replication stopped or broken; the source does not "
                          "count on it",
                          label(p)),
              facts};
    return assess_replica(p, policy, std::move(facts));
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
  for (const auto& row : d.processlist) {
    std::string user = value(row, {"USER"});
    std::string command = value(row, {"COMMAND"});
    std::string id = value(row, {"ID"});
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
  for (const auto& t : d.transactions) {
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
  json facts = p.instance.facts();
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
