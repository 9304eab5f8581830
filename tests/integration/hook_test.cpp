// Site hooks through the real guardd: real scripts and Debian's monitoring plugins.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;

// Writes an executable script (root-owned when run as root, mode 0755) into `dir`.
std::string script(TempDir& dir, const std::string& name, const std::string& body) {
  std::string path = dir / name;
  write_file(path, "#!/bin/sh\n" + body + "\n");
  chmod(path.c_str(), 0755);
  return path;
}

std::string hook_section(const std::string& name, const std::string& exec,
                         const std::string& extra = "") {
  return "[check." + name + "]\ntype = hook\nexec = " + exec + "\n" + extra + "\n";
}

json ask(Guardd& g, const std::vector<std::string>& args, int* exit_code = nullptr) {
  std::vector<std::string> a = {"check"};
  a.insert(a.end(), args.begin(), args.end());
  a.push_back("--json");
  auto r = g.ctl(a);
  if (exit_code) *exit_code = r.exit_code;
  return json::parse(r.out, nullptr, false);
}

json check_named(const json& reply, const std::string& name) {
  for (const auto& c : reply["decision"]["checks"])
    if (c["name"] == name) return c;
  return nullptr;
}

TEST(Hook, GuarddProtocolOutcomes) {
  TempDir hooks;
  std::string sections =
      hook_section("pass", script(hooks, "pass", "echo all quiet; exit 0"), "operations = reboot") +
      hook_section("veto",
                   script(hooks, "veto", "echo backup running since 02:00; echo more; exit 1"),
                   "operations = poweroff") +
      hook_section("err", script(hooks, "err", "echo broken >&2; exit 3"),
                   "operations = reinstall") +
      hook_section("silent", script(hooks, "silent", "exit 1"), "operations = decommission");
  Guardd g("", sections);
  ASSERT_TRUE(g.start()) << g.log();
  int code = -1;
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << r;
  EXPECT_EQ(check_named(r, "pass")["reason"], "all quiet");
  r = ask(g, {"poweroff"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(check_named(r, "veto")["outcome"], "veto");
  EXPECT_EQ(check_named(r, "veto")["reason"], "backup running since 02:00") << "first line only";
  r = ask(g, {"reinstall"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_EQ(check_named(r, "err")["outcome"], "error");
  EXPECT_EQ(check_named(r, "err")["reason"], "hook exited with status 3: broken");
  r = ask(g, {"decommission"}, &code);
  EXPECT_EQ(check_named(r, "silent")["outcome"], "veto");
  EXPECT_EQ(check_named(r, "silent")["reason"], "hook vetoed without giving a reason");
}

TEST(Hook, EnvironmentAndStdin) {
  TempDir hooks;
  std::string out = hooks / "seen";
  std::string exec =
      script(hooks, "env", "env | sort > " + out + "; cat > " + out + ".stdin; exit 0");
  Guardd g("", hook_section("env", exec));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  ask(g, {"reboot", "--reason", "patching", "--dry-run"}, &code);
  EXPECT_EQ(code, 0);
  std::string env = read_file(out);
  EXPECT_NE(env.find("GUARDD_OPERATION=reboot\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GUARDD_REASON=patching\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GUARDD_CALLER_UID=" + std::to_string(getuid()) + "\n"), std::string::npos);
  EXPECT_NE(env.find("GUARDD_DECISION_DRY_RUN=1\n"), std::string::npos) << env;
  EXPECT_NE(env.find("GUARDD_TARGET=\n"), std::string::npos) << env;
  EXPECT_EQ(env.find("GUARDD_SOCKET"), std::string::npos) << "nothing of guardd's own environment";
  auto request = json::parse(read_file(out + ".stdin"), nullptr, false);
  EXPECT_EQ(request["operation"], "reboot");
  EXPECT_EQ(request["reason"], "patching");
  EXPECT_EQ(request["dry_run"], true);
}

TEST(Hook, HugeOutputIsTruncatedAndIgnoringStdinIsFine) {
  TempDir hooks;
  // 1 MiB on stdout, never reading stdin.
  std::string exec = script(hooks, "flood", "head -c 1048576 /dev/zero | tr '\\\\0' x; exit 0");
  Guardd g("", hook_section("flood", exec, "timeout = 5s"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto start = Clock::now();
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << r;
  EXPECT_LT(Clock::now() - start, 3000ms);
  EXPECT_EQ(check_named(r, "flood")["facts"]["truncated"], true);
}

TEST(Hook, HangingHookIsKilledAtTheTimeout) {
  TempDir hooks;
  // A duration no other process on the machine sleeps, so pgrep finds only this hook.
  const std::string duration = "100." + std::to_string(getpid());
  std::string exec = script(hooks, "hang", "exec sleep " + duration);
  Guardd g("", hook_section("hang", exec, "timeout = 500ms"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto start = Clock::now();
  auto r = ask(g, {"reboot"}, &code);
  auto took = Clock::now() - start;
  EXPECT_EQ(code, 1);
  EXPECT_EQ(check_named(r, "hang")["outcome"], "error");
  EXPECT_GE(took, 500ms) << "answered before the hook's timeout";
  EXPECT_LT(took, 2000ms) << "not killed at its timeout (the hook sleeps 100 s)";
  // The hook itself is gone too.
  EXPECT_TRUE(wait_until([&] {
    return run_process({"/usr/bin/pgrep", "-f", "^sleep " + duration + "$"}).exit_code == 1;
  }));
}

TEST(Hook, BackgroundChildDoesNotHoldTheDecisionAndIsKilled) {
  TempDir hooks;
  std::string exec = script(hooks, "forker", "sleep 101 & echo forked; exit 0");
  Guardd g("", hook_section("forker", exec, "timeout = 5s"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto start = Clock::now();
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << r;
  EXPECT_LT(Clock::now() - start, 3000ms) << "waited for the background child (timeout 5s)";
  EXPECT_EQ(check_named(r, "forker")["reason"], "forked");
  EXPECT_TRUE(wait_until([&] {
    return run_process({"/usr/bin/pgrep", "-f", "^sleep 101$"}).exit_code == 1;
  })) << "the background child was left running";
}

// A child that leaves the hook's process group (setsid) is not killed with the group; it
// is orphaned when the hook exits and comes back to guardd (the child subreaper), which
// kills it once its decision is over. Failed before: the child ran on under init.
TEST(Hook, AChildThatLeftTheProcessGroupIsKilledToo) {
  TempDir hooks;
  const std::string duration = "102." + std::to_string(getpid());
  const std::string escaped = hooks / "escaped.pid";
  // The hook exits only once its child has left the group (setsid runs the shell that
  // writes the file), so the group's kill cannot win a race against the escape.
  std::string exec = script(hooks, "escaper",
                            "setsid sh -c 'echo $$ > " + escaped + "; exec sleep " + duration +
                                "' &\nwhile [ ! -s " + escaped +
                                " ]; do :; done\n"
                                "echo escaped; exit 0");
  Guardd g("", hook_section("escaper", exec, "timeout = 5s"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << r;
  EXPECT_EQ(check_named(r, "escaper")["reason"], "escaped");
  const std::string child = read_file(escaped);
  ASSERT_FALSE(child.empty()) << "the child never ran";
  EXPECT_TRUE(wait_until([&] {
    return run_process({"/usr/bin/pgrep", "-f", "^sleep " + duration + "$"}).exit_code == 1;
  })) << "the child that left the hook's process group (pid "
      << child << ") was left running";
}

TEST(Hook, UnsafeProgramsAreErrors) {
  TempDir hooks;
  std::string writable = script(hooks, "writable", "exit 0");
  chmod(writable.c_str(), 0775);
  std::string relative_dir = hooks / "open";
  std::filesystem::create_directories(relative_dir);
  chmod(relative_dir.c_str(), 0777);
  std::string in_open_dir = relative_dir + "/hook";
  write_file(in_open_dir, "#!/bin/sh\nexit 0\n");
  chmod(in_open_dir.c_str(), 0755);
  Guardd g("", hook_section("writable", writable, "operations = reboot") +
                   hook_section("opendir", in_open_dir, "operations = poweroff") +
                   hook_section("missing", hooks / "nope", "operations = reinstall"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(
      check_named(r, "writable")["reason"].get<std::string>().find("group- or world-writable"),
      std::string::npos)
      << r;
  r = ask(g, {"poweroff"}, &code);
  EXPECT_NE(check_named(r, "opendir")["reason"].get<std::string>().find("hook directory"),
            std::string::npos)
      << r;
  r = ask(g, {"reinstall"}, &code);
  EXPECT_EQ(check_named(r, "missing")["outcome"], "error");
}

// Every component on the way to the program counts, not only the file and its folder: a
// folder anyone may write to, anywhere above, lets them swap what root runs. Symlinks are
// followed only when they are root's, in folders only root changes, and the file executed
// is the one checked (held open and run by descriptor).
TEST(RootHook, EveryPathComponentIsChecked) {
  if (!is_root()) GTEST_SKIP() << "needs root to own hooks";
  namespace fs = std::filesystem;
  TempDir base;
  // base/open (0777, not sticky)/safe (root, 0755)/hook: the file and its folder look fine.
  fs::create_directories(base / "open/safe");
  chmod((base / "open").c_str(), 0777);
  const std::string deep = base / "open/safe/hook";
  write_file(deep, "#!/bin/sh\necho deep; exit 0\n");
  chmod(deep.c_str(), 0755);
  // base/good/link -> ../open/safe/hook: a root symlink into the open folder.
  fs::create_directories(base / "good");
  fs::create_symlink("../open/safe/hook", base / "good/link");
  // base/sticky (1777, like /tmp)/theirs -> a fine hook, but the link is another user's.
  const std::string fine = script(base, "fine", "echo fine $0; exit 0");
  fs::create_directories(base / "sticky");
  chmod((base / "sticky").c_str(), 01777);
  fs::create_symlink(fine, base / "sticky/theirs");
  ASSERT_EQ(lchown((base / "sticky/theirs").c_str(), 65534, 65534), 0);
  // base/sticky/ours -> ../good/../fine: root's link in a sticky folder, through "..".
  fs::create_symlink("../good/../fine", base / "sticky/ours");
  Guardd g("", hook_section("deep", deep, "operations = reboot") +
                   hook_section("link", base / "good/link", "operations = poweroff") +
                   hook_section("theirs", base / "sticky/theirs", "operations = reinstall") +
                   hook_section("ours", base / "sticky/ours", "operations = decommission"));
  ASSERT_TRUE(g.start()) << g.log();
  const std::string open_dir = base / "open";
  int code = -1;
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 1) << r;
  EXPECT_EQ(check_named(r, "deep")["reason"],
            "hook directory " + open_dir + " is group- or world-writable (mode 0777)")
      << r;
  r = ask(g, {"poweroff"}, &code);
  EXPECT_EQ(code, 1) << r;
  EXPECT_EQ(check_named(r, "link")["reason"],
            "hook directory " + open_dir + " is group- or world-writable (mode 0777)")
      << r;
  r = ask(g, {"reinstall"}, &code);
  EXPECT_EQ(code, 1) << r;
  EXPECT_EQ(check_named(r, "theirs")["reason"],
            "hook symlink " + (base / "sticky/theirs") + " is not owned by root")
      << r;
  r = ask(g, {"decommission"}, &code);
  EXPECT_EQ(code, 0) << r;
  // Run by descriptor: the script's interpreter reads it as /proc/self/fd/3.
  EXPECT_EQ(check_named(r, "ours")["reason"], "fine /proc/self/fd/3") << r;
}

TEST(RootHook, NotRootOwnedIsAnError) {
  if (!is_root()) GTEST_SKIP() << "needs root to own files as another user";
  TempDir hooks;
  std::string exec = script(hooks, "theirs", "exit 0");
  ASSERT_EQ(chown(exec.c_str(), 65534, 65534), 0);
  Guardd g("", hook_section("theirs", exec));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(check_named(r, "theirs")["reason"].get<std::string>().find("not owned by root"),
            std::string::npos);
}

TEST(Hook, TwentyHooksRunConcurrentlyWithinOneDeadline) {
  TempDir hooks;
  std::string sections;
  for (int i = 0; i < 20; ++i)
    sections += hook_section(
        "h" + std::to_string(i),
        script(hooks, "h" + std::to_string(i), "sleep 0.4; echo ok " + std::to_string(i)),
        "timeout = 3s");
  Guardd g("decision_timeout = 3s\n", sections);
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto start = Clock::now();
  auto r = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << r;
  EXPECT_EQ(r["decision"]["checks"].size(), 21u);
  EXPECT_LT(Clock::now() - start, 4000ms) << "20 x 0.4s hooks (8 s in a row) ran one by one";
}

// A process with a unique name for check_procs to count.
pid_t spawn_named(TempDir& dir, const std::string& name) {
  std::string path = dir / name;
  std::filesystem::copy_file("/bin/sleep", path);
  pid_t pid = fork();
  if (pid == 0) {
    execl(path.c_str(), name.c_str(), "300", nullptr);
    _exit(127);
  }
  return pid;
}

TEST(Hook, NagiosCheckProcs) {
  TempDir dir;
  const std::string plugin = "/usr/lib/nagios/plugins/check_procs";
  ASSERT_TRUE(std::filesystem::exists(plugin)) << "monitoring-plugins-basic is not installed";
  Guardd g("", hook_section("procs", plugin, "protocol = nagios\nargs = -c 0 -C gdtest-nagios"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto ok = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << ok;
  pid_t p = spawn_named(dir, "gdtest-nagios");
  ASSERT_TRUE(wait_until(
      [&] { return read_file("/proc/" + std::to_string(p) + "/comm") == "gdtest-nagios\n"; }));
  auto crit = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 1) << crit;
  auto c = check_named(crit, "procs");
  EXPECT_EQ(c["outcome"], "veto");
  EXPECT_NE(c["reason"].get<std::string>().find("CRITICAL"), std::string::npos) << c;
  EXPECT_EQ(c["reason"].get<std::string>().find('|'), std::string::npos) << "perfdata stripped";
  kill(p, SIGKILL);
  int st;
  waitpid(p, &st, 0);
}

TEST(Hook, NagiosCheckTcpOpenAndClosedPorts) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int open_port = ntohs(addr.sin_port);
  int closed = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in caddr = addr;
  caddr.sin_port = 0;
  bind(closed, reinterpret_cast<sockaddr*>(&caddr), sizeof(caddr));
  len = sizeof(caddr);
  getsockname(closed, reinterpret_cast<sockaddr*>(&caddr), &len);
  int closed_port = ntohs(caddr.sin_port);  // bound but not listening: refused
  const std::string plugin = "/usr/lib/nagios/plugins/check_tcp";
  Guardd g("",
           hook_section("open", plugin,
                        "protocol = nagios\noperations = reboot\nargs = -H 127.0.0.1 -p " +
                            std::to_string(open_port)) +
               hook_section("closed", plugin,
                            "protocol = nagios\noperations = poweroff\nargs = -H 127.0.0.1 -p " +
                                std::to_string(closed_port)));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto up = ask(g, {"reboot"}, &code);
  EXPECT_EQ(code, 0) << up;
  EXPECT_NE(check_named(up, "open")["reason"].get<std::string>().find("TCP OK"), std::string::npos)
      << up;
  auto down = ask(g, {"poweroff"}, &code);
  EXPECT_EQ(code, 1) << down;
  EXPECT_EQ(check_named(down, "closed")["outcome"], "veto");
  close(listener);
  close(closed);
}

TEST(Hook, ShippedExamplesWork) {
  TempDir dir;
  for (const char* name : {"backup-running", "users-logged-in"}) {
    std::filesystem::copy_file(source_dir() + "/etc/hooks.d/" + name, dir / name);
    chmod((dir / name).c_str(), 0755);
  }
  Guardd g("", hook_section("backup", dir / "backup-running", "operations = reinstall") +
                   hook_section("users", dir / "users-logged-in", "operations = reboot"));
  ASSERT_TRUE(g.start()) << g.log();
  int code;
  auto quiet = ask(g, {"reinstall"}, &code);
  EXPECT_EQ(check_named(quiet, "backup")["outcome"], "pass") << quiet;
  pid_t p = spawn_named(dir, "mariabackup");
  ASSERT_TRUE(wait_until(
      [&] { return read_file("/proc/" + std::to_string(p) + "/comm") == "mariabackup\n"; }));
  auto busy = ask(g, {"reinstall"}, &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(check_named(busy, "backup")["reason"].get<std::string>().find("mariabackup running"),
            std::string::npos)
      << busy;
  kill(p, SIGKILL);
  int st;
  waitpid(p, &st, 0);
  auto users = ask(g, {"reboot"}, &code);
  // The hook answers as who does on this machine.
  const bool someone = !run_process({"/usr/bin/who"}).out.empty();
  EXPECT_EQ(check_named(users, "users")["outcome"], someone ? "veto" : "pass") << users;
}

// The shipped hooks run a tool and read its answer. A tool killed by a signal (SIGSYS
// from a seccomp filter, as procps' pgrep was under guardd's unit) must make the hook an
// error, never "no match": here the hooks run with a PATH whose pgrep and who die so.
TEST(Hook, ShippedExamplesFailWhenTheirToolDies) {
  TempDir dir;
  std::filesystem::create_directory(dir / "bin");
  for (const char* tool : {"pgrep", "who"}) script(dir, std::string("bin/") + tool, "kill -SYS $$");
  const std::map<std::string, std::string> env = {{"PATH", (dir / "bin") + ":/usr/bin:/bin"}};
  auto backup = run_process({"/bin/sh", source_dir() + "/etc/hooks.d/backup-running"}, env);
  EXPECT_EQ(backup.exit_code, 2) << backup.out << backup.err;
  EXPECT_NE(backup.out.find("cannot tell whether mariabackup runs: pgrep exited 159"),
            std::string::npos)
      << backup.out;
  auto users = run_process({"/bin/sh", source_dir() + "/etc/hooks.d/users-logged-in"}, env);
  EXPECT_EQ(users.exit_code, 2) << users.out << users.err;
  EXPECT_NE(users.out.find("cannot tell who is logged in"), std::string::npos) << users.out;
}

// A hold placed while a decision's checks are still running refuses that decision: the
// hold is acknowledged before the decision is committed, so a caller that placed it and
// then sees an allow would have been lied to. A hook stands between the hold check's look
// and the commit, holding the decision open until the hold is in place.
TEST(Hook, AHoldPlacedWhileADecisionIsUnderWayRefusesIt) {
  TempDir hooks;
  const std::string started = hooks / "started", go = hooks / "go";
  std::string exec =
      script(hooks, "slow",
             "touch " + started + "\nwhile [ ! -e " + go + " ]; do sleep 0.01; done\nexit 0");
  Guardd g("", hook_section("slow", exec, "timeout = 20s"));
  ASSERT_TRUE(g.start()) << g.log();
  json reply;
  int code = -1;
  std::thread caller([&] { reply = ask(g, {"reboot"}, &code); });
  const bool hook_ran = wait_until([&] { return std::filesystem::exists(started); }, 10s);
  auto hold = g.ctl({"hold", "--reason", "placed mid-decision"});
  write_file(go, "");
  caller.join();
  ASSERT_TRUE(hook_ran) << g.log();
  ASSERT_EQ(hold.exit_code, 0) << hold.err;
  EXPECT_EQ(code, 1) << reply;
  EXPECT_EQ(reply["allowed"], false) << reply;
  EXPECT_EQ(check_named(reply, "hold")["outcome"], "veto") << reply;
  EXPECT_NE(check_named(reply, "hold")["reason"].get<std::string>().find("placed mid-decision"),
            std::string::npos)
      << reply;
  // The log holds that one refusal, not an allow written before it.
  auto log = json::parse(g.ctl({"log", "--json"}).out, nullptr, false);
  ASSERT_EQ(log["decisions"].size(), 1u) << log;
  EXPECT_EQ(log["decisions"][0]["verdict"], "refused") << log;
}

TEST(Hook, ConfigErrors) {
  TempDir dir;
  write_file(dir / "a.conf", "[check.h]\ntype = hook\n");
  auto r = run_process({guardd_binary(), "--check-config", "--config", dir / "a.conf"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find(dir / "a.conf:1: [check.h] needs 'exec'"), std::string::npos) << r.err;
  write_file(dir / "b.conf", "[check.h]\ntype = hook\nexec = /bin/true\nwarning = pass\n");
  r = run_process({guardd_binary(), "--check-config", "--config", dir / "b.conf"});
  EXPECT_NE(r.err.find(dir / "b.conf:4: warning applies to protocol = nagios only"),
            std::string::npos)
      << r.err;
  write_file(dir / "c.conf", "[check.h]\ntype = hook\nexec = bin/true\n");
  r = run_process({guardd_binary(), "--check-config", "--config", dir / "c.conf"});
  EXPECT_NE(r.err.find(dir / "c.conf:3: exec:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace guardd::test
