// Recording in guardd's memory (the audit database) each datadir seen in use, so it stays
// protected after its server stops and even after its filesystem is unmounted.
#pragma once

#include <cstdint>
#include <string>

#include "guardd/datadir_memory.h"
#include "plugins/mysql/datadir_at_rest.h"
#include "plugins/mysql/instance.h"

namespace guardd::mysql {

/// Records that `server` runs on its datadir (in its role, when judged: empty keeps the
/// remembered one). Skipped when memory already says the same from the last minute.
/// Returns the error of a failed write, or "".
std::string remember_running(DatadirMemory& memory, const Instance& server, const std::string& role,
                             int64_t now_us);

/// Records a datadir found at rest holding data, with its filesystem's UUID, so that
/// unmounting the filesystem does not hide it. Returns the error of a failed write, or "".
std::string remember_at_rest(DatadirMemory& memory, const DatadirAtRest& datadir, int64_t now_us);

}  // namespace guardd::mysql
