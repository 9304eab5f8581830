#include "plugins/hold/hold_check.h"

#include <fmt/format.h>

#include "common/local_time.h"

namespace guardd {
namespace {

class HoldCheck final : public Check {
 public:
  explicit HoldCheck(std::shared_ptr<HoldSource> holds) : holds_(std::move(holds)) {}

  // The audit store keeps the active holds in memory.
  bool answers_inline() const override { return true; }

  CheckAnswer evaluate(const CheckContext& ctx) const override {
    if (!holds_) return {Outcome::Error, "no hold store available", nullptr};
    auto holds = holds_->active_holds();
    if (!holds) return {Outcome::Error, "cannot read holds: " + holds.error(), nullptr};
    nlohmann::json facts = nlohmann::json::array();
    const Hold* first = nullptr;
    for (const auto& h : *holds) {
      if (!h.covers(ctx.request.operation)) continue;
      if (first == nullptr) first = &h;
      facts.push_back({{"id", h.id},
                       {"uid", h.uid},
                       {"reason", h.reason},
                       {"created_us", h.created_us},
                       {"operations", h.operations}});
    }
    if (first == nullptr) return {Outcome::Pass, "no hold covers this operation", nullptr};
    std::string reason = fmt::format("hold {} by uid {} since {}: {}", first->id, first->uid,
                                     format_local_time(first->created_us), first->reason);
    if (facts.size() > 1) reason += fmt::format(" (and {} more holds)", facts.size() - 1);
    return {Outcome::Veto, reason, {{"holds", facts}}};
  }

 private:
  std::shared_ptr<HoldSource> holds_;
};

}  // namespace

Result<std::shared_ptr<const Check>> create_hold_check(const CheckSection&,
                                                       const CheckServices& services) {
  return std::shared_ptr<const Check>(std::make_shared<HoldCheck>(services.holds));
}

bool Hold::covers(const std::string& operation) const {
  if (operations.empty()) return true;
  for (const auto& op : operations)
    if (op == operation) return true;
  return false;
}

}  // namespace guardd
