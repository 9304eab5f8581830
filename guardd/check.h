// The interface every built-in check implements.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/decision.h"
#include "guardd/request.h"

namespace guardd {

/// Work shared by the checks of one decision (e.g. one MySQL probe for three checks).
class DecisionScope {
 public:
  /// The value shared under `key` for this decision: the first caller computes it, later
  /// callers wait for it. An exception from `compute` reaches every caller.
  template <typename T>
  std::shared_ptr<const T> shared(const std::string& key, const std::function<T()>& compute) {
    std::promise<std::shared_ptr<const void>> promise;
    std::shared_future<std::shared_ptr<const void>> future;
    bool mine = false;
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(key);
      if (it == entries_.end()) {
        future = promise.get_future().share();
        entries_.emplace(key, future);
        mine = true;
      } else {
        future = it->second;
      }
    }
    if (mine) {
      try {
        promise.set_value(std::make_shared<const T>(compute()));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    }
    return std::static_pointer_cast<const T>(future.get());
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_future<std::shared_ptr<const void>>> entries_;
};

/// Everything a check may look at while deciding one request.
struct CheckContext {
  const CheckRequest& request;
  const Caller& caller;
  std::chrono::steady_clock::time_point deadline;  // answer before this
  DecisionScope& scope;                            // shared with the decision's other checks
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

  /// True only when evaluate() reads guardd's own memory and never waits on anything
  /// outside the process (no I/O, no other process), so the engine may run it on the
  /// deciding thread instead of a worker guarded by a timeout.
  virtual bool answers_inline() const { return false; }

  /// Problems in this check's setup seen on the host now that would turn its answers into
  /// refusals (e.g. an account that cannot log in to a replica's source), one sentence
  /// each; empty when none. For `guardctl status` and `guardd --check-config`, never part
  /// of a decision; should return before `deadline`. `scope` is shared by the other
  /// checks' setup tests of the same status, as a decision's is.
  virtual std::vector<std::string> setup_problems(
      std::chrono::steady_clock::time_point /*deadline*/, DecisionScope& /*scope*/) const {
    return {};
  }
};

}  // namespace guardd
