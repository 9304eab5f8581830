#include "daemon/shutdown_block.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "daemon/engine.h"

namespace guardd {
namespace {

constexpr std::size_t kMaxWhy = 1000;

}  // namespace

InhibitNeed evaluate_shutdown_block(const Policy& policy) {
  Caller self;
  self.uid = geteuid();
  self.gid = getegid();
  self.pid = getpid();
  self.exe = "guardd (logind inhibitor)";
  InhibitNeed need;
  std::vector<std::string> why;
  for (const char* op : {"reboot", "poweroff"}) {
    CheckRequest request{op, std::nullopt, "logind inhibitor", false, true};
    auto deadline = std::chrono::steady_clock::now() + policy.config.daemon.decision_timeout;
    auto results = run_checks(policy.checks, request, self, deadline);
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

}  // namespace guardd
