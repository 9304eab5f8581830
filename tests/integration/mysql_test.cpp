// The MySQL checks against real MariaDB servers the tests start (Debian's mariadb-server),
// through the real guardd and guardctl. These tests run one at a time (ctest RESOURCE_LOCK
// "mariadb"), so `instances = auto` sees only the servers of the test that is running.
#include <gtest/gtest.h>
#include <mysql.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "support/harness.h"
#include "support/loop_device.h"
#include "support/mariadb.h"

namespace guardd::test {
namespace {

using nlohmann::json;

std::string mysql_sections(const std::string& instances, const std::string& defaults_file,
                           const std::string& extra_connections = "",
                           const std::string& timeout = "3s",
                           const std::string& extra_replication = "") {
  std::string common = "instances = " + instances + "\ntimeout = " + timeout + "\n";
  std::string creds = defaults_file.empty() ? "" : "defaults_file = " + defaults_file + "\n";
  return "[check.mysqld-running]\n" + common + "\n[check.mysql-replication]\n" + common + creds +
         extra_replication + "\n[check.mysql-connections]\n" + common + creds + extra_connections +
         "\n";
}

// Runs `guardctl check OP --json` and returns the reply (with exit code and wall time).
struct Checked {
  int exit_code;
  json reply;
  std::chrono::milliseconds took;
  json check(const std::string& name) const {
    for (const auto& c : reply["decision"]["checks"])
      if (c["name"] == name) return c;
    return nullptr;
  }
  std::string dump() const { return reply.dump(2); }
};

Checked ask(Guardd& g, const std::string& op) {
  auto start = Clock::now();
  auto r = g.ctl({"check", op, "--json"});
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return {r.exit_code, json::parse(r.out, nullptr, false), took};
}

// A client session held open on a server.
class Session {
 public:
  Session(const std::string& socket, const std::string& user = "root") {
    db_ = mysql_init(nullptr);
    if (!mysql_real_connect(db_, "localhost", user.c_str(), "", nullptr, 0, socket.c_str(), 0)) {
      mysql_close(db_);
      db_ = nullptr;
    }
  }
  ~Session() {
    if (db_) mysql_close(db_);
  }
  bool ok() const { return db_ != nullptr; }

 private:
  MYSQL* db_;
};

// True when a mysqld/mariadbd that no test started runs on this machine (a system server).
bool foreign_server_running() {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string comm = read_file(e.path().string() + "/comm");
    if (comm == "mysqld\n" || comm == "mariadbd\n") return true;
  }
  return false;
}

// True when process `pid` has the shared object `name` mapped.
bool maps_library(pid_t pid, const std::string& name) {
  return read_file("/proc/" + std::to_string(pid) + "/maps").find(name) != std::string::npos;
}

TEST(MySql, NoServerRunningAllowsEverything) {
  if (foreign_server_running())
    GTEST_SKIP() << "a MySQL/MariaDB server runs on this machine; 'no server' cannot be shown";
  Guardd g("", mysql_sections("auto", ""));
  ASSERT_TRUE(g.start()) << g.log();
  for (const char* op : {"reboot", "reinstall"}) {
    auto c = ask(g, op);
    EXPECT_EQ(c.exit_code, 0) << op << c.dump();
    if (std::string(op) == "reinstall") {
      EXPECT_EQ(c.check("mysqld-running")["reason"], "no mysqld or mariadbd running");
    }
  }
  EXPECT_FALSE(maps_library(g.pid(), "libmariadb"))
      << "with no server to connect to, the MySQL client library is never loaded";
}

TEST(MySql, IdleStandaloneAllowsRebootRefusesReinstall) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  Guardd g("", mysql_sections(db.socket(), creds));
  ASSERT_TRUE(g.start()) << g.log();
  EXPECT_FALSE(maps_library(g.pid(), "libmariadb")) << "loaded before any check connected";

  auto reboot = ask(g, "reboot");
  EXPECT_EQ(reboot.exit_code, 0) << reboot.dump();
  EXPECT_TRUE(maps_library(g.pid(), "libmariadb")) << "loaded when a check first connects";
  auto repl = reboot.check("mysql-replication");
  EXPECT_EQ(repl["outcome"], "pass");
  EXPECT_EQ(repl["facts"]["instances"][0]["role"], "standalone");
  EXPECT_NE(repl["facts"]["instances"][0]["version"].get<std::string>().find("MariaDB"),
            std::string::npos);
  EXPECT_EQ(reboot.check("mysql-connections")["facts"]["instances"][0]["clients"]["total"], 0)
      << "guardd's own session does not count";

  auto reinstall = ask(g, "reinstall");
  EXPECT_EQ(reinstall.exit_code, 1) << reinstall.dump();
  auto running = reinstall.check("mysqld-running");
  EXPECT_EQ(running["outcome"], "veto");
  std::string reason = running["reason"];
  EXPECT_NE(reason.find("pid " + std::to_string(db.pid())), std::string::npos) << reason;
  EXPECT_NE(reason.find(db.datadir()), std::string::npos) << reason;
  auto facts = running["facts"]["instances"][0];
  EXPECT_EQ(facts["socket"], db.socket());
  EXPECT_EQ(facts["port"], db.port());
  EXPECT_EQ(facts["pid_file_confirmed"], true);
}

TEST(MySql, OpenClientSessionsRefuseRebootUnlessIgnored) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  Session a(db.socket()), b(db.socket());
  ASSERT_TRUE(a.ok() && b.ok());
  {
    Guardd g("", mysql_sections(db.socket(), creds));
    ASSERT_TRUE(g.start()) << g.log();
    auto c = ask(g, "reboot");
    EXPECT_EQ(c.exit_code, 1) << c.dump();
    auto conns = c.check("mysql-connections");
    EXPECT_EQ(conns["outcome"], "veto");
    EXPECT_NE(conns["reason"].get<std::string>().find("2 client session(s)"), std::string::npos)
        << conns;
    EXPECT_EQ(conns["facts"]["instances"][0]["clients"]["by_user"]["root"], 2);
    EXPECT_EQ(c.check("mysql-replication")["outcome"], "pass");
  }
  {
    Guardd g("", mysql_sections(db.socket(), creds, "ignore_users = root\n"));
    ASSERT_TRUE(g.start()) << g.log();
    auto c = ask(g, "reboot");
    EXPECT_EQ(c.exit_code, 0) << c.dump();
  }
  {
    Guardd g("", mysql_sections(db.socket(), creds, "max_clients = 2\n"));
    ASSERT_TRUE(g.start()) << g.log();
    EXPECT_EQ(ask(g, "reboot").exit_code, 0) << "two sessions are within max_clients = 2";
  }
}

TEST(MySql, ConcurrentDecisionsDoNotCountEachOther) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  // Root over the unix socket (no monitoring account), with the inhibitor probing too.
  Guardd g("inhibit = yes\ninhibit_interval = 1s\n", mysql_sections(db.socket(), ""));
  ASSERT_TRUE(g.start()) << g.log();
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  std::mutex m;
  json refusal;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
        if (r["parameters"]["allowed"] == true) {
          ++allowed;
        } else {
          std::lock_guard lock(m);
          refusal = r;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 80) << "guardd's own concurrent probes were counted as clients: "
                                << refusal.dump(2);
}

TEST(MySql, PrimaryAndReplicas) {
  MariaDbServer primary(1), replica1(2), replica2(3);
  ASSERT_TRUE(primary.start()) << primary.error_log();
  ASSERT_TRUE(replica1.start()) << replica1.error_log();
  // Created on the primary before replication starts, so it replicates everywhere.
  std::string creds = create_monitor_account(primary, primary.dir().path());
  ASSERT_TRUE(start_replication(replica1, primary)) << replica1.error_log();

  Guardd on_primary("", mysql_sections(primary.socket(), creds));
  Guardd on_replica1("", mysql_sections(replica1.socket(), creds));
  ASSERT_TRUE(on_primary.start()) << on_primary.log();
  ASSERT_TRUE(on_replica1.start()) << on_replica1.log();

  ASSERT_TRUE(wait_until([&] { return ask(on_primary, "reboot").exit_code == 1; }))
      << ask(on_primary, "reboot").dump() << on_primary.log();
  auto p = ask(on_primary, "reboot");
  auto repl = p.check("mysql-replication");
  EXPECT_EQ(repl["outcome"], "veto") << p.dump();
  EXPECT_NE(
      repl["reason"].get<std::string>().find("primary with 1 connected replica(s): 127.0.0.1"),
      std::string::npos)
      << repl;
  EXPECT_EQ(repl["facts"]["instances"][0]["role"], "primary");
  EXPECT_EQ(p.check("mysql-connections")["outcome"], "pass")
      << "a replica's dump thread is no client";

  auto r1 = ask(on_replica1, "reboot");
  EXPECT_EQ(r1.exit_code, 1) << r1.dump();
  auto r1repl = r1.check("mysql-replication");
  EXPECT_NE(r1repl["reason"].get<std::string>().find("last healthy replica of 127.0.0.1:" +
                                                     std::to_string(primary.port())),
            std::string::npos)
      << r1repl;
  EXPECT_EQ(r1repl["facts"]["instances"][0]["replication"][0]["io_running"], "Yes");

  ASSERT_TRUE(replica2.start()) << replica2.error_log();
  ASSERT_TRUE(start_replication(replica2, primary)) << replica2.error_log();
  Guardd on_replica2("", mysql_sections(replica2.socket(), creds));
  ASSERT_TRUE(on_replica2.start()) << on_replica2.log();
  auto r1again = ask(on_replica1, "reboot");
  EXPECT_EQ(r1again.exit_code, 0) << r1again.dump();
  EXPECT_EQ(ask(on_replica2, "reboot").exit_code, 0);
  auto p2 = ask(on_primary, "reboot");
  EXPECT_NE(
      p2.check("mysql-replication")["reason"].get<std::string>().find("2 connected replica(s)"),
      std::string::npos);

  // A replica with its threads stopped does not veto on its own account.
  ASSERT_EQ(replica2.exec("STOP SLAVE"), "");
  auto stopped = ask(on_replica2, "reboot");
  EXPECT_EQ(stopped.exit_code, 0) << stopped.dump();
  EXPECT_NE(
      stopped.check("mysql-replication")["reason"].get<std::string>().find("stopped or broken"),
      std::string::npos);
}

TEST(MySql, UnreachableSourceIsAnError) {
  MariaDbServer primary(1), replica(2);
  ASSERT_TRUE(primary.start() && replica.start());
  std::string creds = create_monitor_account(primary, primary.dir().path());
  ASSERT_TRUE(start_replication(replica, primary));
  Guardd g("", mysql_sections(replica.socket(), creds));
  ASSERT_TRUE(g.start()) << g.log();
  // Revoke the monitor's TCP account on the primary only, so the source cannot be asked.
  ASSERT_EQ(primary.exec("SET sql_log_bin = 0; DROP USER 'guardd'@'127.0.0.1'"), "");
  auto c = ask(g, "reboot");
  EXPECT_EQ(c.exit_code, 1) << c.dump();
  auto repl = c.check("mysql-replication");
  EXPECT_EQ(repl["outcome"], "error") << repl;
  EXPECT_NE(repl["reason"].get<std::string>().find("cannot ask the source"), std::string::npos)
      << repl;
}

// The path of a shared object this test process has mapped whose name contains `name`.
std::string mapped_library(const std::string& name) {
  std::istringstream maps(read_file("/proc/self/maps"));
  for (std::string line; std::getline(maps, line);) {
    auto slash = line.find('/');
    if (slash != std::string::npos && line.find(name, slash) != std::string::npos)
      return line.substr(slash);
  }
  return "";
}

// guardd loads the MySQL client library when a check first connects. A broken one (here
// libz under the name libmariadb.so.3, found first through LD_LIBRARY_PATH) is a check
// error: refused, with the reason, and recorded.
TEST(MySql, BrokenClientLibraryRefusesAndIsRecorded) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  std::string libz = mapped_library("libz.so");  // libmariadb, linked here, brings it
  ASSERT_FALSE(libz.empty());
  Guardd g("", mysql_sections(db.socket(), creds));
  std::filesystem::create_directory(g.dir() / "lib");
  std::filesystem::copy_file(libz, g.dir() / "lib/libmariadb.so.3");
  ASSERT_TRUE(g.start({{"LD_LIBRARY_PATH", g.dir() / "lib"}})) << g.log();

  auto c = ask(g, "reboot");
  EXPECT_EQ(c.exit_code, 1) << c.dump();
  auto repl = c.check("mysql-replication");
  EXPECT_EQ(repl["outcome"], "error") << repl;
  EXPECT_NE(repl["reason"].get<std::string>().find(
                "the MySQL client library libmariadb.so.3 has no mysql_init"),
            std::string::npos)
      << repl;
  auto log = g.ctl({"log", "--json"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  auto decisions = json::parse(log.out)["decisions"];
  ASSERT_EQ(decisions.size(), 1u) << log.out;
  EXPECT_EQ(decisions[0]["id"], c.reply["decision"]["id"]);
  EXPECT_EQ(decisions[0]["verdict"], "refused");
}

TEST(MySql, FrozenServerIsAnErrorWithinTheTimeout) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  Guardd g("", mysql_sections(db.socket(), creds, "", "1s"));
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(ask(g, "reboot").exit_code, 0);

  db.freeze();
  auto c = ask(g, "reboot");
  EXPECT_EQ(c.exit_code, 1) << c.dump();
  EXPECT_EQ(c.check("mysql-replication")["outcome"], "error") << c.dump();
  EXPECT_EQ(c.check("mysql-connections")["outcome"], "error") << c.dump();
  EXPECT_LT(c.took, std::chrono::milliseconds(1250)) << "check timeout 1s plus 250ms";
  EXPECT_GE(c.took, std::chrono::milliseconds(900));

  db.thaw();
  EXPECT_TRUE(wait_until([&] { return ask(g, "reboot").exit_code == 0; })) << g.log();
}

TEST(MySql, HungServerAndHungHookUnderLoadAnswerWithinTheDeadline) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  TempDir hooks;
  write_file(hooks / "hang", "#!/bin/sh\nexec sleep 97\n");
  chmod((hooks / "hang").c_str(), 0755);
  Guardd g("decision_timeout = 1s\n", mysql_sections(db.socket(), creds, "", "1s") +
                                          "[check.hang]\ntype = hook\nexec = " + (hooks / "hang") +
                                          "\ntimeout = 1s\n");
  ASSERT_TRUE(g.start()) << g.log();
  db.freeze();
  std::atomic<int> refused{0}, slow{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 4; ++j) {
        auto t0 = Clock::now();
        auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
        if (Clock::now() - t0 > 1250ms) ++slow;
        if (r["parameters"]["allowed"] == false)
          ++refused;
        else
          ++other;
      }
    });
  for (auto& t : threads) t.join();
  db.thaw();
  EXPECT_EQ(refused.load(), 64);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(slow.load(), 0) << "decisions answered later than the 1s deadline plus 250ms";
}

TEST(MySql, KilledServerIsNotRunning) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  std::string creds = create_monitor_account(db, db.dir().path());
  Guardd g("", mysql_sections(db.socket(), creds));
  ASSERT_TRUE(g.start()) << g.log();
  ASSERT_EQ(ask(g, "reinstall").exit_code, 1);
  db.kill_hard();
  ASSERT_TRUE(std::filesystem::exists(db.socket())) << "stale socket left behind";
  auto c = ask(g, "reinstall");
  EXPECT_EQ(c.exit_code, 0) << c.dump();
  EXPECT_EQ(ask(g, "reboot").exit_code, 0);
}

TEST(MySql, BadCredentialsAndMissingPrivilegesFailClosed) {
  MariaDbServer db(1);
  ASSERT_TRUE(db.start()) << db.error_log();
  create_monitor_account(db, db.dir().path());
  std::string wrong = db.dir() / "wrong.cnf";
  write_file(wrong, "[client]\nuser = guardd\npassword = not-the-password\n");
  chmod(wrong.c_str(), 0600);
  {
    Guardd g("", mysql_sections(db.socket(), wrong));
    ASSERT_TRUE(g.start()) << g.log();
    auto c = ask(g, "reboot");
    EXPECT_EQ(c.exit_code, 1) << c.dump();
    auto repl = c.check("mysql-replication");
    EXPECT_EQ(repl["outcome"], "error");
    EXPECT_NE(repl["reason"].get<std::string>().find("Access denied"), std::string::npos) << repl;
  }
  // An account without PROCESS would see only its own session: an error, never "0 clients".
  ASSERT_EQ(db.exec("CREATE USER 'weak'@'localhost' IDENTIFIED BY 'weak'"), "");
  ASSERT_EQ(db.exec("GRANT SLAVE MONITOR ON *.* TO 'weak'@'localhost'"), "");
  std::string weak = db.dir() / "weak.cnf";
  write_file(weak, "[client]\nuser = weak\npassword = weak\n");
  chmod(weak.c_str(), 0600);
  Session open_client(db.socket());
  {
    Guardd g("", mysql_sections(db.socket(), weak));
    ASSERT_TRUE(g.start()) << g.log();
    auto c = ask(g, "reboot");
    EXPECT_EQ(c.exit_code, 1) << c.dump();
    auto conns = c.check("mysql-connections");
    EXPECT_EQ(conns["outcome"], "error");
    EXPECT_NE(conns["reason"].get<std::string>().find("lacks the PROCESS privilege"),
              std::string::npos)
        << conns;
  }
  // A credentials file others can read is refused.
  chmod(weak.c_str(), 0644);
  {
    Guardd g("", mysql_sections(db.socket(), weak));
    ASSERT_TRUE(g.start()) << g.log();
    auto c = ask(g, "reboot");
    EXPECT_EQ(c.exit_code, 1);
    EXPECT_NE(c.check("mysql-replication")["reason"].get<std::string>().find("must be 0600"),
              std::string::npos)
        << c.dump();
  }
}

TEST(MySql, SeveralInstancesAreEachChecked) {
  MariaDbServer a(1), b(2);
  ASSERT_TRUE(a.start() && b.start());
  Guardd all("", mysql_sections("auto", ""));
  ASSERT_TRUE(all.start()) << all.log();
  auto c = ask(all, "reinstall");
  std::set<int> pids;
  const json running = c.check("mysqld-running");
  for (const auto& i : running["facts"]["instances"]) pids.insert(i["pid"].get<int>());
  EXPECT_TRUE(pids.count(a.pid()) && pids.count(b.pid())) << running.dump();
  Guardd one("", mysql_sections(b.socket(), ""));
  ASSERT_TRUE(one.start()) << one.log();
  auto d = ask(one, "reinstall");
  ASSERT_EQ(d.check("mysqld-running")["facts"]["instances"].size(), 1u);
  EXPECT_EQ(d.check("mysqld-running")["facts"]["instances"][0]["pid"], b.pid());
}

// A wipe of the device that holds a running server's datadir names the server. Loop
// devices and mounts need root (CI runs as root).
TEST(RootMySql, WipeOfTheDatadirDeviceNamesTheServer) {
  if (!is_root()) GTEST_SKIP() << "needs root for loop devices and mounts";
  LoopDevice loop(256);  // room for the datadir's redo log
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  std::string point = loop.format_and_mount(loop.path());
  ASSERT_FALSE(point.empty());
  MariaDbServer db(1);
  // Move the datadir onto the loop device's filesystem.
  std::filesystem::copy(db.datadir(), point + "/data", std::filesystem::copy_options::recursive);
  ASSERT_EQ(mount((point + "/data").c_str(), db.datadir().c_str(), nullptr, MS_BIND, nullptr), 0)
      << strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{db.datadir()};
  ASSERT_TRUE(db.start()) << db.error_log();
  Guardd g("", "[check.block-device]\n");
  ASSERT_TRUE(g.start()) << g.log();
  auto c = ask(g, "wipe");  // no target: invalid
  EXPECT_EQ(c.exit_code, 2);
  auto r = g.ctl({"check", "wipe", "--target", loop.path(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto reply = json::parse(r.out);
  json block;
  for (const auto& check : reply["decision"]["checks"])
    if (check["name"] == "block-device") block = check;
  std::string reason = block["reason"];
  EXPECT_NE(reason.find("holds the mariadbd (pid " + std::to_string(db.pid()) + ") datadir"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("is mounted on " + point), std::string::npos) << reason;
  db.stop();
}

// Galera nodes run as the mysql user (for rsync state transfer): needs root, as CI is.
TEST(RootGalera, QuorumDonorAndTwoNodeRules) {
  if (!is_root()) GTEST_SKIP() << "needs root to run Galera nodes as the mysql user";
  GaleraCluster cluster(3);
  ASSERT_TRUE(cluster.start()) << cluster.node(0).error_log() << cluster.node(1).error_log();
  Guardd g("", mysql_sections(cluster.node(1).socket(), ""));
  ASSERT_TRUE(g.start()) << g.log();
  Guardd strict(
      "", mysql_sections(cluster.node(1).socket(), "", "", "3s", "min_remaining_nodes = 3\n"));
  ASSERT_TRUE(strict.start()) << strict.log();

  auto synced = ask(g, "reboot");
  EXPECT_EQ(synced.exit_code, 0) << synced.dump();
  auto repl = synced.check("mysql-replication");
  EXPECT_EQ(repl["facts"]["instances"][0]["role"], "galera-node") << repl;
  EXPECT_EQ(repl["facts"]["instances"][0]["galera"]["cluster_size"], 3);
  auto needs_three = ask(strict, "reboot");
  EXPECT_EQ(needs_three.exit_code, 1) << needs_three.dump();
  EXPECT_NE(needs_three.check("mysql-replication")["reason"].get<std::string>().find(
                "min_remaining_nodes = 3"),
            std::string::npos);

  ASSERT_EQ(cluster.node(1).exec("SET GLOBAL wsrep_desync = ON"), "");
  ASSERT_TRUE(cluster.wait_status(1, "wsrep_local_state_comment", "Donor/Desynced"));
  auto desynced = ask(g, "reboot");
  EXPECT_EQ(desynced.exit_code, 1) << desynced.dump();
  EXPECT_NE(desynced.check("mysql-replication")["reason"].get<std::string>().find("Donor/Desynced"),
            std::string::npos);
  ASSERT_EQ(cluster.node(1).exec("SET GLOBAL wsrep_desync = OFF"), "");
  ASSERT_TRUE(cluster.wait_status(1, "wsrep_local_state_comment", "Synced"));
  EXPECT_EQ(ask(g, "reboot").exit_code, 0);

  cluster.node(2).stop();
  ASSERT_TRUE(cluster.wait_status(1, "wsrep_cluster_size", "2"));
  auto two = ask(g, "reboot");
  EXPECT_EQ(two.exit_code, 1) << two.dump();
  EXPECT_NE(two.check("mysql-replication")["reason"].get<std::string>().find(
                "Galera cluster of 2 nodes would keep 1"),
            std::string::npos)
      << two.dump();
}

}  // namespace
}  // namespace guardd::test
