// Discovery looks closely at a server process once it listens, and again at every other
// process: a starting server, or a new one under a pid seen before.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/procfs.h"
#include "plugins/mysql/instance.h"
#include "support/harness.h"

namespace guardd::mysql {
namespace {

using guardd::test::TempDir;
using guardd::test::wait_until;

// A child of this test named mariadbd (its executable is this test's, the user's own) that
// starts listening on `socket_path` when told to, as a starting server does.
class StartingServer {
 public:
  explicit StartingServer(const std::string& socket_path) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      prctl(PR_SET_NAME, "mariadbd");
      char go;
      if (read(fds[0], &go, 1) != 1) _exit(1);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0)
        _exit(1);
      while (true) pause();
    }
    close(fds[0]);
    go_ = fds[1];
  }
  ~StartingServer() {
    if (go_ >= 0) close(go_);
    stop();
  }
  void listen() { ASSERT_EQ(write(go_, "x", 1), 1); }
  void stop() { guardd::test::kill_child(pid_); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
};

std::optional<Instance> found(const Discovery& d, pid_t pid) {
  for (const auto& s : d.servers)
    if (s.pid == pid) return s;
  return std::nullopt;
}

unsigned long long start_time(pid_t pid) {
  return procfs::read_stat(pid)->start_time;
}

TEST(KnownServers, AServerIsRememberedOnceItListensAndForgottenWhenGone) {
  TempDir dir;
  const std::string socket = dir.path() + "/mysqld.sock";
  StartingServer server(socket);
  ASSERT_GT(server.pid(), 0);
  KnownServers known;
  std::optional<Instance> seen;
  ASSERT_TRUE(wait_until([&] {
    return (seen = found(discover_instances("/proc", &known), server.pid())).has_value();
  }));
  EXPECT_FALSE(seen->socket_listening);
  EXPECT_EQ(seen->socket, "/run/mysqld/mysqld.sock");  // the default, until it listens
  EXPECT_FALSE(known.find(server.pid(), start_time(server.pid())))
      << "a server not yet listening must be looked at again";

  server.listen();
  ASSERT_TRUE(wait_until([&] {
    seen = found(discover_instances("/proc", &known), server.pid());
    return seen && seen->socket_listening;
  }));
  EXPECT_EQ(seen->socket, socket);
  auto kept = known.find(server.pid(), start_time(server.pid()));
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->socket, socket);
  // Another process under the same pid starts at another time.
  EXPECT_FALSE(known.find(server.pid(), start_time(server.pid()) + 1));
  seen = found(discover_instances("/proc", &known), server.pid());
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->socket, socket);

  const pid_t pid = server.pid();
  const auto started = start_time(pid);
  server.stop();
  EXPECT_FALSE(found(discover_instances("/proc", &known), pid));
  EXPECT_FALSE(known.find(pid, started)) << "a server gone must be forgotten";
}

}  // namespace
}  // namespace guardd::mysql
