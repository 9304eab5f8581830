#include "ctl/output.h"

#include <fmt/format.h>

#include "common/local_time.h"

namespace guardd::ctl {
namespace {
using nlohmann::json;

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t num(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string operations_of(const json& j) {
  auto it = j.find("operations");
  if (it == j.end() || !it->is_array() || it->empty()) return "all operations";
  std::vector<std::string> ops;
  for (const auto& o : *it)
    if (o.is_string()) ops.push_back(o.get<std::string>());
  return fmt::format("{}", fmt::join(ops, ", "));
}

std::string program_of(const json& caller) {
  std::string exe = str(caller, "exe");
  auto slash = exe.rfind('/');
  return slash == std::string::npos ? exe : exe.substr(slash + 1);
}

}  // namespace

void print_check(std::FILE* out, const json& d, bool allowed) {
  std::string verdict = str(d, "verdict", "refused");
  std::string target = str(d, "target");
  std::string subject = str(d, "operation") + (target.empty() ? "" : " " + target);
  if (d.value("dry_run", false))
    fmt::print(out, "{}: would be {} (dry run, decision {})\n", subject,
               allowed ? (verdict == "forced" ? "forced" : "allowed") : "refused", num(d, "id"));
  else
    fmt::print(out, "{}: {} (decision {})\n", subject, verdict, num(d, "id"));
  size_t width = 4;
  for (const auto& c : d.value("checks", json::array()))
    width = std::max(width, str(c, "name").size());
  for (const auto& c : d.value("checks", json::array())) {
    std::string outcome = str(c, "outcome", "error");
    if (outcome == "error" && str(c, "on_error") == "pass")
      outcome = "error (ignored: on_error = pass)";
    fmt::print(out, "  {:<{}}  {:<5}  {}\n", str(c, "name"), width, outcome, str(c, "reason"));
  }
}

void print_log(std::FILE* out, const json& decisions) {
  if (decisions.empty()) {
    fmt::print(out, "No decisions match.\n");
    return;
  }
  for (const auto& d : decisions) {
    std::string target = str(d, "target");
    std::string subject = str(d, "operation") + (target.empty() ? "" : " " + target);
    std::string verdict = str(d, "verdict") + (d.value("dry_run", false) ? " (dry run)" : "");
    const json caller = d.value("caller", json::object());
    std::string why = str(d, "error");
    for (const auto& c : d.value("checks", json::array())) {
      if (!why.empty()) break;
      if (str(c, "outcome") != "pass")
        why = fmt::format("{}: {}", str(c, "name"), str(c, "reason"));
    }
    if (why.empty() && !str(d, "reason").empty()) why = fmt::format("reason: {}", str(d, "reason"));
    fmt::print(out, "{}  #{:<6} {:<22} {:<18} uid={} pid={} {}{}{}\n",
               format_local_time(num(d, "time_us")), num(d, "id"), subject, verdict,
               num(caller, "uid"), num(caller, "pid"), program_of(caller), why.empty() ? "" : "  ",
               why);
  }
}

void print_status(std::FILE* out, const json& s) {
  fmt::print(out, "guardd {} on {}, running since {}\n", str(s, "version"), str(s, "hostname", "?"),
             format_local_time(num(s, "started_us")));
  const json audit = s.value("audit", json::object());
  fmt::print(out, "audit log: {} (schema {}, {} KiB, last decision {}) — {}\n", str(audit, "path"),
             num(audit, "schema_version"), num(audit, "size_bytes") / 1024,
             num(audit, "last_decision_id"),
             audit.value("healthy", false) ? "healthy"
                                           : "UNHEALTHY: " + str(audit, "last_error", "unknown"));
  fmt::print(out, "checks:\n");
  for (const auto& c : s.value("checks", json::array())) {
    fmt::print(out, "  {:<20} type {:<8} timeout {}ms  on_error {}{}  guards {}\n", str(c, "name"),
               str(c, "type"), num(c, "timeout_us") / 1000, str(c, "on_error"),
               c.value("enabled", true) ? "" : "  (disabled)", operations_of(c));
    // Found by the check on the host now: what would make it refuse (see guardd.conf(5)).
    for (const auto& p : c.value("problems", json::array()))
      if (p.is_string()) fmt::print(out, "    SETUP PROBLEM: {}\n", p.get<std::string>());
  }
  const json holds = s.value("holds", json::array());
  if (holds.empty()) {
    fmt::print(out, "holds: none\n");
  } else {
    fmt::print(out, "holds:\n");
    for (const auto& h : holds) fmt::print(out, "  {}\n", describe_hold(h));
  }
}

std::string describe_hold(const json& h) {
  return fmt::format("hold {} by uid {} since {} on {}: {}", num(h, "id"), num(h, "uid"),
                     format_local_time(num(h, "created_us")), operations_of(h), str(h, "reason"));
}

std::string describe_datadir(const json& d) {
  std::vector<std::string> parts;
  if (!str(d, "server").empty()) parts.push_back(str(d, "server"));
  if (!str(d, "role").empty()) parts.push_back(str(d, "role"));
  if (!str(d, "socket").empty()) parts.push_back("socket " + str(d, "socket"));
  if (num(d, "port") != 0) parts.push_back(fmt::format("port {}", num(d, "port")));
  if (!str(d, "fs_uuid").empty())
    parts.push_back(fmt::format("filesystem {} on {}", str(d, "fs_uuid"), str(d, "fs_device")));
  parts.push_back("last seen " + format_local_time(num(d, "last_seen_us")));
  return fmt::format("{}: {}", str(d, "datadir"), fmt::join(parts, ", "));
}

}  // namespace guardd::ctl
