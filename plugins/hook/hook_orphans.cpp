#include "plugins/hook/hook_orphans.h"

#include <dirent.h>
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

#include "common/procfs.h"

namespace guardd::hook {
namespace {

// This process's children, as the kernel lists them per thread (an orphan is given to
// any live thread of its reaper).
std::set<pid_t> own_children() {
  std::set<pid_t> children;
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return children;
  while (dirent* t = readdir(tasks)) {
    if (t->d_name[0] == '.') continue;
    std::ifstream in(std::string("/proc/self/task/") + t->d_name + "/children");
    pid_t pid;
    while (in >> pid)
      if (pid > 1) children.insert(pid);
  }
  closedir(tasks);
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
  std::lock_guard lock(mutex_);
  unsigned long long oldest_running = std::numeric_limits<unsigned long long>::max();
  for (const auto& [pid, started] : running_) oldest_running = std::min(oldest_running, started);
  std::vector<pid_t> killed;
  for (pid_t child : own_children()) {
    if (running_.count(child)) continue;
    // Our child, not yet reaped: its pid cannot be anyone else's.
    auto st = procfs::read_stat(child);
    if (!st) continue;
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
