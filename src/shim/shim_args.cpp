#include "shim/shim_args.h"

#include <algorithm>

namespace guardd::shim {
namespace {

bool is_option(const std::string& a) {
  return a.size() > 1 && a[0] == '-';
}

// True when `a` is the short option `c` alone or inside a cluster ("-rf" has 'r').
bool has_short(const std::string& a, char c) {
  return a.size() > 1 && a[0] == '-' && a[1] != '-' && a.find(c, 1) != std::string::npos;
}

bool any_of(const std::vector<std::string>& args, std::initializer_list<const char*> longs,
            std::initializer_list<char> shorts = {}) {
  for (const auto& a : args) {
    for (const char* l : longs)
      if (a == l || a.rfind(std::string(l) + "=", 0) == 0) return true;
    for (char s : shorts)
      if (has_short(a, s)) return true;
  }
  return false;
}

// Non-option arguments, skipping the values of options that take one.
std::vector<std::string> operands(const std::vector<std::string>& args,
                                  std::initializer_list<const char*> with_value) {
  std::vector<std::string> out;
  bool only_operands = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (only_operands || !is_option(a)) {
      out.push_back(a);
      continue;
    }
    if (a == "--") {
      only_operands = true;
      continue;
    }
    for (const char* v : with_value)
      if (a == v && i + 1 < args.size()) ++i;
  }
  return out;
}

}  // namespace

bool is_shimmed_tool(const std::string& tool) {
  for (const char* t : {"reboot", "poweroff", "halt", "shutdown", "wipefs", "blkdiscard", "sgdisk"})
    if (tool == t) return true;
  return false;
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
  plan.real_argv = args;
  const bool help = any_of(args, {"--help", "--version"});

  if (tool == "reboot" || tool == "poweroff" || tool == "halt") {
    plan.pass_through = help;
    plan.operation = tool == "reboot" ? "reboot" : "poweroff";
    return plan;
  }
  if (tool == "shutdown") {
    // -c cancels, -k only warns: neither stops the machine.
    if (help || any_of(args, {"--cancel"}, {'c'}) || any_of(args, {}, {'k'})) {
      plan.pass_through = true;
      return plan;
    }
    plan.operation = any_of(args, {"--reboot"}, {'r'}) ? "reboot" : "poweroff";
    return plan;
  }
  if (tool == "wipefs") {
    // Without --all/--offset wipefs only lists signatures; --no-act changes nothing.
    bool erases = any_of(args, {"--all", "--offset"}, {'a', 'o'});
    if (help || !erases || any_of(args, {"--no-act"}, {'n'})) {
      plan.pass_through = true;
      return plan;
    }
    plan.operation = "wipe";
    plan.targets = operands(args, {"-o", "--offset", "-t", "--types", "-b", "--backup"});
    return plan;
  }
  if (tool == "blkdiscard") {
    plan.pass_through = help;
    plan.operation = "wipe";
    plan.targets = operands(args, {"-o", "--offset", "-l", "--length", "-p", "--step"});
    return plan;
  }
  if (tool == "sgdisk") {
    // Only the zapping forms destroy a disk's partition table wholesale.
    if (help || !any_of(args, {"--zap-all", "--zap", "--clear"}, {'Z', 'z', 'o'})) {
      plan.pass_through = true;
      return plan;
    }
    plan.operation = "wipe";
    auto ops = operands(args, {});
    if (!ops.empty()) plan.targets = {ops.back()};
    return plan;
  }
  return Error{"guardd does not stand in for '" + tool + "'"};
}

}  // namespace guardd::shim
