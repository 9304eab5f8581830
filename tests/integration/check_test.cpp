// Check, holds, log and guardctl's exit codes through the real guardd and guardctl.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;

json parse_json(const ProcessResult& r) {
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(Check, AllowedWhenNothingObjects) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  auto r = g.ctl({"check", "reboot"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reboot: allowed (decision 1)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hold"), std::string::npos) << "one line per check";
  auto j = parse_json(g.ctl({"check", "reboot", "--json"}));
  EXPECT_EQ(j["allowed"], true);
  EXPECT_EQ(j["decision"]["verdict"], "allowed");
  EXPECT_EQ(j["decision"]["id"], 2);
  EXPECT_EQ(j["decision"]["caller"]["uid"], getuid());
  EXPECT_NE(j["decision"]["caller"]["exe"].get<std::string>().find("guardctl"), std::string::npos);
  EXPECT_TRUE(j["decision"]["caller"]["cmdline"].is_string());
  EXPECT_EQ(j["decision"]["checks"][0]["name"], "hold");
  EXPECT_EQ(j["decision"]["checks"][0]["outcome"], "pass");
}

TEST(Check, HoldRefusesWithReasonAndReleaseAllows) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  auto placed = parse_json(g.ctl({"hold", "--reason", "kernel upgrade window", "--json"}));
  int64_t id = placed["hold"]["id"];
  auto r = g.ctl({"check", "reboot"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("reboot: refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kernel upgrade window"), std::string::npos) << r.out;
  EXPECT_EQ(g.ctl({"check", "wipe", "--target", "/dev/null"}).exit_code, 2)
      << "invalid target is invalid, held or not";
  EXPECT_EQ(g.ctl({"release", std::to_string(id)}).exit_code, 0);
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 0);
  auto again = g.ctl({"release", std::to_string(id)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("no active hold with id"), std::string::npos) << again.err;
}

TEST(Check, HoldForSomeOperationsOnly) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(
      g.ctl({"hold", "--reason", "r", "--operation", "reinstall", "--operation", "decommission"})
          .exit_code,
      0);
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 0);
  EXPECT_EQ(g.ctl({"check", "reinstall"}).exit_code, 1);
  EXPECT_EQ(g.ctl({"check", "decommission"}).exit_code, 1);
  auto bad = g.ctl({"hold", "--reason", "r", "--operation", "frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("unknown operation 'frobnicate'"), std::string::npos) << bad.err;
}

TEST(Check, HoldSurvivesRestart) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(g.ctl({"hold", "--reason", "survives"}).exit_code, 0);
  ASSERT_EQ(g.stop(), 0) << g.log();
  ASSERT_TRUE(g.start()) << g.log();
  auto r = g.ctl({"check", "poweroff"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("survives"), std::string::npos) << r.out;
  auto status = parse_json(g.ctl({"status", "--json"}));
  ASSERT_EQ(status["holds"].size(), 1u);
  EXPECT_EQ(status["holds"][0]["reason"], "survives");
  ASSERT_EQ(g.ctl({"release", std::to_string(status["holds"][0]["id"].get<int>())}).exit_code, 0);
  EXPECT_EQ(g.ctl({"check", "poweroff"}).exit_code, 0);
  auto log = parse_json(g.ctl({"log", "--json"}));
  EXPECT_EQ(log["decisions"].size(), 2u) << "decisions survive the restart as well";
}

// Any local user can run a copy of a program under a protected name: a process counts
// only when its executable is root's. An impostor is named, and does not veto. Making a
// file another user owns needs root.
TEST(RootCheck, ProcessCheckIgnoresAnImpostorAndNamesIt) {
  if (!is_root()) GTEST_SKIP() << "needs root to make a file another user owns";
  Guardd g("", "[check.critical]\ntype = process\nnames = gdtest-crit\n");
  ASSERT_TRUE(g.start()) << g.log();
  TempDir dir;
  chmod(dir.path().c_str(), 0755);
  NamedProcess impostor(dir, "gdtest-crit", kNobody);
  auto r = g.ctl({"check", "reinstall", "--json"});
  const pid_t pid = impostor.pid();
  const std::string path = dir / "gdtest-crit";
  impostor.stop();
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto critical = parse_json(r)["decision"]["checks"][1];
  EXPECT_EQ(critical["outcome"], "pass") << critical;
  EXPECT_NE(critical["reason"].get<std::string>().find(
                "ignored, not root's executables: gdtest-crit (pid " + std::to_string(pid) + ", " +
                path + ")"),
            std::string::npos)
      << critical;
}

TEST(Check, ProcessCheckVetoesWhileNamedProcessRuns) {
  Guardd g("", "[check.critical]\ntype = process\nnames = gdtest-crit\n");
  ASSERT_TRUE(g.start()) << g.log();
  NamedProcess p(g.dir(), "gdtest-crit");
  auto r = g.ctl({"check", "reinstall", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  auto j = parse_json(r);
  auto checks = j["decision"]["checks"];
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[1]["name"], "critical");
  EXPECT_EQ(checks[1]["outcome"], "veto");
  EXPECT_NE(
      checks[1]["reason"].get<std::string>().find("gdtest-crit (pid " + std::to_string(p.pid())),
      std::string::npos)
      << checks[1];
  EXPECT_EQ(checks[1]["facts"]["processes"][0]["pid"], p.pid());
  EXPECT_EQ(g.ctl({"check", "reboot"}).exit_code, 0)
      << "process checks guard reinstall, not reboot";
  p.stop();
  EXPECT_EQ(g.ctl({"check", "reinstall"}).exit_code, 0);
}

TEST(Check, ForceAndDryRun) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(g.ctl({"hold", "--reason", "busy"}).exit_code, 0);
  auto dry = g.ctl({"check", "reboot", "--dry-run", "--json"});
  EXPECT_EQ(dry.exit_code, 1) << "a dry run exits as the verdict would";
  EXPECT_EQ(parse_json(dry)["decision"]["dry_run"], true);
  auto forced = g.ctl({"check", "reboot", "--force", "--reason", "datacenter fire", "--json"});
  EXPECT_EQ(forced.exit_code, 0);
  auto j = parse_json(forced);
  EXPECT_EQ(j["decision"]["verdict"], "forced");
  EXPECT_EQ(j["decision"]["checks"][0]["outcome"], "veto") << "vetoes are still recorded";
  auto no_reason = g.ctl({"check", "reboot", "--force"});
  EXPECT_EQ(no_reason.exit_code, 2) << "guardctl refuses --force without --reason";
  // The raw protocol enforces it too.
  auto reply =
      varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}, {"force", true}});
  EXPECT_EQ(reply["error"], "io.guardd.Guard.InvalidRequest");
  EXPECT_NE(reply["parameters"]["reason"].get<std::string>().find("non-empty reason"),
            std::string::npos);
}

TEST(Check, ForceCanBeDisabled) {
  Guardd g("allow_force = no\n");
  ASSERT_TRUE(g.start()) << g.log();
  auto r = g.ctl({"check", "reboot", "--force", "--reason", "x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("allow_force = no"), std::string::npos) << r.err;
}

TEST(Check, InvalidRequestsAreRejectedAndRecorded) {
  Guardd g("extra_operations = reimage\n");
  ASSERT_TRUE(g.start()) << g.log();
  EXPECT_EQ(g.ctl({"check", "reimage"}).exit_code, 0) << "a site operation from config";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"check", "frobnicate"}, "unknown operation 'frobnicate'"},
      {{"check", "wipe"}, "wipe needs a target"},
      {{"check", "wipe", "--target", ""}, "wipe needs a target"},
      {{"check", "wipe", "--target", "sda"}, "not an absolute path"},
      {{"check", "wipe", "--target", "/dev/sd*"}, "wildcard"},
      {{"check", "wipe", "--target", "/dev/null"}, "not a block device"},
      {{"check", "wipe", "--target", "/nonexistent-guardd"}, "No such file"},
  };
  for (const auto& c : cases) {
    auto r = g.ctl(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.message;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  auto log = parse_json(g.ctl({"log", "--verdict", "invalid", "--json"}));
  EXPECT_EQ(log["decisions"].size(), std::size(cases)) << "every rejection is in the audit log";
  EXPECT_EQ(log["decisions"][0]["operation"], "frobnicate");
  EXPECT_NE(log["decisions"][0]["error"].get<std::string>().find("unknown operation"),
            std::string::npos);
}

TEST(Check, UnavailableDaemonMeansExit3) {
  TempDir dir;
  auto r = run_process({guardctl_binary(), "--socket", dir / "absent.sock", "check", "reboot"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("treat as refused"), std::string::npos) << r.err;
  auto run = run_process({guardctl_binary(), "--socket", dir / "absent.sock", "run", "reboot", "--",
                          "/bin/touch", dir / "ran"});
  EXPECT_EQ(run.exit_code, 121);
  EXPECT_FALSE(std::filesystem::exists(dir / "ran"));
}

TEST(Check, RunExecutesOnlyWhenAllowed) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  std::string marker = g.dir() / "ran";
  auto ok = g.ctl(
      {"run", "reboot", "--reason", "test", "--", "/bin/sh", "-c", "touch " + marker + "; exit 7"});
  EXPECT_EQ(ok.exit_code, 7) << "COMMAND's own status" << ok.err;
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::filesystem::remove(marker);
  ASSERT_EQ(g.ctl({"hold", "--reason", "no"}).exit_code, 0);
  auto refused = g.ctl({"run", "reboot", "--", "/bin/touch", marker});
  EXPECT_EQ(refused.exit_code, 120);
  EXPECT_NE(refused.err.find("reboot: refused"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(g.ctl({"run", "frobnicate", "--", "/bin/true"}).exit_code, 122);
  EXPECT_EQ(g.ctl({"run", "reboot"}).exit_code, 122) << "no COMMAND";
  ASSERT_EQ(g.ctl({"release", "1"}).exit_code, 0);
  EXPECT_EQ(g.ctl({"run", "reboot", "--", "/nonexistent/cmd"}).exit_code, 127);
}

TEST(Check, LogFilters) {
  Guardd g("extra_operations = reimage\n");
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(g.ctl({"check", "reboot"}).exit_code, 0);
  ASSERT_EQ(g.ctl({"hold", "--reason", "x"}).exit_code, 0);
  ASSERT_EQ(g.ctl({"check", "reboot"}).exit_code, 1);
  ASSERT_EQ(g.ctl({"check", "poweroff"}).exit_code, 1);
  ASSERT_EQ(g.ctl({"check", "reimage"}).exit_code, 1);

  auto count = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "log");
    args.push_back("--json");
    auto r = g.ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return parse_json(r)["decisions"].size();
  };
  EXPECT_EQ(count({}), 4u);
  EXPECT_EQ(count({"--operation", "reboot"}), 2u);
  EXPECT_EQ(count({"--verdict", "refused"}), 3u);
  EXPECT_EQ(count({"--verdict", "refused", "--operation", "reboot"}), 1u);
  EXPECT_EQ(count({"--limit", "2"}), 2u);
  EXPECT_EQ(count({"--since", "1h"}), 4u);
  EXPECT_EQ(count({"--since", "2000-01-01"}), 4u);
  EXPECT_EQ(count({"--until", "2000-01-01T00:00:00Z"}), 0u);
  EXPECT_EQ(count({"--since", "now", "--until", "1d"}), 0u);

  auto human = g.ctl({"log", "--verdict", "refused"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("reimage"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("hold: hold 1"), std::string::npos) << human.out;
  EXPECT_EQ(g.ctl({"log", "--verdict", "maybe"}).exit_code, 2);
  EXPECT_EQ(g.ctl({"log", "--since", "soon"}).exit_code, 2);
  EXPECT_EQ(g.ctl({"log", "--limit", "0"}).exit_code, 2);
}

TEST(Check, StatusShowsChecksHoldsAndAudit) {
  Guardd g("", "[check.critical]\ntype = process\nnames = nothing-like-this\n");
  ASSERT_TRUE(g.start()) << g.log();
  auto s = parse_json(g.ctl({"status", "--json"}));
  EXPECT_EQ(s["version"], "0.1.0");
  EXPECT_EQ(s["checks"].size(), 2u);
  EXPECT_EQ(s["checks"][1]["type"], "process");
  EXPECT_EQ(s["audit"]["healthy"], true);
  EXPECT_EQ(s["audit"]["schema_version"], 3);
  auto human = g.ctl({"status"});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("holds: none"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("critical"), std::string::npos) << human.out;
}

TEST(Check, GuardctlUsageErrors) {
  auto r = run_process({guardctl_binary()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(run_process({guardctl_binary(), "frob"}).exit_code, 2);
  EXPECT_EQ(run_process({guardctl_binary(), "check"}).exit_code, 2);
  EXPECT_EQ(run_process({guardctl_binary(), "status", "--force"}).exit_code, 2);
  EXPECT_EQ(run_process({guardctl_binary(), "hold"}).exit_code, 2) << "hold needs a reason";
  EXPECT_EQ(run_process({guardctl_binary(), "release", "abc"}).exit_code, 2);
  EXPECT_EQ(run_process({guardctl_binary(), "--timeout", "forever", "status"}).exit_code, 2);
  auto help = run_process({guardctl_binary(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Exit status"), std::string::npos);
}

TEST(Check, SocketFromEnvironment) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  auto r = run_process({guardctl_binary(), "check", "reboot"}, {{"GUARDD_SOCKET", g.socket()}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace guardd::test
