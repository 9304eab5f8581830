// guardd's configuration: guardd.conf plus guardd.conf.d/*.conf, validated as a whole.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "guardd/decision.h"
#include "guardd/result.h"

namespace guardd {

/// A raw value from a config file, with where it was written.
struct ConfigValue {
  std::string text;
  std::string file;
  int line = 0;

  /// "file:line" for error messages.
  std::string where() const;
};

/// Settings of the [guardd] section; defaults live in the key table in config_schema.cpp.
struct DaemonSettings {
  std::string socket;
  std::string database;
  std::string client_group;
  std::string admin_group;
  bool allow_force = false;
  Micros decision_timeout{0};
  Micros idle_timeout{0};
  int max_connections_per_uid = 0;
  int max_connections = 0;
  Micros retention{0};
  std::vector<std::string> extra_operations;
  std::string log_level;
  bool inhibit = true;
  Micros inhibit_interval{0};
};

/// One [check.NAME] section after validation of the keys every check shares.
struct CheckSection {
  std::string name;
  std::string type;
  std::string file;
  int line = 0;
  std::vector<std::string> operations;  // resolved; "all" expanded
  Micros timeout{0};
  OnError on_error = OnError::Veto;
  bool enabled = true;
  std::map<std::string, ConfigValue> options;  // the check type's own keys

  /// "file:line" of the section header.
  std::string where() const;
};

/// A complete, validated configuration.
struct Config {
  DaemonSettings daemon;
  std::vector<CheckSection> checks;
  std::vector<std::string> files;  // in the order they were read

  /// Built-in operations followed by the site's extra_operations.
  std::vector<std::string> operations() const;

  /// True when `name` is an operation this configuration accepts.
  bool knows_operation(std::string_view name) const;
};

/// Reads `path` and then `path`.d/*.conf in lexical order; every problem is reported as
/// "file:line: message", one per line.
Result<Config> load_config(const std::string& path);

/// Joins config errors one per line. Control characters a file may hold (a stray CR, an
/// escape sequence) are shown as \xNN, so each error stays one line and a terminal shows
/// the bytes rather than obeying them.
std::string join_config_errors(const std::vector<std::string>& errors);

/// The default configuration file.
inline constexpr std::string_view kDefaultConfigPath = "/etc/guardd/guardd.conf";

}  // namespace guardd
