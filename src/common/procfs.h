// Reading facts about processes from /proc.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace guardd::procfs {

/// Fields of /proc/PID/stat that guardd uses.
struct Stat {
  std::string comm;  // the name the process was started under (15 characters at most)
  char state = '?';  // R, S, D, Z, T, ...
  pid_t ppid = 0;
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

/// Every numeric entry of /proc.
std::vector<pid_t> list_pids(const std::string& proc_root = "/proc");

}  // namespace guardd::procfs
