// Mapping a destructive command's command line to what guardd must be asked.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd::shim {

/// What one invocation needs from guardd.
struct Plan {
  bool pass_through = false;           // read-only or harmless form: run the real tool as is
  std::string operation;               // reboot, poweroff or wipe
  std::vector<std::string> targets;    // wipe: every device named
  std::vector<std::string> real_argv;  // the tool's own arguments (guardd's options removed)
  bool force = false;                  // --guardd-force
  std::optional<std::string> reason;   // --guardd-reason TEXT
};

/// The tools a shim stands in for.
bool is_shimmed_tool(const std::string& tool);

/// Reads `tool`'s arguments (argv without argv[0]); the error is a usage problem with
/// the --guardd-* options.
Result<Plan> plan_for(const std::string& tool, const std::vector<std::string>& args);

}  // namespace guardd::shim
