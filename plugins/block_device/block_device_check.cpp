#include "plugins/block_device/block_device_check.h"

#include <algorithm>
#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "daemon/config_values.h"
#include "daemon/wipe_target.h"
#include "plugins/block_device/device_usage.h"

namespace guardd {
namespace {

constexpr TypeKey kKeys[] = {
    {"protected_devices", "",
     "Devices never to wipe (paths; /dev/disk/by-id/... names survive renumbering)."},
};

std::string describe(const block::Finding& f) {
  using block::Use;
  switch (f.kind) {
    case Use::Mounted:
      return fmt::format("{} is mounted on {}", f.device, f.detail);
    case Use::Root:
      return fmt::format("{} carries {}", f.device, f.detail);
    case Use::Swap:
      return fmt::format("{} is active swap", f.device);
    case Use::Holder:
      return fmt::format("{} is held by {}", f.device, f.detail);
    case Use::Datadir:
      return fmt::format("{} holds {}", f.device, f.detail);
    case Use::Protected:
      return fmt::format("{} is in protected_devices ({})", f.device, f.detail);
    case Use::LoopBacking:
    case Use::OpenFile:
    case Use::Exclusive:
    case Use::Unverifiable:
      return fmt::format("{} {}", f.device, f.detail);
  }
  return fmt::format("{} {}", f.device, f.detail);
}

class BlockDeviceCheck final : public Check {
 public:
  BlockDeviceCheck(std::vector<std::string> protected_devices,
                   std::shared_ptr<DatadirMemory> memory)
      : protected_(std::move(protected_devices)), memory_(std::move(memory)) {}

  CheckAnswer evaluate(const CheckContext& ctx) const override {
    auto resolved = resolve_wipe_target(ctx.request.target);
    if (!resolved) return {Outcome::Error, resolved.error(), nullptr};
    auto target = block::inspect(*resolved);
    if (!target) return {Outcome::Error, target.error(), nullptr};
    std::vector<KnownDatadir> remembered;
    if (memory_) {
      auto known = memory_->known_datadirs();
      if (!known)
        return {Outcome::Error, "cannot read remembered datadirs: " + known.error(), nullptr};
      remembered = std::move(*known);
    }
    auto findings = block::find_uses(*target, protected_,
                                     mysql::running_instances(ctx.scope)->servers, remembered);
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : target->partitions) partitions.push_back(p.path);
    nlohmann::json facts = {
        {"target", *ctx.request.target}, {"resolved", *resolved},
        {"device", target->device.name}, {"partition", target->is_partition},
        {"partitions", partitions},      {"findings", block::findings_to_json(findings)}};
    // The exclusive-open finding restates what any other use already explains.
    const bool explained = std::any_of(findings.begin(), findings.end(), [](const auto& f) {
      return f.kind != block::Use::Exclusive && f.kind != block::Use::Unverifiable;
    });
    std::vector<std::string> uses, unknown;
    for (const auto& f : findings) {
      if (f.kind == block::Use::Exclusive && explained) continue;
      (f.kind == block::Use::Unverifiable ? unknown : uses).push_back(describe(f));
    }
    if (!uses.empty()) return {Outcome::Veto, fmt::format("{}", fmt::join(uses, "; ")), facts};
    if (!unknown.empty())
      return {Outcome::Error, fmt::format("{}", fmt::join(unknown, "; ")), facts};
    return {Outcome::Pass,
            fmt::format("{} ({}) is not in use", *resolved,
                        target->partitions.empty()
                            ? std::string("no partitions")
                            : fmt::format("{} partitions", target->partitions.size())),
            facts};
  }

 private:
  std::vector<std::string> protected_;
  std::shared_ptr<DatadirMemory> memory_;  // null when only validating config
};

}  // namespace

std::span<const TypeKey> block_device_keys() {
  return kKeys;
}

Result<std::shared_ptr<const Check>> create_block_device_check(const CheckSection& s,
                                                               const CheckServices& services) {
  std::vector<std::string> devices;
  if (auto it = s.options.find("protected_devices"); it != s.options.end()) {
    for (const auto& p : parse_list(it->second.text)) {
      auto path = parse_absolute_path(p);
      if (!path)
        return Error{fmt::format("{}: protected_devices: {}", it->second.where(), path.error())};
      devices.push_back(*path);
    }
  }
  return std::shared_ptr<const Check>(
      std::make_shared<BlockDeviceCheck>(std::move(devices), services.datadirs));
}

}  // namespace guardd
