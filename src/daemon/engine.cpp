#include "daemon/engine.h"

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

#include "common/duration.h"

namespace guardd {
namespace {

using Clock = std::chrono::steady_clock;

// Shared with the check threads, which may outlive the request if they overrun.
struct Run {
  CheckRequest request;
  Caller caller;
  DecisionScope scope;
  std::mutex mutex;
  std::condition_variable done;
  std::vector<std::optional<CheckResult>> results;
};

int64_t micros_since(Clock::time_point start) {
  return std::chrono::duration_cast<Micros>(Clock::now() - start).count();
}

CheckAnswer evaluate_guarded(const Check& check, const CheckContext& ctx) {
  try {
    return check.evaluate(ctx);
  } catch (const std::exception& e) {
    return {Outcome::Error, fmt::format("check failed unexpectedly: {}", e.what()), nullptr};
  } catch (...) {
    return {Outcome::Error, "check failed unexpectedly", nullptr};
  }
}

// The result for `blank`'s check from the answer it gave.
CheckResult settle(CheckResult blank, CheckAnswer answer, Clock::time_point start) {
  blank.outcome = answer.outcome;
  blank.reason = std::move(answer.reason);
  blank.facts = std::move(answer.facts);
  blank.duration_us = micros_since(start);
  return blank;
}

}  // namespace

std::vector<CheckResult> run_checks(const std::vector<CheckInstance>& checks,
                                    const CheckRequest& request, const Caller& caller,
                                    Clock::time_point deadline, WorkerPool& pool) {
  auto run = std::make_shared<Run>();
  run->request = request;
  run->caller = caller;
  const Clock::time_point start = Clock::now();

  std::vector<const CheckInstance*> selected;
  std::vector<Clock::time_point> deadlines;
  for (const auto& c : checks) {
    if (!c.guards(request.operation)) continue;
    selected.push_back(&c);
    deadlines.push_back(std::min(deadline, start + c.timeout));
  }
  run->results.resize(selected.size());

  auto timed_out = [&](size_t i) {
    // Report the limit as configured: the deadline minus start, to the millisecond.
    auto limit = std::chrono::round<std::chrono::milliseconds>(deadlines[i] - start);
    return CheckResult{selected[i]->name,
                       Outcome::Error,
                       fmt::format("timed out after {}", format_duration(limit)),
                       nullptr,
                       micros_since(start),
                       selected[i]->on_error};
  };

  std::vector<size_t> on_this_thread;
  for (size_t i = 0; i < selected.size(); ++i) {
    const CheckInstance& inst = *selected[i];
    if (inst.check->answers_inline()) {
      on_this_thread.push_back(i);
      continue;
    }
    CheckResult blank{inst.name, Outcome::Error, "", nullptr, 0, inst.on_error};
    Status started =
        pool.run([run, i, blank, check = inst.check, check_deadline = deadlines[i], start] {
          CheckContext ctx{run->request, run->caller, check_deadline, run->scope};
          CheckAnswer answer = evaluate_guarded(*check, ctx);
          std::lock_guard lock(run->mutex);
          if (run->results[i]) return;  // already timed out: the late answer is ignored
          run->results[i] = settle(blank, std::move(answer), start);
          run->done.notify_all();
        });
    if (!started) {
      std::lock_guard lock(run->mutex);
      CheckResult r = blank;
      r.reason = fmt::format("cannot start check: {}", started.error());
      run->results[i] = std::move(r);
    }
  }

  // Checks that only read guardd's memory run here, while the others run on workers:
  // a thread hand-off costs more than they do.
  for (size_t i : on_this_thread) {
    const CheckInstance& inst = *selected[i];
    // Its own timeout counts from when it starts, not from before the workers launched:
    // a slow launch must not turn its answer into a timeout it did not cause.
    deadlines[i] = std::min(deadline, Clock::now() + inst.timeout);
    CheckContext ctx{run->request, run->caller, deadlines[i], run->scope};
    CheckAnswer answer = evaluate_guarded(*inst.check, ctx);
    CheckResult blank{inst.name, Outcome::Error, "", nullptr, 0, inst.on_error};
    CheckResult r =
        Clock::now() > deadlines[i] ? timed_out(i) : settle(blank, std::move(answer), start);
    std::lock_guard lock(run->mutex);
    run->results[i] = std::move(r);
  }

  std::unique_lock lock(run->mutex);
  while (true) {
    std::optional<Clock::time_point> next;
    const auto now = Clock::now();
    for (size_t i = 0; i < selected.size(); ++i) {
      if (run->results[i]) continue;
      if (now >= deadlines[i]) {
        run->results[i] = timed_out(i);
        continue;
      }
      if (!next || deadlines[i] < *next) next = deadlines[i];
    }
    if (!next) break;
    run->done.wait_until(lock, *next);
  }
  std::vector<CheckResult> out;
  out.reserve(selected.size());
  for (auto& r : run->results) out.push_back(*r);
  return out;
}

Verdict decide(const std::vector<CheckResult>& results, ForceMode force) {
  bool objected = false;
  for (const auto& r : results) {
    if (r.outcome == Outcome::Veto) objected = true;
    if (r.outcome == Outcome::Error && r.on_error == OnError::Veto) objected = true;
  }
  if (!objected) return Verdict::Allowed;
  return force == ForceMode::Yes ? Verdict::Forced : Verdict::Refused;
}

}  // namespace guardd
