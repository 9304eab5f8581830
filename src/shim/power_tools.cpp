// reboot, poweroff, halt and shutdown as systemd's compatibility verbs read them
// (src/systemctl/systemctl-compat-{halt,shutdown}.c; the same tables in Debian 12's
// systemd 252 and Debian 13's 257). Both loops apply options in command-line order and
// the last action wins, so the action is folded over the options here the same way.
#include <array>

#include <fmt/format.h>

#include "shim/shim_args.h"

namespace guardd::shim {
namespace {

enum Id {
  kHelp,
  kHalt,
  kPoweroff,
  kPoweroffUnlessHalt,  // shutdown -h
  kReboot,
  kKexec,
  kDryRun,  // halt -w (wtmp only), shutdown -k (wall only): neither stops the machine
  kCancel,
  kShow,
  kNoEffect,  // -f, -d, -n, --no-wall, -a, -t VALUE, ...: change how, not whether
};

// halt_parse_argv: getopt_long(argc, argv, "pfwdnih", ...).
constexpr std::array<OptionSpec, 11> kHaltOptions{{
    {0, "help", HasValue::No, kHelp},
    {0, "halt", HasValue::No, kHalt},
    {'p', "poweroff", HasValue::No, kPoweroff},
    {0, "reboot", HasValue::No, kReboot},
    {'f', "force", HasValue::No, kNoEffect},
    {'w', "wtmp-only", HasValue::No, kDryRun},
    {'d', "no-wtmp", HasValue::No, kNoEffect},
    {'n', "no-sync", HasValue::No, kNoEffect},
    {0, "no-wall", HasValue::No, kNoEffect},
    {'i', nullptr, HasValue::No, kNoEffect},
    {'h', nullptr, HasValue::No, kNoEffect},
}};

// shutdown_parse_argv: getopt_long(argc, argv, "HPrhkKat:fFc", ...).
constexpr std::array<OptionSpec, 14> kShutdownOptions{{
    {0, "help", HasValue::No, kHelp},
    {'H', "halt", HasValue::No, kHalt},
    {'P', "poweroff", HasValue::No, kPoweroff},
    {'r', "reboot", HasValue::No, kReboot},
    {'K', "kexec", HasValue::No, kKexec},
    {0, "no-wall", HasValue::No, kNoEffect},
    {0, "show", HasValue::No, kShow},
    {'h', nullptr, HasValue::No, kPoweroffUnlessHalt},
    {'k', nullptr, HasValue::No, kDryRun},
    {'a', nullptr, HasValue::No, kNoEffect},
    {'t', nullptr, HasValue::Required, kNoEffect},
    {'f', nullptr, HasValue::No, kNoEffect},
    {'F', nullptr, HasValue::No, kNoEffect},
    {'c', nullptr, HasValue::No, kCancel},
}};

bool help_alone(const ParsedArgs& p) {
  return p.options.size() == 1 && p.operands.empty() && p.options[0].id == kHelp;
}

ToolPlan ask(Id action, bool delayed) {
  ToolPlan plan;
  plan.operation = action == kReboot || action == kKexec ? "reboot" : "poweroff";
  plan.delayed = delayed;
  return plan;
}

}  // namespace

Result<ToolPlan> plan_power_tool(const std::string& tool, const std::vector<std::string>& args) {
  const bool shutdown = tool == "shutdown";
  std::span<const OptionSpec> table = kHaltOptions;
  if (shutdown) table = kShutdownOptions;
  auto parsed = parse_options(Grammar::GnuGetopt, table, args);
  if (!parsed) return Error{parsed.error()};
  // --help anywhere else is not trusted to stop the tool: the rest is judged as if it
  // were absent, which can only ask more.
  if (help_alone(*parsed)) return harmless("help");

  Id action = tool == "reboot" ? kReboot : tool == "halt" ? kHalt : kPoweroff;
  bool dry_run = false;
  for (const auto& o : parsed->options) {
    switch (o.id) {
      case kHalt:
      case kReboot:
      case kKexec:
      case kCancel:
      case kShow:
        action = static_cast<Id>(o.id);
        break;
      case kPoweroff:
        // halt's -p leaves a reboot a reboot; shutdown's -P always powers off.
        if (shutdown || action != kReboot) action = kPoweroff;
        break;
      case kPoweroffUnlessHalt:
        if (action != kHalt) action = kPoweroff;
        break;
      case kDryRun:
        dry_run = true;
        break;
      default:
        break;
    }
  }
  const auto& operands = parsed->operands;
  if (!shutdown) {
    // One operand is reboot's firmware parameter; anything else the tool rejects.
    if (operands.size() > (action == kReboot ? 1u : 0u))
      return Error{fmt::format("too many arguments ('{}')", operands.back())};
    if (dry_run) return harmless("wtmp record only");
    return ask(action, false);
  }
  if (action == kCancel) return harmless("cancel");
  if (action == kShow) return harmless("show");
  if (dry_run) return harmless("wall message only");
  // shutdown [TIME] [WALL...]: without TIME the shutdown is a minute away (252) or when
  // logind decides (257); only "now" is immediate.
  return ask(action, operands.empty() || operands[0] != "now");
}

}  // namespace guardd::shim
