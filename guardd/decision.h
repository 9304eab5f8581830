// What checks say and what guardd decides.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/request.h"

namespace guardd {

/// What one check says about a request.
enum class Outcome { Pass, Veto, Error };

/// Wire name of an outcome ("pass", "veto", "error").
std::string_view to_string(Outcome outcome);

/// How an `error` outcome of a check counts toward the verdict.
enum class OnError { Veto, Pass };

/// The final answer recorded for a request.
enum class Verdict {
  Allowed,  // no check objected
  Refused,  // a check vetoed or errored
  Forced,   // would have been refused; an admin forced it with a reason
  Denied,   // the caller lacked the privilege for what it asked
  Invalid,  // the request itself was malformed (unknown operation, bad target, ...)
};

/// Wire name of a verdict ("allowed", "refused", ...).
std::string_view to_string(Verdict verdict);

/// Parses a wire verdict name.
std::optional<Verdict> parse_verdict(std::string_view name);

/// One check's result as recorded and returned.
struct CheckResult {
  std::string name;
  Outcome outcome = Outcome::Error;
  std::string reason;
  nlohmann::json facts;  // null when the check reported none
  int64_t duration_us = 0;
  OnError on_error = OnError::Veto;
};

/// A recorded decision: one row of the audit log.
struct Decision {
  int64_t id = 0;
  int64_t time_us = 0;
  std::string operation;
  std::optional<std::string> target;
  std::optional<std::string> reason;
  Verdict verdict = Verdict::Refused;
  bool dry_run = false;
  Caller caller;
  std::vector<CheckResult> checks;
  int64_t duration_us = 0;
  std::optional<std::string> error;  // why a Denied/Invalid request was rejected
  std::string hostname;
  std::string guardd_version;
};

/// True when the verdict lets the operation go ahead.
inline bool grants(Verdict v) {
  return v == Verdict::Allowed || v == Verdict::Forced;
}

}  // namespace guardd
