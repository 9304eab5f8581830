// Whether shutdown must be blocked now: would a reboot or a power-off be refused?
#pragma once

#include <chrono>

#include "daemon/inhibitor.h"
#include "daemon/policy.h"

namespace guardd {

/// Evaluates reboot and poweroff against `policy` (recording nothing) and says why a
/// shutdown must be blocked, one "check: reason" per objection.
InhibitNeed evaluate_shutdown_block(const Policy& policy);

}  // namespace guardd
