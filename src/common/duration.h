// Durations in systemd's notation ("500ms", "5s", "2min", "1h 30min").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "guardd/result.h"

namespace guardd {

using Micros = std::chrono::microseconds;

/// Parses a systemd-style duration; a bare number means seconds.
Result<Micros> parse_duration(std::string_view text);

/// Formats a duration in the largest units that keep it exact ("1min 30s", "250ms").
std::string format_duration(Micros d);

}  // namespace guardd
