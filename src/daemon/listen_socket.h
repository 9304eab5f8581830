// The listening socket: passed by systemd, or bound by guardd itself.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "guardd/result.h"

namespace guardd {

/// A listening socket and where it came from.
struct ListenSocket {
  int fd = -1;
  bool activated = false;  // passed by systemd (sd_listen_fds)
  std::string path;        // when bound by guardd
};

/// Takes the socket systemd passed, or binds `path` (mode 0660, group `group` when set).
/// Refuses to replace a socket that another process still answers on.
Result<ListenSocket> open_listen_socket(const std::string& path, std::optional<gid_t> group);

}  // namespace guardd
