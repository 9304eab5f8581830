#include "plugins/mysql/mysql_checks.h"

#include <algorithm>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "plugins/mysql/assess.h"
#include "plugins/mysql/connection.h"
#include "plugins/mysql/instance.h"
#include "plugins/mysql/probe.h"

namespace guardd {
namespace {

using mysql::Assessment;
using mysql::Instance;
using mysql::InstanceProbe;

constexpr TypeKey kCommonKeys[] = {
    {"instances", "auto",
     "'auto' (every running instance) or the unix socket paths of the instances to check."},
    {"defaults_file", "",
     "my.cnf-style file with [client] user and password (root-owned, mode 0600); empty: "
     "connect as guardd's own user (unix_socket authentication)."},
};
constexpr TypeKey kRunningKeys[] = {kCommonKeys[0]};
constexpr TypeKey kReplicationKeys[] = {
    kCommonKeys[0],
    kCommonKeys[1],
    {"min_remaining_nodes", "2", "Galera: synced nodes that must remain when this one leaves."}};
constexpr TypeKey kConnectionsKeys[] = {
    kCommonKeys[0],
    kCommonKeys[1],
    {"max_clients", "0", "Client sessions allowed before the check vetoes."},
    {"ignore_users", "", "Accounts whose sessions do not count (monitoring, backups)."}};

// Settings every MySQL check reads.
struct Target {
  std::vector<std::string> sockets;  // empty: every running instance
  std::string defaults_file;

  std::vector<Instance> select(std::vector<Instance> all) const {
    if (sockets.empty()) return all;
    std::erase_if(all, [&](const Instance& i) {
      return std::find(sockets.begin(), sockets.end(), i.socket) == sockets.end();
    });
    return all;
  }
  std::string key() const {
    return fmt::format("mysql-probe|{}|{}", defaults_file, fmt::join(sockets, ","));
  }
};

const ConfigValue* option(const CheckSection& s, const char* key) {
  auto it = s.options.find(key);
  return it == s.options.end() ? nullptr : &it->second;
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
  if (const ConfigValue* v = option(s, "defaults_file"); v && !v->text.empty()) {
    auto path = parse_absolute_path(v->text);
    if (!path) return Error{fmt::format("{}: defaults_file: {}", v->where(), path.error())};
    t.defaults_file = *path;
  }
  return t;
}

// The probes of one decision, shared by every MySQL check with the same target.
using Snapshot = std::vector<InstanceProbe>;

std::shared_ptr<const Snapshot> snapshot(const CheckContext& ctx, const Target& t) {
  return ctx.scope.shared<Snapshot>(t.key(), [&] {
    Snapshot s;
    for (const auto& inst : t.select(*mysql::running_instances(ctx.scope)))
      s.push_back(mysql::probe_instance(inst, mysql::ProbeSettings{t.defaults_file}, ctx.deadline));
    return s;
  });
}

// Combines per-instance assessments: any veto refuses, else any error, else pass.
CheckAnswer combine(const std::vector<Assessment>& all) {
  if (all.empty()) return {Outcome::Pass, "no mysqld or mariadbd running", nullptr};
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
  return {outcome, fmt::format("{}", fmt::join(reasons, "; ")), {{"instances", facts}}};
}

class MysqldRunningCheck final : public Check {
 public:
  explicit MysqldRunningCheck(Target t) : target_(std::move(t)) {}
  CheckAnswer evaluate(const CheckContext& ctx) const override {
    auto running = target_.select(*mysql::running_instances(ctx.scope));
    if (running.empty()) return {Outcome::Pass, "no mysqld or mariadbd running", nullptr};
    std::vector<std::string> parts;
    nlohmann::json facts = nlohmann::json::array();
    for (const auto& i : running) {
      parts.push_back(fmt::format("{} running (pid {}, datadir {}, socket {}, port {})", i.name,
                                  i.pid, i.datadir, i.socket, i.port));
      facts.push_back(i.facts());
    }
    return {Outcome::Veto, fmt::format("{}", fmt::join(parts, "; ")), {{"instances", facts}}};
  }

 private:
  Target target_;
};

// A check that judges every probed instance with `Assess` under its policy; the probes
// are shared with the decision's other MySQL checks.
template <typename Policy, Assessment (*Assess)(const InstanceProbe&, const Policy&)>
class ProbingCheck final : public Check {
 public:
  ProbingCheck(Target t, Policy p) : target_(std::move(t)), policy_(std::move(p)) {}
  CheckAnswer evaluate(const CheckContext& ctx) const override {
    std::vector<Assessment> all;
    for (const auto& probe : *snapshot(ctx, target_)) all.push_back(Assess(probe, policy_));
    return combine(all);
  }

 private:
  Target target_;
  Policy policy_;
};

using ReplicationCheck = ProbingCheck<mysql::ReplicationPolicy, mysql::assess_replication>;
using ConnectionsCheck = ProbingCheck<mysql::ConnectionsPolicy, mysql::assess_connections>;

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
                                                                 const CheckServices&) {
  auto t = parse_target(s);
  if (!t) return Error{t.error()};
  return std::shared_ptr<const Check>(std::make_shared<MysqldRunningCheck>(*t));
}

Result<std::shared_ptr<const Check>> create_mysql_replication_check(const CheckSection& s,
                                                                    const CheckServices&) {
  auto t = parse_target(s);
  if (!t) return Error{t.error()};
  mysql::ReplicationPolicy p;
  if (const ConfigValue* v = option(s, "min_remaining_nodes")) {
    auto n = parse_integer(v->text, 0, 1000);
    if (!n) return Error{fmt::format("{}: min_remaining_nodes: {}", v->where(), n.error())};
    p.min_remaining_nodes = static_cast<int>(*n);
  }
  return std::shared_ptr<const Check>(std::make_shared<ReplicationCheck>(*t, p));
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
  p.ignore_own_account = !t->defaults_file.empty();
  return std::shared_ptr<const Check>(std::make_shared<ConnectionsCheck>(*t, std::move(p)));
}

}  // namespace guardd
