#include "support/mariadb.h"

#include <fcntl.h>
#include <mysql.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

namespace guardd::test {
namespace {

namespace fs = std::filesystem;

// mariadb-install-db takes seconds and fails now and then when run in parallel, so one
// template datadir is made per build tree under a lock and copied for each server.
std::string template_datadir() {
  std::string cache = std::string(GUARDD_TEST_CACHE_DIR) + "/mariadb-template";
  if (fs::exists(cache + "/mysql")) return cache;
  fs::create_directories(GUARDD_TEST_CACHE_DIR);
  std::string lock_path = std::string(GUARDD_TEST_CACHE_DIR) + "/mariadb-template.lock";
  int lock = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  flock(lock, LOCK_EX);
  if (!fs::exists(cache + "/mysql")) {
    TempDir work;
    std::string data = work / "data";
    std::string tmp = work / "tmp";
    fs::create_directories(tmp);
    std::vector<std::string> argv = {"/usr/bin/mariadb-install-db",
                                     "--no-defaults",
                                     "--datadir=" + data,
                                     "--tmpdir=" + tmp,
                                     "--auth-root-authentication-method=normal",
                                     "--skip-test-db",
                                     "--skip-name-resolve"};
    if (geteuid() == 0) argv.push_back("--user=root");
    auto r = run_process(argv, {}, {}, std::chrono::milliseconds(120000));
    if (r.exit_code != 0) {
      flock(lock, LOCK_UN);
      close(lock);
      throw std::runtime_error("mariadb-install-db failed: " + r.out + r.err);
    }
    fs::remove_all(cache);
    fs::rename(data, cache);
  }
  flock(lock, LOCK_UN);
  close(lock);
  return cache;
}

MYSQL* connect_root(const std::string& socket) {
  MYSQL* db = mysql_init(nullptr);
  unsigned int timeout = 2;
  mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &timeout);
  if (!mysql_real_connect(db, "localhost", "root", "", nullptr, 0, socket.c_str(),
                          CLIENT_MULTI_STATEMENTS)) {
    mysql_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace

PortReservation::PortReservation(int count) {
  for (int i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    fds_.push_back(fd);
    ports_.push_back(ntohs(addr.sin_port));
  }
}

PortReservation::~PortReservation() {
  release();
}

void PortReservation::release() {
  for (int fd : fds_) close(fd);
  fds_.clear();
}

namespace {

// Starts argv with its standard streams on /dev/null (servers log to their own files);
// the child's pid, or -1.
pid_t start_quietly(std::vector<std::string> argv) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int devnull = open("/dev/null", O_RDWR);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

}  // namespace

int free_port() {
  return PortReservation(1).ports()[0];
}

MariaDbServer::MariaDbServer(int server_id, std::vector<std::string> extra_args,
                             std::string os_user)
    : port_(free_port()),
      server_id_(server_id),
      extra_args_(std::move(extra_args)),
      os_user_(std::move(os_user)) {
  datadir_ = dir_ / "data";
  socket_ = datadir_ + "/mysqld.sock";
  fs::copy(template_datadir(), datadir_, fs::copy_options::recursive);
  fs::create_directories(datadir_ + "/tmp");
  if (!os_user_.empty()) {
    auto r = run_process({"/bin/chown", "-R", os_user_ + ":", datadir_});
    if (r.exit_code != 0) throw std::runtime_error("chown failed: " + r.err);
  }
}

MariaDbServer::~MariaDbServer() {
  stop();
}

std::string MariaDbServer::error_log() const {
  return read_file(datadir_ + "/error.log");
}

std::vector<std::string> MariaDbServer::server_argv(const std::string& datadir) const {
  std::vector<std::string> argv = {"/usr/sbin/mariadbd", "--no-defaults"};
  if (!os_user_.empty())
    argv.push_back("--user=" + os_user_);
  else if (geteuid() == 0)
    argv.push_back("--user=root");
  for (std::string a :
       {"--datadir=" + datadir, "--port=" + std::to_string(port_),
        std::string("--bind-address=127.0.0.1"), "--socket=" + datadir + "/mysqld.sock",
        "--pid-file=" + datadir + "/mysqld.pid", "--log-error=" + datadir + "/error.log",
        "--server-id=" + std::to_string(server_id_), "--log-bin=" + datadir + "/binlog",
        std::string("--skip-name-resolve"), std::string("--innodb-buffer-pool-size=32M"),
        "--tmpdir=" + datadir + "/tmp"})
    argv.push_back(a);
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  return argv;
}

bool MariaDbServer::start() {
  return spawn(server_argv(datadir_));
}

bool MariaDbServer::start_in_container(const MariaDbServer& twin) {
  // unshare and sh exec in turn, so the pid spawn() sees is mariadbd's.
  std::vector<std::string> argv = {"/usr/bin/unshare",
                                   "--mount",
                                   "--propagation",
                                   "private",
                                   "--",
                                   "/bin/sh",
                                   "-c",
                                   "mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"",
                                   "sh",
                                   dir_.path(),
                                   twin.dir_.path()};
  for (auto& a : server_argv(twin.datadir_)) argv.push_back(a);
  return spawn(argv);
}

std::string MariaDbServer::option_lines() const {
  return "datadir = " + datadir_ + "\nport = " + std::to_string(port_) +
         "\nbind-address = 127.0.0.1\npid-file = " + datadir_ +
         "/mysqld.pid\nlog-error = " + datadir_ +
         "/error.log\nserver-id = " + std::to_string(server_id_) + "\nlog-bin = " + datadir_ +
         "/binlog\nskip-name-resolve\ninnodb-buffer-pool-size = 32M\ntmpdir = " + datadir_ +
         "/tmp\n";
}

bool MariaDbServer::start_from_option_file(const std::string& file) {
  return start_from_option_file(file, {});
}

bool MariaDbServer::start_from_option_file(const std::string& file,
                                           const std::vector<std::string>& options) {
  std::vector<std::string> argv = {"/usr/sbin/mariadbd", "--defaults-file=" + file};
  argv.insert(argv.end(), options.begin(), options.end());
  if (geteuid() == 0) argv.push_back("--user=root");
  return spawn(argv);
}

bool MariaDbServer::spawn(const std::vector<std::string>& argv_in) {
  pid_ = start_quietly(argv_in);
  if (pid_ < 0) return false;
  return wait_until(
             [&] {
               int st;
               if (waitpid(pid_, &st, WNOHANG) == pid_) {
                 pid_ = -1;
                 return true;  // died: stop waiting
               }
               MYSQL* db = connect_root(socket_);
               if (!db) return false;
               mysql_close(db);
               return true;
             },
             std::chrono::milliseconds(60000)) &&
         pid_ > 0;
}

void MariaDbServer::stop() {
  if (pid_ <= 0) return;
  if (frozen_) thaw();
  kill(pid_, SIGTERM);
  int st;
  bool exited = wait_until([&] { return waitpid(pid_, &st, WNOHANG) == pid_; },
                           std::chrono::milliseconds(30000));
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
  }
  pid_ = -1;
}

void MariaDbServer::kill_hard() {
  kill_child(pid_);
}

void MariaDbServer::freeze() {
  kill(pid_, SIGSTOP);
  frozen_ = true;
}

void MariaDbServer::thaw() {
  kill(pid_, SIGCONT);
  frozen_ = false;
}

std::string MariaDbServer::exec(const std::string& sql) {
  MYSQL* db = connect_root(socket_);
  if (!db) return "cannot connect to " + socket_;
  std::string err;
  if (mysql_query(db, sql.c_str()) != 0) {
    err = mysql_error(db);
  } else {
    do {
      if (MYSQL_RES* r = mysql_store_result(db)) mysql_free_result(r);
      if (mysql_errno(db) != 0) err = mysql_error(db);
    } while (err.empty() && mysql_next_result(db) == 0);
    if (err.empty() && mysql_errno(db) != 0) err = mysql_error(db);
  }
  mysql_close(db);
  return err;
}

std::vector<SqlRow> MariaDbServer::query(const std::string& sql) {
  std::vector<SqlRow> rows;
  MYSQL* db = connect_root(socket_);
  if (!db) return rows;
  if (mysql_query(db, sql.c_str()) == 0) {
    if (MYSQL_RES* res = mysql_store_result(db)) {
      unsigned n = mysql_num_fields(res);
      MYSQL_FIELD* f = mysql_fetch_fields(res);
      while (MYSQL_ROW r = mysql_fetch_row(res)) {
        SqlRow row;
        for (unsigned i = 0; i < n; ++i) row[f[i].name] = r[i] ? r[i] : "";
        rows.push_back(row);
      }
      mysql_free_result(res);
    }
  }
  mysql_close(db);
  return rows;
}

std::string create_monitor_account(MariaDbServer& server, const std::string& dir,
                                   const std::string& grants, const std::string& password) {
  for (const char* host : {"localhost", "127.0.0.1"}) {
    std::string err = server.exec(std::string("CREATE USER 'guardd'@'") + host +
                                  "' IDENTIFIED BY '" + password + "'");
    if (!err.empty()) throw std::runtime_error("CREATE USER: " + err);
    if (!grants.empty()) {
      err = server.exec("GRANT " + grants + " ON *.* TO 'guardd'@'" + host + "'");
      if (!err.empty()) throw std::runtime_error("GRANT: " + err);
    }
  }
  std::string path = dir + "/guardd-mysql.cnf";
  write_file(path, "[client]\nuser = guardd\npassword = " + password + "\n");
  chmod(path.c_str(), 0600);
  return path;
}

bool start_replication(MariaDbServer& replica, MariaDbServer& primary, int via_port) {
  // Idempotent on the primary: several replicas share the account.
  primary.exec("CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY 'repl'");
  primary.exec("GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
  std::string err =
      replica.exec("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" +
                   std::to_string(via_port ? via_port : primary.port()) +
                   ", MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_CONNECT_RETRY=1");
  if (!err.empty()) return false;
  if (!replica.exec("START SLAVE").empty()) return false;
  return wait_until(
      [&] {
        auto rows = replica.query("SHOW SLAVE STATUS");
        return !rows.empty() && rows[0]["Slave_IO_Running"] == "Yes" &&
               rows[0]["Slave_SQL_Running"] == "Yes";
      },
      std::chrono::milliseconds(30000));
}

}  // namespace guardd::test

namespace guardd::test {

GaleraCluster::GaleraCluster(int nodes, int arbitrators) {
  struct Ports {
    int gcomm, ist, sst;
  };
  // Held until every node (whose own port comes from free_port) is set up.
  PortReservation reserved(3 * nodes + arbitrators);
  std::vector<Ports> ports;
  std::vector<std::string> members;
  for (int i = 0; i < nodes; ++i) {
    const auto& r = reserved.ports();
    const auto at = static_cast<size_t>(3 * i);
    ports.push_back({r[at], r[at + 1], r[at + 2]});
    members.push_back("127.0.0.1:" + std::to_string(ports.back().gcomm));
  }
  std::string address = "gcomm://";
  for (size_t i = 0; i < members.size(); ++i) address += (i ? "," : "") + members[i];
  for (int i = 0; i < nodes; ++i) {
    const Ports& p = ports[static_cast<size_t>(i)];
    std::string node = "127.0.0.1:" + std::to_string(p.gcomm);
    std::vector<std::string> args = {
        "--wsrep-on=ON",
        "--wsrep-provider=/usr/lib/galera/libgalera_smm.so",
        "--wsrep-cluster-name=guardd-test",
        "--wsrep-cluster-address=" + address,
        "--wsrep-node-address=" + node,
        "--wsrep-provider-options=gmcast.listen_addr=tcp://" + node +
            ";ist.recv_addr=127.0.0.1:" + std::to_string(p.ist),
        "--wsrep-sst-receive-address=127.0.0.1:" + std::to_string(p.sst),
        "--wsrep-sst-method=rsync",
        "--binlog-format=ROW",
        "--innodb-autoinc-lock-mode=2"};
    if (i == 0) args.push_back("--wsrep-new-cluster");
    nodes_.push_back(std::make_unique<MariaDbServer>(i + 1, args, "mysql"));
    // The client address the other nodes list for this one (AUTO otherwise, with the
    // server bound to loopback), so each node can be asked about itself.
    nodes_.back()->add_option("--wsrep-node-incoming-address=127.0.0.1:" +
                              std::to_string(nodes_.back()->port()));
  }
  for (int a = 0; a < arbitrators; ++a) {
    std::string listen =
        "127.0.0.1:" + std::to_string(reserved.ports()[static_cast<size_t>(3 * nodes + a)]);
    arbitrator_argv_.push_back({"/usr/bin/garbd", "--group", "guardd-test", "--address", address,
                                "--options", "gmcast.listen_addr=tcp://" + listen, "--log",
                                arbitrator_dir_ / ("garbd" + std::to_string(a) + ".log")});
  }
}

GaleraCluster::~GaleraCluster() {
  for (pid_t pid : arbitrators_) {
    kill(pid, SIGTERM);
    int st;
    if (!wait_until([&] { return waitpid(pid, &st, WNOHANG) == pid; },
                    std::chrono::milliseconds(10000))) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
    }
  }
}

bool GaleraCluster::wait_status(int i, const std::string& key, const std::string& value) {
  return wait_until(
      [&] {
        auto rows = node(i).query("SHOW GLOBAL STATUS LIKE '" + key + "'");
        return !rows.empty() && rows[0]["Value"] == value;
      },
      std::chrono::milliseconds(60000));
}

bool GaleraCluster::start() {
  if (!nodes_[0]->start()) return false;
  for (size_t i = 1; i < nodes_.size(); ++i)
    if (!nodes_[i]->start()) return false;
  for (const auto& argv : arbitrator_argv_) {
    pid_t pid = start_quietly(argv);
    if (pid < 0) return false;
    arbitrators_.push_back(pid);
  }
  const std::string members = std::to_string(nodes_.size() + arbitrator_argv_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!wait_status(static_cast<int>(i), "wsrep_local_state_comment", "Synced")) return false;
    if (!wait_status(static_cast<int>(i), "wsrep_cluster_size", members)) return false;
  }
  return true;
}

std::string GaleraCluster::arbitrator_log(int i) const {
  return read_file(arbitrator_argv_.at(static_cast<size_t>(i)).back());
}

}  // namespace guardd::test
