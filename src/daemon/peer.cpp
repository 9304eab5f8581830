#include "daemon/peer.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/procfs.h"

namespace guardd {

Result<Caller> identify_peer(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return Error{fmt::format("Failed to read SO_PEERCRED: {}", std::strerror(errno))};
  Caller caller;
  caller.uid = cred.uid;
  caller.gid = cred.gid;
  caller.pid = cred.pid;

  std::vector<gid_t> groups(64);
  len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0 && errno == ERANGE) {
    groups.resize(len / sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) != 0) len = 0;
  }
  groups.resize(len / sizeof(gid_t));
  caller.groups = std::move(groups);

  if (caller.pid > 0) {
    caller.exe = procfs::read_exe(caller.pid);
    caller.cmdline = procfs::read_cmdline(caller.pid);
    if (auto st = procfs::read_stat(caller.pid); st && st->ppid > 0)
      caller.parent_cmdline = procfs::read_cmdline(st->ppid);
  }
  return caller;
}

}  // namespace guardd
