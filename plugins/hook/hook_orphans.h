// What hooks leave behind. A hook's process group is killed when its decision ends, but a
// child that called setsid() has left the group. guardd is its descendants' child
// subreaper, so such a child, orphaned when its parent ends, becomes guardd's own child
// instead of init's: it is then found, killed and reaped here.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <vector>

namespace guardd::hook {

/// The hooks running now, and the sweep of what earlier ones left.
class HookOrphans {
 public:
  /// Makes this process the reaper of its descendants' orphans (PR_SET_CHILD_SUBREAPER);
  /// false where the kernel refuses (then only the process group is killed).
  static bool become_subreaper();

  /// Runs `spawn` (which starts a hook and returns its pid, or -1) so that no sweep sees
  /// the hook before it is known as one.
  pid_t start(const std::function<pid_t()>& spawn);

  /// The hook `pid` has been reaped.
  void ended(pid_t pid);

  /// Kills and reaps every child of this process that is no running hook and began before
  /// every running hook (so no running hook can have started it); reaps those that ended.
  void sweep();

  /// The one instance: the children of a process are one set.
  static HookOrphans& of_this_process();

 private:
  /// Kills the orphans sweep() means (under the lock) and returns them, to be reaped.
  std::vector<pid_t> kill_orphans();

  std::mutex mutex_;
  std::map<pid_t, unsigned long long> running_;  // hook pid: its start time
};

}  // namespace guardd::hook
