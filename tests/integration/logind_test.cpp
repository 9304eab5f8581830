// The logind inhibitor against the real systemd-logind on a private D-Bus (no PID 1
// needed). logind runs as root and writes /run/systemd; the suite name says so.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
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
  // logind's Manager methods and ScheduledShutdown, through busctl.
  ProcessResult manager(const std::vector<std::string>& call) const {
    std::vector<std::string> argv = {
        "/usr/bin/busctl",        "--address=" + bus_,       "call",
        "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager"};
    argv.insert(argv.end(), call.begin(), call.end());
    return run_process(argv);
  }
  // Schedules MODE `seconds` from now (no wall messages); returns when, in microseconds.
  int64_t schedule(const std::string& mode, int seconds) {
    EXPECT_EQ(manager({"SetWallMessage", "sb", "", "false"}).exit_code, 0);
    int64_t when = (static_cast<int64_t>(time(nullptr)) + seconds) * 1000000;
    auto r = manager({"ScheduleShutdown", "st", mode, std::to_string(when)});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return when;
  }
  std::string scheduled() const {
    return run_process({"/usr/bin/busctl", "--address=" + bus_, "get-property",
                        "org.freedesktop.login1", "/org/freedesktop/login1",
                        "org.freedesktop.login1.Manager", "ScheduledShutdown"})
        .out;
  }
  bool nothing_scheduled() const { return scheduled().find("\"\"") != std::string::npos; }
  // The recorded decisions about logind's scheduled shutdowns.
  static std::vector<nlohmann::json> schedule_decisions(const Guardd& g) {
    std::vector<nlohmann::json> out;
    auto log = nlohmann::json::parse(g.ctl({"log", "--json"}).out);
    for (const auto& d : log["decisions"])
      if (d["caller"].value("exe", "") == "systemd-logind (scheduled shutdown)") out.push_back(d);
    return out;
  }
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

// logind fires a scheduled shutdown without looking at block inhibitors: guardd decides
// it again and cancels it when it would be refused.
TEST_F(RootLogind, AHoldCancelsAScheduledShutdown) {
  ASSERT_TRUE(start_logind());
  Guardd g("inhibit = yes\ninhibit_interval = 1h\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  schedule("reboot", 3600);
  ASSERT_FALSE(nothing_scheduled()) << scheduled();
  ASSERT_EQ(g.ctl({"hold", "--reason", "kernel rollout paused"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return nothing_scheduled(); })) << scheduled() << g.log();
  auto decisions = schedule_decisions(g);
  ASSERT_EQ(decisions.size(), 1u) << g.log();
  EXPECT_EQ(decisions[0]["operation"], "reboot");
  EXPECT_EQ(decisions[0]["verdict"], "refused");
  EXPECT_NE(decisions[0]["reason"].get<std::string>().find("logind's scheduled reboot at"),
            std::string::npos)
      << decisions[0];
  EXPECT_NE(g.log().find("Cancelled logind's scheduled reboot"), std::string::npos) << g.log();
}

// Scheduled under a hold, with the interval an hour away: logind's schedule file is watched,
// so the shutdown is cancelled at once.
TEST_F(RootLogind, AShutdownScheduledUnderAHoldIsCancelledAtOnce) {
  ASSERT_TRUE(start_logind());
  Guardd g("inhibit = yes\ninhibit_interval = 1h\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  ASSERT_EQ(g.ctl({"hold", "--reason", "db migration"}).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return guardd_inhibits(); })) << g.log();
  schedule("poweroff", 3600);
  EXPECT_TRUE(wait_until([&] { return nothing_scheduled(); })) << scheduled() << g.log();
  auto decisions = schedule_decisions(g);
  ASSERT_EQ(decisions.size(), 1u) << g.log();
  EXPECT_EQ(decisions[0]["verdict"], "refused");
  EXPECT_NE(decisions[0]["reason"].get<std::string>().find("scheduled poweroff"),
            std::string::npos);
  // Gone because guardd cancelled it, not because logind dropped it.
  EXPECT_NE(g.log().find("Cancelled logind's scheduled poweroff"), std::string::npos) << g.log();
}

// A veto that appears while the shutdown waits is met when it is due: the last decision is
// made decision_timeout + 2 s before logind would fire.
TEST_F(RootLogind, AScheduledShutdownIsDecidedAgainWhenDue) {
  ASSERT_TRUE(start_logind());
  TempDir hooks;
  const std::string flag = hooks / "busy", runs = hooks / "runs";
  write_file(hooks / "flag", "#!/bin/sh\necho run >>" + runs + "\nif [ -e " + flag +
                                 " ]; then echo backup running; exit 1; fi\nexit 0\n");
  chmod((hooks / "flag").c_str(), 0755);
  const int64_t when = schedule("poweroff", 10);
  Guardd g(
      "inhibit = yes\ninhibit_interval = 1h\ndecision_timeout = 1s\n",
      "[check.flag]\ntype = hook\nexec = " + (hooks / "flag") + "\noperations = reboot poweroff\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  // The first round looked (reboot and poweroff for the inhibitor, poweroff for the
  // schedule) and found nothing against it; the veto appears after that.
  ASSERT_TRUE(wait_until([&] {
    const std::string seen = read_file(runs);
    return std::count(seen.begin(), seen.end(), '\n') >= 3;
  })) << g.log();
  EXPECT_TRUE(schedule_decisions(g).empty()) << "nothing recorded before it is due";
  write_file(flag, "");
  EXPECT_TRUE(wait_until([&] { return nothing_scheduled(); }, 15000ms)) << scheduled() << g.log();
  auto decisions = schedule_decisions(g);
  ASSERT_EQ(decisions.size(), 1u) << g.log();
  EXPECT_EQ(decisions[0]["operation"], "poweroff");
  EXPECT_EQ(decisions[0]["verdict"], "refused");
  const int64_t at = decisions[0]["time_us"];
  EXPECT_GE(at, when - 3'500'000) << "decided at the due time, not before";
  EXPECT_LT(at, when) << "decided before logind would fire";
  EXPECT_NE(g.log().find("Cancelled logind's scheduled poweroff"), std::string::npos) << g.log();
}

TEST_F(RootLogind, AnAllowedScheduledShutdownIsRecordedWhenDue) {
  ASSERT_TRUE(start_logind());
  const int64_t when = schedule("reboot", 5);
  Guardd g("inhibit = yes\ninhibit_interval = 1h\ndecision_timeout = 1s\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  ASSERT_TRUE(wait_until([&] { return !schedule_decisions(g).empty(); }, 10000ms)) << g.log();
  auto decisions = schedule_decisions(g);
  EXPECT_EQ(decisions[0]["verdict"], "allowed");
  const int64_t at = decisions[0]["time_us"];
  EXPECT_GE(at, when - 3'500'000);
  EXPECT_LT(at, when);
  EXPECT_FALSE(nothing_scheduled()) << "an allowed shutdown stays scheduled";
  // A hold placed in the seconds left still cancels it.
  ASSERT_EQ(g.ctl({"hold", "--reason", "stop"}).exit_code, 0);
  EXPECT_TRUE(wait_until([&] { return nothing_scheduled(); }, 2500ms)) << scheduled() << g.log();
  decisions = schedule_decisions(g);
  ASSERT_EQ(decisions.size(), 2u) << g.log();
  EXPECT_EQ(decisions[1]["verdict"], "refused");
  EXPECT_LT(decisions[1]["time_us"].get<int64_t>(), when);
  EXPECT_NE(g.log().find("Cancelled logind's scheduled reboot"), std::string::npos) << g.log();
  manager({"CancelScheduledShutdown"});
}

// The shim lets a shutdown for later through only where logind will hold it (and guardd
// can decide it again); here the "real" shutdown is a stand-in.
TEST_F(RootLogind, ShimSchedulesOnlyWhereLogindIsReachable) {
  ASSERT_TRUE(start_logind());
  Guardd g("inhibit = yes\n");
  ASSERT_TRUE(g.start(bus_env())) << g.log();
  TempDir tools;
  fs::create_symlink(GUARDD_SHIM_BINARY, tools / "shutdown");
  write_file(tools / "shutdown.guardd-real", "#!/bin/sh\necho \"$*\" >>" + (tools / "ran") + "\n");
  chmod((tools / "shutdown.guardd-real").c_str(), 0755);
  auto later = run_with_default_socket(&g, {tools / "shutdown", "-r", "+10"}, bus_env());
  EXPECT_EQ(later.exit_code, 0) << later.err;
  EXPECT_EQ(read_file(tools / "ran"), "-r +10\n");
  auto without = run_with_default_socket(&g, {tools / "shutdown", "-r", "+10"},
                                         {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent"}});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.err.find("needs logind"), std::string::npos) << without.err;
  auto now = run_with_default_socket(&g, {tools / "shutdown", "-r", "now"},
                                     {{"DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent"}});
  EXPECT_EQ(now.exit_code, 0) << "an immediate shutdown does not need logind: " << now.err;
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
