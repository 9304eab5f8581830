// Mapping a destructive command's command line to what guardd must be asked: the tool's
// arguments are read with the tool's own grammar (shim/option_parser.h), and whatever the
// shim cannot classify is refused, never passed through.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "guardd/result.h"
#include "shim/option_parser.h"

namespace guardd::shim {

/// A device the command acts on, and where it is named, so the resolved node can
/// replace it in the arguments the real tool gets.
struct TargetArg {
  std::string path;  // as written
  ArgSpan at;
};

/// What one invocation does, as far as guardd is concerned.
struct ToolPlan {
  bool pass_through = false;       // proven harmless: run the real tool without asking
  std::string why;                 // for pass_through: "read-only", "cancel", ...
  std::string operation;           // otherwise: reboot, poweroff or wipe
  std::vector<TargetArg> targets;  // wipe: every device the tool writes to
  bool delayed = false;            // shutdown TIME other than "now"
};

/// A plan to run the real tool without asking, because the form is harmless (`why`).
ToolPlan harmless(std::string why);

/// What one invocation needs from guardd, with guardd's own options taken out.
struct Plan : ToolPlan {
  std::vector<std::string> real_argv;  // the tool's own arguments
  bool force = false;                  // --guardd-force
  std::optional<std::string> reason;   // --guardd-reason TEXT
};

/// The tools a shim stands in for.
bool is_shimmed_tool(const std::string& tool);

/// Reads `tool`'s arguments (argv without argv[0]); the error is a usage problem: one of
/// the --guardd-* options, or a form of the tool's own options the shim will not run.
Result<Plan> plan_for(const std::string& tool, const std::vector<std::string>& args);

/// The planners, one per family of tools (shim/power_tools.cpp, shim/disk_tools.cpp).
Result<ToolPlan> plan_power_tool(const std::string& tool, const std::vector<std::string>& args);
Result<ToolPlan> plan_wipefs(const std::vector<std::string>& args);
Result<ToolPlan> plan_blkdiscard(const std::vector<std::string>& args);
Result<ToolPlan> plan_sgdisk(const std::vector<std::string>& args);

/// `args` with each target's text replaced by `resolved[i]` (same order as plan.targets).
std::vector<std::string> with_resolved_targets(std::vector<std::string> args,
                                               const std::vector<TargetArg>& targets,
                                               const std::vector<std::string>& resolved);

}  // namespace guardd::shim
