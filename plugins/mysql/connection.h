// A libmariadb connection with every wait bounded.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guardd/result.h"

struct st_mysql;

namespace guardd::mysql {
struct ClientLibrary;
}

namespace guardd::mysql {

/// One result row: column name to value (nullopt for SQL NULL).
using Row = std::map<std::string, std::optional<std::string>>;

/// Where and as whom to connect.
struct Endpoint {
  std::string socket;  // unix socket; empty for TCP
  std::string host;    // TCP host when socket is empty
  int port = 3306;
  std::string defaults_file;  // my.cnf-style [client] credentials; empty: current OS user
};

/// A connected session; every query is bounded by the read/write timeouts set at connect.
class Connection {
 public:
  /// Connects before `deadline` (libmariadb counts whole seconds, at least one) as `user`,
  /// or as the defaults file's user when `user` is empty. A failure carries the client
  /// library's error number (see no_server_answered).
  static Result<std::unique_ptr<Connection>> open(const Endpoint& endpoint,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  const std::string& user = "");
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs a statement and returns its rows; the error carries the server's message and code.
  Result<std::vector<Row>> query(const std::string& sql);

  /// The server's version string, e.g. "10.11.6-MariaDB-0+deb12u1".
  std::string server_version() const;

 private:
  Connection(const ClientLibrary& lib, st_mysql* db) : lib_(lib), db_(db) {}
  /// The server's (or the client library's) last error, with its code.
  std::string last_error() const;
  const ClientLibrary& lib_;
  st_mysql* db_;
};

/// Checks that a credentials file may be trusted: a regular file, owned by root (when
/// guardd runs as root) and not readable or writable by group or others.
Status check_defaults_file(const std::string& path);

/// True when a connection's error number means that no server answered: nothing listens,
/// the host is unknown or unreachable, or the connection timed out or dropped before the
/// server spoke. False when a server answered and refused (a login, a privilege, TLS).
bool no_server_answered(int client_error_number);

/// Column value by any of several names (MySQL 8 renamed Slave_* / Master_* columns).
std::optional<std::string> column(const Row& row, std::initializer_list<const char*> names);

}  // namespace guardd::mysql
