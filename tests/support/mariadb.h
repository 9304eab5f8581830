// Throwaway MariaDB servers from Debian's mariadb-server, as child processes on private
// sockets and loopback ports. Always torn down: SIGTERM, then SIGKILL, and waitpid.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/harness.h"

namespace guardd::test {

/// One result row of an admin query.
using SqlRow = std::map<std::string, std::string>;

class MariaDbServer {
 public:
  /// Creates the datadir from a cached template (made once per build tree). `os_user`
  /// runs the server as another user (Galera's rsync SST needs one); it needs root.
  explicit MariaDbServer(int server_id = 1, std::vector<std::string> extra_args = {},
                         std::string os_user = "");
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  /// Adds a server option for the next start().
  void add_option(std::string option) { extra_args_.push_back(std::move(option)); }
  /// Starts mariadbd and waits until it answers; false (see error_log()) on failure.
  bool start();
  /// Starts mariadbd with `--defaults-file=FILE` and no other option: the file sets
  /// everything (datadir(), socket(), port() among them), the way a packaged server runs.
  bool start_from_option_file(const std::string& file);
  /// The same with more command-line options after --defaults-file (a group suffix).
  bool start_from_option_file(const std::string& file, const std::vector<std::string>& options);
  /// Starts mariadbd as a server in a container would run: in a private mount namespace
  /// where `twin`'s folder is this server's own, so it names the same datadir and socket
  /// paths as `twin` while its files (and its socket, socket() here) are its own. Root.
  bool start_in_container(const MariaDbServer& twin);
  /// The options start() passes, as an option file's lines (for start_from_option_file).
  std::string option_lines() const;
  /// SIGTERM and waitpid (SIGKILL after a deadline).
  void stop();
  /// SIGKILL and waitpid: the socket and pid files stay behind.
  void kill_hard();
  /// Freezes or thaws the server process.
  void freeze();
  void thaw();

  /// Runs SQL as root over the socket; the error (or "") is returned.
  std::string exec(const std::string& sql);
  /// Runs a query as root and returns its rows.
  std::vector<SqlRow> query(const std::string& sql);

  const std::string& socket() const { return socket_; }
  const std::string& datadir() const { return datadir_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string error_log() const;
  TempDir& dir() { return dir_; }

 private:
  TempDir dir_;
  std::string datadir_, socket_;
  int port_;
  int server_id_;
  std::vector<std::string> extra_args_;
  std::string os_user_;
  pid_t pid_ = -1;
  bool frozen_ = false;
  bool spawn(const std::vector<std::string>& argv);
  /// mariadbd's command line with its paths under `datadir` (this server's or a twin's).
  std::vector<std::string> server_argv(const std::string& datadir) const;
};

/// Creates the monitoring account guardd@localhost and guardd@127.0.0.1 with `grants` and
/// writes a defaults file (mode 0600) for it into `dir`; returns its path.
std::string create_monitor_account(
    MariaDbServer& server, const std::string& dir,
    const std::string& grants = "PROCESS, SLAVE MONITOR, REPLICATION MASTER ADMIN",
    const std::string& password = "guardd-test-pw");

/// Makes `replica` replicate from `primary` over 127.0.0.1 (through `via_port` when set,
/// a relay to the primary's port) and waits until both its threads run; false on timeout.
bool start_replication(MariaDbServer& replica, MariaDbServer& primary, int via_port = 0);

/// A free TCP port on 127.0.0.1.
int free_port();

/// Several distinct free loopback ports, kept bound (so nothing else is given them) until
/// release(): ports picked one by one can come back equal.
class PortReservation {
 public:
  explicit PortReservation(int count);
  ~PortReservation();
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  const std::vector<int>& ports() const { return ports_; }
  /// Unbinds them, for the servers that are to listen on them.
  void release();

 private:
  std::vector<int> fds_;
  std::vector<int> ports_;
};

/// A Galera cluster (galera-4 from Debian) of several nodes on loopback, each run as the
/// mysql user so rsync state transfers work. Needs root.
class GaleraCluster {
 public:
  /// `nodes` data nodes and `arbitrators` garbd processes (Debian's galera-arbitrator-4),
  /// which vote but hold no data.
  explicit GaleraCluster(int nodes, int arbitrators = 0);
  /// Stops the arbitrators (the nodes stop themselves).
  ~GaleraCluster();
  GaleraCluster(const GaleraCluster&) = delete;
  GaleraCluster& operator=(const GaleraCluster&) = delete;
  /// Bootstraps node 0, joins the others and the arbitrators, and waits until every node
  /// is Synced in a cluster of all of them.
  bool start();
  MariaDbServer& node(int i) { return *nodes_.at(static_cast<size_t>(i)); }
  /// What arbitrator `i` logged.
  std::string arbitrator_log(int i) const;
  /// Waits until node `i` reports `key` = `value` in SHOW GLOBAL STATUS.
  bool wait_status(int i, const std::string& key, const std::string& value);

 private:
  std::vector<std::unique_ptr<MariaDbServer>> nodes_;
  std::vector<std::vector<std::string>> arbitrator_argv_;
  std::vector<pid_t> arbitrators_;
  TempDir arbitrator_dir_;  // their logs
};

}  // namespace guardd::test
