// Local wall-clock times for people to read.
#pragma once

#include <cstdint>
#include <string>

namespace guardd {

/// "YYYY-MM-DD HH:MM:SS" in local time, from microseconds since the epoch.
std::string format_local_time(int64_t time_us);

}  // namespace guardd
