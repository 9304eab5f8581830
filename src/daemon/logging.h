// spdlog set-up: to stderr, which is the journal under systemd.
#pragma once

#include <string>

namespace guardd {

/// Installs the stderr logger; under the journal, timestamps are left to journald.
void setup_logging();

/// Applies a config log_level name (trace ... off).
void set_log_level(const std::string& level);

}  // namespace guardd
