#include "plugins/mysql/mysql_checks.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "plugins/mysql/assess.h"
#include "plugins/mysql/connection.h"
#include "plugins/mysql/datadir_at_rest.h"
#include "plugins/mysql/datadir_sightings.h"
#include "plugins/mysql/instance.h"
#include "plugins/mysql/probe.h"

namespace guardd {
namespace {

using mysql::Assessment;
using mysql::Instance;
using mysql::InstanceProbe;

constexpr TypeKey kCommonKeys[] = {
    {"instances", "auto",
     "'auto' (every running instance) or the unix socket paths of the instances to check; "
     "another server running vetoes every operation but wipe (a reboot stops it too)."},
    {"exclude_instances", "",
     "Unix socket paths (or shell patterns, * stopping at '/') of running servers neither "
     "judged nor counted: their loss in a reboot is accepted (a scratch server)."},
    {"defaults_file", "",
     "my.cnf-style file with [client] user and password (root-owned, mode 0600), and TLS "
     "settings for logins to other servers in [guardd-tcp]; empty: connect as guardd's own "
     "user (unix_socket authentication, local socket only)."},
};
constexpr TypeKey kRunningKeys[] = {
    kCommonKeys[0],
    kCommonKeys[1],
    {"option_files", "/etc/my.cnf /etc/mysql/my.cnf",
     "Server option files read for the datadirs of servers not running (with what they "
     "!include); empty: none."},
    {"datadirs", "/var/lib/mysql",
     "Datadirs protected whenever they hold data, besides those the option files name and "
     "those guardd has seen in use; empty: none."},
};
constexpr TypeKey kReplicationKeys[] = {
    kCommonKeys[0],
    kCommonKeys[1],
    kCommonKeys[2],
    {"min_remaining_nodes", "2", "Galera: synced nodes that must remain when this one leaves."},
    {"max_lag", "30s",
     "A peer replica further behind its source than this is no failover candidate."}};
constexpr TypeKey kConnectionsKeys[] = {
    kCommonKeys[0],
    kCommonKeys[1],
    kCommonKeys[2],
    {"max_clients", "0", "Idle client sessions allowed before the check vetoes."},
    {"ignore_users", "",
     "Accounts whose sessions do not count against max_clients (monitoring); their open "
     "transactions, DDL and long statements still veto."},
    {"max_query_time", "30s", "A client statement running longer than this vetoes."}};

// The running servers a check judges, and those it only counts.
struct Selection {
  std::vector<Instance> chosen;
  // Running, named by no `instances` entry and not excluded: not judged, but a reboot
  // stops them too, so they veto every operation but wipe.
  std::vector<Instance> uncovered;
};

// True when `path` names the server `i`: its socket as it names it, or the path guardd
// reaches it by, compared after resolving symlinks, "//", "/./" and /var/run.
bool names_server(const std::string& path, const Instance& i) {
  return i.socket == path || mysql::canonical_path(i.connect_socket) == mysql::canonical_path(path);
}

// True when `pattern` (a path, or a shell pattern where * and ? stop at '/') names the
// server `i`.
bool matches_pattern(const std::string& pattern, const Instance& i) {
  if (pattern.find_first_of("*?[") == std::string::npos) return names_server(pattern, i);
  return fnmatch(pattern.c_str(), i.socket.c_str(), FNM_PATHNAME) == 0 ||
         fnmatch(pattern.c_str(), mysql::canonical_path(i.connect_socket).c_str(), FNM_PATHNAME) ==
             0;
}

// Settings every MySQL check reads.
struct Target {
  std::vector<std::string> sockets;   // empty: every running instance
  std::vector<std::string> excluded;  // exclude_instances
  std::string defaults_file;

  /// The running instances the check is about. One `instances` path matching no running
  /// server while some server runs is an error (a moved socket must not read as "nothing
  /// running"). Every server a path names is chosen: a container's server may name the
  /// same path as the host's, and a reboot stops both.
  Result<Selection> select(const std::vector<Instance>& all) const {
    Selection out;
    auto excluded_server = [&](const Instance& i) {
      return std::any_of(excluded.begin(), excluded.end(),
                         [&](const std::string& p) { return matches_pattern(p, i); });
    };
    if (sockets.empty()) {
      for (const auto& i : all)
        if (!excluded_server(i)) out.chosen.push_back(i);
      return out;
    }
    auto chosen = [&](const Instance& i) {
      return std::any_of(out.chosen.begin(), out.chosen.end(),
                         [&](const Instance& c) { return c.pid == i.pid; });
    };
    for (const auto& wanted : sockets) {
      bool matched = false;
      for (const auto& i : all) {
        if (!names_server(wanted, i)) continue;
        matched = true;
        if (!chosen(i)) out.chosen.push_back(i);
      }
      if (matched) continue;
      if (all.empty()) continue;  // no server runs at all: nothing to judge
      std::vector<std::string> running;
      for (const auto& i : all)
        running.push_back(fmt::format("{} pid {} on {}", i.name, i.pid, i.socket));
      return Error{fmt::format("instances: {} is the socket of no running server ({} running)",
                               wanted, fmt::join(running, ", "))};
    }
    for (const auto& i : all)
      if (!chosen(i) && !excluded_server(i)) out.uncovered.push_back(i);
    return out;
  }
  std::string key() const {
    return fmt::format("mysql-probe|{}|{}|{}", defaults_file, fmt::join(sockets, ","),
                       fmt::join(excluded, ","));
  }
};

// Why a server no `instances` entry names refuses `operation` (every one but a wipe,
// which stops no server); empty when it does not.
std::string uncovered_veto(const Instance& i, const std::string& operation) {
  if (operation == "wipe") return "";
  return fmt::format(
      "{} pid {} on {} runs and no instances entry names it: a {} stops it too (add its "
      "socket to instances, or to exclude_instances to accept losing it)",
      i.name, i.pid, i.socket, operation);
}

const ConfigValue* option(const CheckSection& s, const char* key) {
  auto it = s.options.find(key);
  return it == s.options.end() ? nullptr : &it->second;
}

int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A key's configured text and where it was set, or the key table's default.
struct KeyText {
  std::string text, where;
};
KeyText key_text(const CheckSection& s, const char* key, std::span<const TypeKey> keys) {
  if (const ConfigValue* v = option(s, key)) return {v->text, v->where()};
  for (const auto& k : keys)
    if (k.name == key) return {std::string(k.default_text), "default"};
  return {};
}

// The paths of a list key, each absolute.
Result<std::vector<std::string>> path_list(const CheckSection& s, const char* key,
                                           std::span<const TypeKey> keys) {
  auto [text, where] = key_text(s, key, keys);
  std::vector<std::string> out;
  for (const auto& w : parse_list(text)) {
    auto path = parse_absolute_path(w);
    if (!path) return Error{fmt::format("{}: {}: {}", where, key, path.error())};
    out.push_back(*path);
  }
  return out;
}

Result<Target> parse_target(const CheckSection& s) {
  Target t;
  if (const ConfigValue* v = option(s, "instances")) {
    auto words = parse_list(v->text);
    if (words.empty()) return Error{fmt::format("{}: instances: empty (use 'auto')", v->where())};
    if (!(words.size() == 1 && words[0] == "auto")) {
      for (const auto& w : words) {
        auto path = parse_absolute_path(w);
        if (!path) return Error{fmt::format("{}: instances: {}", v->where(), path.error())};
        t.sockets.push_back(*path);
      }
    }
  }
  if (const ConfigValue* v = option(s, "exclude_instances")) {
    for (const auto& w : parse_list(v->text)) {
      auto path = parse_absolute_path(w);
      if (!path) return Error{fmt::format("{}: exclude_instances: {}", v->where(), path.error())};
      t.excluded.push_back(*path);
    }
  }
  if (const ConfigValue* v = option(s, "defaults_file"); v && !v->text.empty()) {
    auto path = parse_absolute_path(v->text);
    if (!path) return Error{fmt::format("{}: defaults_file: {}", v->where(), path.error())};
    t.defaults_file = *path;
  }
  return t;
}

// The probes of one decision (or status), shared by every MySQL check with the same target.
struct Snapshot {
  std::vector<InstanceProbe> probes;
  std::vector<Instance> uncovered;  // see Selection
  std::string error;                // the target's instances could not be chosen
  std::string impostors;            // impostor_note of the scan
};

std::shared_ptr<const Snapshot> snapshot(DecisionScope& scope, const Target& t,
                                         std::chrono::steady_clock::time_point deadline) {
  return scope.shared<Snapshot>(t.key(), [&] {
    Snapshot s;
    const auto discovery = mysql::running_instances(scope);
    s.impostors = mysql::impostor_note(*discovery);
    auto chosen = t.select(discovery->servers);
    if (!chosen) {
      s.error = chosen.error();
      return s;
    }
    for (const auto& inst : chosen->chosen)
      s.probes.push_back(
          mysql::probe_instance(inst, mysql::ProbeSettings{t.defaults_file}, deadline));
    s.uncovered = std::move(chosen->uncovered);
    return s;
  });
}

// Combines per-instance assessments: any veto refuses, else any error, else pass; the
// impostors the scan skipped are named after them.
CheckAnswer combine(const std::vector<Assessment>& all, const std::string& impostors) {
  if (all.empty()) return {Outcome::Pass, "no mysqld or mariadbd running" + impostors, nullptr};
  Outcome outcome = Outcome::Pass;
  for (const auto& a : all) {
    if (a.outcome == Outcome::Veto) outcome = Outcome::Veto;
    if (a.outcome == Outcome::Error && outcome == Outcome::Pass) outcome = Outcome::Error;
  }
  std::vector<std::string> reasons;
  nlohmann::json facts = nlohmann::json::array();
  for (const auto& a : all) {
    if (a.outcome == outcome || all.size() == 1) reasons.push_back(a.reason);
    facts.push_back(a.facts);
  }
  return {
      outcome, fmt::format("{}{}", fmt::join(reasons, "; "), impostors), {{"instances", facts}}};
}

// Where the mysqld-running check looks for data at rest.
struct AtRestSettings {
  std::vector<std::string> option_files;
  std::vector<std::string> default_datadirs;
  std::shared_ptr<DatadirMemory> memory;  // null when only validating config
};

class MysqldRunningCheck final : public Check {
 public:
  MysqldRunningCheck(Target t, AtRestSettings at_rest)
      : target_(std::move(t)), at_rest_(std::move(at_rest)) {}
  CheckAnswer evaluate(const CheckContext& ctx) const override {
    const auto discovery = mysql::running_instances(ctx.scope);
    const auto& all_running = discovery->servers;
    auto chosen = target_.select(all_running);
    if (!chosen) return {Outcome::Error, chosen.error(), nullptr};
    const auto& running = chosen->chosen;
    const int64_t now = wall_clock_us();
    std::vector<std::string> parts;
    nlohmann::json instances = nlohmann::json::array(), at_rest = nlohmann::json::array();
    std::vector<std::string> memory_errors;
    for (const auto& i : chosen->uncovered)
      if (auto veto = uncovered_veto(i, ctx.request.operation); !veto.empty())
        parts.push_back(std::move(veto));
    for (const auto& i : running) {
      parts.push_back(fmt::format("{} running (pid {}, datadir {}, socket {}, port {})", i.name,
                                  i.pid, i.datadir, i.socket, i.port));
      instances.push_back(i.facts());
      if (at_rest_.memory)
        if (auto e = mysql::remember_running(*at_rest_.memory, i, "", now); !e.empty())
          memory_errors.push_back(e);
    }
    // Data at rest is host-wide: `instances` narrows which servers are probed, not which
    // datadirs are this host's.
    mysql::DatadirSources sources{at_rest_.option_files, at_rest_.default_datadirs, {}};
    if (at_rest_.memory) {
      auto known = at_rest_.memory->known_datadirs();
      if (!known)
        return {Outcome::Error, "cannot read remembered datadirs: " + known.error(), nullptr};
      sources.remembered = std::move(*known);
    }
    for (const auto& d : mysql::datadirs_at_rest(sources, all_running)) {
      std::string not_running = d.known && !d.known->server.empty()
                                    ? d.known->server + " not running"
                                    : "no mysqld or mariadbd running";
      parts.push_back(fmt::format("{}; {}", not_running, d.describe()));
      at_rest.push_back(d.facts());
      if (at_rest_.memory)
        if (auto e = mysql::remember_at_rest(*at_rest_.memory, d, now); !e.empty())
          memory_errors.push_back(e);
    }
    nlohmann::json facts = {{"instances", instances}, {"datadirs_at_rest", at_rest}};
    if (!memory_errors.empty()) facts["memory_errors"] = memory_errors;
    const std::string impostors = mysql::impostor_note(*discovery);
    if (parts.empty())
      return {Outcome::Pass, "no mysqld or mariadbd running and no datadir holds data" + impostors,
              facts};
    return {Outcome::Veto, fmt::format("{}{}", fmt::join(parts, "; "), impostors), facts};
  }

 private:
  Target target_;
  AtRestSettings at_rest_;
};

// The role a replication assessment found, as remembered: "primary with 2 replicas".
std::string role_summary(const nlohmann::json& facts) {
  std::string role = facts.value("role", "");
  if (role == "primary" && facts.contains("replicas"))
    return fmt::format("primary with {} replica(s)", facts["replicas"].size());
  if (role == "replica" && facts.contains("replication") && !facts["replication"].empty())
    return fmt::format("replica of {}", facts["replication"][0].value("source", "?"));
  return role;
}

// A check that judges every probed instance with `Assess` under its policy; the probes
// are shared with the decision's other MySQL checks.
// Each instance it judges is remembered with the role found (`memory` may be null).
// `Problems` says what in a probe is a setup problem for this check (status, --check-config).
template <typename Policy, Assessment (*Assess)(const InstanceProbe&, const Policy&),
          std::vector<std::string> (*Problems)(const InstanceProbe&)>
class ProbingCheck final : public Check {
 public:
  ProbingCheck(Target t, Policy p, std::shared_ptr<DatadirMemory> memory)
      : target_(std::move(t)), policy_(std::move(p)), memory_(std::move(memory)) {}
  CheckAnswer evaluate(const CheckContext& ctx) const override {
    auto snap = snapshot(ctx.scope, target_, ctx.deadline);
    if (!snap->error.empty()) return {Outcome::Error, snap->error, nullptr};
    std::vector<Assessment> all;
    for (const auto& i : snap->uncovered)
      if (auto veto = uncovered_veto(i, ctx.request.operation); !veto.empty())
        all.push_back({Outcome::Veto, std::move(veto), i.facts()});
    for (const auto& probe : snap->probes) {
      all.push_back(Assess(probe, policy_));
      if (memory_ && all.back().outcome != Outcome::Error)
        if (auto e = mysql::remember_running(*memory_, probe.instance,
                                             role_summary(all.back().facts), wall_clock_us());
            !e.empty())
          all.back().facts["memory_error"] = e;
    }
    if (all.empty() && !snap->uncovered.empty())
      return {Outcome::Pass,
              fmt::format("no server named in instances runs ({} other: a {} stops none){}",
                          snap->uncovered.size(), ctx.request.operation, snap->impostors),
              nullptr};
    return combine(all, snap->impostors);
  }

  std::vector<std::string> setup_problems(std::chrono::steady_clock::time_point deadline,
                                          DecisionScope& scope) const override {
    auto snap = snapshot(scope, target_, deadline);
    if (!snap->error.empty()) return {snap->error};
    std::vector<std::string> problems;
    for (const auto& probe : snap->probes)
      for (auto& p : Problems(probe)) problems.push_back(std::move(p));
    return problems;
  }

 private:
  Target target_;
  Policy policy_;
  std::shared_ptr<DatadirMemory> memory_;
};

using ReplicationCheck = ProbingCheck<mysql::ReplicationPolicy, mysql::assess_replication,
                                      mysql::replication_setup_problems>;
using ConnectionsCheck =
    ProbingCheck<mysql::ConnectionsPolicy, mysql::assess_connections, mysql::probe_setup_problems>;

}  // namespace

std::span<const TypeKey> mysqld_running_keys() {
  return kRunningKeys;
}
std::span<const TypeKey> mysql_replication_keys() {
  return kReplicationKeys;
}
std::span<const TypeKey> mysql_connections_keys() {
  return kConnectionsKeys;
}

Result<std::shared_ptr<const Check>> create_mysqld_running_check(const CheckSection& s,
                                                                 const CheckServices& services) {
  auto t = parse_target(s);
  if (!t) return Error{t.error()};
  auto files = path_list(s, "option_files", kRunningKeys);
  if (!files) return Error{files.error()};
  auto datadirs = path_list(s, "datadirs", kRunningKeys);
  if (!datadirs) return Error{datadirs.error()};
  return std::shared_ptr<const Check>(std::make_shared<MysqldRunningCheck>(
      *t, AtRestSettings{std::move(*files), std::move(*datadirs), services.datadirs}));
}

Result<std::shared_ptr<const Check>> create_mysql_replication_check(const CheckSection& s,
                                                                    const CheckServices& services) {
  auto t = parse_target(s);
  if (!t) return Error{t.error()};
  mysql::ReplicationPolicy p;
  if (const ConfigValue* v = option(s, "min_remaining_nodes")) {
    auto n = parse_integer(v->text, 0, 1000);
    if (!n) return Error{fmt::format("{}: min_remaining_nodes: {}", v->where(), n.error())};
    p.min_remaining_nodes = static_cast<int>(*n);
  }
  auto [lag_text, lag_where] = key_text(s, "max_lag", kReplicationKeys);
  auto lag = parse_duration_between(lag_text, std::chrono::seconds(0), std::chrono::hours(24));
  if (!lag) return Error{fmt::format("{}: max_lag: {}", lag_where, lag.error())};
  p.max_lag_seconds = std::chrono::duration_cast<std::chrono::seconds>(*lag).count();
  return std::shared_ptr<const Check>(std::make_shared<ReplicationCheck>(*t, p, services.datadirs));
}

Result<std::shared_ptr<const Check>> create_mysql_connections_check(const CheckSection& s,
                                                                    const CheckServices&) {
  auto t = parse_target(s);
  if (!t) return Error{t.error()};
  mysql::ConnectionsPolicy p;
  if (const ConfigValue* v = option(s, "max_clients")) {
    auto n = parse_integer(v->text, 0, 1000000);
    if (!n) return Error{fmt::format("{}: max_clients: {}", v->where(), n.error())};
    p.max_clients = static_cast<int>(*n);
  }
  if (const ConfigValue* v = option(s, "ignore_users"))
    for (auto& u : parse_list(v->text)) p.ignore_users.insert(u);
  auto [query_time, where] = key_text(s, "max_query_time", kConnectionsKeys);
  auto d = parse_duration_between(query_time, std::chrono::seconds(1), std::chrono::hours(24 * 7));
  if (!d) return Error{fmt::format("{}: max_query_time: {}", where, d.error())};
  p.max_query_seconds = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  return std::shared_ptr<const Check>(
      std::make_shared<ConnectionsCheck>(*t, std::move(p), nullptr));
}

}  // namespace guardd
