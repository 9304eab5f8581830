// Running a site hook: no shell, its own process group, a clean environment, bounded
// output, and a hard deadline after which the whole group is killed.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd::hook {

/// How a hook run ended.
struct HookRun {
  std::optional<int> exit_code;  // set when it exited
  std::optional<int> signal;     // set when a signal killed it
  bool timed_out = false;        // killed at the deadline
  std::string out;               // stdout, at most the cap
  std::string err;               // stderr, at most the cap
  bool truncated = false;        // output beyond the cap was discarded
};

/// Output kept per stream; the rest is read and discarded so the hook never blocks.
inline constexpr std::size_t kOutputCap = 64 * 1024;

/// Starts the program open as `program_fd` (see open_hook_program) with `argv` (argv[0]
/// as configured) and exactly `env`, writes `input` to its stdin, and collects its exit and
/// output until it exits or `deadline` passes. Afterwards its process group is killed, so
/// children it left in the background neither keep the decision waiting nor linger.
Result<HookRun> run_hook(int program_fd, const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env, const std::string& input,
                         std::chrono::steady_clock::time_point deadline);

}  // namespace guardd::hook
