// The logind inhibitor against the real systemd-logind on a private D-Bus (no PID 1
// needed). logind runs as root and writes /run/systemd; the suite name says so.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
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
    logind_.reset();
    dbus_.reset();
    // logind leaves its state behind: remove what it created.
    for (const char* d : {"seats", "sessions", "users", "inhibit", "shutdown"})
      if (!existed_.count(d)) fs::remove_all(std::string("/run/systemd/") + d);
  }

  // Starts a private bus with logind on it; false (with the logs) when logind never answers.
  ::testing::AssertionResult start_logind() {
    bus_ = "unix:path=" + (dir_ / "bus");
    dbus_ = std::make_unique<Background>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--session", "--address=" + bus_,
                                 "--nofork", "--nopidfile"},
        std::map<std::string, std::string>{}, dir_ / "dbus.log");
    if (!wait_until([&] { return fs::exists(dir_ / "bus"); }))
      return ::testing::AssertionFailure() << read_file(dir_ / "dbus.log");
    logind_ = std::make_unique<Background>(
        std::vector<std::string>{"/lib/systemd/systemd-logind"},
        std::map<std::string, std::string>{{"DBUS_SYSTEM_BUS_ADDRESS", bus_}}, dir_ / "logind.log");
    if (!wait_until([&] { return inhibitors().exit_code == 0; }))
      return ::testing::AssertionFailure() << read_file(dir_ / "logind.log");
    return ::testing::AssertionSuccess();
  }

  // logind's ListInhibitors, as busctl prints it.
  ProcessResult inhibitors() const {
    return run_process({"/usr/bin/busctl", "--address=" + bus_, "call", "org.freedesktop.login1",
                        "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                        "ListInhibitors"});
  }
  bool guardd_inhibits() const { return inhibitors().out.find("guardd") != std::string::npos; }
  std::map<std::string, std::string> bus_env() const { return {{"DBUS_SYSTEM_BUS_ADDRESS", bus_}}; }

  std::set<std::string> existed_;
  TempDir dir_;
  std::string bus_;
  std::unique_ptr<Background> dbus_, logind_;
};

TEST_F(RootLogind, InhibitorFollowsHolds) {
  ASSERT_TRUE(start_logind());
  Guardd g("inhibit = yes\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  EXPECT_FALSE(guardd_inhibits()) << "nothing vetoes yet";

  ASSERT_EQ(g.ctl({"hold", "--reason", "rack 12 power work"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] {
    auto out = inhibitors().out;
    return out.find("\"shutdown\" \"guardd\"") != std::string::npos &&
           out.find("rack 12 power work") != std::string::npos &&
           out.find("\"block\"") != std::string::npos;
  })) << inhibitors().out
      << g.log();

  ASSERT_EQ(g.ctl({"release", "1"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !guardd_inhibits(); })) << inhibitors().out << g.log();

  // Hold again, then stop guardd: the lock goes with it.
  ASSERT_EQ(g.ctl({"hold", "--reason", "again"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return guardd_inhibits(); }));
  EXPECT_EQ(g.stop(), 0);
  EXPECT_TRUE(wait_until([&] { return !guardd_inhibits(); }));
}

// With the interval far away, what the host says shows up through decisions that
// contradict the lock, and through reloads.
TEST_F(RootLogind, InhibitorFollowsContradictingDecisionsAndReloads) {
  ASSERT_TRUE(start_logind());
  TempDir hooks;
  const std::string flag = hooks / "busy";
  // The hook leaves looked.OPERATION behind once it has looked at the flag.
  const std::string looked = hooks / "looked.";
  write_file(hooks / "flag", "#!/bin/sh\nif [ -e " + flag +
                                 " ]; then r=1; echo busy; else r=0; fi\n: >" + looked +
                                 "$GUARDD_OPERATION\nexit $r\n");
  chmod((hooks / "flag").c_str(), 0755);
  Guardd g("inhibit = yes\ninhibit_interval = 1h\n",
           "[check.flag]\ntype = hook\nexec = " + (hooks / "flag") +
               "\noperations = reboot poweroff reinstall\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  // The inhibitor's first evaluation runs the hook for reboot and for poweroff on its own
  // thread: the flag may only appear once both have looked (the ASan CI run once raised
  // it in between).
  ASSERT_TRUE(wait_until([&] {
    return fs::exists(looked + "reboot") && fs::exists(looked + "poweroff");
  })) << g.log();
  EXPECT_FALSE(guardd_inhibits());

  write_file(flag, "");
  EXPECT_EQ(g.ctl({"check", "reinstall"}).exit_code, 1) << "refused, but not a shutdown";
  EXPECT_FALSE(guardd_inhibits()) << "only reboot and poweroff decisions bear on the lock";
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 1);
  EXPECT_TRUE(wait_until([&] { return inhibitors().out.find("flag: busy") != std::string::npos; }))
      << inhibitors().out << g.log();

  fs::remove(flag);
  EXPECT_EQ(g.ctl({"check", "poweroff"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return !guardd_inhibits(); })) << inhibitors().out << g.log();

  // A reload that adds a hold-like veto (a check that always refuses) takes the lock at once.
  fs::create_directories(g.dir() / "guardd.conf.d");
  write_file(g.dir() / "guardd.conf.d/70-refuse.conf",
             "[check.never]\ntype = hook\nexec = /bin/false\noperations = reboot\n");
  g.signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return guardd_inhibits(); })) << inhibitors().out << g.log();
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
