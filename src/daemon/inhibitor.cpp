#include "daemon/inhibitor.h"

#include <fcntl.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstring>

#include <spdlog/spdlog.h>

namespace guardd {

Inhibitor::Inhibitor(std::function<InhibitNeed()> evaluate,
                     std::function<std::pair<bool, Micros>()> settings,
                     std::function<Micros(sd_bus*)> after_round)
    : evaluate_(std::move(evaluate)),
      settings_(std::move(settings)),
      after_round_(std::move(after_round)),
      thread_([this] { run(); }) {}

Inhibitor::~Inhibitor() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Inhibitor::poke() {
  {
    std::lock_guard lock(mutex_);
    poked_ = true;
  }
  wake_.notify_all();
}

void Inhibitor::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    auto [enabled, interval] = settings_();
    enabled_ = enabled;
    if (!enabled) {
      release();
      wake_.wait(lock, [&] { return stop_ || poked_; });
      poked_ = false;
      continue;
    }
    poked_ = false;
    lock.unlock();
    InhibitNeed need = evaluate_();
    apply(need);
    Micros next = interval;
    if (after_round_) {
      if (sd_bus* b = bus()) next = std::min(next, after_round_(b));
      if (bus_ != nullptr && sd_bus_is_open(bus_) <= 0) {  // reopened next round
        sd_bus_flush_close_unref(bus_);
        bus_ = nullptr;
      }
    }
    lock.lock();
    // The interval re-checks state that changes without a decision (a replica connects).
    wake_.wait_for(lock, next, [&] { return stop_ || poked_; });
  }
  release();
  sd_bus_flush_close_unref(bus_);
  bus_ = nullptr;
}

void Inhibitor::release() {
  if (lock_fd_ < 0) return;
  close(lock_fd_);
  lock_fd_ = -1;
  blocking_ = false;
  why_.clear();
  spdlog::info("Released the logind shutdown inhibitor: nothing vetoes a reboot now");
}

sd_bus* Inhibitor::bus() {
  if (bus_ != nullptr) return bus_;
  int r = sd_bus_open_system(&bus_);
  if (r < 0) {
    if (!warned_)
      spdlog::warn("Cannot reach the system bus for a logind inhibitor: {}", std::strerror(-r));
    warned_ = true;
    bus_ = nullptr;
  }
  return bus_;
}

void Inhibitor::apply(const InhibitNeed& need) {
  if (!need.block) {
    release();
    return;
  }
  if (lock_fd_ >= 0 && need.why == why_) return;
  if (bus() == nullptr) return;
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus_, "org.freedesktop.login1", "/org/freedesktop/login1",
                             "org.freedesktop.login1.Manager", "Inhibit", &error, &reply, "ssss",
                             "shutdown", "guardd", need.why.c_str(), "block");
  int fd = -1;
  if (r >= 0) r = sd_bus_message_read(reply, "h", &fd);
  if (r >= 0) fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);  // the message owns the one it carries
  if (r < 0 || fd < 0) {
    if (!warned_)
      spdlog::warn("Cannot take a logind shutdown inhibitor (will retry): {}",
                   error.message ? error.message : std::strerror(r < 0 ? -r : errno));
    warned_ = true;
    sd_bus_error_free(&error);
    sd_bus_message_unref(reply);
    // A broken connection is reopened next time.
    sd_bus_flush_close_unref(bus_);
    bus_ = nullptr;
    return;
  }
  sd_bus_error_free(&error);
  sd_bus_message_unref(reply);
  // Take the new lock before dropping the old, so shutdown is never unblocked in between.
  if (lock_fd_ >= 0) close(lock_fd_);
  lock_fd_ = fd;
  blocking_ = true;
  why_ = need.why;
  warned_ = false;
  spdlog::info("Holding a logind shutdown inhibitor: {}", why_);
}

}  // namespace guardd
