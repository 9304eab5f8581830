// Holds a logind "block" inhibitor lock for shutdown while a reboot or power-off would be
// refused, so `systemctl reboot` meets the same refusal.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/duration.h"

struct sd_bus;

namespace guardd {

/// What an evaluation found: whether shutdown must be blocked, and why.
struct InhibitNeed {
  bool block = false;
  std::string why;
};

/// Runs on its own thread with its own system-bus connection; never fatal: without logind
/// it logs once and retries at the next interval.
class Inhibitor {
 public:
  /// `evaluate` answers whether a reboot or power-off would be refused now; `settings`
  /// gives the current `inhibit` switch and interval (read again at every round);
  /// `after_round`, if set, runs after each round with the bus and returns how soon it
  /// needs the next one (the scheduled-shutdown guard).
  Inhibitor(std::function<InhibitNeed()> evaluate,
            std::function<std::pair<bool, Micros>()> settings,
            std::function<Micros(sd_bus*)> after_round = {});
  ~Inhibitor();
  Inhibitor(const Inhibitor&) = delete;
  Inhibitor& operator=(const Inhibitor&) = delete;

  /// Asks for a re-evaluation now (after a hold change, a reload, or a decision that
  /// contradicts the lock held).
  void poke();

  /// Whether it is switched on and holds a shutdown lock, as of its last evaluation.
  bool enabled() const { return enabled_; }
  bool blocking() const { return blocking_; }

 private:
  void run();
  void apply(const InhibitNeed& need);
  void release();
  /// The system-bus connection, opened if needed; nullptr (logged once) when it cannot be.
  sd_bus* bus();

  std::function<InhibitNeed()> evaluate_;
  std::function<std::pair<bool, Micros>()> settings_;
  std::function<Micros(sd_bus*)> after_round_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool poked_ = true;  // evaluate once at start
  sd_bus* bus_ = nullptr;
  int lock_fd_ = -1;
  std::string why_;
  std::atomic<bool> enabled_{false};
  std::atomic<bool> blocking_{false};
  bool warned_ = false;
  std::thread thread_;
};

}  // namespace guardd
