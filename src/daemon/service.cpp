#include "daemon/service.h"

#include <unistd.h>

#include <cstdlib>
#include <exception>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/decision_json.h"
#include "daemon/interfaces.h"
#include "daemon/journal.h"
#include "daemon/params.h"
#include "daemon/setup_problems.h"
#include "guardd/protocol.h"
#include "guardd_version.h"

namespace guardd {
namespace {
using nlohmann::json;

// Where decisions recorded on this thread wait for their announcement while a
// Service::AnnounceAfterReply lives on it; null: announce at once.
thread_local std::vector<Decision>* t_announce_later = nullptr;

constexpr int kMaxListLimit = 10000;
constexpr std::string_view kCheckMethod = "io.guardd.Guard.Check";
constexpr size_t kMaxHoldReason = 1024;

Reply error_reply(std::string_view error, json parameters) {
  return Reply{std::string(error), std::move(parameters)};
}

Reply invalid_parameter(const std::string& name) {
  return error_reply(protocol::kErrInvalidParameter, {{"parameter", name}});
}

Reply invalid_request(const std::string& reason) {
  return error_reply(protocol::kErrInvalidRequest, {{"reason", reason}});
}

std::string local_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The one place that says which privilege each method needs.
const Service::Method Service::kMethods[] = {
    {"org.varlink.service.GetInfo", Privilege::Anyone, &Service::get_info},
    {"org.varlink.service.GetInterfaceDescription", Privilege::Anyone,
     &Service::get_interface_description},
    {kCheckMethod, Privilege::Client, &Service::check},  // force: Admin, checked inside
    {"io.guardd.Guard.ListDecisions", Privilege::Client, &Service::list_decisions},
    {"io.guardd.Guard.GetStatus", Privilege::Client, &Service::get_status},
    {"io.guardd.Guard.PlaceHold", Privilege::Admin, &Service::place_hold},
    {"io.guardd.Guard.ReleaseHold", Privilege::Admin, &Service::release_hold},
    {"io.guardd.Guard.ListDatadirs", Privilege::Client, &Service::list_datadirs},
    {"io.guardd.Guard.RetireDatadir", Privilege::Admin, &Service::retire_datadir},
};

Service::Service(std::shared_ptr<AuditStore> store, PolicyHolder& policy, WorkerPool& workers)
    : store_(std::move(store)),
      policy_(policy),
      workers_(workers),
      hostname_(local_hostname()),
      started_us_(now_us()),
      under_journal_(std::getenv("JOURNAL_STREAM") != nullptr),
      clock_anchor_us_(started_us_),
      clock_anchor_at_(std::chrono::steady_clock::now()) {
  if (auto newest = store_->newest_decision_time(); newest && *newest > 0)
    clock_anchor_us_ = std::min(*newest, started_us_);
}

Reply Service::handle(const VarlinkCall& call, const Caller& caller) {
  try {
    return dispatch(call, caller);
  } catch (const std::exception& e) {
    spdlog::error("Internal error answering {} for pid {}: {}", call.method, caller.pid, e.what());
    return error_reply(protocol::kErrInternal,
                       {{"reason", fmt::format("internal error: {}", e.what())}});
  }
}

Reply Service::dispatch(const VarlinkCall& call, const Caller& caller) {
  std::string interface, member;
  if (!split_method(call.method, interface, member))
    return error_reply(protocol::kErrMethodNotFound, {{"method", call.method}});
  if (interface != protocol::kInterface && interface != "org.varlink.service")
    return error_reply(protocol::kErrInterfaceNotFound, {{"interface", interface}});
  const Method* method = nullptr;
  for (const auto& m : kMethods)
    if (m.name == call.method) method = &m;
  if (method == nullptr)
    return error_reply(protocol::kErrMethodNotFound, {{"method", call.method}});

  auto policy = policy_.get();
  if (!has_privilege(caller, method->privilege, *policy))
    return reject(rejected_call(call, member, caller), Verdict::Denied,
                  protocol::kErrPermissionDenied,
                  fmt::format("{} needs {}", member, describe(method->privilege)));
  return (this->*method->handler)(call.parameters, caller, *policy);
}

Reply Service::refuse_unrun(const VarlinkCall& call, const Caller& caller, const std::string& why) {
  if (call.method != kCheckMethod) return error_reply(protocol::kErrInternal, {{"reason", why}});
  return reject(rejected_call(call, "Check", caller), Verdict::Refused, protocol::kErrInternal,
                why);
}

Decision Service::rejected_call(const VarlinkCall& call, const std::string& member,
                                const Caller& caller) {
  Decision d;
  d.operation = member;
  d.caller = caller;
  if (call.method == kCheckMethod) {
    auto operation = params::optional_string(call.parameters, "operation");
    auto target = params::optional_string(call.parameters, "target");
    auto reason = params::optional_string(call.parameters, "reason");
    if (operation && *operation) d.operation = **operation;
    if (target) d.target = *target;
    if (reason) d.reason = *reason;
  }
  return d;
}

Reply Service::reject(Decision d, Verdict verdict, std::string_view error,
                      const std::string& message) {
  d.verdict = verdict;
  d.error = message;
  auto id = commit(d);
  if (!id) spdlog::error("Rejected request from pid {} not recorded: {}", d.caller.pid, id.error());
  return error_reply(error, {{"reason", message}});
}

Result<int64_t> Service::commit(Decision& d) {
  stamp(d);
  auto id = store_->record(d);
  if (!id) return Error{id.error()};
  committed(d, *id);
  return *id;
}

Result<std::optional<int64_t>> Service::commit_unless_holds_changed(Decision& d,
                                                                    uint64_t holds_seen) {
  stamp(d);
  auto id = store_->record_unless_holds_changed(d, holds_seen);
  if (!id) return Error{id.error()};
  if (*id) committed(d, **id);
  return *id;
}

void Service::stamp(Decision& d) const {
  if (d.time_us == 0) d.time_us = now_us();
  d.hostname = hostname_;
  d.guardd_version = GUARDD_VERSION;
}

void Service::committed(Decision& d, int64_t id) {
  d.id = id;
  if (t_announce_later != nullptr)
    t_announce_later->push_back(d);
  else
    announce(d);
  prune_if_due();
}

void Service::announce(const Decision& d) {
  // Under systemd the structured entry is the log line; elsewhere (or if the journal is
  // unreachable) log the summary so a terminal shows it too.
  // (summarize() formats a line: skip it when info is not logged.)
  if ((journal_decision(d) < 0 || !under_journal_) && spdlog::should_log(spdlog::level::info))
    spdlog::info("{}", summarize(d));
  if (on_change_) on_change_(&d);
}

Service::AnnounceAfterReply::AnnounceAfterReply(Service& service)
    : service_(service), outer_(t_announce_later) {
  t_announce_later = &pending_;
}

Service::AnnounceAfterReply::~AnnounceAfterReply() {
  t_announce_later = outer_;
  for (const Decision& d : pending_) {
    // Past handle()'s catch, and in a destructor: a bug here must not end guardd.
    try {
      service_.announce(d);
    } catch (const std::exception& e) {
      spdlog::error("Internal error announcing decision {}: {}", d.id, e.what());
    }
  }
}

void Service::prune_if_due() {
  constexpr int64_t kHourUs = 3600LL * 1000000;
  int64_t now = now_us();
  int64_t last = last_prune_us_.load();
  if (now - last < kHourUs || !last_prune_us_.compare_exchange_strong(last, now)) return;
  auto retention = policy_.get()->config.daemon.retention;
  if (retention.count() == 0) return;
  // The wall clock is trusted only as far as the monotonic clock has advanced since the
  // newest decision on record at start-up: a clock jumped forward (a dead RTC battery, a
  // bad time source) must not delete the log. After a long downtime, decisions are kept
  // longer by that downtime, never shorter.
  const int64_t elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - clock_anchor_at_)
                                 .count();
  const int64_t trusted_now = std::min(now, clock_anchor_us_ + elapsed_us);
  if (now - trusted_now > kHourUs)
    spdlog::warn(
        "The clock reads {} s past the newest decision on record plus guardd's uptime: "
        "pruning the audit log as of {} s ago",
        (now - clock_anchor_us_) / 1000000, (now - trusted_now) / 1000000);
  // On a worker of its own: deleting a day's decisions (or many days', after retention is
  // shortened) must not hold up the reply of the decision that happened to trigger it, nor
  // guardd's start-up. It holds only the store, which outlives the Service if need be.
  Status started = workers_.run([store = store_, before_us = trusted_now - retention.count()] {
    auto pruned = store->prune(before_us);
    if (!pruned)
      spdlog::warn("Failed to prune the audit log: {}", pruned.error());
    else if (*pruned > 0)
      spdlog::info("Pruned {} decisions older than the retention period", *pruned);
  });
  if (!started) {
    last_prune_us_ = last;  // the next decision tries again
    spdlog::warn("Failed to start pruning the audit log: {}", started.error());
  }
}

Reply Service::get_info(const json&, const Caller&, const Policy&) {
  return Reply{"",
               {{"vendor", "guardd"},
                {"product", "guardd"},
                {"version", GUARDD_VERSION},
                {"url", "file:///usr/share/doc/guardd/README.md"},
                {"interfaces", {"org.varlink.service", protocol::kInterface}}}};
}

Reply Service::get_interface_description(const json& p, const Caller&, const Policy&) {
  auto name = params::optional_string(p, "interface");
  if (!name || !*name) return invalid_parameter("interface");
  if (**name == protocol::kInterface)
    return Reply{"", {{"description", guard_interface_description()}}};
  if (**name == "org.varlink.service")
    return Reply{"", {{"description", service_interface_description()}}};
  return error_reply(protocol::kErrInterfaceNotFound, {{"interface", **name}});
}

Reply Service::list_decisions(const json& p, const Caller&, const Policy&) {
  if (auto unknown =
          params::unknown_parameter(p, {"since_us", "until_us", "operation", "verdict", "limit"}))
    return invalid_parameter(*unknown);
  DecisionFilter f;
  auto since = params::optional_int(p, "since_us");
  auto until = params::optional_int(p, "until_us");
  auto operation = params::optional_string(p, "operation");
  auto verdict = params::optional_string(p, "verdict");
  auto limit = params::optional_int(p, "limit");
  if (!since) return invalid_parameter(since.error());
  if (!until) return invalid_parameter(until.error());
  if (!operation) return invalid_parameter(operation.error());
  if (!verdict) return invalid_parameter(verdict.error());
  if (!limit) return invalid_parameter(limit.error());
  f.since_us = *since;
  f.until_us = *until;
  f.operation = *operation;
  if (*verdict) {
    f.verdict = parse_verdict(**verdict);
    if (!f.verdict)
      return invalid_request(
          fmt::format("unknown verdict '{}' (allowed, refused, forced, denied, "
                      "invalid)",
                      **verdict));
  }
  if (*limit) {
    if (**limit < 1 || **limit > kMaxListLimit)
      return invalid_request(fmt::format("limit must be between 1 and {}", kMaxListLimit));
    f.limit = static_cast<int>(**limit);
  }
  auto decisions = store_->list(f);
  if (!decisions)
    return error_reply(protocol::kErrAuditUnavailable, {{"reason", decisions.error()}});
  json out = json::array();
  for (const auto& d : *decisions) out.push_back(decision_to_json(d));
  return Reply{"", {{"decisions", out}}};
}

Reply Service::get_status(const json& p, const Caller&, const Policy& policy) {
  if (auto unknown = params::unknown_parameter(p, {})) return invalid_parameter(*unknown);
  // Each enabled check looks at its setup on the host now (e.g. a replica's monitoring
  // account on its source), within its timeout and the decision timeout.
  auto reports = find_setup_problems(
      policy.checks, std::chrono::steady_clock::now() + policy.config.daemon.decision_timeout,
      workers_);
  json checks = json::array();
  for (const auto& c : policy.checks) {
    json check = {{"name", c.name},
                  {"type", c.type},
                  {"operations", c.operations},
                  {"timeout_us", c.timeout.count()},
                  {"on_error", c.on_error == OnError::Pass ? "pass" : "veto"},
                  {"enabled", c.enabled}};
    for (const auto& r : reports)
      if (r.check == c.name) check["problems"] = r.problems;
    checks.push_back(std::move(check));
  }
  json holds = json::array();
  json audit;
  auto active = store_->active_holds();
  if (active)
    for (const auto& h : *active) holds.push_back(hold_to_json(h));
  AuditStats st = store_->stats();
  audit = {{"path", st.path},
           {"schema_version", st.schema_version},
           {"last_decision_id", st.last_decision_id},
           {"size_bytes", st.size_bytes},
           {"healthy", !st.last_error.has_value() && active.ok()}};
  if (st.last_error) audit["last_error"] = *st.last_error;
  if (!active) audit["last_error"] = active.error();
  return Reply{"",
               {{"version", GUARDD_VERSION},
                {"started_us", started_us_},
                {"hostname", hostname_},
                {"checks", checks},
                {"holds", holds},
                {"audit", audit},
                {"operations", policy.config.operations()},
                {"config_files", policy.config.files}}};
}

Reply Service::place_hold(const json& p, const Caller& caller, const Policy& policy) {
  if (auto unknown = params::unknown_parameter(p, {"reason", "operations"}))
    return invalid_parameter(*unknown);
  auto reason = params::optional_string(p, "reason");
  auto operations = params::optional_strings(p, "operations");
  if (!reason) return invalid_parameter("reason");
  if (!operations) return invalid_parameter("operations");
  if (!*reason || (*reason)->empty()) return invalid_request("a hold needs a non-empty reason");
  if ((*reason)->size() > kMaxHoldReason)
    return invalid_request(fmt::format("hold reason is longer than {} bytes", kMaxHoldReason));
  std::vector<std::string> ops = operations->value_or(std::vector<std::string>{});
  for (const auto& op : ops)
    if (!policy.config.knows_operation(op))
      return invalid_request(fmt::format("unknown operation '{}'", op));
  auto hold = store_->place_hold(caller.uid, **reason, ops, now_us());
  if (!hold) return error_reply(protocol::kErrAuditUnavailable, {{"reason", hold.error()}});
  spdlog::info(
      "Hold {} placed by uid {} (pid {}) for {}: {}", hold->id, caller.uid, caller.pid,
      ops.empty() ? std::string("all operations") : fmt::format("{}", fmt::join(ops, ", ")),
      hold->reason);
  if (on_change_) on_change_(nullptr);
  return Reply{"", {{"hold", hold_to_json(*hold)}}};
}

Reply Service::release_hold(const json& p, const Caller& caller, const Policy&) {
  if (auto unknown = params::unknown_parameter(p, {"id"})) return invalid_parameter(*unknown);
  auto id = params::optional_int(p, "id");
  if (!id || !*id) return invalid_parameter("id");
  auto released = store_->release_hold(**id, caller.uid, now_us());
  if (!released) return error_reply(protocol::kErrAuditUnavailable, {{"reason", released.error()}});
  if (!*released) return invalid_request(fmt::format("no active hold with id {}", **id));
  spdlog::info("Hold {} released by uid {} (pid {})", **id, caller.uid, caller.pid);
  if (on_change_) on_change_(nullptr);
  return Reply{"", json::object()};
}

Reply Service::list_datadirs(const json& p, const Caller&, const Policy&) {
  if (auto unknown = params::unknown_parameter(p, {})) return invalid_parameter(*unknown);
  auto known = store_->known_datadirs();
  if (!known) return error_reply(protocol::kErrAuditUnavailable, {{"reason", known.error()}});
  json out = json::array();
  for (const auto& k : *known) out.push_back(datadir_to_json(k));
  return Reply{"", {{"datadirs", out}}};
}

Reply Service::retire_datadir(const json& p, const Caller& caller, const Policy&) {
  if (auto unknown = params::unknown_parameter(p, {"datadir", "reason"}))
    return invalid_parameter(*unknown);
  auto datadir = params::optional_string(p, "datadir");
  auto reason = params::optional_string(p, "reason");
  if (!datadir || !*datadir || (*datadir)->empty()) return invalid_parameter("datadir");
  if (!reason) return invalid_parameter("reason");
  if (!*reason || (*reason)->empty())
    return invalid_request("retiring a datadir needs a non-empty reason");
  if ((*reason)->size() > kMaxHoldReason)
    return invalid_request(fmt::format("reason is longer than {} bytes", kMaxHoldReason));
  auto retired = store_->retire_datadir(**datadir, caller.uid, **reason, now_us());
  if (!retired) return error_reply(protocol::kErrAuditUnavailable, {{"reason", retired.error()}});
  if (!*retired) return invalid_request(fmt::format("no remembered datadir {}", **datadir));
  spdlog::warn(
      "Datadir {} retired by uid {} (pid {}): {}; it is no longer protected unless "
      "it is seen in use again or an option file names it",
      **datadir, caller.uid, caller.pid, **reason);
  return Reply{"", json::object()};
}

}  // namespace guardd
