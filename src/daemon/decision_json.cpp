#include "daemon/decision_json.h"

namespace guardd {
namespace {
using nlohmann::json;

json optional_string(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

}  // namespace

json caller_to_json(const Caller& c) {
  return {{"uid", c.uid},
          {"gid", c.gid},
          {"pid", c.pid},
          {"exe", optional_string(c.exe)},
          {"cmdline", optional_string(c.cmdline)},
          {"parent_cmdline", optional_string(c.parent_cmdline)}};
}

json check_result_to_json(const CheckResult& r) {
  json j = {{"name", r.name},
            {"outcome", to_string(r.outcome)},
            {"reason", r.reason},
            {"facts", r.facts.is_null() ? json(nullptr) : r.facts},
            {"duration_us", r.duration_us}};
  if (r.outcome == Outcome::Error && r.on_error == OnError::Pass) j["on_error"] = "pass";
  return j;
}

CheckResult check_result_from_json(const json& j) {
  CheckResult r;
  r.name = j.value("name", "");
  std::string outcome = j.value("outcome", "error");
  r.outcome = outcome == "pass"   ? Outcome::Pass
              : outcome == "veto" ? Outcome::Veto
                                  : Outcome::Error;
  r.reason = j.value("reason", "");
  if (auto f = j.find("facts"); f != j.end()) r.facts = *f;
  r.duration_us = j.value("duration_us", int64_t{0});
  r.on_error = j.value("on_error", "veto") == "pass" ? OnError::Pass : OnError::Veto;
  return r;
}

json decision_to_json(const Decision& d) {
  json checks = json::array();
  for (const auto& c : d.checks) checks.push_back(check_result_to_json(c));
  json j = {{"id", d.id},
            {"time_us", d.time_us},
            {"operation", d.operation},
            {"target", optional_string(d.target)},
            {"reason", optional_string(d.reason)},
            {"verdict", to_string(d.verdict)},
            {"dry_run", d.dry_run},
            {"caller", caller_to_json(d.caller)},
            {"checks", checks},
            {"duration_us", d.duration_us}};
  if (d.error) j["error"] = *d.error;
  if (!d.hostname.empty()) j["hostname"] = d.hostname;
  if (!d.guardd_version.empty()) j["guardd_version"] = d.guardd_version;
  return j;
}

json hold_to_json(const Hold& h) {
  return {{"id", h.id},
          {"created_us", h.created_us},
          {"uid", h.uid},
          {"reason", h.reason},
          {"operations", h.operations}};
}

json datadir_to_json(const KnownDatadir& k) {
  return {{"datadir", k.datadir},
          {"server", k.server},
          {"socket", k.socket},
          {"port", k.port},
          {"role", k.role},
          {"fs_uuid", k.fs_uuid},
          {"fs_device", k.fs_device},
          {"first_seen_us", k.first_seen_us},
          {"last_seen_us", k.last_seen_us}};
}

}  // namespace guardd
