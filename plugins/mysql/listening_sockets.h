// The sockets a process really listens on, from the kernel's tables: its fds matched
// against its network namespace's /proc/PID/net/{unix,tcp,tcp6}. A server's command line
// does not say where an option file or [client-server] put its socket.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace guardd::mysql {

/// Where a process listens.
struct ListeningSockets {
  std::vector<std::string> unix_paths;  // as the process names them (its mount namespace)
  std::vector<int> tcp_ports;
};

/// The listening sockets of `pid`; empty when it listens on none yet (starting) or its
/// fds cannot be read.
ListeningSockets listening_sockets(pid_t pid, const std::string& proc_root = "/proc");

/// True when `pid` lives in another mount namespace than guardd (a container): its paths
/// are then reached through /proc/PID/root.
bool in_other_mount_namespace(pid_t pid, const std::string& proc_root = "/proc");

}  // namespace guardd::mysql
