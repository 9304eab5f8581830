// A TCP relay on loopback that can be paused: while paused it moves no byte either way but
// keeps every connection open, as a link does that has silently stalled (a dead route, a
// full firewall state table) before any timeout notices.
#pragma once

#include <atomic>
#include <thread>

namespace guardd::test {

class TcpRelay {
 public:
  /// Listens on a free 127.0.0.1 port and relays each connection to 127.0.0.1:`target`.
  explicit TcpRelay(int target);
  /// Stops relaying and closes every connection.
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  /// The port clients connect to.
  int port() const { return port_; }
  /// Stops moving bytes (connections stay open).
  void pause() { paused_ = true; }
  /// Moves bytes again.
  void resume() { paused_ = false; }

 private:
  void run();
  int target_;
  int listener_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // written to by the destructor to end run()
  std::atomic<bool> paused_{false};
  std::thread thread_;
};

}  // namespace guardd::test
