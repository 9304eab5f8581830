// Asking the configured checks whether their setup works on this host now, for
// `guardctl status` and `guardd --check-config`; never part of a decision.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "daemon/policy.h"
#include "daemon/worker_pool.h"

namespace guardd {

/// One check's setup problems (empty: none found).
struct SetupReport {
  std::string check;
  std::vector<std::string> problems;
};

/// Asks every enabled check in `checks`, concurrently on `pool`'s workers, each under its
/// own timeout and all under `deadline`; one report per enabled check, in config order. A
/// check that overruns reports that it did not answer in time; its worker is abandoned.
std::vector<SetupReport> find_setup_problems(const std::vector<CheckInstance>& checks,
                                             std::chrono::steady_clock::time_point deadline,
                                             WorkerPool& pool);

}  // namespace guardd
