// The `block-device` check: vetoes a wipe of a device that is in use.
#pragma once

#include <memory>
#include <span>

#include "plugins/registry.h"

namespace guardd {

/// Keys of the block-device check type.
std::span<const TypeKey> block_device_keys();

/// Builds a block-device check from its config section.
Result<std::shared_ptr<const Check>> create_block_device_check(const CheckSection& section,
                                                               const CheckServices& services);

}  // namespace guardd
