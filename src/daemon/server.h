// The Varlink server: accepts connections, frames messages, runs each call on a worker
// thread and sends replies in order. A slow or hostile client only ever affects itself.
#pragma once

#include <systemd/sd-event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/duration.h"
#include "common/varlink_frame.h"
#include "common/varlink_message.h"
#include "daemon/service.h"
#include "daemon/worker_pool.h"

namespace guardd {

/// Connection limits, read from the policy in force when a connection is accepted.
struct ServerLimits {
  std::size_t max_message_bytes = 64 * 1024;
  Micros idle_timeout{std::chrono::seconds(30)};
  int max_connections_per_uid = 32;  // root is exempt
  int max_connections = 1024;
};

class Server {
 public:
  /// Calls are answered on `workers`.
  Server(sd_event* event, Service& service, WorkerPool& workers,
         std::function<ServerLimits()> limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Starts accepting on a listening, non-blocking socket (owned by the caller).
  Status start(int listen_fd);

  /// Stops accepting and closes idle connections; `drained` runs once no connection is left.
  void shut_down(std::function<void()> drained);

  /// Calls being answered right now.
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Connection;
  struct Completion;
  struct Completions;
  /// A call handed to a worker, and what it needs to take the same client's next ones.
  struct WorkerCalls {
    std::shared_ptr<Completions> completions;
    Service& service;
    uint64_t id;
    Caller caller;
    VarlinkCall call;
    int reply_fd;  // a duplicate of the client's socket, or -1: the loop sends the reply
    std::size_t max_message;
    bool await_next;  // the worker holds all of the connection's input
  };

  /// On a worker: answers `w.call`, and the client's next calls while they follow quickly.
  static void answer_calls(WorkerCalls& w);
  /// On a worker: waits briefly for one whole call on `fd`; bytes read but not returned as
  /// a call are left in `input`, and EOF in `peer_closed`, for the event loop.
  static std::optional<VarlinkCall> await_next_call(int fd, std::size_t max_message,
                                                    std::string& input, bool& peer_closed);

  static int on_accept(sd_event_source* s, int fd, uint32_t revents, void* userdata);
  static int on_io(sd_event_source* s, int fd, uint32_t revents, void* userdata);
  static int on_idle(sd_event_source* s, uint64_t usec, void* userdata);
  static int on_completion(sd_event_source* s, int fd, uint32_t revents, void* userdata);

  void accept_all();
  void handle_io(Connection& c, uint32_t revents);
  void process_input(Connection& c);
  void dispatch(Connection& c, std::string message);
  void queue(Connection& c, const std::string& message);
  void flush(Connection& c);
  void update_events(Connection& c);
  void touch(Connection& c);
  void close_connection(uint64_t id);
  void deliver_completions();
  void maybe_drained();

  sd_event* event_;
  Service& service_;
  WorkerPool& workers_;
  std::function<ServerLimits()> limits_fn_;
  sd_event_source* listen_source_ = nullptr;
  sd_event_source* completion_source_ = nullptr;
  std::shared_ptr<Completions> completions_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::map<uid_t, int> per_uid_;
  uint64_t next_id_ = 1;
  std::size_t in_flight_ = 0;
  bool shutting_down_ = false;
  std::function<void()> drained_;
};

}  // namespace guardd
