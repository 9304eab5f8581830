#include "plugins/mysql/listening_sockets.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace guardd::mysql {
namespace {

constexpr unsigned long kUnixListening = 0x00010000;  // __SO_ACCEPTCON in /proc/net/unix
constexpr const char* kTcpListen = "0A";              // TCP_LISTEN in /proc/net/tcp

// The socket inodes among the process's fds ("socket:[12345]").
std::set<unsigned long> socket_inodes(const std::string& fd_dir) {
  std::set<unsigned long> inodes;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(fd_dir, ec)) {
    char target[64];
    ssize_t n = readlink(e.path().c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long inode = 0;
    if (std::sscanf(target, "socket:[%lu]", &inode) == 1) inodes.insert(inode);
  }
  return inodes;
}

}  // namespace

ListeningSockets listening_sockets(pid_t pid, const std::string& proc_root) {
  ListeningSockets out;
  const std::string base = proc_root + "/" + std::to_string(pid);
  auto inodes = socket_inodes(base + "/fd");
  if (inodes.empty()) return out;

  // "Num RefCount Protocol Flags Type St Inode Path"
  std::ifstream unix_table(base + "/net/unix");
  std::string line;
  std::getline(unix_table, line);  // header
  while (std::getline(unix_table, line)) {
    std::istringstream f(line);
    std::string num, refs, proto, flags, type, state, path;
    unsigned long inode = 0;
    if (!(f >> num >> refs >> proto >> flags >> type >> state >> inode)) continue;
    std::getline(f >> std::ws, path);
    if (!inodes.count(inode) || path.empty() || path[0] != '/') continue;  // abstract, unnamed
    if ((std::stoul(flags, nullptr, 16) & kUnixListening) == 0) continue;
    out.unix_paths.push_back(path);
  }
  // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode"
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream tcp(base + table);
    std::getline(tcp, line);
    while (std::getline(tcp, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
      unsigned long inode = 0;
      if (!(f >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
            timeout >> inode))
        continue;
      if (state != kTcpListen || !inodes.count(inode)) continue;
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      int port = static_cast<int>(std::stoul(local.substr(colon + 1), nullptr, 16));
      if (std::find(out.tcp_ports.begin(), out.tcp_ports.end(), port) == out.tcp_ports.end())
        out.tcp_ports.push_back(port);
    }
  }
  return out;
}

bool in_other_mount_namespace(pid_t pid, const std::string& proc_root) {
  struct stat mine {
  }, theirs{};
  if (stat((proc_root + "/self/ns/mnt").c_str(), &mine) != 0) return false;
  if (stat((proc_root + "/" + std::to_string(pid) + "/ns/mnt").c_str(), &theirs) != 0) return false;
  return mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev;
}

}  // namespace guardd::mysql
