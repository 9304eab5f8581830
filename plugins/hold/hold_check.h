// The `hold` check: vetoes while an admin hold covers the operation.
#pragma once

#include <memory>
#include <string_view>

#include "plugins/registry.h"

namespace guardd {

/// The hold check's type name: always on, one per policy.
inline constexpr std::string_view kHoldCheckType = "hold";

/// Builds the hold check from its config section.
Result<std::shared_ptr<const Check>> create_hold_check(const CheckSection& section,
                                                       const CheckServices& services);

}  // namespace guardd
