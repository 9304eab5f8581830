#include "plugins/mysql/datadir_sightings.h"

#include <algorithm>
#include <optional>

#include "daemon/filesystem_identity.h"

namespace guardd::mysql {
namespace {

// Sightings closer together than this that change nothing are not written again: a busy
// host decides often, and each write is a commit.
constexpr int64_t kRefreshUs = 60'000'000;

std::optional<KnownDatadir> remembered(DatadirMemory& memory, const std::string& datadir) {
  auto all = memory.known_datadirs();
  if (!all) return std::nullopt;
  auto it = std::find_if(all->begin(), all->end(),
                         [&](const KnownDatadir& k) { return k.datadir == datadir; });
  if (it == all->end()) return std::nullopt;
  return *it;
}

std::string write(DatadirMemory& memory, KnownDatadir seen) {
  if (auto fs = filesystem_of_path(seen.datadir); fs && *fs) {
    seen.fs_uuid = (*fs)->uuid;
    seen.fs_device = (*fs)->device;
  }
  auto st = memory.remember_datadir(seen);
  return st ? "" : st.error();
}

}  // namespace

std::string remember_running(DatadirMemory& memory, const Instance& server, const std::string& role,
                             int64_t now_us) {
  // A container's datadir path names a folder of its own mount namespace, not this one's.
  if (server.other_namespace) return "";
  KnownDatadir seen;
  seen.datadir = canonical_path(server.datadir);
  seen.server = server.name;
  seen.socket = server.socket;
  seen.port = server.port;
  seen.role = role;
  seen.last_seen_us = now_us;
  if (auto k = remembered(memory, seen.datadir)) {
    bool same = k->server == seen.server && k->socket == seen.socket && k->port == seen.port &&
                (role.empty() || k->role == role) && !k->fs_uuid.empty();
    if (same && now_us - k->last_seen_us < kRefreshUs) return "";
  }
  return write(memory, seen);
}

std::string remember_at_rest(DatadirMemory& memory, const DatadirAtRest& datadir, int64_t now_us) {
  if (!datadir.unmounted_device.empty()) return "";  // already remembered, and out of sight
  KnownDatadir seen;
  seen.datadir = datadir.datadir;
  seen.last_seen_us = now_us;
  if (auto k = remembered(memory, datadir.datadir)) {
    if (!k->fs_uuid.empty()) return "";   // nothing to add
    seen.last_seen_us = k->last_seen_us;  // the time it was last seen running stays
  }
  return write(memory, seen);
}

}  // namespace guardd::mysql
