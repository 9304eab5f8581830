// Test support: temporary folders, the real guardd and guardctl binaries as child
// processes, and raw Varlink connections. Waits poll with deadlines; nothing sleeps blindly.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace guardd::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// Paths of the binaries under test (set by CMake).
std::string guardd_binary();
std::string guardctl_binary();
/// The source tree (for shipped files such as etc/guardd.conf).
std::string source_dir();

/// Kills this test's child `pid` (SIGKILL), reaps it and sets `pid` to -1; nothing when
/// it is not positive.
void kill_child(pid_t& pid);

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = 10000ms);

/// A temporary folder removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// path()/name
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Writes `text` to `path`.
void write_file(const std::string& path, const std::string& text);
/// Reads a whole file ("" when missing).
std::string read_file(const std::string& path);

/// The ids of the decisions in the audit database at `path` (none when it cannot be read).
std::set<int64_t> decision_ids(const std::string& path);

/// The outcome of running a program to completion.
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

/// Who a child process runs as; unset fields keep root's.
struct RunAs {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  /// RLIMIT_NPROC: processes and threads of `uid` (root is not held to it).
  std::optional<rlim_t> max_processes = std::nullopt;
};

/// Runs argv to completion (killing it after `timeout`), capturing stdout and stderr.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {}, RunAs as = {},
                          std::chrono::milliseconds timeout = 30000ms);

/// A running guardd with its own socket, database and config in a temporary folder.
class Guardd {
 public:
  /// Writes a config: [guardd] with socket/database in the folder plus `daemon_extra`
  /// lines, followed by `sections`.
  explicit Guardd(const std::string& daemon_extra = "", const std::string& sections = "");
  ~Guardd();

  /// Starts guardd (as `as`) and waits until its socket answers; false (with the log) on
  /// failure.
  bool start(const std::map<std::string, std::string>& env = {}, RunAs as = {});
  /// SIGTERM and wait; returns the exit status (or -1) for the test to assert.
  int stop();
  /// Sends a signal. SIGKILL, SIGTERM and SIGINT count as the test ending this run.
  void signal(int sig);
  /// True while the process has not exited.
  bool running();

  /// Runs guardctl against this daemon.
  ProcessResult ctl(const std::vector<std::string>& args, RunAs as = {}) const;

  const std::string& socket() const { return socket_; }
  const std::string& database() const { return database_; }
  const std::string& config() const { return config_; }
  std::string log() const { return read_file(log_); }
  TempDir& dir() { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  TempDir dir_;
  std::string socket_, database_, config_, log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  bool started_ = false;        // the current run answered on its socket
  bool ended_by_test_ = false;  // the test stopped or killed the current run
  /// Fails the test when a run that started ended without the test ending it.
  void check_run_ended_as_expected();
};

/// Fails the test unless `status` (from waitpid) is a clean exit 0 and `log` holds no
/// sanitizer report: for guardd processes a test starts without the Guardd class.
void expect_clean_exit(int status, const std::string& log);

/// Runs `cmd` in a private mount namespace where `g`'s socket (or, without `g`, nothing)
/// is at /run/guardd/guardd.sock, the only socket the shims talk to. Needs root.
ProcessResult run_with_default_socket(const Guardd* g, const std::vector<std::string>& cmd,
                                      const std::map<std::string, std::string>& env = {});

/// A raw connection to a Varlink socket.
class RawClient {
 public:
  explicit RawClient(const std::string& socket_path);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& other) noexcept : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
  }
  RawClient& operator=(RawClient&& other) noexcept;
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  /// Sends bytes as they are.
  bool send_raw(const std::string& bytes);
  /// Sends one framed call.
  bool call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  /// Reads one NUL-terminated reply; nullopt on EOF or timeout.
  std::optional<nlohmann::json> reply(std::chrono::milliseconds timeout = 10000ms);
  /// True when the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = 10000ms);

 private:
  int fd_ = -1;
  std::string buffer_;
};

/// Calls a method on a fresh connection and returns the reply (null json on failure).
nlohmann::json varlink_call(const std::string& socket, const std::string& method,
                            const nlohmann::json& params = nlohmann::json::object());

/// True when the test runs as root (needed for setuid, mounts, loop devices).
bool is_root();

/// The uid and gid of nobody.
inline constexpr uid_t kNobody = 65534;

/// A process with a name of the test's choosing, standing in for a daemon: a copy of
/// /bin/sleep named `name` in `dir`, running until stop() or destruction (then reaped, so
/// no zombie is mistaken for a running daemon). With `owner` (root only), the copy is that
/// user's: a program any user could have put there.
class NamedProcess {
 public:
  NamedProcess(TempDir& dir, const std::string& name, std::optional<uid_t> owner = std::nullopt);
  ~NamedProcess() { stop(); }
  NamedProcess(const NamedProcess&) = delete;
  NamedProcess& operator=(const NamedProcess&) = delete;
  void stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace guardd::test
