// Where a source's binary log stands and how much of it a replica has: a replica whose
// threads run with no lag may still have stopped receiving (a silently stalled link), or
// have written transactions of its own that its source never had (an errant GTID).
// Neither is a clean failover target. Pure functions, so recorded positions can be tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace guardd::mysql {

/// One MariaDB GTID: domain-server_id-seq_no.
struct Gtid {
  uint32_t domain = 0;
  uint32_t server_id = 0;
  uint64_t seq = 0;
};

/// Parses a MariaDB GTID list ("0-1-100,1-2-7"; blanks and newlines allowed; "" is an empty
/// list); nullopt when malformed.
std::optional<std::vector<Gtid>> parse_gtid_list(std::string_view text);

/// Where a source's binary log stood when it was asked.
struct SourcePosition {
  std::string gtid_binlog_pos;    // MariaDB @@gtid_binlog_pos: the last GTID per domain
  std::string gtid_binlog_state;  // MariaDB @@gtid_binlog_state: the last per domain and server
  std::string file;               // SHOW MASTER STATUS; empty when it could not be read
  int64_t position = -1;
};

/// How much of its source's binary log a replica has received, and what it logged itself.
struct ReplicaPosition {
  bool uses_gtid = false;         // MariaDB Using_Gtid is Slave_Pos or Current_Pos
  std::string gtid_io_pos;        // MariaDB Gtid_IO_Pos: the last GTID received per domain
  std::string file;               // Master_Log_File / Source_Log_File
  int64_t position = -1;          // Read_Master_Log_Pos / Read_Source_Log_Pos
  std::string gtid_binlog_state;  // MariaDB: the replica's own binary log
};

/// How much of what its source had logged a replica has received.
struct Receipt {
  enum class State {
    All,           // everything the source had logged when asked
    Behind,        // not yet all of it
    Incomparable,  // the positions cannot be compared (a grant or a GTID missing)
  };
  State state = State::All;
  std::string detail;  // what it lacks ("3 transaction(s) not received: ..."), or why the
                       // positions cannot be compared; empty for All
};

/// Compares what `replica` has received with where `source` stood.
Receipt received(const SourcePosition& source, const ReplicaPosition& replica);

/// The transactions the replica (server id `replica_id`) logged itself that its source
/// does not have, as GTIDs ("0-3-12"); empty when none, or without GTIDs to compare.
std::vector<std::string> errant_transactions(const SourcePosition& source,
                                             const ReplicaPosition& replica, int64_t replica_id);

}  // namespace guardd::mysql
