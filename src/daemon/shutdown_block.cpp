#include "daemon/shutdown_block.h"

#include <unistd.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/engine.h"

namespace guardd {
namespace {

constexpr std::size_t kMaxWhy = 1000;
constexpr std::array<const char*, 2> kShutdownOperations = {"reboot", "poweroff"};

}  // namespace

InhibitNeed evaluate_shutdown_block(const Policy& policy, WorkerPool& workers) {
  Caller self;
  self.uid = geteuid();
  self.gid = getegid();
  self.pid = getpid();
  self.exe = "guardd (logind inhibitor)";
  InhibitNeed need;
  std::vector<std::string> why;
  for (const char* op : kShutdownOperations) {
    CheckRequest request{op, std::nullopt, "logind inhibitor", false, true};
    auto deadline = std::chrono::steady_clock::now() + policy.config.daemon.decision_timeout;
    auto results = run_checks(policy.checks, request, self, deadline, workers);
    if (decide(results, ForceMode::No) != Verdict::Refused) continue;
    need.block = true;
    for (const auto& r : results) {
      if (r.outcome == Outcome::Pass ||
          (r.outcome == Outcome::Error && r.on_error == OnError::Pass))
        continue;
      std::string line = fmt::format("{}: {}", r.name, r.reason);
      if (std::find(why.begin(), why.end(), line) == why.end()) why.push_back(line);
    }
  }
  need.why = fmt::format("{}", fmt::join(why, "; "));
  if (need.why.size() > kMaxWhy) need.why = need.why.substr(0, kMaxWhy) + "...";
  return need;
}

bool contradicts_shutdown_block(const Decision& decision, const Inhibitor& inhibitor) {
  if (!inhibitor.enabled()) return false;
  if (std::find(kShutdownOperations.begin(), kShutdownOperations.end(), decision.operation) ==
      kShutdownOperations.end())
    return false;
  // A forced decision was one the checks refused.
  const bool refused = decision.verdict == Verdict::Refused || decision.verdict == Verdict::Forced;
  const bool allowed = decision.verdict == Verdict::Allowed;
  return (refused && !inhibitor.blocking()) || (allowed && inhibitor.blocking());
}

}  // namespace guardd
