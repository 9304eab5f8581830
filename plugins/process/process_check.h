// The `process` check: vetoes while a named critical process runs.
#pragma once

#include <memory>

#include "plugins/registry.h"

namespace guardd {

/// Builds a process check from its config section (key `names` is required).
Result<std::shared_ptr<const Check>> create_process_check(const CheckSection& section,
                                                          const CheckServices& services);

}  // namespace guardd
