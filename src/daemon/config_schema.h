// The one table of config keys: names, defaults, parsers and one-line help.
#pragma once

#include <span>
#include <string_view>

#include "daemon/config.h"

namespace guardd {

/// A key of the [guardd] section.
struct DaemonKey {
  std::string_view name;
  std::string_view default_text;  // parsed like a configured value
  std::string_view help;
  Status (*apply)(DaemonSettings& settings, std::string_view text);
};

/// Every [guardd] key, in documentation order.
std::span<const DaemonKey> daemon_keys();

/// A key that every [check.NAME] section accepts.
struct CommonCheckKey {
  std::string_view name;
  std::string_view default_text;  // empty: depends on the check type (see help)
  std::string_view help;
};

/// Keys shared by all check sections: type, operations, timeout, on_error, enabled.
std::span<const CommonCheckKey> common_check_keys();

}  // namespace guardd
