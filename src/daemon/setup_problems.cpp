#include "daemon/setup_problems.h"

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

// Shared with the workers, which may outlive the call if a check overruns.
struct Gathering {
  DecisionScope scope;  // one probe of a server for every check that asks
  std::mutex mutex;
  std::condition_variable done;
  std::vector<std::optional<std::vector<std::string>>> answers;
};

std::vector<std::string> ask_guarded(const Check& check, Clock::time_point deadline,
                                     DecisionScope& scope) {
  try {
    return check.setup_problems(deadline, scope);
  } catch (const std::exception& e) {
    return {fmt::format("the setup test failed unexpectedly: {}", e.what())};
  } catch (...) {
    return {"the setup test failed unexpectedly"};
  }
}

}  // namespace

std::vector<SetupReport> find_setup_problems(const std::vector<CheckInstance>& checks,
                                             Clock::time_point deadline, WorkerPool& pool) {
  const Clock::time_point start = Clock::now();
  std::vector<const CheckInstance*> enabled;
  std::vector<Clock::time_point> deadlines;
  for (const auto& c : checks) {
    if (!c.enabled) continue;
    enabled.push_back(&c);
    deadlines.push_back(std::min(deadline, start + c.timeout));
  }
  auto gathering = std::make_shared<Gathering>();
  gathering->answers.resize(enabled.size());
  for (size_t i = 0; i < enabled.size(); ++i) {
    Status started =
        pool.run([gathering, i, check = enabled[i]->check, check_deadline = deadlines[i]] {
          auto problems = ask_guarded(*check, check_deadline, gathering->scope);
          std::lock_guard lock(gathering->mutex);
          if (gathering->answers[i]) return;  // already reported as overdue
          gathering->answers[i] = std::move(problems);
          gathering->done.notify_all();
        });
    if (!started) {
      std::lock_guard lock(gathering->mutex);
      gathering->answers[i] = {fmt::format("cannot start the setup test: {}", started.error())};
    }
  }

  std::unique_lock lock(gathering->mutex);
  while (true) {
    std::optional<Clock::time_point> next;
    const auto now = Clock::now();
    for (size_t i = 0; i < enabled.size(); ++i) {
      if (gathering->answers[i]) continue;
      if (now >= deadlines[i]) {
        auto limit = std::chrono::round<std::chrono::milliseconds>(deadlines[i] - start);
        gathering->answers[i] = {
            fmt::format("the setup test did not answer within {}", format_duration(limit))};
        continue;
      }
      if (!next || deadlines[i] < *next) next = deadlines[i];
    }
    if (!next) break;
    gathering->done.wait_until(lock, *next);
  }
  std::vector<SetupReport> reports;
  for (size_t i = 0; i < enabled.size(); ++i)
    reports.push_back({enabled[i]->name, *gathering->answers[i]});
  return reports;
}

}  // namespace guardd
