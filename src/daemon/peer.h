// Identifying the process on the other end of a Unix socket.
#pragma once

#include "guardd/request.h"
#include "guardd/result.h"

namespace guardd {

/// Reads SO_PEERCRED and SO_PEERGROUPS of a connected socket, and the peer's exe, cmdline
/// and parent cmdline from /proc (missing when the process is gone or hidden).
Result<Caller> identify_peer(int fd);

}  // namespace guardd
