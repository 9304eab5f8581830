// io.guardd.Guard.Check: validate, run the checks, decide, record, answer.
#include <algorithm>

#include <fmt/format.h>

#include "daemon/decision_json.h"
#include "daemon/engine.h"
#include "daemon/params.h"
#include "daemon/service.h"
#include "daemon/wipe_target.h"
#include "guardd/protocol.h"
#include "plugins/hold/hold_check.h"

namespace guardd {
namespace {

constexpr size_t kMaxReason = 4096;
constexpr size_t kMaxTarget = 4096;
// How often a decision asks the hold check again because a hold was placed meanwhile.
constexpr int kMaxHoldRechecks = 3;

}  // namespace

Reply Service::check(const nlohmann::json& p, const Caller& caller, const Policy& policy) {
  const auto started = std::chrono::steady_clock::now();
  Decision d;
  d.time_us = now_us();
  d.caller = caller;

  auto operation = params::optional_string(p, "operation");
  auto target = params::optional_string(p, "target");
  auto reason = params::optional_string(p, "reason");
  auto force = params::optional_bool(p, "force");
  auto dry_run = params::optional_bool(p, "dry_run");
  if (operation && *operation) d.operation = **operation;
  if (target) d.target = *target;
  if (reason) d.reason = *reason;
  if (dry_run && *dry_run) d.dry_run = **dry_run;

  auto invalid_parameter = [&](const std::string& name) {
    return reject(std::move(d), Verdict::Invalid, protocol::kErrInvalidParameter,
                  fmt::format("invalid parameter '{}'", name));
  };
  auto invalid = [&](const std::string& message) {
    return reject(std::move(d), Verdict::Invalid, protocol::kErrInvalidRequest, message);
  };
  if (auto unknown =
          params::unknown_parameter(p, {"operation", "target", "reason", "force", "dry_run"}))
    return invalid_parameter(*unknown);
  if (!operation || !*operation) return invalid_parameter("operation");
  if (!target) return invalid_parameter("target");
  if (!reason) return invalid_parameter("reason");
  if (!force) return invalid_parameter("force");
  if (!dry_run) return invalid_parameter("dry_run");

  if (!policy.config.knows_operation(d.operation))
    return invalid(fmt::format("unknown operation '{}' (known: {})", d.operation,
                               fmt::join(policy.config.operations(), ", ")));
  if (d.reason && d.reason->size() > kMaxReason)
    return invalid(fmt::format("reason is longer than {} bytes", kMaxReason));
  if (d.target && d.target->size() > kMaxTarget)
    return invalid(fmt::format("target is longer than {} bytes", kMaxTarget));
  if (d.operation == "wipe") {
    auto resolved = resolve_wipe_target(d.target);
    if (!resolved) return invalid(resolved.error());
  }

  const bool forcing = force->value_or(false);
  if (forcing) {
    if (!has_privilege(caller, Privilege::Admin, policy))
      return reject(std::move(d), Verdict::Denied, protocol::kErrPermissionDenied,
                    fmt::format("force needs {}", describe(Privilege::Admin)));
    if (!policy.config.daemon.allow_force)
      return reject(std::move(d), Verdict::Denied, protocol::kErrPermissionDenied,
                    "force is disabled by configuration (allow_force = no)");
    if (!d.reason || d.reason->find_first_not_of(" \t") == std::string::npos)
      return invalid("force needs a non-empty reason");
  }

  CheckRequest request{d.operation, d.target, d.reason, forcing, d.dry_run};
  // No decision without a record: the answer is only given once the row is committed.
  auto id = decide_and_commit(d, request, policy, started);
  if (!id)
    return Reply{std::string(protocol::kErrAuditUnavailable),
                 {{"reason", fmt::format("decision not recorded, so refused: {}", id.error())}}};
  return Reply{"", {{"decision", decision_to_json(d)}, {"allowed", grants(d.verdict)}}};
}

Result<int64_t> Service::decide_and_commit(Decision& d, const CheckRequest& request,
                                           const Policy& policy,
                                           std::chrono::steady_clock::time_point started) {
  // Read before any check looks at the holds: a hold acknowledged after this, while the
  // checks run, is seen at commit and the hold check asked again.
  uint64_t holds_seen = store_->holds_generation();
  d.checks = run_checks(policy.checks, request, d.caller,
                        started + policy.config.daemon.decision_timeout, workers_);
  for (int recheck = 0;; ++recheck) {
    d.verdict = decide(d.checks, request.force ? ForceMode::Yes : ForceMode::No);
    d.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    if (recheck == kMaxHoldRechecks) {
      // Holds keep changing under this decision: refuse rather than chase them.
      d.checks.push_back(
          CheckResult{std::string(kHoldCheckType), Outcome::Error,
                      fmt::format("holds changed {} times while this decision was made", recheck),
                      nullptr, 0, OnError::Veto});
      d.verdict = decide(d.checks, request.force ? ForceMode::Yes : ForceMode::No);
      return commit(d);
    }
    auto id = commit_unless_holds_changed(d, holds_seen);
    if (!id) return Error{id.error()};
    if (*id) return **id;
    holds_seen = store_->holds_generation();
    recheck_holds(d, request, policy);
  }
}

void Service::recheck_holds(Decision& d, const CheckRequest& request, const Policy& policy) {
  std::vector<CheckInstance> hold_checks;
  for (const auto& c : policy.checks)
    if (c.type == kHoldCheckType) hold_checks.push_back(c);
  auto deadline = std::chrono::steady_clock::now() + policy.config.daemon.decision_timeout;
  for (auto& fresh : run_checks(hold_checks, request, d.caller, deadline, workers_)) {
    auto same = std::find_if(d.checks.begin(), d.checks.end(),
                             [&](const CheckResult& r) { return r.name == fresh.name; });
    if (same != d.checks.end())
      *same = std::move(fresh);
    else
      d.checks.push_back(std::move(fresh));
  }
}

bool Service::would_refuse(const CheckRequest& request, const Caller& caller) {
  auto policy = policy_.get();  // keep it alive: a reload may swap it meanwhile
  auto deadline = std::chrono::steady_clock::now() + policy->config.daemon.decision_timeout;
  return decide(run_checks(policy->checks, request, caller, deadline, workers_), ForceMode::No) ==
         Verdict::Refused;
}

Result<Decision> Service::decide_unasked(const CheckRequest& request, const Caller& caller) {
  auto policy = policy_.get();  // keep it alive: a reload may swap it meanwhile
  Decision d;
  d.time_us = now_us();
  d.caller = caller;
  d.operation = request.operation;
  d.target = request.target;
  d.reason = request.reason;
  d.dry_run = request.dry_run;
  auto id = decide_and_commit(d, request, *policy, std::chrono::steady_clock::now());
  if (!id) return Error{fmt::format("decision not recorded, so refused: {}", id.error())};
  return d;
}

}  // namespace guardd
