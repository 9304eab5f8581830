// A block device named on a command line, resolved once so that what guardd decides is
// what the tool then opens: the shims and `guardctl run --target` decide the resolved
// node and hand that node, not the name they were given, to the tool.
#pragma once

#include <sys/types.h>

#include <string>

#include "guardd/result.h"

namespace guardd {

/// A block device node reached through root-owned folders only.
struct ResolvedDevice {
  std::string named;  // as the caller wrote it
  std::string path;   // the canonical node: no symlink, no "." or ".."
  dev_t rdev = 0;     // the device number the decision was about
};

/// Resolves `named` to its node; errors when it is not an absolute path to a block device,
/// or when a folder on the way could be changed by someone other than root (a swap of the
/// node between the decision and the tool's open would then be possible).
Result<ResolvedDevice> resolve_device(const std::string& named);

/// Errors unless `device.path` is still the block device `device.rdev`: called just before
/// the tool runs.
Status verify_unchanged(const ResolvedDevice& device);

}  // namespace guardd
