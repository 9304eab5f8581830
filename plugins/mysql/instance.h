// Finding running mysqld/mariadbd instances from /proc, not from config.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/check.h"

namespace guardd::mysql {

/// A running server as seen in the process table.
struct Instance {
  pid_t pid = 0;
  std::string name;  // mysqld or mariadbd
  std::string exe;
  std::string socket;             // as the server names it (in its own mount namespace)
  std::string connect_socket;     // where guardd connects: /proc/PID/root/... for a container
  bool socket_listening = false;  // socket and port read from the kernel's socket tables
  bool other_namespace = false;   // runs in another mount namespace than guardd
  int port = 3306;
  std::string datadir;
  std::string pid_file;
  std::string defaults_file;
  std::string defaults_group_suffix;
  bool pid_file_confirmed = false;  // the pid file names this process

  /// pid, exe, datadir, socket, port, pid file as facts.
  nlohmann::json facts() const;
};

/// Server options guardd reads from a command line, with the server's defaults applied.
struct ServerArgs {
  std::optional<std::string> socket, datadir, pid_file, defaults_file, extra_file, group_suffix;
  std::optional<int> port;
  bool no_defaults = false;  // --no-defaults: no option file is read
};

/// Parses --socket, --port, --datadir, --pid-file, --defaults-file, --defaults-extra-file,
/// --defaults-group-suffix and --no-defaults ("--opt=value" or "--opt value"; '_' and '-'
/// alike).
ServerArgs parse_server_args(const std::vector<std::string>& argv);

/// What a scan of /proc found.
struct Discovery {
  std::vector<Instance> servers;  // in pid order
  // Processes named mysqld/mariadbd whose executable any user could have put there (a
  // copy of a shell so named): not servers, never judged, named in the checks' reasons.
  std::vector<std::string> impostors;  // "pid 4711 (/home/eve/mariadbd, not root's)"
};

/// What discovery learned of each server process, kept while that process runs: its
/// command line, option files, sockets and working directory are read at its start, so a
/// second look at the same process (same pid, same start time) learns nothing new. Only
/// what is complete is kept: a server not yet listening is looked at again.
class KnownServers {
 public:
  /// The instance found earlier for this process, if any.
  std::optional<Instance> find(pid_t pid, unsigned long long start_time) const;
  /// Keeps what was found of a listening server.
  void remember(const Instance& instance, unsigned long long start_time);
  /// Forgets every process not in `alive` (pids in ascending order).
  void keep_only(const std::vector<pid_t>& alive);

 private:
  mutable std::mutex mutex_;
  std::map<pid_t, std::pair<unsigned long long, Instance>> known_;  // pid: start time, instance
};

/// Every running mysqld/mariadbd (zombies, *_safe wrappers and impostors skipped). With
/// `known`, a server process seen before is not looked at again, but for its pid file.
Discovery discover_instances(const std::string& proc_root = "/proc", KnownServers* known = nullptr);

/// The running instances, found once per decision and shared by every check of it that
/// asks (the MySQL checks, the block-device check's datadir test).
std::shared_ptr<const Discovery> running_instances(DecisionScope& scope);

/// "; ignored, not root's executables: ..." when a scan found impostors, else "".
std::string impostor_note(const Discovery& discovery);

}  // namespace guardd::mysql
