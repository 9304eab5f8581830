// guardd-bench: how fast and how cheap guardd is, against the floor no durable guard can
// beat. Starts guardd itself (and, for the MySQL policy, a throwaway MariaDB) on temporary
// sockets and databases. See bench/README.md for what each figure means.
#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctl/client.h"
#include "daemon/audit_store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using guardd::ctl::Client;
using nlohmann::json;

constexpr const char* kUsage = R"(Usage: guardd-bench [--quick] [--requests N] [--json-out FILE]
                    [--skip-mysql] [--only LIST] [--guardd BIN] [--guardctl BIN]

Measures guardd and prints tables (and JSON with --json-out):
  1. Check round trip (p50/p99/p99.9, throughput) at 1, 8 and 64 clients with
     (a) the hold check only, (b) the default policy against a local idle MariaDB,
     (b') the default policy on a replica with two peers (three local MariaDB servers):
     idle, with 2,000 idle TCP connections on the host, and under mariadb-slap,
     (c) one guardd-protocol hook; each 1-client row as a ratio to the floor (a bare
     Unix-socket echo of the same message plus one write+fdatasync of a record of the
     same size), measured in slices alternating with that row.
  2. `guardctl check reboot` as a whole process, beside /bin/true.
  3. Durable throughput at 64 clients (every reply after its own commit).
  4. Footprint: RSS (with PSS and anonymous memory) idle and after 100k and 200k
     decisions; CPU time and context switches over 60 idle seconds.
  5. Audit at scale: 1,000,000 decisions; `guardctl log` query latency; database size.

  --quick          1,000 requests per row, 10k decisions for RSS, 5 idle seconds,
                   100,000 rows for audit at scale (for a smoke run, not for the README)
  --requests N     requests per round-trip row (default 5000)
  --skip-mysql     skip (b) and (b')
  --only LIST      run only these parts, comma-separated: hold, mysql, replica, hook,
                   command, footprint, audit (for profiling one part)
)";

struct Options {
  bool quick = false;
  int requests = 5000;
  bool skip_mysql = false;
  std::set<std::string> only;  // empty: every part
  bool wants(const std::string& part) const { return only.empty() || only.count(part) > 0; }
  std::string guardd, guardctl, json_out;
};

struct Stats {
  double p50 = 0, p99 = 0, p999 = 0, max = 0, per_second = 0;
  int count = 0, failures = 0;
};

Stats summarize(std::vector<double> v, double seconds, int failures) {
  Stats s;
  s.count = static_cast<int>(v.size());
  s.failures = failures;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  s.p50 = at(0.5);
  s.p99 = at(0.99);
  s.p999 = at(0.999);
  s.max = v.back();
  s.per_second = seconds > 0 ? v.size() / seconds : 0;
  return s;
}

// Raw latencies (us) of a measurement, which may be taken in several slices.
struct Samples {
  std::vector<double> us;
  double seconds = 0;
  int failures = 0;
  void add(const Samples& more) {
    us.insert(us.end(), more.us.begin(), more.us.end());
    seconds += more.seconds;
    failures += more.failures;
  }
  Stats stats() const { return summarize(us, seconds, failures); }
};

json to_json(const Stats& s) {
  return {{"p50_us", s.p50},
          {"p99_us", s.p99},
          {"p999_us", s.p999},
          {"max_us", s.max},
          {"per_second", s.per_second},
          {"count", s.count},
          {"failures", s.failures}};
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string make_temp_dir(const char* tag) {
  std::string t = fmt::format("/tmp/guardd-bench-{}-XXXXXX", tag);
  if (!mkdtemp(t.data())) {
    perror("mkdtemp");
    std::exit(1);
  }
  chmod(t.c_str(), 0755);
  return t;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t bench = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    // A bench stopped by a signal or a timeout takes its servers and daemons with it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != bench) _exit(1);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

bool wait_for(const std::function<bool()>& ok, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // start-up polling
  }
  return false;
}

// The name of this process's group: clients of that group may use the bench's guardd. An
// installed guardd's group (`guardd`) is in /etc/group; a group that does not exist would
// make glibc ask NSS's systemd module too, loading it into guardd (0.3 MiB of RSS).
std::string own_group() {
  struct group* g = getgrgid(getgid());
  return g != nullptr ? g->gr_name : "root";
}

// A guardd on a temporary socket and database with `extra` appended to its config.
struct Daemon {
  std::string dir, socket, db;
  pid_t pid = -1;
  Daemon(const Options& o, const std::string& base_config, const std::string& extra) {
    dir = make_temp_dir("guardd");
    socket = dir + "/guardd.sock";
    db = dir + "/guardd.db";
    fs::create_directories(dir + "/guardd.conf.d");
    std::ofstream(dir + "/guardd.conf") << base_config;
    std::ofstream(dir + "/guardd.conf.d/50-bench.conf")
        << "[guardd]\nsocket = " << socket << "\ndatabase = " << db
        << "\nmax_connections_per_uid = 1024\nlog_level = warning\nretention = forever\n"
        << "inhibit = no\nclient_group = " << own_group() << "\n";
    std::ofstream(dir + "/guardd.conf.d/60-scenario.conf") << "[guardd]\n" << extra;
    pid = spawn({o.guardd, "--config", dir + "/guardd.conf"}, dir + "/guardd.log");
    if (!wait_for(
            [&] { return Client::connect(socket, Clock::now() + std::chrono::seconds(1)).ok(); },
            std::chrono::seconds(20))) {
      fmt::print(stderr, "guardd did not start:\n{}\n", read_text(dir + "/guardd.log"));
      std::exit(1);
    }
  }
  ~Daemon() {
    stop(pid);
    fs::remove_all(dir);
  }
};

Samples round_trip_samples(const std::string& socket, int clients, int requests) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> failures{0}, next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto conn = Client::connect(socket, Clock::now() + std::chrono::seconds(10));
      if (!conn) {
        ++failures;
        return;
      }
      json params = {{"operation", "reboot"}, {"reason", "guardd-bench"}};
      while (next.fetch_add(1) < requests) {
        auto t0 = Clock::now();
        auto r = conn->call("io.guardd.Guard.Check", params, t0 + std::chrono::seconds(30));
        if (!r || !r->error.empty()) ++failures;
        lat[c].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
    });
  for (auto& t : threads) t.join();
  Samples out;
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.failures = failures;
  for (auto& l : lat) out.us.insert(out.us.end(), l.begin(), l.end());
  return out;
}

Stats round_trip(const std::string& socket, int clients, int requests) {
  return round_trip_samples(socket, clients, requests).stats();
}

// The floor: a Unix-socket echo of `message` and a write+fdatasync of `record_bytes`.
struct Floor {
  Stats echo, fsync;
  double p50() const { return echo.p50 + fsync.p50; }
  double p99() const { return echo.p99 + fsync.p99; }
};

struct FloorSamples {
  Samples echo, fsync;
  void add(const FloorSamples& more) {
    echo.add(more.echo);
    fsync.add(more.fsync);
  }
  Floor floor() const { return {echo.stats(), fsync.stats()}; }
};

FloorSamples measure_floor(const std::string& dir, const std::string& message, size_t record_bytes,
                           int n) {
  FloorSamples f;
  std::string path = dir + "/echo.sock";
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  unlink(path.c_str());  // left by the previous slice
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 4) != 0) {
    perror("guardd-bench: echo socket");
    std::exit(1);
  }
  std::thread server([&] {
    int c = accept(listener, nullptr, nullptr);
    std::string buf(65536, '\0');
    std::string pending;
    while (true) {
      ssize_t r = read(c, buf.data(), buf.size());
      if (r <= 0) break;
      pending.append(buf.data(), static_cast<size_t>(r));
      size_t nul;
      while ((nul = pending.find('\0')) != std::string::npos) {
        (void)!write(c, pending.data(), nul + 1);
        pending.erase(0, nul + 1);
      }
    }
    close(c);
  });
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    perror("guardd-bench: echo connect");
    std::exit(1);
  }
  std::string framed = message + '\0';
  std::vector<double> lat;
  std::string buf(65536, '\0');
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    (void)!write(fd, framed.data(), framed.size());
    size_t got = 0;
    while (got < framed.size()) {
      ssize_t r = read(fd, buf.data(), buf.size());
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  f.echo.us = lat;
  f.echo.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(fd);
  server.join();
  close(listener);
  unlink(path.c_str());

  int file = open((dir + "/fsync.dat").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::string record(record_bytes, 'r');
  lat.clear();
  start = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    (void)!write(file, record.data(), record.size());
    fdatasync(file);
    lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  f.fsync.us = lat;
  f.fsync.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  close(file);
  return f;
}

double median_process_ms(const std::vector<std::string>& argv, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    pid_t pid = spawn(argv, "/dev/null");
    waitpid(pid, nullptr, 0);
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// A "Key:   N kB" line of a /proc file's text, in KiB (-1 when absent).
long read_kb(const std::string& text, const char* key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
  return -1;
}

// RSS counts every resident page of the shared libraries too (the kernel maps them in
// 64 KiB runs); PSS splits shared pages among their users; anonymous memory is what guardd
// alone costs.
json memory_of(pid_t pid) {
  const std::string rollup = read_text(fmt::format("/proc/{}/smaps_rollup", pid));
  return json{{"rss_kib", read_kb(read_text(fmt::format("/proc/{}/status", pid)), "VmRSS:")},
              {"pss_kib", read_kb(rollup, "Pss:")},
              {"anon_kib", read_kb(rollup, "Anonymous:")}};
}

std::string show_memory(const json& m) {
  return fmt::format("RSS {} KiB (PSS {}, anonymous {})", m["rss_kib"].get<long>(),
                     m["pss_kib"].get<long>(), m["anon_kib"].get<long>());
}

// CPU ticks of the whole process, and context switches summed over its live threads.
std::pair<long, long> cpu_and_switches(pid_t pid) {
  long ticks = 0, switches = 0;
  std::string s = read_text(fmt::format("/proc/{}/stat", pid));
  std::istringstream rest(s.substr(s.rfind(')') + 2));
  std::string field;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i == 14 || i == 15) ticks += std::atol(field.c_str());
  for (const auto& t : fs::directory_iterator(fmt::format("/proc/{}/task", pid))) {
    std::ifstream status(t.path() / "status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
        switches += std::atol(line.c_str() + line.find(':') + 1);
  }
  return {ticks, switches};
}

// A loopback TCP port nobody listens on now.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs a program to completion; true when it exits 0.
bool run_to_end(const std::vector<std::string>& argv, const std::string& log) {
  int st = 0;
  waitpid(spawn(argv, log), &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

// How a bench MariaDB listens: on its socket only, or also on a loopback port with a
// server id and a binlog, so it can be a source or a replica.
enum class Replication { None, Enabled };

// A throwaway MariaDB for the default policy (needs mariadb-server installed).
struct MariaDb {
  std::string dir;
  pid_t pid = -1;
  bool ok = false;
  int port = 0;
  std::string socket() const { return dir + "/mysqld.sock"; }
  // Runs SQL as root over the socket (mariadb client); true when it succeeded.
  bool sql(const std::string& statements) const {
    return run_to_end(
        {"/usr/bin/mariadb", "--no-defaults", "-uroot", "-S", socket(), "-e", statements},
        dir + "/sql.log");
  }
  explicit MariaDb(Replication replication = Replication::None, int server_id = 1) {
    dir = make_temp_dir("mariadb");
    std::vector<std::string> install = {"/usr/bin/mariadb-install-db", "--no-defaults",
                                        "--datadir=" + dir + "/data", "--tmpdir=" + dir,
                                        "--skip-test-db"};
    if (geteuid() == 0) install.push_back("--user=root");
    pid_t p = spawn(install, dir + "/install.log");
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return;
    std::vector<std::string> run = {"/usr/sbin/mariadbd", "--no-defaults"};
    if (geteuid() == 0) run.push_back("--user=root");
    for (std::string a : {"--datadir=" + dir + "/data", "--socket=" + socket(),
                          "--pid-file=" + dir + "/mysqld.pid", "--log-error=" + dir + "/error.log",
                          std::string("--innodb-buffer-pool-size=32M"), "--tmpdir=" + dir})
      run.push_back(a);
    if (replication == Replication::None) {
      run.push_back("--skip-networking");
    } else {
      port = free_port();
      for (std::string a :
           {"--port=" + std::to_string(port), std::string("--bind-address=127.0.0.1"),
            "--server-id=" + std::to_string(server_id), "--log-bin=" + dir + "/binlog",
            std::string("--skip-name-resolve")})
        run.push_back(a);
    }
    pid = spawn(run, dir + "/mariadbd.out");
    ok =
        wait_for([&] { return fs::exists(socket()) && sql("SELECT 1"); }, std::chrono::seconds(60));
  }
  // Replicates from `source` over loopback; true once both threads run.
  bool replicate_from(const MariaDb& source) const {
    source.sql(
        "CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'; "
        "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
    if (!sql(fmt::format("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, "
                         "MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=no; "
                         "START SLAVE",
                         source.port)))
      return false;
    return wait_for(
        [&] {
          return run_to_end({"/bin/sh", "-c",
                             "/usr/bin/mariadb --no-defaults -uroot -S '" + socket() +
                                 "' -e 'SHOW SLAVE STATUS\\G' | grep -q 'Slave_SQL_Running: Yes'"},
                            dir + "/sql.log");
        },
        std::chrono::seconds(30));
  }
  ~MariaDb() {
    stop(pid);
    fs::remove_all(dir);
  }
};

// Idle TCP connections on loopback, both ends held here: they fill the host's socket
// tables as a busy server's clients do (discovery once formatted every one of them, for
// every server, at every decision).
class IdleConnections {
 public:
  explicit IdleConnections(int count) {
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 64) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (listener >= 0) close(listener);
      return;
    }
    for (int i = 0; i < count; ++i) {
      int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (client < 0) break;
      fds_.push_back(client);
      if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) break;
      int server = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (server < 0) break;
      fds_.push_back(server);
      ++count_;
    }
    close(listener);
  }
  ~IdleConnections() {
    for (int fd : fds_) close(fd);
  }
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  int count() const { return count_; }

 private:
  std::vector<int> fds_;
  int count_ = 0;
};

void create_million(const std::string& db_path, int rows) {
  {
    auto store = guardd::AuditStore::open(db_path);
    if (!store) {
      fmt::print(stderr, "{}\n", store.error());
      std::exit(1);
    }
  }
  sqlite3* db = nullptr;
  sqlite3_open(db_path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO decisions (time_us, operation, target, reason, verdict, dry_run, "
                     "caller_uid, caller_gid, caller_pid, caller_exe, caller_cmdline, checks, "
                     "duration_us, hostname, guardd_version) VALUES (?,?,?,?,?,0,0,0,?,"
                     "'/usr/bin/guardctl','guardctl check',?,?,'bench','0.1.0')",
                     -1, &st, nullptr);
  const char* ops[] = {"reboot", "poweroff", "reinstall", "wipe", "decommission"};
  std::mt19937_64 rng(7);
  auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  const int64_t span = 400LL * 86400 * 1000000;
  std::string checks =
      R"([{"name":"hold","outcome":"pass","reason":"no hold covers this operation","facts":null,"duration_us":40}])";
  for (int i = 0; i < rows; ++i) {
    int64_t t = now - span + span * i / rows;
    const char* op = ops[rng() % 5];
    bool refused = rng() % 10 == 0;
    sqlite3_bind_int64(st, 1, t);
    sqlite3_bind_text(st, 2, op, -1, SQLITE_STATIC);
    if (std::string(op) == "wipe")
      sqlite3_bind_text(st, 3, "/dev/sdb", -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(st, 3);
    sqlite3_bind_text(st, 4, "bench", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, refused ? "refused" : "allowed", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, 1000 + i % 30000);
    sqlite3_bind_text(st, 7, checks.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, 100);
    sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

Options parse(int argc, char** argv) {
  static const option kLong[] = {{"quick", no_argument, nullptr, 'q'},
                                 {"requests", required_argument, nullptr, 'n'},
                                 {"skip-mysql", no_argument, nullptr, 'm'},
                                 {"guardd", required_argument, nullptr, 'g'},
                                 {"guardctl", required_argument, nullptr, 'c'},
                                 {"json-out", required_argument, nullptr, 'j'},
                                 {"only", required_argument, nullptr, 'o'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  Options o;
  fs::path here = fs::path(argv[0]).parent_path();
  o.guardd = (here / "guardd").string();
  o.guardctl = (here / "guardctl").string();
  int c;
  while ((c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1) {
    switch (c) {
      case 'q':
        o.quick = true;
        break;
      case 'n':
        o.requests = std::max(100, std::atoi(optarg));
        break;
      case 'm':
        o.skip_mysql = true;
        break;
      case 'g':
        o.guardd = optarg;
        break;
      case 'c':
        o.guardctl = optarg;
        break;
      case 'j':
        o.json_out = optarg;
        break;
      case 'o': {
        static const std::set<std::string> kParts = {"hold",    "mysql",     "replica", "hook",
                                                     "command", "footprint", "audit"};
        std::istringstream list(optarg);
        std::string part;
        while (std::getline(list, part, ',')) {
          if (!kParts.count(part)) {
            fmt::print(stderr, "guardd-bench: --only: unknown part '{}'\n", part);
            std::exit(2);
          }
          o.only.insert(part);
        }
        break;
      }
      case 'h':
        std::fputs(kUsage, stdout);
        std::exit(0);
      default:
        std::fputs(kUsage, stderr);
        std::exit(2);
    }
  }
  if (o.quick) o.requests = std::min(o.requests, 1000);
  return o;
}

// A 1-client row and the floor, taken in ten alternating slices so both see the same
// machine: on a VM the disk's and the scheduler's speed drift from one second to the next.
std::pair<Stats, Floor> one_client_with_floor(const std::string& socket, const std::string& dir,
                                              const std::string& message, int requests) {
  Samples guard;
  FloorSamples floor;
  for (int slice = 0; slice < 10; ++slice) {
    floor.add(measure_floor(dir, message, 700, requests / 10));
    guard.add(round_trip_samples(socket, 1, requests / 10));
  }
  return {guard.stats(), floor.floor()};
}

void print_row(const std::string& name, int clients, const Stats& s,
               const std::optional<Floor>& f) {
  fmt::print("{:<20} {:>3} {:>8.0f} {:>8.0f} {:>9.0f} {:>9.0f}", name, clients, s.p50, s.p99,
             s.p999, s.per_second);
  if (f)
    fmt::print(" {:>5.0f} {:>5.0f} {:>5.0f} {:>5.0f} {:>6.2f}x {:>6.2f}x", f->echo.p50,
               f->fsync.p50, f->echo.p99, f->fsync.p99, s.p50 / f->p50(), s.p99 / f->p99());
  fmt::print("{:>6}\n", s.failures);
}

}  // namespace

// (b') The default policy on a replica host with two peers: each decision asks the
// source for its registered replicas and the other replica about itself, over TCP with
// a monitoring account. Idle, then while mariadb-slap writes on the source (and the
// replicas apply it). Goal: p99 <= 50 ms at one client under load.
template <typename Scenario>
void replica_scenario(const Options& o, Scenario& scenario) {
  MariaDb primary(Replication::Enabled, 1), replica(Replication::Enabled, 2),
      peer(Replication::Enabled, 3);
  const std::string account =
      "CREATE USER 'guardd'@'localhost' IDENTIFIED BY 'bench'; "
      "CREATE USER 'guardd'@'127.0.0.1' IDENTIFIED BY 'bench'; "
      "GRANT PROCESS, SLAVE MONITOR, REPLICATION MASTER ADMIN, BINLOG MONITOR ON *.* TO "
      "'guardd'@'localhost', 'guardd'@'127.0.0.1'";
  if (!primary.ok || !replica.ok || !peer.ok || !primary.sql(account) ||
      !replica.replicate_from(primary) || !peer.replicate_from(primary)) {
    fmt::print("replica + 2 peers       skipped: could not start the three servers\n");
    return;
  }
  const std::string creds = replica.dir + "/guardd-mysql.cnf";
  std::ofstream(creds) << "[client]\nuser = guardd\npassword = bench\n";
  chmod(creds.c_str(), 0600);
  // The shipped policy, on this replica's server only (the other two stand for other
  // hosts), with the monitoring account.
  std::string policy = read_text(GUARDD_SOURCE_DIR "/etc/guardd.conf");
  for (auto [from, to] : {std::pair<std::string, std::string>{
                              "instances = auto", "instances = " + replica.socket() +
                                                      "\nexclude_instances = " + primary.socket() +
                                                      " " + peer.socket()},
                          {"defaults_file =", "defaults_file = " + creds}})
    for (size_t at = policy.find(from); at != std::string::npos;
         at = policy.find(from, at + to.size()))
      policy.replace(at, from.size(), to);
  Daemon guard(o, policy, "");
  scenario("replica + 2 peers", guard.socket);
  {
    IdleConnections crowd(2000);
    scenario(fmt::format("  + {} TCP conns", crowd.count()), guard.socket);
  }

  pid_t load = spawn({"/usr/bin/mariadb-slap", "--no-defaults", "-uroot", "-S", primary.socket(),
                      "--concurrency=8", "--iterations=1000000", "--number-of-queries=100000",
                      "--auto-generate-sql", "--auto-generate-sql-load-type=mixed"},
                     primary.dir + "/slap.log");
  wait_for([&] { return primary.sql("SELECT 1 FROM mysqlslap.t1 LIMIT 1"); },
           std::chrono::seconds(30));
  scenario("  under mariadb-slap", guard.socket);
  stop(load);
}

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  json out;
  const std::string base = "[guardd]\n";
  const std::string sample_request =
      json{{"method", "io.guardd.Guard.Check"},
           {"parameters", {{"operation", "reboot"}, {"reason", "guardd-bench"}}}}
          .dump();

  // 1. Round trip, against the floor.
  Daemon hold_only(o, base, "");
  fmt::print(
      "Floor, measured in slices alternating with each 1-client row: a Unix-socket echo of\n"
      "the request plus write+fdatasync of 700 bytes, on the database's filesystem.\n\n");
  fmt::print("{:<20} {:>3} {:>8} {:>8} {:>9} {:>9} {:>5} {:>5} {:>5} {:>5} {:>7} {:>7}{:>6}\n",
             "round trip", "cl", "p50 us", "p99 us", "p99.9 us", "checks/s", "echo", "sync", "echo",
             "sync", "p50/", "p99/", "fail");
  fmt::print("{:<20} {:>3} {:>8} {:>8} {:>9} {:>9} {:>5} {:>5} {:>5} {:>5} {:>7} {:>7}{:>6}\n", "",
             "", "", "", "", "", "p50", "p50", "p99", "p99", "floor", "floor", "");
  auto scenario = [&](const std::string& name, const std::string& socket) {
    round_trip(socket, 1, 200);  // warm-up
    auto [one, floor] = one_client_with_floor(socket, hold_only.dir, sample_request, o.requests);
    print_row(name, 1, one, floor);
    out["round_trip"][name]["1"] = to_json(one);
    out["floor"][name] = {{"echo", to_json(floor.echo)}, {"fdatasync", to_json(floor.fsync)}};
    for (int clients : {8, 64}) {
      Stats s = round_trip(socket, clients, o.requests);
      print_row(name, clients, s, std::nullopt);
      out["round_trip"][name][std::to_string(clients)] = to_json(s);
    }
  };
  if (o.wants("hold")) scenario("hold only", hold_only.socket);
  if (!o.skip_mysql && o.wants("mysql")) {
    MariaDb maria;
    if (maria.ok) {
      std::string policy = read_text(GUARDD_SOURCE_DIR "/etc/guardd.conf");
      Daemon with_mysql(o, policy, "");
      // libmariadb (with libssl and libcrypto) is loaded when a MySQL check first connects:
      // the footprint of a guardd on a database host.
      round_trip(with_mysql.socket, 1, 1);
      out["footprint_mysql_host"] = memory_of(with_mysql.pid);
      scenario("default + MariaDB", with_mysql.socket);
    } else {
      fmt::print("default + MariaDB       skipped: could not start a MariaDB server\n");
    }
  }
  if (!o.skip_mysql && o.wants("replica")) replica_scenario(o, scenario);
  if (o.wants("hook")) {
    std::string hooks = make_temp_dir("hook");
    std::ofstream(hooks + "/pass") << "#!/bin/sh\nexit 0\n";
    chmod((hooks + "/pass").c_str(), 0755);
    Daemon with_hook(o, base + "[check.hook]\ntype = hook\nexec = " + hooks + "/pass\n", "");
    scenario("one hook", with_hook.socket);
    fs::remove_all(hooks);
  }

  // 2. Whole command.
  if (o.wants("command")) {
    double ctl_ms =
        median_process_ms({o.guardctl, "--socket", hold_only.socket, "check", "reboot"}, 200);
    double true_ms = median_process_ms({"/bin/true"}, 200);
    fmt::print("\nguardctl check reboot: median {:.2f} ms (/bin/true: {:.2f} ms)\n", ctl_ms,
               true_ms);
    out["guardctl_check_ms"] = ctl_ms;
    out["bin_true_ms"] = true_ms;
  }

  // 3. Durable throughput is the hold-only 64-client row.
  if (o.wants("hold"))
    fmt::print("durable throughput at 64 clients (synchronous=FULL): {:.0f} decisions/s\n",
               out["round_trip"]["hold only"]["64"]["per_second"].get<double>());

  // 4. Footprint.
  if (o.wants("footprint")) {
    Daemon fresh(o, base, "");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // settle after start-up
    auto memory = [&] { return memory_of(fresh.pid); };
    json idle = memory();
    int decisions = o.quick ? 10000 : 100000;
    round_trip(fresh.socket, 64, decisions);
    json after = memory();
    round_trip(fresh.socket, 64, decisions);
    json after2 = memory();
    int idle_seconds = o.quick ? 5 : 60;
    // Let the last workers finish, so only the idle daemon is measured.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto [cpu0, sw0] = cpu_and_switches(fresh.pid);
    std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));  // the idle period measured
    auto [cpu1, sw1] = cpu_and_switches(fresh.pid);
    double cpu_ms = (cpu1 - cpu0) * 1000.0 / sysconf(_SC_CLK_TCK);
    fmt::print("memory idle: {}\nafter {} decisions: {}\nafter {} more: {}\n", show_memory(idle),
               decisions, show_memory(after), decisions, show_memory(after2));
    if (out.contains("footprint_mysql_host"))
      fmt::print("default policy on a MariaDB host, after one decision: {}\n",
                 show_memory(out["footprint_mysql_host"]));
    fmt::print("over {} idle s: CPU {:.0f} ms, {} context switches (wake-ups)\n", idle_seconds,
               cpu_ms, sw1 - sw0);
    out["footprint"] = {{"idle", idle},
                        {"after", after},
                        {"after_twice", after2},
                        {"decisions", decisions},
                        {"idle_seconds", idle_seconds},
                        {"idle_cpu_ms", cpu_ms},
                        {"idle_context_switches", sw1 - sw0}};
  }

  // 5. Audit at scale.
  if (o.wants("audit")) {
    int rows = o.quick ? 100000 : 1000000;
    std::string dir = make_temp_dir("audit");
    create_million(dir + "/guardd.db", rows);
    {
      sqlite3* raw = nullptr;
      sqlite3_open(fmt::format("{}/guardd.db", dir).c_str(), &raw);
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(raw, "SELECT count(*) FROM decisions", -1, &st, nullptr);
      if (sqlite3_step(st) == SQLITE_ROW) rows = sqlite3_column_int(st, 0);
      sqlite3_finalize(st);
      sqlite3_close(raw);
    }
    Daemon big(o, base, "database = " + dir + "/guardd.db\n");
    auto q = [&](std::vector<std::string> args) {
      std::vector<std::string> argv = {o.guardctl, "--socket", big.socket, "log"};
      argv.insert(argv.end(), args.begin(), args.end());
      return median_process_ms(argv, 11);
    };
    double refused_ms = q({"--since", "1d", "--verdict", "refused", "--limit", "100"});
    double wipe_ms = q({"--operation", "wipe"});
    double size_mb = 0;
    for (const char* suffix : {"", "-wal"}) {
      std::error_code ec;
      auto sz = fs::file_size(dir + "/guardd.db" + suffix, ec);
      if (!ec) size_mb += sz / 1048576.0;
    }
    fmt::print(
        "audit at {} rows: log --since 1d --verdict refused --limit 100: {:.1f} ms; "
        "log --operation wipe: {:.1f} ms; database {:.0f} MiB\n",
        rows, refused_ms, wipe_ms, size_mb);
    out["audit_at_scale"] = {{"rows", rows},
                             {"refused_since_1d_ms", refused_ms},
                             {"operation_wipe_ms", wipe_ms},
                             {"database_mib", size_mb}};
    fs::remove_all(dir);
  }
  if (!o.json_out.empty()) std::ofstream(o.json_out) << out.dump(2) << "\n";
  return 0;
}
