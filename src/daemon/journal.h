// Structured journal entries for decisions, for journalctl and log shippers.
#pragma once

#include <string_view>

#include "guardd/decision.h"

namespace guardd {

/// MESSAGE_ID of every decision entry: `journalctl MESSAGE_ID=<this>` lists them all.
inline constexpr std::string_view kDecisionMessageId = "8d3ad0b4c1e64f6c9a2f5e7b1c0d9e42";

/// One-line human summary of a decision, as logged.
std::string summarize(const Decision& decision);

/// Sends the decision to the journal; returns 0 or a negative errno (e.g. no journald).
int journal_decision(const Decision& decision);

}  // namespace guardd
