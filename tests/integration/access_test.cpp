// Access control with real unprivileged callers: these tests fork and setuid, so they
// need root (CI runs as root); the suite names say so.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;  // the test config's client_group

#define REQUIRE_ROOT() \
  if (!is_root()) GTEST_SKIP() << "needs root to run callers under other uids"

TEST(RootAccess, ClientGroupMayCheckButNotHoldOrForce) {
  REQUIRE_ROOT();
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RunAs nobody{kNobody, kNogroup};
  auto check = g.ctl({"check", "reboot", "--json"}, nobody);
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(json::parse(check.out)["decision"]["caller"]["uid"], kNobody);
  EXPECT_EQ(g.ctl({"log"}, nobody).exit_code, 0);
  EXPECT_EQ(g.ctl({"status"}, nobody).exit_code, 0);

  auto hold = g.ctl({"hold", "--reason", "sneaky"}, nobody);
  EXPECT_EQ(hold.exit_code, 1);
  EXPECT_NE(hold.err.find("permission denied"), std::string::npos) << hold.err;
  auto force = g.ctl({"check", "reboot", "--force", "--reason", "sneaky"}, nobody);
  EXPECT_EQ(force.exit_code, 1);
  EXPECT_NE(force.err.find("force needs root"), std::string::npos) << force.err;
  EXPECT_EQ(g.ctl({"release", "1"}, nobody).exit_code, 1);

  auto status = json::parse(g.ctl({"status", "--json"}).out);
  EXPECT_TRUE(status["holds"].empty()) << "the denied hold was not placed";

  auto denied = json::parse(g.ctl({"log", "--verdict", "denied", "--json"}).out)["decisions"];
  ASSERT_EQ(denied.size(), 3u) << "every denial is recorded";
  EXPECT_EQ(denied[0]["operation"], "PlaceHold");
  EXPECT_EQ(denied[0]["caller"]["uid"], kNobody);
  EXPECT_EQ(denied[1]["operation"], "reboot");
  EXPECT_EQ(denied[1]["reason"], "sneaky");
  EXPECT_EQ(denied[2]["operation"], "ReleaseHold");
}

TEST(RootAccess, AdminGroupMayHold) {
  REQUIRE_ROOT();
  Guardd g("admin_group = nogroup\n");
  ASSERT_TRUE(g.start()) << g.log();
  RunAs nobody{kNobody, kNogroup};
  auto hold = g.ctl({"hold", "--reason", "admin hold"}, nobody);
  EXPECT_EQ(hold.exit_code, 0) << hold.err;
  EXPECT_EQ(g.ctl({"check", "reboot", "--force", "--reason", "ok"}, nobody).exit_code, 0);
}

TEST(RootAccess, OutsidersCannotEvenConnect) {
  REQUIRE_ROOT();
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  // uid/gid 65533 is in no group; the socket is 0660 root:nogroup.
  auto r = g.ctl({"check", "reboot"}, RunAs{65533, 65533});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

TEST(RootAccess, ClientWithoutGroupIsDeniedByTheDaemon) {
  REQUIRE_ROOT();
  // Relax the socket's mode by hand so an outsider reaches the daemon's own check.
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(chmod(g.socket().c_str(), 0666), 0);
  auto r = g.ctl({"check", "reboot"}, RunAs{65533, 65533});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Check needs root or a member of client_group"), std::string::npos) << r.err;
}

TEST(RootAccess, PerUidConnectionCap) {
  REQUIRE_ROOT();
  Guardd g("max_connections_per_uid = 3\n");
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(chmod(g.socket().c_str(), 0666), 0);
  // Open connections as nobody from a child process, then try one more.
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  if (child == 0) {
    if (setgid(kNogroup) != 0 || setuid(kNobody) != 0) _exit(9);
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawClient>(g.socket()));
    // Make sure all three are accepted before the fourth.
    for (auto& c : held) {
      c->call("org.varlink.service.GetInfo");
      if (!c->reply()) _exit(10);
    }
    RawClient extra(g.socket());
    auto r = extra.reply(5000ms);
    char verdict = (r && (*r)["parameters"]["reason"].get<std::string>().find(
                             "too many connections for uid") != std::string::npos)
                       ? 'y'
                       : 'n';
    (void)!write(ready[1], &verdict, 1);
    char x;
    (void)!read(release[0], &x, 1);
    _exit(0);
  }
  char verdict = 0;
  ASSERT_EQ(read(ready[0], &verdict, 1), 1);
  EXPECT_EQ(verdict, 'y') << "the fourth connection of one uid was refused with a reason";
  {
    auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
    EXPECT_EQ(r["parameters"]["allowed"], true) << "root is not limited by nobody's cap";
  }
  (void)!write(release[1], "x", 1);
  int st;
  waitpid(child, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

}  // namespace
}  // namespace guardd::test
