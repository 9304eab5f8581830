// The servers the option files describe: what mariadbd/mysqld would read from my.cnf and
// the files it includes, so a stopped server's datadir is known without its process.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace guardd::mysql {

/// A server as the option files configure it (one per group suffix: "" for the plain
/// [mysqld] server, ".node1" for Debian's mariadb@node1, "1" for mysqld_multi's [mysqld1]).
struct ConfiguredServer {
  std::string suffix;
  std::optional<std::string> datadir, socket, pid_file;
  std::optional<int> port;
  std::string datadir_where;  // file:line that set datadir; empty when no file did
};

/// Reads the files in order (a missing file is skipped, as the server skips it), following
/// !include and !includedir, and returns each configured server. Groups read are the ones
/// a server reads: [mysqld], [server], [mariadb], [mariadbd], [client-server], [galera],
/// their version forms ([mariadb-10.11]) and their suffixed forms ([mysqld.node1],
/// [mysqld1]); `loose-` prefixes and '_'/'-' spellings are understood.
std::vector<ConfiguredServer> read_server_option_files(const std::vector<std::string>& files);

}  // namespace guardd::mysql
