// Replication positions compared as a DBA would: what a replica has not yet received of its
// source's binary log, and which of its own transactions the source never had.
#include <gtest/gtest.h>

#include "plugins/mysql/replication_position.h"

namespace guardd::mysql {
namespace {

// What a replica lacks, or why it cannot be told; "" when it has everything.
std::string not_yet_received(const SourcePosition& source, const ReplicaPosition& replica) {
  const Receipt r = received(source, replica);
  EXPECT_EQ(r.state == Receipt::State::All, r.detail.empty()) << r.detail;
  return r.detail;
}

TEST(ReplicationPosition, ParsesMariadbGtidLists) {
  auto list = parse_gtid_list(" 0-1-100,\n1-2-7 ");
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].domain, 1u);
  EXPECT_EQ((*list)[1].server_id, 2u);
  EXPECT_EQ((*list)[1].seq, 7u);
  EXPECT_TRUE(parse_gtid_list("")->empty());
  for (const char* bad : {"0-1", "0-1-x", "a-1-2", "0-1-2,", "0--2", "0-1-2-3", "-1-2-3"})
    EXPECT_FALSE(parse_gtid_list(bad).has_value()) << bad;
}

TEST(ReplicationPosition, TransactionsNotReceivedAreCountedPerDomain) {
  SourcePosition source;
  source.gtid_binlog_pos = "0-1-100,1-1-50";
  ReplicaPosition replica;
  replica.uses_gtid = true;
  replica.gtid_io_pos = "0-1-100,1-1-50";
  EXPECT_EQ(not_yet_received(source, replica), "");
  replica.gtid_io_pos = "0-1-101,1-1-50";  // received more since the source was asked
  EXPECT_EQ(not_yet_received(source, replica), "");
  replica.gtid_io_pos = "0-1-98";  // two behind in domain 0, nothing of domain 1
  EXPECT_EQ(not_yet_received(source, replica),
            "52 transaction(s) not received (received up to 0-1-98, the source is at "
            "0-1-100,1-1-50)");
  EXPECT_EQ(received(source, replica).state, Receipt::State::Behind);
  replica.gtid_io_pos = "0-1-nonsense";
  EXPECT_NE(not_yet_received(source, replica).find("cannot be compared"), std::string::npos);
  EXPECT_EQ(received(source, replica).state, Receipt::State::Incomparable);
}

TEST(ReplicationPosition, BinlogCoordinatesWithoutGtids) {
  SourcePosition source;
  source.file = "binlog.000010";
  source.position = 500;
  ReplicaPosition replica{false, "", "binlog.000010", 500, ""};
  EXPECT_EQ(not_yet_received(source, replica), "");
  replica.position = 499;
  EXPECT_NE(not_yet_received(source, replica).find("received up to binlog.000010:499"),
            std::string::npos);
  replica = ReplicaPosition{false, "", "binlog.000009", 9000, ""};
  EXPECT_NE(not_yet_received(source, replica), "") << "an older file is behind";
  source.file.clear();  // SHOW MASTER STATUS not readable
  EXPECT_NE(not_yet_received(source, replica).find("needs BINLOG MONITOR"), std::string::npos);
  EXPECT_EQ(received(source, replica).state, Receipt::State::Incomparable)
      << "never waited for: it will not change";
}

TEST(ReplicationPosition, ErrantTransactionsAreTheReplicasOwnWritesTheSourceLacks) {
  SourcePosition source;
  source.gtid_binlog_state = "0-1-100,0-3-12";  // 3 was primary once: its writes replicated
  ReplicaPosition replica;
  replica.gtid_binlog_state = "0-1-104,0-3-12";  // newer source writes are no divergence
  EXPECT_TRUE(errant_transactions(source, replica, 3).empty());
  replica.gtid_binlog_state = "0-1-100,0-3-14";
  EXPECT_EQ(errant_transactions(source, replica, 3), std::vector<std::string>{"0-3-14"});
  replica.gtid_binlog_state = "0-1-100,5-3-1";  // its own domain
  EXPECT_EQ(errant_transactions(source, replica, 3), std::vector<std::string>{"5-3-1"});
  source.gtid_binlog_state.clear();  // not read: nothing to compare
  EXPECT_TRUE(errant_transactions(source, replica, 3).empty());
}

}  // namespace
}  // namespace guardd::mysql
