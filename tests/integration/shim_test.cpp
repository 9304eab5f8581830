// The reboot/wipe shims through the real guardd. The shim only ever talks to
// /run/guardd/guardd.sock, so each run happens in a private mount namespace where the
// test's guardd socket is bind-mounted there; the "real" tools are stand-in scripts.
// Needs root (CI runs as root); the suite name says so.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/harness.h"

namespace guardd::test {
namespace {

class RootShim : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root for a private mount namespace";
    g_ = std::make_unique<Guardd>();
    ASSERT_TRUE(g_->start()) << g_->log();
    for (const char* tool : {"reboot", "poweroff", "halt", "shutdown", "wipefs"}) {
      std::filesystem::create_symlink(GUARDD_SHIM_BINARY, tools_ / tool);
      write_file(
          tools_ / (std::string(tool) + ".guardd-real"),
          "#!/bin/sh\necho \"$(basename \"$0\") $* ${POSIXLY_CORRECT:+POSIXLY_CORRECT}\" >> " +
              marker() + "\n");
      chmod((tools_ / (std::string(tool) + ".guardd-real")).c_str(), 0755);
    }
  }
  std::string marker() { return tools_ / "ran"; }
  // Runs a shimmed tool with guardd's socket (or none) at /run/guardd/guardd.sock.
  ProcessResult run(const std::vector<std::string>& cmd, bool daemon_reachable = true) {
    return run_with_default_socket(daemon_reachable ? g_.get() : nullptr, cmd);
  }
  std::unique_ptr<Guardd> g_;
  TempDir tools_;
};

TEST_F(RootShim, AllowedRunsTheRealToolWithItsArguments) {
  auto r = run({tools_ / "reboot", "-f"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(marker()).find("reboot.guardd-real -f"), std::string::npos)
      << read_file(marker());
  auto log = nlohmann::json::parse(g_->ctl({"log", "--json"}).out);
  ASSERT_EQ(log["decisions"].size(), 1u);
  EXPECT_EQ(log["decisions"][0]["operation"], "reboot");
  EXPECT_NE(log["decisions"][0]["caller"]["cmdline"].get<std::string>().find("reboot -f"),
            std::string::npos);
}

TEST_F(RootShim, RefusedPrintsVetoesAndDoesNotRun) {
  ASSERT_EQ(g_->ctl({"hold", "--reason", "db migration"}).exit_code, 0);
  auto r = run({tools_ / "shutdown", "-r", "now"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("guardd refused reboot"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("hold: veto: hold 1"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker()));
  // Cancelling a shutdown passes straight through.
  EXPECT_EQ(run({tools_ / "shutdown", "-c"}).exit_code, 0);
  EXPECT_NE(read_file(marker()).find("shutdown.guardd-real -c"), std::string::npos);
}

// The forms that rebooted unasked under a hold before the shim read options as systemd
// does; each must now be asked about (and refused by the hold) or be refused as unreadable.
TEST_F(RootShim, UnderAHoldNoRebootFormRunsUnasked) {
  ASSERT_EQ(g_->ctl({"hold", "--reason", "db migration"}).exit_code, 0);
  const std::vector<std::vector<std::string>> forms = {
      {"reboot", "--", "--help"},
      {"reboot", "--help", "-f"},
      {"reboot", "--fo"},
      {"reboot", "-p"},
      {"shutdown", "-c", "-r", "now"},
      {"shutdown", "-r", "now", "--", "-c"},
      {"shutdown", "-r", "-tk", "now"},
      {"shutdown", "-r", "+10"},
      {"shutdown", "--reb", "now"},
      {"shutdown", "-K", "now"},
      {"poweroff", "--reboot"},
      {"halt", "--reboot"},
      {"reboot", "--halt"},
      {"shutdown", "--cancel"},
      {"reboot", "--no-w"},
      {"reboot", "--bogus"},
  };
  for (const auto& form : forms) {
    std::vector<std::string> cmd = form;
    cmd[0] = tools_ / form[0];
    auto r = run_with_default_socket(g_.get(), cmd, {{"POSIXLY_CORRECT", "1"}});
    EXPECT_TRUE(r.exit_code == 1 || r.exit_code == 2) << form[0] << " " << r.exit_code << r.err;
    EXPECT_FALSE(std::filesystem::exists(marker())) << form[0] << ": " << read_file(marker());
  }
  // Asked as what they do: the last action wins, whatever the tool's name.
  auto log = nlohmann::json::parse(g_->ctl({"log", "--json", "--limit", "100"}).out);
  std::map<std::string, std::string> asked;  // caller's command line -> operation
  for (const auto& d : log["decisions"]) {
    std::string cmdline = d["caller"]["cmdline"];
    asked[cmdline.substr(cmdline.rfind('/') + 1)] = d["operation"];
  }
  EXPECT_EQ(asked["poweroff --reboot"], "reboot");
  EXPECT_EQ(asked["halt --reboot"], "reboot");
  EXPECT_EQ(asked["reboot --halt"], "poweroff");
  EXPECT_EQ(asked["shutdown -K now"], "reboot");
  EXPECT_EQ(asked.count("shutdown --cancel"), 0u) << "refused by the shim, not asked";

  // Forms proven harmless run without asking, with POSIXLY_CORRECT removed so the tool
  // permutes its arguments as the shim read them.
  for (const auto& form : std::vector<std::vector<std::string>>{{"reboot", "--help"},
                                                                {"shutdown", "-c"},
                                                                {"shutdown", "-k", "now"},
                                                                {"shutdown", "--show"},
                                                                {"reboot", "-w"}}) {
    std::vector<std::string> cmd = form;
    cmd[0] = tools_ / form[0];
    auto r = run_with_default_socket(g_.get(), cmd, {{"POSIXLY_CORRECT", "1"}});
    EXPECT_EQ(r.exit_code, 0) << form[0] << r.err;
  }
  std::string ran = read_file(marker());
  EXPECT_NE(ran.find("reboot.guardd-real --help"), std::string::npos) << ran;
  EXPECT_NE(ran.find("shutdown.guardd-real -k now"), std::string::npos) << ran;
  EXPECT_EQ(ran.find("POSIXLY_CORRECT"), std::string::npos) << ran;
}

TEST_F(RootShim, OnlyBypassIsARecordedForceByRoot) {
  ASSERT_EQ(g_->ctl({"hold", "--reason", "db migration"}).exit_code, 0);
  auto r = run({tools_ / "reboot", "--guardd-force", "--guardd-reason", "kernel panic loop"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(read_file(marker()).find("reboot"), std::string::npos);
  EXPECT_EQ(read_file(marker()).find("--guardd"), std::string::npos)
      << "guardd's options are not passed on";
  auto log = nlohmann::json::parse(g_->ctl({"log", "--verdict", "forced", "--json"}).out);
  ASSERT_EQ(log["decisions"].size(), 1u);
  EXPECT_EQ(log["decisions"][0]["reason"], "kernel panic loop");
}

TEST_F(RootShim, NoDaemonMeansNo) {
  auto r = run({tools_ / "reboot"}, /*daemon_reachable=*/false);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("guardd is unavailable"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(marker()));
  // Read-only forms do not need guardd.
  EXPECT_EQ(run({tools_ / "wipefs", "/dev/null"}, false).exit_code, 0);
}

TEST_F(RootShim, WipeAsksAboutEachTarget) {
  auto bad = run({tools_ / "wipefs", "-a", "/dev/null"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("not a block device"), std::string::npos) << bad.err;
  EXPECT_FALSE(std::filesystem::exists(marker()));
  auto none = run({tools_ / "wipefs", "-a"});
  EXPECT_NE(none.exit_code, 0) << "no target is never 'everything'";
}

}  // namespace
}  // namespace guardd::test
