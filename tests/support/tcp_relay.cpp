#include "support/tcp_relay.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace guardd::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

}  // namespace

TcpRelay::TcpRelay(int target) : target_(target) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof a;
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len) != 0 ||
      pipe2(wake_, O_CLOEXEC) != 0)
    throw std::runtime_error("TcpRelay: cannot listen");
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

TcpRelay::~TcpRelay() {
  (void)!write(wake_[1], "x", 1);
  thread_.join();
  close(listener_);
  close(wake_[0]);
  close(wake_[1]);
}

void TcpRelay::run() {
  std::vector<std::pair<int, int>> links;  // client, server
  auto close_link = [&](size_t i) {
    close(links[i].first);
    close(links[i].second);
    links.erase(links.begin() + static_cast<std::ptrdiff_t>(i));
  };
  while (true) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listener_, POLLIN, 0}};
    const bool relaying = !paused_;
    if (relaying)
      for (auto [c, s] : links) {
        fds.push_back({c, POLLIN, 0});
        fds.push_back({s, POLLIN, 0});
      }
    // While paused, wake now and then to see whether to resume.
    if (poll(fds.data(), fds.size(), relaying ? -1 : 20) < 0) continue;
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in to = loopback(target_);
      if (client >= 0 && server >= 0 &&
          connect(server, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
        links.emplace_back(client, server);
      } else {
        if (client >= 0) close(client);
        if (server >= 0) close(server);
      }
      continue;  // the list changed: poll again
    }
    // Paused while polling: what arrived stays unread.
    if (!relaying || paused_) continue;
    for (size_t i = links.size(); i-- > 0;) {
      const pollfd& from_client = fds[2 + 2 * i];
      const pollfd& from_server = fds[3 + 2 * i];
      bool ended = false;
      for (auto [fd, to] :
           {std::pair{&from_client, links[i].second}, std::pair{&from_server, links[i].first}}) {
        if (!fd->revents) continue;
        char buf[16384];
        ssize_t n = read(fd->fd, buf, sizeof buf);
        if (n <= 0 || write(to, buf, static_cast<size_t>(n)) != n) ended = true;
      }
      if (ended) close_link(i);
    }
  }
  for (size_t i = links.size(); i-- > 0;) close_link(i);
}

}  // namespace guardd::test
