// The check types mysqld-running, mysql-replication and mysql-connections.
#pragma once

#include <memory>
#include <span>

#include "plugins/registry.h"

namespace guardd {

/// Keys of mysqld-running.
std::span<const TypeKey> mysqld_running_keys();
/// Keys of mysql-replication.
std::span<const TypeKey> mysql_replication_keys();
/// Keys of mysql-connections.
std::span<const TypeKey> mysql_connections_keys();

/// Vetoes while a mysqld/mariadbd instance runs.
Result<std::shared_ptr<const Check>> create_mysqld_running_check(const CheckSection& section,
                                                                 const CheckServices& services);
/// Vetoes when taking the instance away would hurt replication or a cluster.
Result<std::shared_ptr<const Check>> create_mysql_replication_check(const CheckSection& section,
                                                                    const CheckServices& services);
/// Vetoes while client sessions exceed max_clients.
Result<std::shared_ptr<const Check>> create_mysql_connections_check(const CheckSection& section,
                                                                    const CheckServices& services);

}  // namespace guardd
