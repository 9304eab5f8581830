// The logind inhibitor against the real systemd-logind on a private D-Bus (no PID 1
// needed). logind runs as root and writes /run/systemd; the suite name says so.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "support/harness.h"

namespace guardd::test {
namespace {

namespace fs = std::filesystem;

// A background process started for the test and always stopped with it.
class Background {
 public:
  Background(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
             const std::string& log) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      std::vector<std::string> env_strings = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
      for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
      std::vector<char*> args, envp;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      for (auto& e : env_strings) envp.push_back(e.data());
      envp.push_back(nullptr);
      execve(args[0], args.data(), envp.data());
      _exit(127);
    }
  }
  ~Background() {
    kill(pid_, SIGTERM);
    int st;
    if (!wait_until([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, 5000ms)) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
    }
  }

 private:
  pid_t pid_;
};

class RootLogind : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "systemd-logind needs root";
    if (!fs::exists("/lib/systemd/systemd-logind"))
      GTEST_SKIP() << "systemd-logind is not installed";
    for (const char* d : {"seats", "sessions", "users", "inhibit", "shutdown"})
      if (fs::exists(std::string("/run/systemd/") + d)) existed_.insert(d);
  }
  void TearDown() override {
    // logind leaves its state behind: remove what it created.
    for (const char* d : {"seats", "sessions", "users", "inhibit", "shutdown"})
      if (!existed_.count(d)) fs::remove_all(std::string("/run/systemd/") + d);
  }
  std::set<std::string> existed_;
};

TEST_F(RootLogind, InhibitorFollowsHolds) {
  TempDir dir;
  std::string bus = "unix:path=" + (dir / "bus");
  Background dbus(
      {"/usr/bin/dbus-daemon", "--session", "--address=" + bus, "--nofork", "--nopidfile"}, {},
      dir / "dbus.log");
  ASSERT_TRUE(wait_until([&] { return fs::exists(dir / "bus"); })) << read_file(dir / "dbus.log");
  Background logind({"/lib/systemd/systemd-logind"}, {{"DBUS_SYSTEM_BUS_ADDRESS", bus}},
                    dir / "logind.log");
  auto inhibitors = [&] {
    return run_process({"/usr/bin/busctl", "--address=" + bus, "call", "org.freedesktop.login1",
                        "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                        "ListInhibitors"});
  };
  ASSERT_TRUE(wait_until([&] { return inhibitors().exit_code == 0; }))
      << read_file(dir / "logind.log");

  Guardd g("inhibit = yes\n");
  ASSERT_TRUE(g.start({{"DBUS_SYSTEM_BUS_ADDRESS", bus}})) << g.log();
  EXPECT_EQ(inhibitors().out.find("guardd"), std::string::npos) << "nothing vetoes yet";

  ASSERT_EQ(g.ctl({"hold", "--reason", "rack 12 power work"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] {
    auto out = inhibitors().out;
    return out.find("\"shutdown\" \"guardd\"") != std::string::npos &&
           out.find("rack 12 power work") != std::string::npos &&
           out.find("\"block\"") != std::string::npos;
  })) << inhibitors().out
      << g.log();

  ASSERT_EQ(g.ctl({"release", "1"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return inhibitors().out.find("guardd") == std::string::npos; }))
      << inhibitors().out << g.log();

  // Hold again, then stop guardd: the lock goes with it.
  ASSERT_EQ(g.ctl({"hold", "--reason", "again"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return inhibitors().out.find("guardd") != std::string::npos; }));
  EXPECT_EQ(g.stop(), 0);
  EXPECT_TRUE(wait_until([&] { return inhibitors().out.find("guardd") == std::string::npos; }));
}

TEST(Logind, NoLogindIsNotFatal) {
  TempDir dir;
  Guardd g("inhibit = yes\n");
  ASSERT_TRUE(g.start({{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=" + (dir / "nobus")}})) << g.log();
  ASSERT_EQ(g.ctl({"hold", "--reason", "x"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] {
    return g.log().find("logind shutdown inhibitor") != std::string::npos ||
           g.log().find("system bus") != std::string::npos;
  })) << g.log();
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 1) << "guardd still answers";
  ASSERT_EQ(g.ctl({"release", "1"}).exit_code, 0);
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 0);
}

}  // namespace
}  // namespace guardd::test
