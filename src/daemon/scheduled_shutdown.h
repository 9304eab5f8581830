// A shutdown scheduled through logind (`shutdown -r +10`) is decided when it is
// scheduled, and logind later fires it without looking at block inhibitors. This decides
// it again while it is pending: whenever a hold changes or the inhibitor's round runs, and
// once more when it is due; whenever it would be refused, the refusal is recorded and the
// shutdown is cancelled through logind.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/duration.h"
#include "guardd/result.h"

struct sd_bus;
struct sd_event;
struct sd_event_source;
struct inotify_event;

namespace guardd {

class Service;

/// logind's Manager.ScheduledShutdown.
struct ScheduledShutdown {
  std::string mode;     // logind's: reboot, poweroff, halt, kexec, soft-reboot
  int64_t when_us = 0;  // wall-clock microseconds since the epoch
};

/// The pending shutdown, nullopt when none (or only a "dry-" one, which only warns); the
/// error when logind cannot be asked.
Result<std::optional<ScheduledShutdown>> read_scheduled_shutdown(sd_bus* bus);

/// The guardd operation a logind shutdown mode stands for (reboot or poweroff).
std::string operation_for_mode(const std::string& mode);

/// Decides pending scheduled shutdowns again; lives on the inhibitor's thread.
class ScheduledShutdownGuard {
 public:
  explicit ScheduledShutdownGuard(Service& service) : service_(service) {}

  /// One round with the inhibitor's bus: decides again what is pending (recording a
  /// refusal and cancelling it, or recording the decision made when it is due) and
  /// returns how soon it needs the next round. `margin` is how long before the due time
  /// the last decision is made (the decision deadline and some).
  Micros round(sd_bus* bus, Micros margin);

 private:
  Service& service_;
  int64_t decided_when_us_ = 0;  // the schedule already decided at its due time
  bool warned_ = false;
};

/// Calls `changed` on the event loop whenever logind writes or removes its schedule file
/// (/run/systemd/shutdown/scheduled; its D-Bus property sends no change signal), so a new
/// schedule is decided at once, not at the next inhibitor interval. Where /run/systemd
/// does not exist it watches nothing and the interval still applies.
class ScheduleFileWatch {
 public:
  ScheduleFileWatch(sd_event* event, std::function<void()> changed);
  ~ScheduleFileWatch();
  ScheduleFileWatch(const ScheduleFileWatch&) = delete;
  ScheduleFileWatch& operator=(const ScheduleFileWatch&) = delete;

 private:
  static int on_folder(sd_event_source*, const inotify_event* event, void* self);
  static int on_parent(sd_event_source*, const inotify_event* event, void* self);
  void watch_folder();

  sd_event* event_;
  std::function<void()> changed_;
  sd_event_source* parent_ = nullptr;  // /run/systemd, for the folder's creation
  sd_event_source* folder_ = nullptr;  // /run/systemd/shutdown
};

}  // namespace guardd
