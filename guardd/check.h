// The interface every built-in check implements.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "guardd/decision.h"
#include "guardd/request.h"

namespace guardd {

/// Everything a check may look at while deciding one request.
struct CheckContext {
  const CheckRequest& request;
  const Caller& caller;
  std::chrono::steady_clock::time_point deadline;  // answer before this
};

/// What a check returns: its outcome, a one-line reason and the facts behind it.
struct CheckAnswer {
  Outcome outcome = Outcome::Error;
  std::string reason;
  nlohmann::json facts;
};

/// A configured check instance. Instances are immutable and shared between threads:
/// a request that outlives a reload keeps using the instance it started with.
class Check {
 public:
  virtual ~Check() = default;

  /// Decides on the request from the host's live state; should return before ctx.deadline.
  virtual CheckAnswer evaluate(const CheckContext& ctx) const = 0;
};

}  // namespace guardd
