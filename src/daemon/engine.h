// Runs checks concurrently under timeouts and turns their outcomes into a verdict.
#pragma once

#include <chrono>
#include <vector>

#include "daemon/policy.h"
#include "daemon/worker_pool.h"
#include "guardd/decision.h"

namespace guardd {

/// Runs every instance in `checks` that guards the request's operation, concurrently, each
/// under its own timeout and all under `deadline`. A check that overruns counts as an error;
/// its worker is abandoned and its late answer ignored. Checks run on `pool`'s workers.
std::vector<CheckResult> run_checks(const std::vector<CheckInstance>& checks,
                                    const CheckRequest& request, const Caller& caller,
                                    std::chrono::steady_clock::time_point deadline,
                                    WorkerPool& pool);

/// Whether to override objections (force) when deciding.
enum class ForceMode { No, Yes };

/// The verdict for a set of results: refused when any check vetoed or errored (unless its
/// on_error is pass); forced instead of refused when `force` is Yes.
Verdict decide(const std::vector<CheckResult>& results, ForceMode force);

}  // namespace guardd
