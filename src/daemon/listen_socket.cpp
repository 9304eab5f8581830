#include "daemon/listen_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace guardd {
namespace {

Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Error{fmt::format("socket path {} is too long", path)};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// True when something is accepting connections on the socket at `addr`.
bool socket_in_use(const sockaddr_un& addr) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool in_use = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return in_use;
}

}  // namespace

Result<ListenSocket> open_listen_socket(const std::string& path, std::optional<gid_t> group) {
  int n = sd_listen_fds(1);
  if (n < 0)
    return Error{fmt::format("Failed to read sockets passed by systemd: {}", strerror(-n))};
  if (n > 1) return Error{fmt::format("systemd passed {} sockets; guardd expects one", n)};
  if (n == 1) {
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
      return Error{"the socket passed by systemd is not a listening AF_UNIX stream socket"};
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
      return Error{
          fmt::format("Failed to make the passed socket non-blocking: {}", strerror(errno))};
    return ListenSocket{fd, true, ""};
  }

  auto addr = socket_address(path);
  if (!addr) return Error{addr.error()};
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{fmt::format("Failed to create {}: {}", dir.string(), ec.message())};
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Error{fmt::format("{} exists and is not a socket; not replacing it", path)};
    if (socket_in_use(*addr))
      return Error{fmt::format("{} is in use: is another guardd running?", path)};
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error{fmt::format("Failed to create socket: {}", strerror(errno))};
  // Bind with a restrictive umask so the socket is never briefly world-connectable.
  mode_t old_mask = umask(0117);
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr));
  int bind_errno = errno;
  umask(old_mask);
  if (rc != 0) {
    close(fd);
    return Error{fmt::format("Failed to bind {}: {}", path, strerror(bind_errno))};
  }
  if (group && chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    int e = errno;
    close(fd);
    return Error{fmt::format("Failed to set the group of {}: {}", path, strerror(e))};
  }
  if (chmod(path.c_str(), 0660) != 0 || listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    close(fd);
    return Error{fmt::format("Failed to listen on {}: {}", path, strerror(e))};
  }
  return ListenSocket{fd, false, path};
}

}  // namespace guardd
