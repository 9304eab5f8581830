#include "ctl/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/varlink_frame.h"
#include "common/varlink_message.h"
#include "guardd/protocol.h"

namespace guardd::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Replies can be far larger than requests (ListDecisions); cap them anyway.
constexpr std::size_t kMaxReplyBytes = 256 * 1024 * 1024;

int remaining_ms(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int r = poll(&p, 1, remaining_ms(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;  // let the following I/O report the error
  }
}

}  // namespace

std::string Response::reason() const {
  if (parameters.is_object() && parameters.contains("reason") && parameters["reason"].is_string())
    return parameters["reason"].get<std::string>();
  if (parameters.is_object() && !parameters.empty())
    return fmt::format("{} {}", error, parameters.dump());
  return error;
}

Result<Client> Client::connect(const std::string& path, Clock::time_point deadline) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return Error{fmt::format("socket path {} is too long", path)};
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error{fmt::format("cannot create socket: {}", std::strerror(errno))};
  Client client(fd);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN)
      return Error{fmt::format("cannot connect to guardd at {}: {}", path, std::strerror(errno))};
    if (!wait_for(fd, POLLOUT, deadline))
      return Error{fmt::format("timed out connecting to guardd at {}", path)};
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0)
      return Error{fmt::format("cannot connect to guardd at {}: {}", path, std::strerror(err))};
  }
  return client;
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

Result<Response> Client::call(const std::string& method, const nlohmann::json& parameters,
                              Clock::time_point deadline) {
  std::string out =
      frame_message(nlohmann::json{{"method", method}, {"parameters", parameters}}.dump(
          -1, ' ', false, nlohmann::json::error_handler_t::replace));
  std::size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_for(fd_, POLLOUT, deadline)) return Error{"timed out sending to guardd"};
      continue;
    }
    return Error{fmt::format("cannot send to guardd: {}", std::strerror(errno))};
  }
  FrameReader reader(kMaxReplyBytes);
  while (true) {
    if (auto message = reader.next()) {
      auto doc = nlohmann::json::parse(*message, nullptr, false);
      if (!doc.is_object()) return Error{"guardd sent a malformed reply"};
      Response r;
      if (auto e = doc.find("error"); e != doc.end() && e->is_string()) r.error = *e;
      if (auto p = doc.find("parameters"); p != doc.end() && p->is_object()) r.parameters = *p;
      return r;
    }
    if (reader.overflowed()) return Error{"guardd sent an oversize reply"};
    if (!wait_for(fd_, POLLIN, deadline)) return Error{"timed out waiting for guardd's answer"};
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
    } else if (n == 0) {
      return Error{"guardd closed the connection without answering"};
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Error{fmt::format("cannot read from guardd: {}", std::strerror(errno))};
    }
  }
}

}  // namespace guardd::ctl
