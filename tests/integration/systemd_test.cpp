// systemd integration with systemd's own tools: socket activation, sd_notify, reload,
// unit files; and guardd's command line.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  ~NotifySocket() { close(fd_); }
  const std::string& path() const { return path_; }
  // Waits for a datagram containing `needle`; collects everything seen.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = 10000ms) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      std::string msg(buf, static_cast<size_t>(n));
      seen_ += msg + "\n---\n";
      if (msg.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  const std::string& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_;
  std::string seen_;
};

TEST(Systemd, SendsReadyStatusAndWatchdog) {
  Guardd g;
  NotifySocket notify(g.dir() / "notify.sock");
  ASSERT_TRUE(g.start({{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "200000"}})) << g.log();
  EXPECT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  EXPECT_NE(notify.seen().find("STATUS="), std::string::npos) << notify.seen();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1")) << notify.seen();
  g.signal(SIGHUP);
  EXPECT_TRUE(notify.wait_for("RELOADING=1")) << notify.seen();
  EXPECT_TRUE(notify.wait_for("READY=1")) << notify.seen();
  EXPECT_EQ(g.stop(), 0);
}

TEST(Systemd, SocketActivation) {
  TempDir dir;
  std::string socket = dir / "activated.sock";
  std::string config = dir / "guardd.conf";
  write_file(config,
             "[guardd]\nsocket = " + (dir / "unused.sock") + "\ndatabase = " + (dir / "db") + "\n");
  pid_t pid = fork();
  if (pid == 0) {
    std::string log = dir / "log";
    freopen(log.c_str(), "w", stderr);
    execlp("systemd-socket-activate", "systemd-socket-activate", "-l", socket.c_str(),
           "--fdname=guardd.socket", guardd_binary().c_str(), "--config", config.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_TRUE(wait_until([&] { return RawClient(socket).connected(); })) << read_file(dir / "log");
  // The first connection starts guardd (exec'd in place by systemd-socket-activate).
  auto r = run_process({guardctl_binary(), "--socket", socket, "check", "reboot"});
  EXPECT_EQ(r.exit_code, 0) << r.err << read_file(dir / "log");
  EXPECT_NE(read_file(dir / "log").find("socket-activated"), std::string::npos)
      << read_file(dir / "log");
  EXPECT_FALSE(std::filesystem::exists(dir / "unused.sock")) << "did not bind its own socket";
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_file(dir / "log");
}

TEST(Systemd, ReloadAppliesAGoodConfigAndKeepsTheOldOnAnError) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  EXPECT_EQ(g.ctl({"check", "reimage"}).exit_code, 2) << "not yet an operation";
  const std::string base = read_file(g.config());

  write_file(g.config(), base + "extra_operations = reimage\n");
  g.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return g.ctl({"check", "reimage"}).exit_code == 0; })) << g.log();

  write_file(g.config(), base + "extra_operations = reimage\nbogus_key = 1\n");
  g.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return g.log().find("Reload failed") != std::string::npos; }))
      << g.log();
  std::string text = read_file(g.config());
  int line =
      1 + static_cast<int>(std::count(text.begin(), text.begin() + text.find("bogus_key"), '\n'));
  EXPECT_NE(g.log().find(g.config() + ":" + std::to_string(line) + ": unknown key 'bogus_key'"),
            std::string::npos)
      << g.log();
  EXPECT_TRUE(g.running());
  EXPECT_EQ(g.ctl({"check", "reimage"}).exit_code, 0) << "the good config stays in force";
}

// ExecReload=guardd --reload $MAINPID: a bad config fails the reload and is never sent; a
// good one is; a pid that is not a guardd is never signalled.
TEST(Systemd, ReloadCommandValidatesBeforeItSignals) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  const std::string base = read_file(g.config());
  const std::string pid = std::to_string(g.pid());

  write_file(g.config(), base + "extra_operations = reimage\nbogus_key = 1\n");
  auto bad = run_process({guardd_binary(), "--config", g.config(), "--reload", pid});
  EXPECT_EQ(bad.exit_code, 78) << bad.err;
  EXPECT_NE(bad.err.find(": unknown key 'bogus_key'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("not reloaded"), std::string::npos) << bad.err;
  EXPECT_EQ(g.log().find("Reload"), std::string::npos) << "signalled although invalid:\n"
                                                       << g.log();

  write_file(g.config(), base + "extra_operations = reimage\n");
  auto good = run_process({guardd_binary(), "--config", g.config(), "--reload", pid});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_TRUE(wait_until([&] { return g.ctl({"check", "reimage"}).exit_code == 0; })) << g.log();

  pid_t other = fork();
  if (other == 0) {
    execl("/bin/sleep", "sleep", "60", nullptr);
    _exit(127);
  }
  ASSERT_GT(other, 1);
  ASSERT_TRUE(wait_until(
      [&] { return read_file("/proc/" + std::to_string(other) + "/comm") == "sleep\n"; }));
  auto wrong =
      run_process({guardd_binary(), "--config", g.config(), "--reload", std::to_string(other)});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.err;
  EXPECT_NE(wrong.err.find("is not a running guardd (sleep)"), std::string::npos) << wrong.err;
  int status = 0;
  EXPECT_EQ(waitpid(other, &status, WNOHANG), 0) << "the sleep was signalled";
  kill(other, SIGKILL);
  waitpid(other, &status, 0);
  for (const char* arg : {"1", "0", "-5", "12x", ""})
    EXPECT_EQ(run_process({guardd_binary(), "--reload", arg}).exit_code, 2) << arg;
  EXPECT_TRUE(g.running());
}

TEST(Systemd, SigtermStopsCleanlyAndRemovesTheSocket) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient idle(g.socket());  // an idle connection must not delay the stop
  EXPECT_EQ(g.stop(), 0) << g.log();
  EXPECT_FALSE(std::filesystem::exists(g.socket()));
}

TEST(Systemd, RefusesToTakeOverALiveSocket) {
  Guardd first;
  ASSERT_TRUE(first.start()) << first.log();
  TempDir dir;
  write_file(dir / "c.conf",
             "[guardd]\nsocket = " + first.socket() + "\ndatabase = " + (dir / "db") + "\n");
  auto r = run_process({guardd_binary(), "--config", dir / "c.conf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in use"), std::string::npos) << r.err;
  EXPECT_EQ(first.ctl({"check", "reboot"}).exit_code, 0);
}

TEST(Systemd, CheckConfigCommand) {
  auto ok = run_process(
      {guardd_binary(), "--check-config", "--config", source_dir() + "/etc/guardd.conf"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("OK"), std::string::npos);
  TempDir dir;
  write_file(dir / "bad.conf", "[guardd]\ndecision_timeout = forever\n[check.x]\n");
  auto bad = run_process({guardd_binary(), "--check-config", "--config", dir / "bad.conf"});
  EXPECT_EQ(bad.exit_code, 78);
  EXPECT_NE(bad.err.find(dir / "bad.conf:2: decision_timeout"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(dir / "bad.conf:3: unknown check type 'x'"), std::string::npos) << bad.err;
  auto start = run_process({guardd_binary(), "--config", dir / "bad.conf"});
  EXPECT_EQ(start.exit_code, 78) << "a bad config stops start-up";
  auto help = run_process({guardd_binary(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--check-config"), std::string::npos);
  EXPECT_EQ(run_process({guardd_binary(), "--bogus"}).exit_code, 2);
}

// systemd-analyze verify needs ExecStart's binary at its installed path: a private mount
// namespace puts the built guardd at /usr/sbin/guardd. Needs root (CI runs as root).
TEST(RootSystemd, UnitFilesVerifyWithoutWarnings) {
  if (!is_root()) GTEST_SKIP() << "needs root for a private mount namespace";
  std::string units = source_dir() + "/systemd";
  std::string script = "mount -t tmpfs none /usr/sbin && cp '" + guardd_binary() +
                       "' /usr/sbin/guardd && exec systemd-analyze verify --man=no '" + units +
                       "/guardd.service' '" + units + "/guardd.socket'";
  auto r = run_process(
      {"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "any output from verify is a warning";
}

TEST(Systemd, UnitSecurityExposureIsLow) {
  auto r = run_process({"/usr/bin/systemd-analyze", "security", "--offline=yes", "--threshold=30",
                        source_dir() + "/systemd/guardd.service"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto pos = r.out.find("Overall exposure level for guardd.service: ");
  ASSERT_NE(pos, std::string::npos) << r.out;
  double score = std::stod(r.out.substr(pos + 43));
  EXPECT_LE(score, 2.5) << r.out;
}

}  // namespace
}  // namespace guardd::test
