#include "daemon/scheduled_shutdown.h"

#include <sys/inotify.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/local_time.h"
#include "daemon/service.h"

namespace guardd {
namespace {

constexpr const char* kLogind = "org.freedesktop.login1";
constexpr const char* kPath = "/org/freedesktop/login1";
constexpr const char* kManager = "org.freedesktop.login1.Manager";
// Again soon after a cancellation that failed, or a schedule logind would not report.
constexpr Micros kRetry = std::chrono::seconds(1);

std::string bus_error(const sd_bus_error& error, int r) {
  return error.message ? error.message : std::strerror(-r);
}

// Who scheduled it, from logind's state file (its D-Bus API does not say); 0 when unknown.
// stdio, not iostreams, as elsewhere in guardd (see config.cpp).
uid_t scheduler_uid() {
  FILE* in = std::fopen("/run/systemd/shutdown/scheduled", "re");
  if (in == nullptr) return 0;
  uid_t uid = 0;
  char line[256];
  while (std::fgets(line, sizeof line, in) != nullptr)
    if (std::strncmp(line, "UID=", 4) == 0)
      uid = static_cast<uid_t>(std::strtoul(line + 4, nullptr, 10));
  std::fclose(in);
  return uid;
}

Status cancel(sd_bus* bus) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  int r = sd_bus_call_method(bus, kLogind, kPath, kManager, "CancelScheduledShutdown", &error,
                             nullptr, "");
  std::string why = r < 0 ? bus_error(error, r) : "";
  sd_bus_error_free(&error);
  if (r < 0) return Error{fmt::format("Failed to cancel logind's scheduled shutdown: {}", why)};
  return ok_status();
}

}  // namespace

Result<std::optional<ScheduledShutdown>> read_scheduled_shutdown(sd_bus* bus) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_get_property(bus, kLogind, kPath, kManager, "ScheduledShutdown", &error, &reply,
                              "(st)");
  const char* mode = nullptr;
  uint64_t when = 0;
  if (r >= 0) r = sd_bus_message_read(reply, "(st)", &mode, &when);
  std::string why = r < 0 ? bus_error(error, r) : "";
  std::string mode_text = r >= 0 && mode ? mode : "";
  sd_bus_message_unref(reply);
  sd_bus_error_free(&error);
  if (r < 0) return Error{fmt::format("Failed to read logind's ScheduledShutdown: {}", why)};
  if (mode_text.empty() || mode_text.rfind("dry-", 0) == 0 || when == 0 || when == UINT64_MAX)
    return std::optional<ScheduledShutdown>{};
  return std::optional<ScheduledShutdown>{ScheduledShutdown{mode_text, static_cast<int64_t>(when)}};
}

std::string operation_for_mode(const std::string& mode) {
  return mode == "poweroff" || mode == "halt" ? "poweroff" : "reboot";
}

Micros ScheduledShutdownGuard::round(sd_bus* bus, Micros margin) {
  auto pending = read_scheduled_shutdown(bus);
  if (!pending) {
    if (!warned_) spdlog::warn("{} (will retry)", pending.error());
    warned_ = true;
    return Micros::max();
  }
  warned_ = false;
  if (!*pending) return Micros::max();
  const ScheduledShutdown& s = **pending;
  const int64_t until_us = s.when_us - now_us();
  const bool due = until_us <= margin.count();
  // Until logind fires: wake for the due decision, or (once it is made) at the interval.
  const Micros wait = due ? Micros::max() : Micros(until_us) - margin;
  const std::string what =
      fmt::format("logind's scheduled {} at {}", s.mode, format_local_time(s.when_us));
  Caller caller;
  caller.uid = scheduler_uid();
  caller.pid = 0;
  caller.exe = "systemd-logind (scheduled shutdown)";
  caller.cmdline = what;
  CheckRequest request{operation_for_mode(s.mode), std::nullopt, what, false, false};
  // The decision made when it is due is recorded either way, so the shutdown that follows
  // has its record; any other round records (and acts on) a refusal only.
  const bool record_due = due && decided_when_us_ != s.when_us;
  if (!record_due && !service_.would_refuse(request, caller)) return wait;
  auto decision = service_.decide_unasked(request, caller);
  const bool refused = !decision || !grants(decision->verdict);
  if (due) decided_when_us_ = s.when_us;
  if (!refused) {
    spdlog::info("{}: decided again, allowed (decision {})", what, decision->id);
    return wait;
  }
  Status cancelled = cancel(bus);
  if (!cancelled) {
    spdlog::error("{}; it was refused ({})", cancelled.error(),
                  decision ? fmt::format("decision {}", decision->id) : decision.error());
    decided_when_us_ = 0;
    return kRetry;
  }
  spdlog::warn("Cancelled {}: refused ({})", what,
               decision ? fmt::format("decision {}", decision->id) : decision.error());
  return Micros::max();
}

ScheduleFileWatch::ScheduleFileWatch(sd_event* event, std::function<void()> changed)
    : event_(event), changed_(std::move(changed)) {
  // The parent is watched too: logind creates the folder at its first schedule.
  int r = sd_event_add_inotify(event_, &parent_, "/run/systemd",
                               IN_CREATE | IN_MOVED_TO | IN_ONLYDIR, on_parent, this);
  if (r < 0)
    spdlog::debug("Not watching /run/systemd for logind's schedule: {}", std::strerror(-r));
  watch_folder();
}

ScheduleFileWatch::~ScheduleFileWatch() {
  sd_event_source_disable_unref(folder_);
  sd_event_source_disable_unref(parent_);
}

void ScheduleFileWatch::watch_folder() {
  if (folder_ != nullptr) return;
  int r = sd_event_add_inotify(
      event_, &folder_, "/run/systemd/shutdown",
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_ONLYDIR, on_folder, this);
  if (r < 0) folder_ = nullptr;  // not there yet: on_parent adds it when it appears
}

int ScheduleFileWatch::on_folder(sd_event_source*, const inotify_event* event, void* self) {
  auto* watch = static_cast<ScheduleFileWatch*>(self);
  if ((event->mask & (IN_DELETE_SELF | IN_IGNORED)) != 0) {
    watch->folder_ = sd_event_source_disable_unref(watch->folder_);
    return 0;
  }
  watch->changed_();
  return 0;
}

int ScheduleFileWatch::on_parent(sd_event_source*, const inotify_event* event, void* self) {
  auto* watch = static_cast<ScheduleFileWatch*>(self);
  if (event->len > 0 && std::strcmp(event->name, "shutdown") == 0) {
    watch->watch_folder();
    watch->changed_();  // its first file may have been written before the watch
  }
  return 0;
}

}  // namespace guardd
