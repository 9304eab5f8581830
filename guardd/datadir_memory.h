// MySQL/MariaDB datadirs guardd has seen in use, remembered so that their data stays
// protected while the server is stopped, crashed, or its filesystem is unmounted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd {

/// One remembered datadir, as stored in the audit database.
struct KnownDatadir {
  std::string datadir;    // canonical path
  std::string server;     // mariadbd or mysqld; empty when only seen at rest
  std::string socket;     // unix socket it listened on, when seen running
  int port = 0;           // TCP port, 0 when unknown
  std::string role;       // e.g. "primary with 2 replicas"; empty when never judged
  std::string fs_uuid;    // UUID of the filesystem holding it; empty when none (tmpfs, ...)
  std::string fs_device;  // the block device that filesystem was on, e.g. /dev/sdb1
  int64_t first_seen_us = 0;
  int64_t last_seen_us = 0;
};

/// Where the MySQL and block-device checks read and record remembered datadirs.
class DatadirMemory {
 public:
  virtual ~DatadirMemory() = default;

  /// Every remembered datadir not retired, from memory (no wait on the database).
  virtual Result<std::vector<KnownDatadir>> known_datadirs() = 0;

  /// Records a sighting: inserts or updates `seen.datadir` (an empty role, socket or UUID
  /// keeps the one stored) and brings a retired datadir back.
  virtual Status remember_datadir(const KnownDatadir& seen) = 0;

  /// Retires a remembered datadir with a reason (its data was moved or destroyed on
  /// purpose); false when no such datadir is remembered.
  virtual Result<bool> retire_datadir(const std::string& datadir, uid_t uid,
                                      const std::string& reason, int64_t now_us) = 0;
};

}  // namespace guardd
