#include "plugins/mysql/connection.h"

#include "plugins/mysql/client_library.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace guardd::mysql {
namespace {

unsigned int whole_seconds_until(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
  return static_cast<unsigned int>(std::max(1.0, std::ceil(left)));
}

}  // namespace

Status check_defaults_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Error{fmt::format("defaults_file {}: {}", path, std::strerror(errno))};
  if (!S_ISREG(st.st_mode))
    return Error{fmt::format("defaults_file {} is not a regular file", path)};
  if (geteuid() == 0 && st.st_uid != 0)
    return Error{fmt::format("defaults_file {} is not owned by root; refusing to use it", path)};
  if (st.st_mode & 077)
    return Error{
        fmt::format("defaults_file {} has mode {:04o}; it must be 0600 (no group or other "
                    "access)",
                    path, st.st_mode & 07777)};
  return ok_status();
}

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& ep,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     const std::string& user) {
  if (!ep.defaults_file.empty()) {
    Status ok = check_defaults_file(ep.defaults_file);
    if (!ok) return Error{ok.error()};
  }
  auto loaded = client_library();
  if (!loaded) return Error{loaded.error()};
  const ClientLibrary& lib = **loaded;
  MYSQL* db = lib.init(nullptr);
  if (db == nullptr) return Error{"cannot allocate a MySQL connection"};
  std::unique_ptr<Connection> conn(new Connection(lib, db));
  unsigned int secs = whole_seconds_until(deadline);
  lib.options(db, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
  lib.options(db, MYSQL_OPT_READ_TIMEOUT, &secs);
  lib.options(db, MYSQL_OPT_WRITE_TIMEOUT, &secs);
  unsigned int protocol = ep.socket.empty() ? MYSQL_PROTOCOL_TCP : MYSQL_PROTOCOL_SOCKET;
  lib.options(db, MYSQL_OPT_PROTOCOL, &protocol);
  if (!ep.defaults_file.empty()) {
    lib.options(db, MYSQL_READ_DEFAULT_FILE, ep.defaults_file.c_str());
    // The library reads [client] (and [client-server], [client-mariadb]) and this group:
    // TLS settings for logins over the network (ssl-ca, ssl-verify-server-cert = 1) go in
    // [guardd-tcp], so they do not apply to the local socket, where the server's
    // certificate rarely names "localhost" and TLS protects nothing.
    lib.options(db, MYSQL_READ_DEFAULT_GROUP, ep.socket.empty() ? "guardd-tcp" : "client");
  }
  const char* host = ep.socket.empty() ? ep.host.c_str() : "localhost";
  const char* socket = ep.socket.empty() ? nullptr : ep.socket.c_str();
  if (lib.real_connect(db, host, user.empty() ? nullptr : user.c_str(), nullptr, nullptr,
                       static_cast<unsigned int>(ep.port), socket, 0) == nullptr) {
    std::string where = ep.socket.empty() ? fmt::format("{}:{}", ep.host, ep.port) : ep.socket;
    return Error{fmt::format("cannot connect to {}: {}", where, conn->last_error()),
                 static_cast<int>(lib.error_number(db))};
  }
  return conn;
}

Connection::~Connection() {
  lib_.close(db_);
}

std::string Connection::server_version() const {
  const char* v = lib_.get_server_info(db_);
  return v ? v : "";
}

Result<std::vector<Row>> Connection::query(const std::string& sql) {
  if (lib_.real_query(db_, sql.data(), sql.size()) != 0) return Error{last_error()};
  MYSQL_RES* res = lib_.store_result(db_);
  std::vector<Row> rows;
  if (res == nullptr) {
    if (lib_.field_count(db_) != 0) return Error{last_error()};
    return rows;  // a statement without a result set
  }
  unsigned int n = lib_.num_fields(res);
  MYSQL_FIELD* fields = lib_.fetch_fields(res);
  while (MYSQL_ROW r = lib_.fetch_row(res)) {
    unsigned long* lengths = lib_.fetch_lengths(res);
    Row row;
    for (unsigned int i = 0; i < n; ++i)
      row[fields[i].name] =
          r[i] ? std::optional<std::string>(std::string(r[i], lengths[i])) : std::nullopt;
    rows.push_back(std::move(row));
  }
  bool failed = lib_.error_number(db_) != 0;
  std::string err = failed ? last_error() : "";
  lib_.free_result(res);
  if (failed) return Error{err};
  return rows;
}

std::string Connection::last_error() const {
  return fmt::format("{} (error {})", lib_.error(db_), lib_.error_number(db_));
}

bool no_server_answered(int client_error_number) {
  switch (client_error_number) {
    case 2002:  // CR_CONNECTION_ERROR: no socket, or nothing listening on it
    case 2003:  // CR_CONN_HOST_ERROR: TCP refused or timed out
    case 2005:  // CR_UNKNOWN_HOST
    case 2006:  // CR_SERVER_GONE_ERROR
    case 2013:  // CR_SERVER_LOST: dropped or timed out before the handshake ended
      return true;
    default:
      return false;
  }
}

std::optional<std::string> column(const Row& row, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto it = row.find(n); it != row.end()) return it->second;
  return std::nullopt;
}

}  // namespace guardd::mysql
