// Which filesystem a block device carries, read from its superblock with libblkid, so a
// datadir's filesystem is recognised on a disk that is no longer mounted.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd {

/// A filesystem as its superblock names it.
struct FilesystemIdentity {
  std::string uuid;    // e.g. "0b6c8b3e-..."; never empty
  std::string type;    // e.g. "ext4"
  std::string device;  // the block device, e.g. /dev/sdb1
};

/// The filesystem on block device `dev`; nullopt when libblkid finds none with a UUID
/// (an empty disk, a partition table, swap without one). Needs read access to the device.
Result<std::optional<FilesystemIdentity>> filesystem_on_device(dev_t dev);

/// The filesystem holding `path` (its st_dev); nullopt when that is not a block device
/// (tmpfs, overlayfs, btrfs subvolumes' anonymous devices) or carries no UUID.
Result<std::optional<FilesystemIdentity>> filesystem_of_path(const std::string& path);

/// Every block device of this host whose filesystem has UUID `uuid` (from /sys/class/block;
/// each probed, so call it only when a remembered filesystem must be found).
std::vector<FilesystemIdentity> devices_with_uuid(const std::string& uuid);

}  // namespace guardd
