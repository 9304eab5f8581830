// Decisions that arrive together share one probe of a server. A probe already running when
// a decision arrives began before it and may have missed what changed since, so it is never
// handed to that decision: every decision that arrived while it ran shares the next one.
// One probe at a time per server also keeps concurrent decisions from seeing each other's
// sessions as clients.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "plugins/mysql/probe.h"

namespace guardd::mysql {

/// The probes of the servers one process asks, one running at a time per server.
class SharedProbes {
 public:
  /// Runs a probe, given the last one of the same server (any variant; null for the first)
  /// as a hint of what to ask early.
  using Run = std::function<InstanceProbe(const InstanceProbe* last)>;

  /// The result of a probe of `server` that started after this call: run by this caller,
  /// or shared with the callers that asked for the same `variant` (who the probe logs in
  /// as, which process it expects) while another ran. nullopt when none could start and
  /// end before `deadline`.
  std::optional<InstanceProbe> join(const std::string& server, const std::string& variant,
                                    std::chrono::steady_clock::time_point deadline, const Run& run);

  /// How many callers wait for a probe of `server` that another runs (for tests).
  int waiting(const std::string& server);

 private:
  struct Server {
    bool running = false;
    uint64_t started = 0;                         // probes begun
    uint64_t finished = 0;                        // of which ended; the last one's result is kept
    std::shared_ptr<const InstanceProbe> result;  // of the last one to end
    std::string result_variant;
    int waiting = 0;
    std::condition_variable changed;
  };
  std::mutex mutex_;
  std::map<std::string, Server> servers_;  // never shrinks: one entry per server socket
};

}  // namespace guardd::mysql
