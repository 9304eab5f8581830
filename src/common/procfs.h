// Reading facts about processes from /proc.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardd::procfs {

/// Fields of /proc/PID/stat that guardd uses.
struct Stat {
  std::string comm;  // the name the process was started under (15 characters at most)
  char state = '?';  // R, S, D, Z, T, ...
  pid_t ppid = 0;
  unsigned long long start_time = 0;  // clock ticks after boot: with the pid, names one process
};

/// Parses /proc/PID/stat; nullopt when the process is gone or unreadable.
std::optional<Stat> read_stat(pid_t pid, const std::string& proc_root = "/proc");

/// The name the process runs under (/proc/PID/comm, 15 characters at most): far cheaper
/// for the kernel to produce than the whole stat line.
std::optional<std::string> read_comm(pid_t pid, const std::string& proc_root = "/proc");

/// The command line with arguments joined by spaces (at most `max_bytes`).
std::optional<std::string> read_cmdline(pid_t pid, size_t max_bytes = 4096,
                                        const std::string& proc_root = "/proc");

/// The command line as separate arguments.
std::optional<std::vector<std::string>> read_argv(pid_t pid,
                                                  const std::string& proc_root = "/proc");

/// The executable's path (without a " (deleted)" suffix); nullopt for kernel threads.
std::optional<std::string> read_exe(pid_t pid, const std::string& proc_root = "/proc");

/// Who could have put a process's executable there, as /proc/PID/exe reaches the file.
enum class ExecutableOwner {
  Root,         // owned by root (or by the root of the process's own user namespace, a
                // container's, or by guardd's own user) and writable by no one else: an
                // installed program
  SomeoneElse,  // any user could have made it: a copy, or a file they may change
  Unknown,      // unreadable: the process is gone, or a kernel thread
};

/// Whose the executable a process runs is (see ExecutableOwner).
ExecutableOwner executable_owner(pid_t pid, const std::string& proc_root = "/proc");

/// Every numeric entry of /proc.
std::vector<pid_t> list_pids(const std::string& proc_root = "/proc");

/// The names a process goes by, as a scan of /proc sees them.
struct ProcessNames {
  std::string comm;                // 15 characters at most
  std::optional<std::string> exe;  // nullopt for kernel threads, or when unreadable
  /// The executable's file name ("" without one); a view into `exe`.
  std::string_view exe_name() const;
};

/// A live process a scan picked, under the name the picker gave it.
struct FoundProcess {
  pid_t pid = 0;
  std::string name;
  std::optional<std::string> exe;
  ExecutableOwner owner = ExecutableOwner::Unknown;
  unsigned long long start_time = 0;  // see Stat
};

/// Scans /proc for the processes `pick` names. Reads only comm and exe of every process
/// (the kernel builds a whole stat line at ~10 us a process), and the stat line and the
/// executable's owner only of those picked, to leave out zombies and tell impostors.
std::vector<FoundProcess> find_processes(
    const std::function<std::optional<std::string>(const ProcessNames&)>& pick,
    const std::string& proc_root = "/proc");

}  // namespace guardd::procfs
