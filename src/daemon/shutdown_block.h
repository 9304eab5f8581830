// Whether shutdown must be blocked now: would a reboot or a power-off be refused?
#pragma once

#include <chrono>

#include "daemon/inhibitor.h"
#include "daemon/policy.h"
#include "daemon/worker_pool.h"
#include "guardd/decision.h"

namespace guardd {

/// Evaluates reboot and poweroff against `policy` (recording nothing) and says why a
/// shutdown must be blocked, one "check: reason" per objection.
InhibitNeed evaluate_shutdown_block(const Policy& policy, WorkerPool& workers);

/// True when `decision` shows that the inhibitor's state is out of date: a reboot or
/// power-off was refused while no lock is held, or allowed while one is.
bool contradicts_shutdown_block(const Decision& decision, const Inhibitor& inhibitor);

}  // namespace guardd
