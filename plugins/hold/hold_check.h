// The `hold` check: vetoes while an admin hold covers the operation.
#pragma once

#include <memory>

#include "plugins/registry.h"

namespace guardd {

/// Builds the hold check from its config section.
Result<std::shared_ptr<const Check>> create_hold_check(const CheckSection& section,
                                                       const CheckServices& services);

}  // namespace guardd
