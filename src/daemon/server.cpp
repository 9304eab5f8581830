#include "daemon/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/varlink_message.h"
#include "daemon/peer.h"
#include "guardd/protocol.h"

namespace guardd {
namespace {

// A client that does not read its replies is cut off past this much unsent output.
constexpr std::size_t kMaxPendingOutput = 16 * 1024 * 1024;
constexpr std::size_t kReadChunk = 64 * 1024;
// How long the worker that answered a call waits for the same client's next one (see
// answer_calls): a client that keeps its connection asks again within tens of
// microseconds of its answer; one that is done closes it about as fast.
constexpr auto kAwaitNextCall = std::chrono::microseconds(500);

std::string request_error(std::string_view reason) {
  return frame_message(encode_error(protocol::kErrInvalidRequest, {{"reason", reason}}));
}

std::string frame_reply(const Reply& reply) {
  return frame_message(reply.error.empty() ? encode_reply(reply.parameters)
                                           : encode_error(reply.error, reply.parameters));
}

// Sends as much of `data` as the socket takes without blocking; how many bytes went, or
// nullopt when the peer is gone.
std::optional<std::size_t> send_nonblocking(int fd, std::string_view data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return std::nullopt;
  }
  return sent;
}

// Sends what fits of `message` now; returns the rest for the event loop to send (empty
// when all went, or when the peer is gone, which the loop notices itself).
std::string send_what_fits(int fd, std::string message) {
  auto sent = send_nonblocking(fd, message);
  if (!sent) return {};
  message.erase(0, *sent);
  return message;
}

}  // namespace

struct Server::Connection {
  uint64_t id = 0;
  int fd = -1;
  Caller caller;
  FrameReader reader;
  std::string out;
  std::size_t out_offset = 0;
  sd_event_source* io = nullptr;
  sd_event_source* idle = nullptr;
  Server* server = nullptr;
  bool busy = false;         // a worker is answering a call from this connection
  bool peer_closed = false;  // EOF or hang-up seen
  bool close_when_flushed = false;

  explicit Connection(std::size_t max_message) : reader(max_message) {}
  bool has_output() const { return out_offset < out.size(); }
};

// What a worker hands back to the event loop when it is done with a connection.
struct Server::Completion {
  uint64_t id = 0;
  std::optional<std::string> reply;  // the part of the last reply not sent yet
  std::string input;                 // bytes the worker read but did not answer
  bool peer_closed = false;          // the worker saw the client's end of the stream
};

// Finished calls handed from workers to the event loop.
struct Server::Completions {
  std::mutex mutex;
  std::vector<Completion> items;
  int eventfd = -1;
  std::atomic<bool> stopping{false};  // shutting down: workers take no further calls

  void push(Completion done) {
    {
      std::lock_guard lock(mutex);
      items.push_back(std::move(done));
    }
    uint64_t one = 1;
    // eventfd writes only fail on counter overflow, which cannot happen here.
    (void)!write(eventfd, &one, sizeof(one));
  }
  ~Completions() {
    if (eventfd >= 0) close(eventfd);
  }
};

Server::Server(sd_event* event, Service& service, WorkerPool& workers,
               std::function<ServerLimits()> limits)
    : event_(event),
      service_(service),
      workers_(workers),
      limits_fn_(std::move(limits)),
      completions_(std::make_shared<Completions>()) {}

Server::~Server() {
  completions_->stopping = true;
  std::vector<uint64_t> ids;
  for (auto& [id, c] : connections_) ids.push_back(id);
  for (auto id : ids) close_connection(id);
  sd_event_source_disable_unref(listen_source_);
  sd_event_source_disable_unref(completion_source_);
}

Status Server::start(int listen_fd) {
  completions_->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (completions_->eventfd < 0)
    return Error{fmt::format("Failed to create eventfd: {}", std::strerror(errno))};
  int r = sd_event_add_io(event_, &completion_source_, completions_->eventfd, EPOLLIN,
                          on_completion, this);
  if (r < 0) return Error{fmt::format("Failed to watch eventfd: {}", std::strerror(-r))};
  r = sd_event_add_io(event_, &listen_source_, listen_fd, EPOLLIN, on_accept, this);
  if (r < 0) return Error{fmt::format("Failed to watch the socket: {}", std::strerror(-r))};
  return ok_status();
}

void Server::shut_down(std::function<void()> drained) {
  shutting_down_ = true;
  completions_->stopping = true;
  drained_ = std::move(drained);
  sd_event_source_set_enabled(listen_source_, SD_EVENT_OFF);
  std::vector<uint64_t> idle;
  for (auto& [id, c] : connections_) {
    c->close_when_flushed = true;
    if (!c->busy && !c->has_output()) idle.push_back(id);
  }
  for (auto id : idle) close_connection(id);
  maybe_drained();
}

void Server::maybe_drained() {
  if (shutting_down_ && connections_.empty() && in_flight_ == 0 && drained_) {
    auto done = std::move(drained_);
    drained_ = nullptr;
    done();
  }
}

int Server::on_accept(sd_event_source*, int, uint32_t, void* userdata) {
  static_cast<Server*>(userdata)->accept_all();
  return 0;
}

void Server::accept_all() {
  int listen_fd = sd_event_source_get_io_fd(listen_source_);
  const ServerLimits limits = limits_fn_();
  while (true) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        spdlog::warn("Failed to accept a connection: {}", std::strerror(errno));
      return;
    }
    auto caller = identify_peer(fd);
    if (!caller) {
      spdlog::warn("Closing a connection: {}", caller.error());
      close(fd);
      continue;
    }
    std::string refusal;
    if (static_cast<int>(connections_.size()) >= limits.max_connections)
      refusal = fmt::format("too many connections ({})", limits.max_connections);
    else if (caller->uid != 0 && per_uid_[caller->uid] >= limits.max_connections_per_uid)
      refusal = fmt::format("too many connections for uid {} ({})", caller->uid,
                            limits.max_connections_per_uid);
    if (!refusal.empty()) {
      std::string msg = request_error(refusal);
      (void)!send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      spdlog::warn("Refused a connection from pid {} uid {}: {}", caller->pid, caller->uid,
                   refusal);
      continue;
    }
    auto c = std::make_unique<Connection>(limits.max_message_bytes);
    c->id = next_id_++;
    c->fd = fd;
    c->caller = std::move(*caller);
    c->server = this;
    int r = sd_event_add_io(event_, &c->io, fd, EPOLLIN, on_io, c.get());
    if (r >= 0)
      r = sd_event_add_time_relative(event_, &c->idle, CLOCK_MONOTONIC,
                                     static_cast<uint64_t>(limits.idle_timeout.count()), 0, on_idle,
                                     c.get());
    if (r < 0) {
      spdlog::warn("Failed to watch a connection: {}", std::strerror(-r));
      sd_event_source_disable_unref(c->io);
      close(fd);
      continue;
    }
    sd_event_source_set_enabled(c->idle, SD_EVENT_ONESHOT);
    per_uid_[c->caller.uid]++;
    uint64_t id = c->id;
    connections_.emplace(id, std::move(c));
  }
}

int Server::on_io(sd_event_source*, int, uint32_t revents, void* userdata) {
  auto* c = static_cast<Connection*>(userdata);
  c->server->handle_io(*c, revents);
  return 0;
}

void Server::handle_io(Connection& c, uint32_t revents) {
  const uint64_t id = c.id;
  if (revents & EPOLLOUT) {
    flush(c);
    if (!connections_.count(id)) return;
  }
  if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c.busy && !c.peer_closed) {
    char buf[kReadChunk];
    ssize_t n = recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      c.reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
      touch(c);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      c.peer_closed = true;
    }
  } else if ((revents & (EPOLLHUP | EPOLLERR)) && c.busy) {
    c.peer_closed = true;  // the worker's reply will be dropped
  }
  process_input(c);
}

void Server::process_input(Connection& c) {
  const uint64_t id = c.id;
  while (!c.busy && !c.close_when_flushed) {
    auto message = c.reader.next();
    if (!message) break;
    dispatch(c, std::move(*message));
    if (!connections_.count(id)) return;
  }
  if (!c.busy && c.reader.overflowed() && !c.close_when_flushed) {
    queue(c, request_error(fmt::format("message exceeds {} bytes", protocol::kMaxMessageBytes)));
    c.close_when_flushed = true;
    spdlog::warn("Closing connection of pid {}: oversize message", c.caller.pid);
  }
  if (!connections_.count(id)) return;
  if (c.peer_closed && !c.busy) {
    if (c.reader.has_partial())
      spdlog::debug("Connection of pid {} closed mid-message", c.caller.pid);
    close_connection(id);
    return;
  }
  if (c.close_when_flushed && !c.busy && !c.has_output()) {
    close_connection(id);
    return;
  }
  update_events(c);
}

void Server::dispatch(Connection& c, std::string message) {
  auto call = decode_call(message);
  if (!call) {
    queue(c, request_error(call.error()));
    return;
  }
  // With nothing else queued for this client, the worker sends the reply itself, on a
  // duplicate of the socket (so the number can never name another client's socket): the
  // client has its answer without waiting for this loop to wake up.
  int reply_fd = -1;
  if (!c.has_output() && !call->oneway) reply_fd = fcntl(c.fd, F_DUPFD_CLOEXEC, 3);
  // Shared, so that the call is still here if no worker can take it.
  auto calls = std::make_shared<WorkerCalls>(
      WorkerCalls{completions_, service_, c.id, c.caller, std::move(*call), reply_fd,
                  c.reader.max_message(), !c.reader.has_partial()});
  c.busy = true;
  ++in_flight_;
  Status started = workers_.run([calls] { answer_calls(*calls); });
  if (!started) {
    if (reply_fd >= 0) close(reply_fd);
    c.busy = false;
    --in_flight_;
    // Refused here, on the loop: its record costs the loop one commit, in a failure that
    // is already exceptional (threads exhausted).
    Reply reply = service_.refuse_unrun(calls->call, c.caller, started.error());
    if (!calls->call.oneway) queue(c, frame_reply(reply));
  }
}

void Server::answer_calls(WorkerCalls& w) {
  Completion done{w.id, std::nullopt, {}, false};
  for (;;) {
    {
      // The decision's journal entry and change notification wait until the reply is
      // sent: the caller's answer is durable without them.
      Service::AnnounceAfterReply announce_after(w.service);
      Reply reply = w.service.handle(w.call, w.caller);
      done.reply.reset();
      if (!w.call.oneway) done.reply = frame_reply(reply);
      if (done.reply && w.reply_fd >= 0)
        done.reply = send_what_fits(w.reply_fd, std::move(*done.reply));
    }
    if (w.reply_fd < 0) break;
    // Wait briefly for the client's next call and answer it here too: no hand-off to the
    // event loop and back to a worker, two thread wake-ups fewer per call. Only while
    // this worker holds all of the connection's input (nothing was buffered behind the
    // call, everything was sent) so that calls are answered in order, and only for one
    // whole well-formed call: anything else goes back to the loop, which owns framing,
    // limits and errors.
    if (!w.await_next || (done.reply && !done.reply->empty()) || w.completions->stopping) break;
    auto next = await_next_call(w.reply_fd, w.max_message, done.input, done.peer_closed);
    if (!next) break;
    w.call = std::move(*next);
  }
  if (w.reply_fd >= 0) close(w.reply_fd);
  w.completions->push(std::move(done));
}

std::optional<VarlinkCall> Server::await_next_call(int fd, std::size_t max_message,
                                                   std::string& input, bool& peer_closed) {
  struct pollfd p = {fd, POLLIN, 0};
  struct timespec wait = {0, std::chrono::nanoseconds(kAwaitNextCall).count()};
  if (ppoll(&p, 1, &wait, nullptr) <= 0) return std::nullopt;
  char buf[kReadChunk];
  ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  if (n == 0) peer_closed = true;
  if (n <= 0) return std::nullopt;  // errors are the event loop's to notice
  input.assign(buf, static_cast<std::size_t>(n));
  // One whole message within the limit, and nothing after it.
  FrameReader framing(max_message);
  framing.feed(input);
  auto message = framing.next();
  if (!message || framing.has_partial()) return std::nullopt;
  auto call = decode_call(*message);
  if (!call) return std::nullopt;
  input.clear();
  return std::move(*call);
}

int Server::on_completion(sd_event_source*, int fd, uint32_t, void* userdata) {
  uint64_t count;
  (void)!read(fd, &count, sizeof(count));
  static_cast<Server*>(userdata)->deliver_completions();
  return 0;
}

void Server::deliver_completions() {
  std::vector<Completion> items;
  {
    std::lock_guard lock(completions_->mutex);
    items.swap(completions_->items);
  }
  for (auto& done : items) {
    --in_flight_;
    const uint64_t id = done.id;
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;
    Connection& c = *it->second;
    c.busy = false;
    if (done.reply && !done.reply->empty() && !c.peer_closed) queue(c, *done.reply);
    if (!connections_.count(id)) continue;
    c.reader.feed(done.input);
    if (done.peer_closed) c.peer_closed = true;
    touch(c);
    process_input(c);
    // The client may have sent its next call already (it had its answer directly): read
    // it now rather than after another trip through epoll. Only with no call buffered,
    // so a pipelining client's input stays bounded.
    if (connections_.count(id) && !c.busy) handle_io(c, EPOLLIN);
  }
  maybe_drained();
}

void Server::queue(Connection& c, const std::string& message) {
  if (c.out_offset == c.out.size()) {
    c.out.clear();
    c.out_offset = 0;
  }
  if (c.out.size() - c.out_offset + message.size() > kMaxPendingOutput) {
    spdlog::warn("Closing connection of pid {}: it does not read its replies", c.caller.pid);
    close_connection(c.id);
    return;
  }
  c.out.append(message);
  flush(c);
}

void Server::flush(Connection& c) {
  if (c.has_output()) {
    auto sent = send_nonblocking(c.fd, std::string_view(c.out).substr(c.out_offset));
    if (!sent) {
      close_connection(c.id);  // the peer is gone
      return;
    }
    c.out_offset += *sent;
  }
  if (!c.has_output() && c.close_when_flushed && !c.busy) {
    close_connection(c.id);
    return;
  }
  update_events(c);
}

void Server::update_events(Connection& c) {
  uint32_t events = 0;
  if (!c.busy && !c.peer_closed && !c.close_when_flushed) events |= EPOLLIN;
  if (c.has_output()) events |= EPOLLOUT;
  // With no events wanted, a hang-up would still wake us in a loop: switch the source off.
  if (events == 0) {
    sd_event_source_set_enabled(c.io, SD_EVENT_OFF);
  } else {
    sd_event_source_set_io_events(c.io, events);
    sd_event_source_set_enabled(c.io, SD_EVENT_ON);
  }
}

void Server::touch(Connection& c) {
  sd_event_source_set_time_relative(c.idle,
                                    static_cast<uint64_t>(limits_fn_().idle_timeout.count()));
  sd_event_source_set_enabled(c.idle, SD_EVENT_ONESHOT);
}

int Server::on_idle(sd_event_source*, uint64_t, void* userdata) {
  auto* c = static_cast<Connection*>(userdata);
  Server* server = c->server;
  if (c->busy || c->has_output()) {
    server->touch(*c);  // answering or sending is not idleness
    return 0;
  }
  spdlog::debug("Closing idle connection of pid {}", c->caller.pid);
  server->close_connection(c->id);
  server->maybe_drained();
  return 0;
}

void Server::close_connection(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  sd_event_source_disable_unref(c.io);
  sd_event_source_disable_unref(c.idle);
  close(c.fd);
  if (--per_uid_[c.caller.uid] <= 0) per_uid_.erase(c.caller.uid);
  connections_.erase(it);
}

}  // namespace guardd
