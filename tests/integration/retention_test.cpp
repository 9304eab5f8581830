// Retention: decisions older than `retention` are deleted, on a worker of their own, at
// start and then at most hourly, while guardd goes on answering.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <set>

#include "support/harness.h"

namespace guardd::test {
namespace {

// Runs `sql` on the database at `path`; false (with the message) on failure.
::testing::AssertionResult exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return ::testing::AssertionFailure() << "cannot open " << path;
  }
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) return ::testing::AssertionFailure() << sql << ": " << message;
  return ::testing::AssertionSuccess();
}

// Records three decisions under `retention = forever`, stops guardd, changes the log with
// `sql` (making decisions old), and starts it again with `retention = 1d`.
void restart_with_a_day_of_retention(Guardd& g, const std::string& sql) {
  ASSERT_TRUE(g.start()) << g.log();
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(varlink_call(g.socket(), "io.guardd.Guard.Check",
                           {{"operation", "reboot"}})["parameters"]["allowed"],
              true);
  ASSERT_EQ(g.stop(), 0) << g.log();
  ASSERT_TRUE(exec_sql(g.database(), sql));
  std::string config = read_file(g.config());
  auto at = config.find("retention = forever");
  ASSERT_NE(at, std::string::npos);
  write_file(g.config(), config.replace(at, 19, "retention = 1d"));
  ASSERT_TRUE(g.start()) << g.log();
}

TEST(Retention, DecisionsPastRetentionArePrunedAtStart) {
  Guardd g("retention = forever\n");
  // Decisions 1 and 2 are made two days old.
  restart_with_a_day_of_retention(
      g, "UPDATE decisions SET time_us = time_us - 172800000000 WHERE id <= 2");
  if (HasFatalFailure()) return;
  EXPECT_TRUE(wait_until([&] { return decision_ids(g.database()) == std::set<int64_t>{3}; }))
      << g.log();
  EXPECT_NE(g.log().find("Pruned 2 decisions older than the retention period"), std::string::npos)
      << g.log();
  auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
  EXPECT_EQ(r["parameters"]["decision"]["id"], 4) << r;
}

// A clock that jumped forward (a dead RTC battery, a bad time source) by more than
// `retention` must not delete the log: pruning trusts the wall clock only as far as the
// monotonic clock has advanced since the newest decision on record. Here the log is made
// two years old instead of moving the clock, which is the same to guardd.
TEST(Retention, AClockJumpForwardDoesNotDeleteTheLog) {
  Guardd g("retention = forever\n");
  restart_with_a_day_of_retention(g, "UPDATE decisions SET time_us = time_us - 63072000000000");
  if (HasFatalFailure()) return;
  EXPECT_TRUE(wait_until([&] {
    return g.log().find("past the newest decision on record plus guardd's uptime") !=
           std::string::npos;
  })) << g.log();
  auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
  EXPECT_EQ(r["parameters"]["decision"]["id"], 4) << r;
  ASSERT_EQ(g.stop(), 0) << g.log();  // the prune, on its worker, has ended with guardd
  EXPECT_EQ(decision_ids(g.database()), (std::set<int64_t>{1, 2, 3, 4})) << g.log();
  EXPECT_EQ(g.log().find("Pruned"), std::string::npos) << g.log();
}

}  // namespace
}  // namespace guardd::test
