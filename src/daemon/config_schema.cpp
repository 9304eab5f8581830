#include "daemon/config_schema.h"

#include <spdlog/common.h>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "guardd/operations.h"

namespace guardd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

Status set_socket(DaemonSettings& s, std::string_view v) {
  auto p = parse_absolute_path(v);
  if (!p) return Error{p.error()};
  s.socket = *p;
  return ok_status();
}

Status set_database(DaemonSettings& s, std::string_view v) {
  auto p = parse_absolute_path(v);
  if (!p) return Error{p.error()};
  s.database = *p;
  return ok_status();
}

Status set_client_group(DaemonSettings& s, std::string_view v) {
  s.client_group = std::string(v);
  return ok_status();
}

Status set_admin_group(DaemonSettings& s, std::string_view v) {
  s.admin_group = std::string(v);
  return ok_status();
}

Status set_allow_force(DaemonSettings& s, std::string_view v) {
  auto b = parse_bool(v);
  if (!b) return Error{b.error()};
  s.allow_force = *b;
  return ok_status();
}

Status set_decision_timeout(DaemonSettings& s, std::string_view v) {
  auto d = parse_duration_between(v, milliseconds(10), seconds(300));
  if (!d) return Error{d.error()};
  s.decision_timeout = *d;
  return ok_status();
}

Status set_idle_timeout(DaemonSettings& s, std::string_view v) {
  auto d = parse_duration_between(v, milliseconds(100), hours(24));
  if (!d) return Error{d.error()};
  s.idle_timeout = *d;
  return ok_status();
}

Status set_max_per_uid(DaemonSettings& s, std::string_view v) {
  auto n = parse_integer(v, 1, 65536);
  if (!n) return Error{n.error()};
  s.max_connections_per_uid = static_cast<int>(*n);
  return ok_status();
}

Status set_max_connections(DaemonSettings& s, std::string_view v) {
  auto n = parse_integer(v, 1, 65536);
  if (!n) return Error{n.error()};
  s.max_connections = static_cast<int>(*n);
  return ok_status();
}

Status set_retention(DaemonSettings& s, std::string_view v) {
  if (v == "forever" || v == "infinity") {
    s.retention = Micros(0);
    return ok_status();
  }
  auto d = parse_duration_between(v, hours(1), hours(24 * 365 * 100));
  if (!d) return Error{d.error()};
  s.retention = *d;
  return ok_status();
}

Status set_extra_operations(DaemonSettings& s, std::string_view v) {
  s.extra_operations.clear();
  for (auto& op : parse_list(v)) {
    if (!is_valid_operation_name(op))
      return Error{fmt::format("'{}' is not a valid operation name ([a-z0-9][a-z0-9_-]*)", op)};
    if (op == "all") return Error{"'all' is reserved and cannot be an operation name"};
    s.extra_operations.push_back(op);
  }
  return ok_status();
}

Status set_log_level(DaemonSettings& s, std::string_view v) {
  for (std::string_view level : {"trace", "debug", "info", "warning", "error", "critical", "off"})
    if (v == level) {
      s.log_level = std::string(v);
      return ok_status();
    }
  return Error{
      fmt::format("'{}' is not a log level (trace, debug, info, warning, error, "
                  "critical, off)",
                  v)};
}

Status set_inhibit(DaemonSettings& s, std::string_view v) {
  auto b = parse_bool(v);
  if (!b) return Error{b.error()};
  s.inhibit = *b;
  return ok_status();
}

Status set_inhibit_interval(DaemonSettings& s, std::string_view v) {
  auto d = parse_duration_between(v, std::chrono::seconds(1), hours(24));
  if (!d) return Error{d.error()};
  s.inhibit_interval = *d;
  return ok_status();
}

constexpr DaemonKey kDaemonKeys[] = {
    {"socket", "/run/guardd/guardd.sock",
     "Unix socket to bind when not socket-activated (mode 0660, group client_group).", set_socket},
    {"database", "/var/lib/guardd/guardd.db", "SQLite audit log (decisions and holds).",
     set_database},
    {"client_group", "guardd",
     "Group whose members may call Check, ListDecisions and GetStatus (root always may).",
     set_client_group},
    {"admin_group", "",
     "Group whose members may force, place and release holds (empty: root only).", set_admin_group},
    {"allow_force", "yes", "Whether root (or admin_group) may force a refused operation.",
     set_allow_force},
    {"decision_timeout", "5s", "Deadline for a whole decision, all checks included.",
     set_decision_timeout},
    {"idle_timeout", "30s", "Close a connection that sends nothing for this long.",
     set_idle_timeout},
    {"max_connections_per_uid", "32",
     "Open connections allowed per non-root uid; more are closed at once.", set_max_per_uid},
    {"max_connections", "1024", "Open connections allowed in total.", set_max_connections},
    {"retention", "365d", "Delete decisions older than this ('forever' keeps all).", set_retention},
    {"extra_operations", "", "Site-specific operation names accepted besides the built-ins.",
     set_extra_operations},
    {"log_level", "info", "trace, debug, info, warning, error, critical or off.", set_log_level},
    {"inhibit", "yes",
     "Hold a logind shutdown inhibitor while a reboot or power-off would be refused, and "
     "decide shutdowns scheduled through logind again, cancelling those that would be refused.",
     set_inhibit},
    {"inhibit_interval", "30s",
     "How often that is re-evaluated (also at once after a hold change, a reload, or a "
     "reboot or power-off decision that contradicts the lock held).",
     set_inhibit_interval},
};

constexpr CommonCheckKey kCommonCheckKeys[] = {
    {"type", "", "The built-in check type; defaults to the section's NAME."},
    {"operations", "",
     "Operations this check guards: 'all' or a list; defaults to the type's own list."},
    {"timeout", "3s", "How long the check may take (capped by decision_timeout)."},
    {"on_error", "veto", "What an error outcome counts as: veto (fail closed) or pass."},
    {"enabled", "yes", "Set to no to keep the section but not run the check."},
};

}  // namespace

std::span<const DaemonKey> daemon_keys() {
  return kDaemonKeys;
}

std::span<const CommonCheckKey> common_check_keys() {
  return kCommonCheckKeys;
}

}  // namespace guardd
