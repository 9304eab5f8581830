// Parsing the WHEN of `guardctl log --since/--until`.
#pragma once

#include <cstdint>
#include <string_view>

#include "guardd/result.h"

namespace guardd::ctl {

/// Parses WHEN into microseconds since the epoch: relative ("2h", "7d", "30min" ago),
/// "now", "today", "yesterday", "@EPOCH_SECONDS", or ISO 8601 ("2026-11-26",
/// "2026-11-26T10:00", "2026-11-26 10:00:00+01:00", "...Z"; local time without a zone).
Result<int64_t> parse_when(std::string_view text, int64_t now_us);

}  // namespace guardd::ctl
