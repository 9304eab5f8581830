#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <set>
#include <thread>

#include "daemon/audit_store.h"
#include "support/harness.h"

namespace guardd {
namespace {

Decision make_decision(const std::string& op, Verdict v, int64_t time_us) {
  Decision d;
  d.time_us = time_us;
  d.operation = op;
  d.verdict = v;
  d.caller.uid = 1000;
  d.caller.gid = 1000;
  d.caller.pid = 42;
  d.caller.exe = "/usr/bin/guardctl";
  d.caller.cmdline = "guardctl check " + op;
  d.checks.push_back({"hold",
                      v == Verdict::Allowed ? Outcome::Pass : Outcome::Veto,
                      "why",
                      {{"holds", 1}},
                      12,
                      OnError::Veto});
  d.duration_us = 99;
  d.hostname = "host";
  d.guardd_version = "test";
  return d;
}

class AuditStoreTest : public ::testing::Test {
 protected:
  std::string db() const { return dir_ / "sub/guardd.db"; }
  test::TempDir dir_;
};

TEST_F(AuditStoreTest, RecordsAndReadsBack) {
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error();
  Decision d = make_decision("reboot", Verdict::Refused, 1000);
  d.target = "/dev/sdb";
  d.reason = "maintenance";
  d.dry_run = true;
  d.error = std::nullopt;
  auto id = (*store)->record(d);
  ASSERT_TRUE(id.ok()) << id.error();
  EXPECT_EQ(*id, 1);
  auto list = (*store)->list({});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  const Decision& r = (*list)[0];
  EXPECT_EQ(r.id, 1);
  EXPECT_EQ(r.operation, "reboot");
  EXPECT_EQ(r.target, "/dev/sdb");
  EXPECT_EQ(r.reason, "maintenance");
  EXPECT_EQ(r.verdict, Verdict::Refused);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.caller.uid, 1000u);
  EXPECT_EQ(r.caller.exe, "/usr/bin/guardctl");
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].outcome, Outcome::Veto);
  EXPECT_EQ(r.checks[0].facts["holds"], 1);
  EXPECT_EQ(r.hostname, "host");
}

TEST_F(AuditStoreTest, UsesWalAndFullSync) {
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok());
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), AuditStore::kSchemaVersion);
  sqlite3_finalize(st);
  sqlite3_close(raw);
}

int page_size(const std::string& path) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) return -1;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "PRAGMA page_size", -1, &st, nullptr);
  int size = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return size;
}

// Small pages keep what a commit writes and syncs small; a database made with another
// page size (by an older guardd) is used as it is.
TEST_F(AuditStoreTest, NewDatabaseHasSmallPagesAnOldOneKeepsItsOwn) {
  {
    auto store = AuditStore::open(db());
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE((*store)->record(make_decision("reboot", Verdict::Allowed, 1)).ok());
  }
  EXPECT_EQ(page_size(db()), 1024);

  const std::string old_db = dir_ / "old.db";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(old_db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(raw, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t(x)",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(raw);
  auto store = AuditStore::open(old_db);
  ASSERT_TRUE(store.ok()) << store.error();
  ASSERT_TRUE((*store)->record(make_decision("reboot", Verdict::Allowed, 2)).ok());
  EXPECT_EQ((*store)->list({})->size(), 1u);
  EXPECT_EQ(page_size(old_db), 4096);
}

TEST_F(AuditStoreTest, FiltersAndLimits) {
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok());
  auto& s = **store;
  ASSERT_TRUE(s.record(make_decision("reboot", Verdict::Allowed, 100)).ok());
  ASSERT_TRUE(s.record(make_decision("wipe", Verdict::Refused, 200)).ok());
  ASSERT_TRUE(s.record(make_decision("reboot", Verdict::Refused, 300)).ok());
  ASSERT_TRUE(s.record(make_decision("poweroff", Verdict::Forced, 400)).ok());

  DecisionFilter f;
  f.operation = "reboot";
  auto r = s.list(f);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].time_us, 100) << "oldest first";

  f = {};
  f.verdict = Verdict::Refused;
  EXPECT_EQ(s.list(f)->size(), 2u);

  f = {};
  f.since_us = 200;
  f.until_us = 300;
  r = s.list(f);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].operation, "wipe");

  f = {};
  f.limit = 2;
  r = s.list(f);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].time_us, 300) << "the newest `limit`, oldest first";
  EXPECT_EQ((*r)[1].time_us, 400);

  f = {};
  f.operation = "reboot";
  f.verdict = Verdict::Refused;
  EXPECT_EQ(s.list(f)->size(), 1u);
}

TEST_F(AuditStoreTest, MigratesFromSchemaVersion1) {
  {
    auto old = AuditStore::open(db(), 1);
    ASSERT_TRUE(old.ok()) << old.error();
    // A row as version 1 wrote it: no hostname, guardd_version or error columns.
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db().c_str(), &raw), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(raw,
                           "INSERT INTO decisions (time_us, operation, verdict, dry_run, "
                           "caller_uid, caller_gid, caller_pid, checks, duration_us) VALUES "
                           "(5, 'reboot', 'refused', 0, 0, 0, 1, '[]', 7);"
                           "INSERT INTO holds (created_us, uid, reason, operations) VALUES "
                           "(1, 0, 'old hold', 'reboot');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->stats().schema_version, AuditStore::kSchemaVersion);
  auto r = (*store)->list({});
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].operation, "reboot");
  EXPECT_EQ((*r)[0].hostname, "");
  auto holds = (*store)->active_holds();
  ASSERT_EQ(holds->size(), 1u);
  EXPECT_EQ((*holds)[0].reason, "old hold");
  EXPECT_EQ((*holds)[0].operations, std::vector<std::string>{"reboot"});
  ASSERT_TRUE((*store)->record(make_decision("wipe", Verdict::Allowed, 6)).ok());
}

TEST_F(AuditStoreTest, RefusesANewerSchema) {
  {
    auto s = AuditStore::open(db());
    ASSERT_TRUE(s.ok());
  }
  sqlite3* raw = nullptr;
  sqlite3_open(db().c_str(), &raw);
  sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  auto s = AuditStore::open(db());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("schema version 99 is newer"), std::string::npos) << s.error();
}

TEST_F(AuditStoreTest, RetentionPrunesOldDecisionsOnly) {
  auto store = AuditStore::open(db());
  auto& s = **store;
  ASSERT_TRUE(s.record(make_decision("reboot", Verdict::Allowed, 100)).ok());
  ASSERT_TRUE(s.record(make_decision("reboot", Verdict::Allowed, 200)).ok());
  ASSERT_TRUE(s.record(make_decision("reboot", Verdict::Allowed, 300)).ok());
  auto pruned = s.prune(250);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2);
  auto r = s.list({});
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].time_us, 300);
}

TEST_F(AuditStoreTest, HoldLifecycle) {
  auto store = AuditStore::open(db());
  auto& s = **store;
  auto h1 = s.place_hold(0, "upgrade", {}, 10);
  auto h2 = s.place_hold(0, "migration", {"reboot", "poweroff"}, 20);
  ASSERT_TRUE(h1.ok() && h2.ok());
  EXPECT_TRUE(h1->covers("wipe"));
  EXPECT_TRUE(h2->covers("reboot"));
  EXPECT_FALSE(h2->covers("wipe"));
  EXPECT_EQ(s.active_holds()->size(), 2u);
  EXPECT_TRUE(*s.release_hold(h1->id, 0, 30));
  EXPECT_FALSE(*s.release_hold(h1->id, 0, 31)) << "already released";
  EXPECT_FALSE(*s.release_hold(999, 0, 31)) << "no such hold";
  auto active = s.active_holds();
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].reason, "migration");
}

// Many decisions finishing together share commits (the group commit); each still gets its
// own id and its own row, with its own contents.
TEST_F(AuditStoreTest, ConcurrentRecordsEachGetTheirOwnRow) {
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error();
  constexpr int kThreads = 16, kEach = 20;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = (*store)->record(
            make_decision(fmt::format("op-{}-{}", t, i), Verdict::Allowed, 1000 + t * kEach + i));
        if (id) ids[t].push_back(*id);
      }
    });
  for (auto& th : threads) th.join();
  std::set<int64_t> distinct;
  for (const auto& v : ids) {
    EXPECT_EQ(v.size(), size_t{kEach});
    distinct.insert(v.begin(), v.end());
  }
  EXPECT_EQ(distinct.size(), size_t{kThreads * kEach});
  DecisionFilter all;
  all.limit = kThreads * kEach + 10;
  auto list = (*store)->list(all);
  ASSERT_TRUE(list.ok()) << list.error();
  ASSERT_EQ(list->size(), size_t{kThreads * kEach});
  for (const Decision& r : *list) {
    // The row with this id holds the decision whose call returned it.
    int t = -1, i = -1;
    ASSERT_EQ(sscanf(r.operation.c_str(), "op-%d-%d", &t, &i), 2) << r.operation;
    ASSERT_TRUE(t >= 0 && t < kThreads && i >= 0 && i < kEach);
    EXPECT_EQ(ids[t][i], r.id) << r.operation;
    EXPECT_EQ(r.time_us, 1000 + t * kEach + i);
  }
}

// A decision whose checks ran before a hold was placed is not written: the caller decides
// again with the hold in view. One that started after the hold is written.
TEST_F(AuditStoreTest, RecordUnlessHoldsChangedRefusesAStaleDecision) {
  auto store = AuditStore::open(db());
  auto& s = **store;
  const uint64_t before = s.holds_generation();
  ASSERT_TRUE(s.place_hold(0, "upgrade", {}, 10).ok());
  EXPECT_NE(s.holds_generation(), before);
  auto stale = s.record_unless_holds_changed(make_decision("reboot", Verdict::Allowed, 1), before);
  ASSERT_TRUE(stale.ok()) << stale.error();
  EXPECT_FALSE(stale->has_value()) << "written although a hold was placed meanwhile";
  EXPECT_EQ(s.list({})->size(), 0u);
  auto fresh = s.record_unless_holds_changed(make_decision("reboot", Verdict::Refused, 2),
                                             s.holds_generation());
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  ASSERT_TRUE(fresh->has_value());
  EXPECT_EQ(s.list({})->size(), 1u);
  // Releasing a hold cannot turn a refusal into a false allow: it does not count.
  const uint64_t placed = s.holds_generation();
  ASSERT_TRUE(*s.release_hold(1, 0, 20));
  EXPECT_EQ(s.holds_generation(), placed);
}

TEST_F(AuditStoreTest, ClosedStoreFailsCleanly) {
  auto store = AuditStore::open(db());
  (*store)->close();
  auto id = (*store)->record(make_decision("reboot", Verdict::Allowed, 1));
  ASSERT_FALSE(id.ok());
  EXPECT_NE(id.error().find("closed"), std::string::npos);
  EXPECT_TRUE((*store)->stats().last_error.has_value());
}

TEST_F(AuditStoreTest, UnopenablePathIsAnError) {
  auto s = AuditStore::open("/proc/no/such/guardd.db");
  ASSERT_FALSE(s.ok());
}

// A datadir seen in use is remembered across restarts; a later sighting with less to say
// (seen at rest: no server, no role) keeps what was known; retiring hides it until seen again.
TEST_F(AuditStoreTest, RemembersDatadirsAcrossReopenAndRetiresThem) {
  {
    auto store = AuditStore::open(db());
    ASSERT_TRUE(store.ok()) << store.error();
    KnownDatadir seen{"/srv/db",
                      "mariadbd",
                      "/run/mysqld/mysqld.sock",
                      3306,
                      "primary with 2 replica(s)",
                      "uuid-1",
                      "/dev/sdb1",
                      0,
                      100};
    ASSERT_TRUE((*store)->remember_datadir(seen).ok());
    KnownDatadir later{"/srv/db", "", "", 0, "", "", "", 0, 200};
    ASSERT_TRUE((*store)->remember_datadir(later).ok());
  }
  auto store = AuditStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error();
  auto known = (*store)->known_datadirs();
  ASSERT_TRUE(known.ok()) << known.error();
  ASSERT_EQ(known->size(), 1u);
  const KnownDatadir& k = known->front();
  EXPECT_EQ(k.server, "mariadbd");
  EXPECT_EQ(k.role, "primary with 2 replica(s)");
  EXPECT_EQ(k.fs_uuid, "uuid-1");
  EXPECT_EQ(k.fs_device, "/dev/sdb1");
  EXPECT_EQ(k.first_seen_us, 100);
  EXPECT_EQ(k.last_seen_us, 200);

  auto retired = (*store)->retire_datadir("/srv/db", 0, "moved to db7", 300);
  ASSERT_TRUE(retired.ok() && *retired);
  EXPECT_TRUE((*store)->known_datadirs()->empty());
  auto again = (*store)->retire_datadir("/srv/db", 0, "twice", 400);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again) << "retiring a retired datadir changes nothing";
  ASSERT_TRUE((*store)->remember_datadir({"/srv/db", "mariadbd", "", 0, "", "", "", 0, 500}).ok());
  EXPECT_EQ((*store)->known_datadirs()->size(), 1u) << "seen in use again: protected again";
}

}  // namespace
}  // namespace guardd
