// The operations guardd knows how to judge.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace guardd {

/// Operations every guardd understands; a site may add more in config.
inline const std::vector<std::string>& builtin_operations() {
  static const std::vector<std::string> ops = {"reboot", "poweroff", "reinstall", "wipe",
                                               "decommission"};
  return ops;
}

/// True for a syntactically acceptable operation name: [a-z0-9][a-z0-9_-]{0,63}.
bool is_valid_operation_name(std::string_view name);

}  // namespace guardd
