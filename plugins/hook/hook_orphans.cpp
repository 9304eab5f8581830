#include "plugins/hook/hook_orphans.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/procfs.h"

namespace guardd::hook {
namespace {

// The children of this process's main thread. An orphan is given to the first live thread
// of its reaper (the kernel walks the thread list from the leader), and guardd's main
// thread lives as long as guardd: every orphan a hook leaves is listed here. (Hooks are
// the children of the threads that spawned them; they are told apart by `running_`.)
// Reading every thread's list at each hook's end instead cost half the hook throughput
// at 64 clients.
std::set<pid_t> orphans_listed() {
  std::set<pid_t> children;
  std::ifstream in(fmt::format("/proc/self/task/{}/children", getpid()));
  pid_t pid;
  while (in >> pid)
    if (pid > 1) children.insert(pid);
  return children;
}

// Reaps the killed `pids` (our children) for 100 ms at most in all, without holding the
// lock that hook spawns take; one stuck in the kernel is reaped by a later sweep (as the
// zombie it then is).
void reap(const std::vector<pid_t>& pids) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  for (pid_t pid : pids)
    while (true) {
      const pid_t r = waitpid(pid, nullptr, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) break;
      if (std::chrono::steady_clock::now() >= until) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

}  // namespace

bool HookOrphans::become_subreaper() {
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

HookOrphans& HookOrphans::of_this_process() {
  static HookOrphans orphans;
  return orphans;
}

pid_t HookOrphans::start(const std::function<pid_t()>& spawn) {
  std::lock_guard lock(mutex_);
  const pid_t pid = spawn();
  if (pid > 0) {
    auto st = procfs::read_stat(pid);
    // Unreadable: as old as can be, so that it protects everything younger than it.
    running_[pid] = st ? st->start_time : 0;
  }
  return pid;
}

void HookOrphans::ended(pid_t pid) {
  std::lock_guard lock(mutex_);
  running_.erase(pid);
}

std::vector<pid_t> HookOrphans::kill_orphans() {
  // Listed without the lock: a child listed here that is a hook was registered before it
  // could be listed, and each one is checked again under the lock, parent included,
  // before anything is done to it.
  const std::set<pid_t> children = orphans_listed();
  if (children.empty()) return {};
  const pid_t self = getpid();
  std::lock_guard lock(mutex_);
  unsigned long long oldest_running = std::numeric_limits<unsigned long long>::max();
  for (const auto& [pid, started] : running_) oldest_running = std::min(oldest_running, started);
  std::vector<pid_t> killed;
  for (pid_t child : children) {
    if (running_.count(child)) continue;
    // Still our child, not yet reaped (a hook reaped meanwhile may have left its pid to
    // someone else): then its pid cannot be anyone else's.
    auto st = procfs::read_stat(child);
    if (!st || st->ppid != self) continue;
    if (st->state == 'Z') {
      waitpid(child, nullptr, WNOHANG);
      continue;
    }
    // Begun after a running hook: it may be that hook's, whose decision is not over.
    if (st->start_time >= oldest_running) continue;
    kill(child, SIGKILL);
    killed.push_back(child);
  }
  return killed;
}

void HookOrphans::sweep() {
  // A killed orphan's own children are orphaned in turn: a few rounds take them too.
  for (int round = 0; round < 8; ++round) {
    const std::vector<pid_t> killed = kill_orphans();
    if (killed.empty()) return;
    reap(killed);
  }
}

}  // namespace guardd::hook
