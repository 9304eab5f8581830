// What is using a block device right now: mounts, swap, holders, exclusive openers, and
// the filesystems guardd must never let go (/, /boot, a running database's datadir).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/datadir_memory.h"
#include "guardd/result.h"
#include "plugins/mysql/instance.h"

namespace guardd::block {

/// A device node and its identity in the block layer.
struct Device {
  std::string name;  // kernel name, e.g. sdb or loop3p1
  std::string path;  // /dev/NAME
  dev_t dev = 0;
};

/// The target and everything a wipe of it would destroy.
struct Target {
  Device device;
  bool is_partition = false;
  std::optional<Device> disk;      // the whole disk, when the target is a partition
  std::vector<Device> partitions;  // of a whole disk
  std::vector<Device> holders;     // device-mapper, LVM, MD, dm-crypt on top, recursively

  /// The device, its partitions and their holders: anything mounted from these is lost.
  std::vector<Device> affected() const;
};

/// Looks up a resolved block device path in /sys.
Result<Target> inspect(const std::string& resolved_path);

/// What a finding says of a device.
enum class Use {
  Mounted,       // a filesystem on it is mounted (detail: where)
  Root,          // it carries /, /boot or /boot/efi
  Swap,          // active swap
  Holder,        // device-mapper, LVM, MD, dm-crypt on top (detail: the holder)
  Exclusive,     // the kernel refuses an exclusive open: someone holds it
  Datadir,       // a MySQL datadir, running or remembered, lives on it
  Protected,     // listed in protected_devices
  LoopBacking,   // it backs a loop device, or holds the file that backs one
  OpenFile,      // a process holds it open
  Unverifiable,  // it could not be checked: never "not in use"
};

/// The name of a use in the decision's facts ("mounted", "loop-backing", ...).
std::string_view use_name(Use use);

/// One reason the device is in use.
struct Finding {
  Use kind;
  std::string device;  // which of the affected devices
  std::string detail;  // mount point, holder name, ...
};

/// Every use of the target found now. `protected_devices` are paths from config;
/// `servers` the running MySQL instances, whose datadirs must stay; `remembered` the
/// datadirs guardd has seen in use, found on the target mounted or by filesystem UUID.
std::vector<Finding> find_uses(const Target& target,
                               const std::vector<std::string>& protected_devices,
                               const std::vector<mysql::Instance>& servers,
                               const std::vector<KnownDatadir>& remembered);

/// Findings as facts.
nlohmann::json findings_to_json(const std::vector<Finding>& findings);

}  // namespace guardd::block
