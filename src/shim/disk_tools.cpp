// wipefs and blkdiscard as util-linux reads them (misc-utils/wipefs.c, sys-utils/
// blkdiscard.c, 2.38 in Debian 12 and 2.41 in Debian 13), and sgdisk as gdisk reads it
// with popt (gptcl.cc, 1.0.9 and 1.0.10). Where the releases differ, each reading is
// planned and the most destructive one is asked about.
#include <array>

#include <fmt/format.h>

#include "shim/shim_args.h"

namespace guardd::shim {
namespace {

ToolPlan wipe(std::vector<TargetArg> targets) {
  ToolPlan plan;
  plan.operation = "wipe";
  plan.targets = std::move(targets);
  return plan;
}

std::vector<TargetArg> all_operands(const ParsedArgs& p) {
  std::vector<TargetArg> out;
  for (size_t i = 0; i < p.operands.size(); ++i) out.push_back({p.operands[i], p.operand_at[i]});
  return out;
}

bool only_option(const ParsedArgs& p, std::initializer_list<int> ids) {
  if (p.options.size() != 1 || !p.operands.empty()) return false;
  for (int id : ids)
    if (p.options[0].id == id) return true;
  return false;
}

// ---- wipefs ------------------------------------------------------------------------

enum WipefsId { kWAll, kWOffset, kWNoAct, kWOther };

// 2.38: -b takes no value ("abfhiJnO:o:pqt:V").
constexpr std::array<OptionSpec, 14> kWipefs238{{
    {'a', "all", HasValue::No, kWAll},
    {'b', "backup", HasValue::No, kWOther},
    {'f', "force", HasValue::No, kWOther},
    {'h', "help", HasValue::No, kWOther},
    {0, "lock", HasValue::Optional, kWOther},
    {'n', "no-act", HasValue::No, kWNoAct},
    {'o', "offset", HasValue::Required, kWOffset},
    {'p', "parsable", HasValue::No, kWOther},
    {'q', "quiet", HasValue::No, kWOther},
    {'t', "types", HasValue::Required, kWOther},
    {'V', "version", HasValue::No, kWOther},
    {'J', "json", HasValue::No, kWOther},
    {'i', "noheadings", HasValue::No, kWOther},
    {'O', "output", HasValue::Required, kWOther},
}};

// 2.41: -b takes an optional folder ("ab::fhiJnO:o:pqt:V"), so "-ba" is no longer -b -a.
constexpr std::array<OptionSpec, 14> kWipefs241 = [] {
  auto t = kWipefs238;
  t[1].value = HasValue::Optional;
  return t;
}();

Result<ToolPlan> plan_wipefs_reading(std::span<const OptionSpec> table,
                                     const std::vector<std::string>& args) {
  auto parsed = parse_options(Grammar::GnuGetopt, table, args);
  if (!parsed) return Error{parsed.error()};
  bool erases = false, no_act = false;
  for (const auto& o : parsed->options) {
    erases = erases || o.id == kWAll || o.id == kWOffset;
    no_act = no_act || o.id == kWNoAct;
  }
  // Without --all or --offset wipefs only lists signatures; --no-act writes nothing.
  if (!erases) return harmless("read-only");
  if (no_act) return harmless("no-act");
  if (parsed->operands.empty()) return Error{"no device specified"};
  return wipe(all_operands(*parsed));
}

// ---- blkdiscard --------------------------------------------------------------------

enum BlkdiscardId { kBHelp, kBVersion, kBOther };

// "hfVsvo:l:p:z" in 2.38; 2.41 adds -q ("hfVsvo:l:p:qz").
constexpr std::array<OptionSpec, 10> kBlkdiscard{{
    {'h', "help", HasValue::No, kBHelp},
    {'V', "version", HasValue::No, kBVersion},
    {'o', "offset", HasValue::Required, kBOther},
    {'f', "force", HasValue::No, kBOther},
    {'l', "length", HasValue::Required, kBOther},
    {'p', "step", HasValue::Required, kBOther},
    {'s', "secure", HasValue::No, kBOther},
    {'v', "verbose", HasValue::No, kBOther},
    {'z', "zeroout", HasValue::No, kBOther},
    {'q', "quiet", HasValue::No, kBOther},
}};

// ---- sgdisk ------------------------------------------------------------------------

enum SgdiskId {
  kSReadOnly,    // prints, verifies, or sets what only a later write would use
  kSAttributes,  // -A: read-only for "list", "N:show" and "N:get", a write otherwise
  kSWrites,      // rewrites, replaces or destroys the device's partition tables
  kSReplicate,   // -R DEV: writes this device's table to DEV
};

// gptcl.cc's poptOption table (1.0.10; 1.0.9 lacks -k), plus POPT_AUTOHELP's entries.
// --pretend is read-only itself but not trusted to make the rest so: -R ignores it.
constexpr std::array<OptionSpec, 42> kSgdisk{{
    {'A', "attributes", HasValue::Required, kSAttributes},
    {'a', "set-alignment", HasValue::Required, kSReadOnly},
    {'b', "backup", HasValue::Required, kSReadOnly},
    {'B', "byte-swap-name", HasValue::Required, kSWrites},
    {'c', "change-name", HasValue::Required, kSWrites},
    {'C', "recompute-chs", HasValue::No, kSWrites},
    {'d', "delete", HasValue::Required, kSWrites},
    {'D', "display-alignment", HasValue::No, kSReadOnly},
    {'e', "move-second-header", HasValue::No, kSWrites},
    {'E', "end-of-largest", HasValue::No, kSReadOnly},
    {'f', "first-in-largest", HasValue::No, kSReadOnly},
    {'F', "first-aligned-in-largest", HasValue::No, kSReadOnly},
    {'g', "mbrtogpt", HasValue::No, kSWrites},
    {'G', "randomize-guids", HasValue::No, kSWrites},
    {'h', "hybrid", HasValue::Required, kSWrites},
    {'i', "info", HasValue::Required, kSReadOnly},
    {'I', "align-end", HasValue::No, kSReadOnly},
    {'j', "move-main-table", HasValue::Required, kSWrites},
    {'k', "move-backup-table", HasValue::Required, kSWrites},
    {'l', "load-backup", HasValue::Required, kSWrites},
    {'L', "list-types", HasValue::No, kSReadOnly},
    {'m', "gpttombr", HasValue::Required, kSWrites},
    {'n', "new", HasValue::Required, kSWrites},
    {'N', "largest-new", HasValue::Required, kSWrites},
    {'o', "clear", HasValue::No, kSWrites},
    {'O', "print-mbr", HasValue::No, kSReadOnly},
    {'p', "print", HasValue::No, kSReadOnly},
    {'P', "pretend", HasValue::No, kSReadOnly},
    {'r', "transpose", HasValue::Required, kSWrites},
    {'R', "replicate", HasValue::Required, kSReplicate},
    {'s', "sort", HasValue::No, kSWrites},
    {'S', "resize-table", HasValue::Required, kSWrites},
    {'t', "typecode", HasValue::Required, kSWrites},
    {'T', "transform-bsd", HasValue::Required, kSWrites},
    {'u', "partition-guid", HasValue::Required, kSWrites},
    {'U', "disk-guid", HasValue::Required, kSWrites},
    {'v', "verify", HasValue::No, kSReadOnly},
    {'V', "version", HasValue::No, kSReadOnly},
    {'z', "zap", HasValue::No, kSWrites},
    {'Z', "zap-all", HasValue::No, kSWrites},
    {'?', "help", HasValue::No, kSReadOnly},
    {0, "usage", HasValue::No, kSReadOnly},
}};

// The colon-separated field `n` (1-based) of -A's value, as gdisk's GetString reads it.
std::string field(const std::string& value, int n) {
  size_t start = 0;
  for (int i = 1; i < n; ++i) {
    start = value.find(':', start);
    if (start == std::string::npos) return "";
    ++start;
  }
  return value.substr(start, value.find(':', start) - start);
}

}  // namespace

Result<ToolPlan> plan_wipefs(const std::vector<std::string>& args) {
  std::array<Result<ToolPlan>, 2> readings{plan_wipefs_reading(kWipefs238, args),
                                           plan_wipefs_reading(kWipefs241, args)};
  // The most destructive reading: a wipe in either asks about every device either names.
  std::vector<TargetArg> targets;
  bool any_wipe = false;
  for (auto& r : readings) {
    if (!r || r->pass_through) continue;
    any_wipe = true;
    for (auto& t : r->targets) {
      bool seen = false;
      for (const auto& m : targets) seen = seen || m.at.index == t.at.index;
      if (!seen) targets.push_back(t);
    }
  }
  if (any_wipe) return wipe(std::move(targets));
  for (auto& r : readings)
    if (r) return std::move(*r);
  return Error{readings[0].error()};
}

Result<ToolPlan> plan_blkdiscard(const std::vector<std::string>& args) {
  auto parsed = parse_options(Grammar::GnuGetopt, kBlkdiscard, args);
  if (!parsed) return Error{parsed.error()};
  if (only_option(*parsed, {kBHelp, kBVersion})) return harmless("help");
  if (parsed->operands.empty()) return Error{"no device specified"};
  if (parsed->operands.size() > 1)
    return Error{fmt::format("unexpected number of arguments ('{}')", parsed->operands[1])};
  return wipe(all_operands(*parsed));
}

Result<ToolPlan> plan_sgdisk(const std::vector<std::string>& args) {
  auto parsed = parse_options(Grammar::Popt, kSgdisk, args);
  if (!parsed) return Error{parsed.error()};
  bool writes_device = false;
  std::vector<TargetArg> replicas;
  for (const auto& o : parsed->options) {
    if (o.id == kSWrites) writes_device = true;
    if (o.id == kSAttributes) {
      const std::string& v = *o.value;
      const std::string how = field(v, 2);
      if (field(v, 1) != "list" && how != "show" && how != "get") writes_device = true;
    }
    if (o.id == kSReplicate) replicas.push_back({*o.value, o.value_at});
  }
  if (!writes_device && replicas.empty()) return harmless("read-only");
  // sgdisk acts on its first operand and silently ignores the rest.
  if (parsed->operands.empty()) return Error{"no device specified"};
  if (parsed->operands.size() > 1)
    return Error{fmt::format("more than one device ('{}'): sgdisk would act on the first only",
                             parsed->operands[1])};
  std::vector<TargetArg> targets;
  if (writes_device) targets.push_back({parsed->operands[0], parsed->operand_at[0]});
  for (auto& r : replicas) targets.push_back(std::move(r));
  return wipe(std::move(targets));
}

}  // namespace guardd::shim
