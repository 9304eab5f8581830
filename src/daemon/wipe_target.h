// Validation of a wipe target: never read an odd or empty target as "everything".
#pragma once

#include <optional>
#include <string>

#include "guardd/result.h"

namespace guardd {

/// Checks that `target` is an absolute, glob-free path resolving to a block device and
/// returns the resolved path; the error says what is wrong with it.
Result<std::string> resolve_wipe_target(const std::optional<std::string>& target);

}  // namespace guardd
