// Judging a probed instance: its replication role and its client sessions. Pure functions
// of the probe, so recorded result sets (MySQL 8, Group Replication) can be tested too.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "guardd/decision.h"
#include "plugins/mysql/probe.h"

namespace guardd::mysql {

/// One instance's verdict from one check.
struct Assessment {
  Outcome outcome = Outcome::Error;
  std::string reason;
  nlohmann::json facts;
};

/// Policy of the mysql-replication check.
struct ReplicationPolicy {
  int min_remaining_nodes = 2;  // Galera: synced nodes that must remain after this one leaves
};

/// Classifies the instance (standalone, primary, replica, intermediate primary, Galera node,
/// group member) and says whether taking it away would hurt.
Assessment assess_replication(const InstanceProbe& probe, const ReplicationPolicy& policy);

/// Policy of the mysql-connections check.
struct ConnectionsPolicy {
  int max_clients = 0;
  std::set<std::string> ignore_users;
  bool ignore_own_account = false;  // guardd logs in with a dedicated monitoring account
};

/// Counts client sessions (not replication, system or guardd's own) against max_clients.
Assessment assess_connections(const InstanceProbe& probe, const ConnectionsPolicy& policy);

}  // namespace guardd::mysql
