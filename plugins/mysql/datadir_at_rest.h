// Datadirs that hold data while no server runs on them: the only copy of anything not yet
// replicated, so a stopped, crashed or starting server's host is not to be reinstalled.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/datadir_memory.h"
#include "plugins/mysql/instance.h"
#include "plugins/mysql/option_files.h"

namespace guardd::mysql {

/// Where guardd learns of datadirs besides the running servers.
struct DatadirSources {
  std::vector<std::string> option_files;      // my.cnf and what it includes
  std::vector<std::string> default_datadirs;  // the distribution's (/var/lib/mysql)
  std::vector<KnownDatadir> remembered;       // seen in use before (the audit database)
};

/// A datadir that holds data and that no running server uses.
struct DatadirAtRest {
  std::string datadir;
  std::vector<std::string> sources;  // "/etc/mysql/my.cnf:12", "remembered", "default"
  std::optional<KnownDatadir> known;
  std::vector<std::string> contents;  // a few of its entries, as evidence
  std::string stale_pid_file;         // a pid file naming no running server: a crash?
  std::string unmounted_device;       // set when the datadir's filesystem is not mounted

  /// "datadir /var/lib/mysql holds data (ibdata1, mysql/; last seen ... as primary ...)".
  std::string describe() const;
  nlohmann::json facts() const;
};

/// The datadirs from `sources` that hold data (an entry besides lost+found, or a
/// remembered filesystem present on this host but unmounted) and that no server in
/// `running` uses; in a stable order.
std::vector<DatadirAtRest> datadirs_at_rest(const DatadirSources& sources,
                                            const std::vector<Instance>& running);

/// `path` with symlinks, "//", "/./" and ".." resolved when it exists; else as given.
std::string canonical_path(const std::string& path);

}  // namespace guardd::mysql
