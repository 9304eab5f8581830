#include "daemon/journal.h"

#include <syslog.h>

#include <mutex>
#include <systemd/sd-journal.h>

#include <fmt/format.h>

namespace guardd {

std::string summarize(const Decision& d) {
  std::string s = fmt::format("decision {}: {}{}{} {} for uid {} pid {}", d.id, d.operation,
                              d.target ? " " : "", d.target.value_or(""), to_string(d.verdict),
                              d.caller.uid, d.caller.pid);
  if (d.dry_run) s += " (dry run)";
  if (d.error) s += fmt::format(": {}", *d.error);
  for (const auto& c : d.checks)
    if (c.outcome != Outcome::Pass)
      s += fmt::format("; {} {}: {}", c.name, to_string(c.outcome), c.reason);
  return s;
}

int journal_decision(const Decision& d) {
  // libsystemd creates its journal socket lazily on first use; serialise our calls so
  // that set-up is never raced (ThreadSanitizer flags it inside the library).
  static std::mutex journal_mutex;
  std::lock_guard lock(journal_mutex);
  std::string message = summarize(d);
  std::string message_id(kDecisionMessageId);
  int priority = d.verdict == Verdict::Allowed ? LOG_INFO : LOG_NOTICE;
  return sd_journal_send(
      "MESSAGE=%s", message.c_str(), "MESSAGE_ID=%s", message_id.c_str(), "PRIORITY=%i", priority,
      "GUARDD_DECISION_ID=%lld", static_cast<long long>(d.id), "GUARDD_OPERATION=%s",
      d.operation.c_str(), "GUARDD_TARGET=%s", d.target.value_or("").c_str(), "GUARDD_VERDICT=%s",
      std::string(to_string(d.verdict)).c_str(), "GUARDD_DRY_RUN=%d", d.dry_run ? 1 : 0,
      "GUARDD_CALLER_UID=%u", static_cast<unsigned>(d.caller.uid), "GUARDD_CALLER_PID=%d",
      static_cast<int>(d.caller.pid), "GUARDD_CALLER_EXE=%s", d.caller.exe.value_or("").c_str(),
      "GUARDD_REASON=%s", d.reason.value_or("").c_str(), nullptr);
}

}  // namespace guardd
