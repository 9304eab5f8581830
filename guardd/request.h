// What a caller asks, and who the caller is.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace guardd {

/// Identity of the process on the other end of the socket (SO_PEERCRED plus /proc).
struct Caller {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups (SO_PEERGROUPS)
  std::optional<std::string> exe;
  std::optional<std::string> cmdline;
  std::optional<std::string> parent_cmdline;
};

/// A request to perform a potentially destructive operation.
struct CheckRequest {
  std::string operation;
  std::optional<std::string> target;
  std::optional<std::string> reason;
  bool force = false;
  bool dry_run = false;
};

}  // namespace guardd
