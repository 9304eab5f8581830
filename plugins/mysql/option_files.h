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
/// [mysqld1]); `loose-` prefixes and '_'/'-' spellings are understood. Each server's
/// options are resolved as read_server_options does.
std::vector<ConfiguredServer> read_server_option_files(const std::vector<std::string>& files);

/// The options of the one server started with `--defaults-group-suffix=group_suffix`
/// ("" for none) that reads `files`, resolved in MariaDB's order: the plain groups and the
/// suffixed ones ([mysqld.2] for ".2") alike, in the order the lines are read, the last
/// one winning. mysqld_multi's numbered groups ([mysqld1]) win over the plain ones
/// wherever they are, since mysqld_multi passes them on the command line.
ConfiguredServer read_server_options(const std::vector<std::string>& files,
                                     const std::string& group_suffix);

/// The files a server reads, from its command line: only --defaults-file when given (or
/// none with --no-defaults), else /etc/my.cnf and /etc/mysql/my.cnf; then
/// --defaults-extra-file. Each is read through `root` (a container's /proc/PID/root).
std::vector<std::string> server_option_files(const std::optional<std::string>& defaults_file,
                                             const std::optional<std::string>& extra_file,
                                             bool no_defaults, const std::string& root);

}  // namespace guardd::mysql
