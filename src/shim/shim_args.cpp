#include "shim/shim_args.h"

namespace guardd::shim {

bool is_shimmed_tool(const std::string& tool) {
  for (const char* t : {"reboot", "poweroff", "halt", "shutdown", "wipefs", "blkdiscard", "sgdisk"})
    if (tool == t) return true;
  return false;
}

ToolPlan harmless(std::string why) {
  ToolPlan plan;
  plan.pass_through = true;
  plan.why = std::move(why);
  return plan;
}

Result<Plan> plan_for(const std::string& tool, const std::vector<std::string>& all_args) {
  Plan plan;
  std::vector<std::string> args;
  for (size_t i = 0; i < all_args.size(); ++i) {
    const std::string& a = all_args[i];
    if (a == "--guardd-force") {
      plan.force = true;
    } else if (a == "--guardd-reason") {
      if (i + 1 >= all_args.size()) return Error{"--guardd-reason needs TEXT"};
      plan.reason = all_args[++i];
    } else if (a.rfind("--guardd-reason=", 0) == 0) {
      plan.reason = a.substr(16);
    } else if (a.rfind("--guardd-", 0) == 0) {
      return Error{"unknown option " + a +
                   " (guardd's are --guardd-force and --guardd-reason TEXT)"};
    } else {
      args.push_back(a);
    }
  }
  if (plan.force && (!plan.reason || plan.reason->empty()))
    return Error{"--guardd-force needs --guardd-reason TEXT"};

  Result<ToolPlan> tool_plan = Error{"guardd does not stand in for '" + tool + "'"};
  if (tool == "reboot" || tool == "poweroff" || tool == "halt" || tool == "shutdown")
    tool_plan = plan_power_tool(tool, args);
  else if (tool == "wipefs")
    tool_plan = plan_wipefs(args);
  else if (tool == "blkdiscard")
    tool_plan = plan_blkdiscard(args);
  else if (tool == "sgdisk")
    tool_plan = plan_sgdisk(args);
  if (!tool_plan) return Error{tool_plan.error()};
  static_cast<ToolPlan&>(plan) = std::move(*tool_plan);
  plan.real_argv = std::move(args);
  return plan;
}

std::vector<std::string> with_resolved_targets(std::vector<std::string> args,
                                               const std::vector<TargetArg>& targets,
                                               const std::vector<std::string>& resolved) {
  for (size_t i = 0; i < targets.size() && i < resolved.size(); ++i) {
    std::string& arg = args.at(targets[i].at.index);
    arg = arg.substr(0, targets[i].at.offset) + resolved[i];
  }
  return args;
}

}  // namespace guardd::shim
