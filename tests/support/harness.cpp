#include "support/harness.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace guardd::test {
namespace {

// Environment of child processes: the test's PATH only, plus what a test sets.
std::vector<std::string> child_env(const std::map<std::string, std::string>& env) {
  std::vector<std::string> out = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

// True when a user other than the owner can reach and run `path`: every folder above it
// searchable by others, the file executable by others.
bool others_can_run(const std::filesystem::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
  for (auto dir = path.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (stat(dir.c_str(), &st) != 0 || !(st.st_mode & S_IXOTH)) return false;
    if (dir == dir.root_path()) break;
  }
  return true;
}

// Copies of the binaries that tests run as another user, for a checkout that user cannot
// reach (a clone under root's 0700 home): one folder per test process, removed at exit.
class ReachableCopies {
 public:
  ~ReachableCopies() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::string of(const std::string& path) {
    if (others_can_run(path)) return path;
    std::lock_guard lock(mutex_);
    if (dir_.empty()) {
      char tmpl[] = "/tmp/guardd-test-bin.XXXXXX";
      if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
      dir_ = tmpl;
      chmod(dir_.c_str(), 0755);
    }
    std::string copy = dir_ + "/" + std::filesystem::path(path).filename().string();
    if (!std::filesystem::exists(copy)) {
      std::filesystem::copy_file(path, copy);
      chmod(copy.c_str(), 0755);
    }
    return copy;
  }

 private:
  std::mutex mutex_;
  std::string dir_;
};

// What to exec: argv[0] itself, or, for a child that drops to another user, a copy that
// user can run.
std::vector<std::string> runnable_argv(std::vector<std::string> argv, const RunAs& as) {
  static ReachableCopies copies;
  if (as.uid && *as.uid != 0 && !argv.empty()) argv[0] = copies.of(argv[0]);
  return argv;
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env, RunAs as) {
  if (as.gid) {
    if (setgroups(0, nullptr) != 0 || setgid(*as.gid) != 0) _exit(126);
  }
  if (as.max_processes) {
    const rlimit limit{*as.max_processes, *as.max_processes};
    if (setrlimit(RLIMIT_NPROC, &limit) != 0) _exit(126);
  }
  if (as.uid && setuid(*as.uid) != 0) _exit(126);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto env_strings = child_env(env);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  execve(args[0], args.data(), envp.data());
  _exit(127);
}

}  // namespace

std::string guardd_binary() {
  return GUARDD_BINARY;
}
std::string guardctl_binary() {
  return GUARDCTL_BINARY;
}
std::string source_dir() {
  return GUARDD_SOURCE_DIR;
}

bool is_root() {
  return geteuid() == 0;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto pause = 1ms;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);  // polling interval, bounded by the deadline
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "guardd-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  // Traversable by the unprivileged users some tests run as.
  chmod(tmpl.c_str(), 0755);
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<int64_t> decision_ids(const std::string& path) {
  std::set<int64_t> ids;
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT id FROM decisions", -1, &st, nullptr) == SQLITE_OK)
      while (sqlite3_step(st) == SQLITE_ROW) ids.insert(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return ids;
}

ProcessResult run_with_default_socket(const Guardd* g, const std::vector<std::string>& cmd,
                                      const std::map<std::string, std::string>& env) {
  std::string script = "mount -t tmpfs none /run && mkdir /run/guardd && ";
  if (g)
    script += "mount --bind '" + std::filesystem::path(g->socket()).parent_path().string() +
              "' /run/guardd && ";
  script += "exec";
  for (const auto& c : cmd) script += " '" + c + "'";
  return run_process(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script}, env);
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env, RunAs as,
                          std::chrono::milliseconds timeout) {
  const std::vector<std::string> exec_argv = runnable_argv(argv, as);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    exec_child(exec_argv, env, as);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = Clock::now() + timeout;
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) kill(pid, SIGKILL);
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = (!timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

// The logind inhibitor re-runs every check in the background; tests of other things turn
// it off unless they set `inhibit` themselves, so hooks and probes run only when asked.
static std::string inhibit_default(const std::string& daemon_extra) {
  return daemon_extra.find("inhibit") == std::string::npos ? "inhibit = no\n" : "";
}

Guardd::Guardd(const std::string& daemon_extra, const std::string& sections) {
  socket_ = dir_ / "guardd.sock";
  database_ = dir_ / "state/guardd.db";
  config_ = dir_ / "guardd.conf";
  log_ = dir_ / "guardd.log";
  write_file(config_, "[guardd]\nsocket = " + socket_ + "\ndatabase = " + database_ +
                          "\nclient_group = nogroup\n" + inhibit_default(daemon_extra) +
                          daemon_extra + "\n" + sections);
}

namespace {
bool has_sanitizer_report(const std::string& log) {
  return log.find("Sanitizer") != std::string::npos ||
         log.find("runtime error:") != std::string::npos;
}
std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "status " + std::to_string(status);
}
}  // namespace

void expect_clean_exit(int status, const std::string& log) {
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "guardd ended with " << describe_status(status) << ":\n"
      << log;
  EXPECT_FALSE(has_sanitizer_report(log)) << "sanitizer report in guardd's log:\n" << log;
}

Guardd::~Guardd() {
  // Stop cleanly so a sanitizer build reports leaks and errors at exit, and fail the test
  // on an unclean stop of a daemon that was still running, or on one that ended by itself.
  if (pid_ > 0 && running()) {
    int code = stop();
    if (code != 0) ADD_FAILURE() << "guardd did not stop cleanly (exit " << code << "):\n" << log();
  }
  check_run_ended_as_expected();
  std::string text = log();
  if (has_sanitizer_report(text)) ADD_FAILURE() << "sanitizer report in guardd's log:\n" << text;
}

void Guardd::check_run_ended_as_expected() {
  if (started_ && !ended_by_test_ && status_)
    ADD_FAILURE() << "guardd ended by itself during the test (" << describe_status(*status_)
                  << "):\n"
                  << log();
}

bool Guardd::start(const std::map<std::string, std::string>& env, RunAs as) {
  // A previous guardd (one a test killed) must be gone first, as systemd waits for it:
  // until it has exited its socket still accepts connections, which would be taken for
  // the new one's.
  if (pid_ > 0 && !wait_until([&] { return !running(); })) return false;
  if (pid_ > 0) check_run_ended_as_expected();
  status_.reset();
  started_ = ended_by_test_ = false;
  const std::vector<std::string> argv = runnable_argv({guardd_binary(), "--config", config_}, as);
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    exec_child(argv, env, as);
  }
  started_ = wait_until([&] {
               if (!running()) return true;
               RawClient c(socket_);
               return c.connected();
             }) &&
             running();
  return started_;
}

bool Guardd::running() {
  if (status_) return false;
  int st = 0;
  if (pid_ > 0 && waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
  return pid_ > 0 && !status_;
}

void Guardd::signal(int sig) {
  if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) ended_by_test_ = true;
  if (pid_ > 1) kill(pid_, sig);
}

int Guardd::stop() {
  ended_by_test_ = true;  // the caller asserts the status returned
  if (!running()) return status_ && WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
  kill(pid_, SIGTERM);
  if (!wait_until([&] { return !running(); }, 15000ms)) {
    kill(pid_, SIGKILL);
    wait_until([&] { return !running(); });
    return -1;
  }
  return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
}

ProcessResult Guardd::ctl(const std::vector<std::string>& args, RunAs as) const {
  std::vector<std::string> argv = {guardctl_binary(), "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, as);
}

RawClient::RawClient(const std::string& socket_path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof(addr.sun_path) - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

RawClient::~RawClient() {
  if (fd_ >= 0) close(fd_);
}

RawClient& RawClient::operator=(RawClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

bool RawClient::send_raw(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawClient::call(const std::string& method, const nlohmann::json& params) {
  std::string msg = nlohmann::json{{"method", method}, {"parameters", params}}.dump();
  msg.push_back('\0');
  return send_raw(msg);
}

std::optional<nlohmann::json> RawClient::reply(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    auto nul = buffer_.find('\0');
    if (nul != std::string::npos) {
      auto doc = nlohmann::json::parse(buffer_.substr(0, nul), nullptr, false);
      buffer_.erase(0, nul + 1);
      return doc;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return std::nullopt;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

bool RawClient::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n > 0) buffer_.append(buf, static_cast<size_t>(n));
  }
  return false;
}

nlohmann::json varlink_call(const std::string& socket, const std::string& method,
                            const nlohmann::json& params) {
  RawClient c(socket);
  if (!c.connected() || !c.call(method, params)) return nullptr;
  return c.reply().value_or(nullptr);
}

NamedProcess::NamedProcess(TempDir& dir, const std::string& name, std::optional<uid_t> owner) {
  const std::string path = dir / name;
  std::filesystem::copy_file("/bin/sleep", path);
  if (owner && chown(path.c_str(), *owner, *owner) != 0)
    throw std::runtime_error("chown " + path + ": " + std::strerror(errno));
  pid_ = fork();
  if (pid_ == 0) {
    execl(path.c_str(), name.c_str(), "300", nullptr);
    _exit(127);
  }
  // Until the exec has happened: before it, /proc/PID/exe is the test binary.
  wait_until([&] {
    std::error_code ec;
    return std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe", ec) == path;
  });
}

void kill_child(pid_t& pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  pid = -1;
}

void NamedProcess::stop() {
  kill_child(pid_);
}

}  // namespace guardd::test
