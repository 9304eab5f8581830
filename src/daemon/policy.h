// The policy in force: a validated config with its check instances built.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "guardd/check.h"
#include "plugins/registry.h"

namespace guardd {

/// A check as configured and built, ready to run.
struct CheckInstance {
  std::string name;
  std::string type;
  std::vector<std::string> operations;
  Micros timeout{0};
  OnError on_error = OnError::Veto;
  bool enabled = true;
  std::shared_ptr<const Check> check;

  /// True when this instance runs for `operation`.
  bool guards(const std::string& operation) const;
};

/// Immutable once built; a reload builds a new one and swaps it in.
struct Policy {
  Config config;
  std::vector<CheckInstance> checks;
  std::optional<gid_t> client_gid;  // unset when the group does not exist
  std::optional<gid_t> admin_gid;
  std::vector<std::string> warnings;  // worth logging, not fatal
};

/// Builds every check of `config`; errors name file:line, one per line.
Result<std::shared_ptr<const Policy>> build_policy(Config config, const CheckServices& services);

}  // namespace guardd
