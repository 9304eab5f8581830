#include "plugins/registry.h"

#include "plugins/block_device/block_device_check.h"
#include "plugins/hold/hold_check.h"
#include "plugins/hook/hook_check.h"
#include "plugins/mysql/mysql_checks.h"
#include "plugins/process/process_check.h"

namespace guardd {
namespace {

constexpr TypeKey kProcessKeys[] = {
    {"names", "", "Command names (executable basename or comm) whose running vetoes."},
};

}  // namespace

std::span<const CheckType> check_types() {
  // The one list of built-in check types, in documentation order.
  static const CheckType kTypes[] = {
      {kHoldCheckType,
       "Vetoes while an admin hold covers the operation.",
       {},
       true,
       {},
       create_hold_check},
      {"process",
       "Vetoes while a process with one of the configured names runs.",
       {"reinstall", "wipe", "decommission"},
       false,
       kProcessKeys,
       create_process_check},
      {"mysqld-running",
       "Vetoes while a mysqld or mariadbd process runs (found in /proc), or a datadir holds "
       "data though no server runs on it (stopped, crashed, starting; its filesystem unmounted).",
       {"reinstall", "decommission"},
       false,
       mysqld_running_keys(),
       create_mysqld_running_check},
      {"mysql-replication",
       "Vetoes when the instance is a primary with replicas, an intermediate primary, the last "
       "healthy replica of its source, a Galera node the cluster needs, a Group Replication "
       "member without fault tolerance, or of undeterminable role.",
       {},
       false,
       mysql_replication_keys(),
       create_mysql_replication_check},
      {"mysql-connections",
       "Vetoes while client sessions exceed max_clients.",
       {},
       false,
       mysql_connections_keys(),
       create_mysql_connections_check},
      {"block-device",
       "Vetoes a wipe of a device that is mounted, swap, held by LVM/MD/dm, open in any "
       "process, behind a loop device, opened exclusively, carries / or /boot or a "
       "database's datadir (mounted or not: known by its filesystem's UUID), or is protected.",
       {"wipe"},
       false,
       block_device_keys(),
       create_block_device_check},
      {"hook",
       "Runs a site executable: guardd protocol (exit 0 pass, 1 veto) or a Nagios plugin.",
       {},
       false,
       hook_keys(),
       create_hook_check},
  };
  return kTypes;
}

const CheckType* find_check_type(std::string_view name) {
  for (const auto& t : check_types())
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace guardd
