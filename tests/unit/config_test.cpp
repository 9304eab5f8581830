#include <gtest/gtest.h>

#include <sys/stat.h>
#include <algorithm>

#include "daemon/config.h"
#include "daemon/policy.h"
#include "support/harness.h"

namespace guardd {
namespace {

using test::TempDir;
using test::write_file;

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    write_file(path(), text);
    return path();
  }
  std::string path() const { return dir_ / "guardd.conf"; }
  void drop_in(const std::string& name, const std::string& text) {
    mkdir((path() + ".d").c_str(), 0755);
    write_file(path() + ".d/" + name, text);
  }
  // Loads and expects failure whose message contains every one of `parts`.
  void expect_error(const std::string& text, std::initializer_list<std::string> parts) {
    auto c = load_config(write(text));
    ASSERT_FALSE(c.ok()) << "accepted:\n" << text;
    for (const auto& p : parts)
      EXPECT_NE(c.error().find(p), std::string::npos) << "missing '" << p << "' in:\n" << c.error();
  }
  TempDir dir_;
};

TEST_F(ConfigTest, DefaultsWhenEmpty) {
  auto c = load_config(write(""));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->daemon.socket, "/run/guardd/guardd.sock");
  EXPECT_EQ(c->daemon.database, "/var/lib/guardd/guardd.db");
  EXPECT_EQ(c->daemon.decision_timeout, std::chrono::seconds(5));
  EXPECT_TRUE(c->daemon.allow_force);
  ASSERT_EQ(c->checks.size(), 1u) << "the hold check is always on";
  EXPECT_EQ(c->checks[0].type, "hold");
  EXPECT_EQ(c->checks[0].operations.size(), 5u);
}

TEST_F(ConfigTest, ShippedDefaultPolicyIsValid) {
  auto c = load_config(test::source_dir() + "/etc/guardd.conf");
  ASSERT_TRUE(c.ok()) << c.error();
  auto p = build_policy(*c, CheckServices{});
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_GE((*p)->checks.size(), 2u);
}

TEST_F(ConfigTest, ParsesEveryDaemonKey) {
  auto c = load_config(write(R"([guardd]
socket = /tmp/x.sock
database = /tmp/x.db
client_group = adm
admin_group = sudo
allow_force = no
decision_timeout = 1500ms
idle_timeout = 1min
max_connections_per_uid = 4
max_connections = 10
retention = 30d
extra_operations = reimage, firmware-update
log_level = debug
)"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->daemon.socket, "/tmp/x.sock");
  EXPECT_FALSE(c->daemon.allow_force);
  EXPECT_EQ(c->daemon.decision_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c->daemon.idle_timeout, std::chrono::minutes(1));
  EXPECT_EQ(c->daemon.max_connections_per_uid, 4);
  EXPECT_EQ(c->daemon.retention, std::chrono::hours(24 * 30));
  EXPECT_TRUE(c->knows_operation("reimage"));
  EXPECT_TRUE(c->knows_operation("firmware-update"));
  EXPECT_FALSE(c->knows_operation("frobnicate"));
  EXPECT_EQ(c->daemon.log_level, "debug");
}

TEST_F(ConfigTest, ErrorsCarryFileAndLine) {
  expect_error("[guardd]\nsocket = /s\nbogus = 1\n",
               {path() + ":3: unknown key 'bogus' in [guardd]"});
  expect_error("[guardd]\n\n[nonsense]\nx = 1\n", {path() + ":3: unknown section [nonsense]"});
  expect_error("[guardd]\ndecision_timeout = soon\n",
               {path() + ":2: decision_timeout:", "expected a number"});
  expect_error("[guardd]\nallow_force = perhaps\n",
               {path() + ":2: allow_force: 'perhaps' is not a boolean"});
  expect_error("[guardd]\nmax_connections = 0\n",
               {path() + ":2: max_connections: 0 is out of range"});
  expect_error("[guardd]\nsocket = relative.sock\n",
               {path() + ":2: socket: 'relative.sock' is not an absolute path"});
  expect_error("[guardd]\nlog_level = chatty\n", {path() + ":2: log_level"});
  expect_error("[guardd]\nextra_operations = Bad!Name\n", {path() + ":2: extra_operations"});
  expect_error("[guardd]\ndecision_timeout = 10min\n", {path() + ":2:", "out of range"});
}

TEST_F(ConfigTest, DuplicatesInOneFileAreErrors) {
  expect_error("[guardd]\nsocket = /a\nsocket = /b\n",
               {path() + ":3: duplicate key 'socket' in [guardd] (first set at line 2)"});
  expect_error("[guardd]\nsocket = /a\n[guardd]\nlog_level = info\n",
               {path() + ":3: duplicate section [guardd] (first at line 1)"});
}

TEST_F(ConfigTest, SyntaxErrorsAndOddLines) {
  expect_error("[guardd]\nthis line has no equals sign\n", {path() + ":2: syntax error"});
  expect_error("socket = /x\n", {path() + ":1: 'socket' is outside of any [section]"});
  expect_error("[guardd]\nextra_operations = " + std::string(300, 'a') + "\n",
               {path() + ":2: line is longer than"});
}

// '#' or ';' at a line's start or after whitespace begins a comment, on any line; it is
// never part of a value (a value read with its comment once vetoed on `sleep` and ignored
// root's sessions). Without whitespace before it, it is the value's own character.
TEST_F(ConfigTest, CommentsAfterValuesAreNotPartOfThem) {
  auto c = load_config(write(R"(# a comment
; another
[guardd]   # the daemon's own keys
log_level = debug # was: info
[check.db] ; the daemon check
type = process  ;  names below
names = zzzzdaemon # was: sleep
[check.who]
type = mysql-connections
ignore_users = nagios	# not root
[check.sharp]
type = process
names = c#d e;f
)"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->daemon.log_level, "debug");
  auto named = [&](const std::string& name) -> const CheckSection& {
    auto it = std::find_if(c->checks.begin(), c->checks.end(),
                           [&](const CheckSection& s) { return s.name == name; });
    EXPECT_NE(it, c->checks.end()) << name;
    return *it;
  };
  EXPECT_EQ(named("db").type, "process");
  EXPECT_EQ(named("db").options.at("names").text, "zzzzdaemon");
  EXPECT_EQ(named("who").options.at("ignore_users").text, "nagios");
  EXPECT_EQ(named("sharp").options.at("names").text, "c#d e;f");
}

// Indentation means nothing: an indented line is never a continuation of the key above
// (inih would join it to the value); one without '=' is a syntax error, not more value.
TEST_F(ConfigTest, IndentedLinesAreNotContinuations) {
  auto c = load_config(write("[check.db]\ntype = process\nnames = mysqld\n  timeout = 250ms\n"));
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->checks.back().options.at("names").text, "mysqld");
  EXPECT_EQ(c->checks.back().timeout, std::chrono::milliseconds(250));
  expect_error("[check.db]\ntype = process\nnames = mysqld\n  sleep\n",
               {path() + ":4: syntax error"});
}

TEST_F(ConfigTest, DropInsOverrideInLexicalOrder) {
  write("[guardd]\nlog_level = info\ndecision_timeout = 5s\n");
  drop_in("20-b.conf", "[guardd]\nlog_level = error\n");
  drop_in("10-a.conf", "[guardd]\nlog_level = debug\ndecision_timeout = 2s\n");
  drop_in("ignored.txt", "[garbage\n");
  auto c = load_config(path());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->daemon.log_level, "error");
  EXPECT_EQ(c->daemon.decision_timeout, std::chrono::seconds(2));
  ASSERT_EQ(c->files.size(), 3u);
  EXPECT_EQ(c->files[1], path() + ".d/10-a.conf");
}

TEST_F(ConfigTest, DropInErrorsNameTheDropIn) {
  write("[guardd]\n");
  drop_in("50-site.conf", "[guardd]\nbogus = 1\n");
  auto c = load_config(path());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find(path() + ".d/50-site.conf:2: unknown key 'bogus'"), std::string::npos)
      << c.error();
}

TEST_F(ConfigTest, CheckSections) {
  auto c = load_config(write(R"([guardd]
extra_operations = reimage

[check.db]
type = process
names = mysqld
operations = reboot reimage
timeout = 250ms
on_error = pass

[check.off]
type = process
names = x
enabled = no
)"));
  ASSERT_TRUE(c.ok()) << c.error();
  ASSERT_EQ(c->checks.size(), 3u);
  const auto& db = c->checks[1];
  EXPECT_EQ(db.name, "db");
  EXPECT_EQ(db.type, "process");
  EXPECT_EQ(db.operations, (std::vector<std::string>{"reboot", "reimage"}));
  EXPECT_EQ(db.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(db.on_error, OnError::Pass);
  EXPECT_EQ(db.options.at("names").text, "mysqld");
  EXPECT_FALSE(c->checks[2].enabled);
  EXPECT_EQ(c->checks[2].operations,
            (std::vector<std::string>{"reinstall", "wipe", "decommission"}))
      << "a type's default operations";
}

TEST_F(ConfigTest, CheckSectionErrors) {
  expect_error("[check.x]\ntype = nosuch\n", {path() + ":2: unknown check type 'nosuch'"});
  expect_error("[check.nosuch]\n", {path() + ":1: unknown check type 'nosuch'"});
  expect_error("[check.p]\ntype = process\nnames = a\ncolour = red\n",
               {path() + ":4: unknown key 'colour' for check type 'process'"});
  expect_error("[check.p]\ntype = process\nnames = a\noperations = reboot frobnicate\n",
               {path() + ":4: operations: unknown operation 'frobnicate'"});
  expect_error("[check.p]\ntype = process\nnames = a\non_error = ignore\n",
               {path() + ":4: on_error: 'ignore' is not veto or pass"});
  expect_error("[check.p]\ntype = process\nnames = a\ntimeout = 0\n", {path() + ":4: timeout"});
  expect_error("[check.hold]\nenabled = no\n", {path() + ":1: the hold check cannot be disabled"});
  expect_error("[check.hold]\n[check.h2]\ntype = hold\n", {"a second check of type 'hold'"});
  // Nothing narrows the hold check, lets it time out early or turns its errors into passes.
  expect_error("[check.hold]\noperations = reboot\n",
               {path() + ":2: the hold check does not take 'operations'"});
  expect_error("[check.hold]\ntimeout = 1ms\n",
               {path() + ":2: the hold check does not take 'timeout'"});
  expect_error("[check.h2]\ntype = hold\non_error = pass\n",
               {path() + ":3: the hold check does not take 'on_error'"});
  expect_error("[check.hold]\ntype = process\nnames = a\n",
               {path() + ":1: [check.hold] is the built-in hold check's name"});
  expect_error("[check.bad name]\n", {path() + ":1: invalid check name"});
  expect_error("[check.p]\ntype = process\nnames = a\noperations = all reboot\n",
               {"'all' cannot be combined"});
}

// A path that opens but cannot be read (here a directory given as the config) is an
// error, not an empty file.
TEST_F(ConfigTest, UnreadableFilesAreErrors) {
  auto dir = load_config(dir_.path());
  ASSERT_FALSE(dir.ok()) << "a directory was accepted as a config file";
  EXPECT_NE(dir.error().find(dir_.path() + ": cannot read: Is a directory"), std::string::npos)
      << dir.error();
  auto missing = load_config(dir_ / "nowhere.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("nowhere.conf: cannot read: No such file or directory"),
            std::string::npos)
      << missing.error();
}

TEST_F(ConfigTest, AllErrorsAreReportedAtOnce) {
  auto c = load_config(write("[guardd]\nbogus = 1\nallow_force = maybe\n[what]\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find(":2:"), std::string::npos);
  EXPECT_NE(c.error().find(":3:"), std::string::npos);
  EXPECT_NE(c.error().find(":4:"), std::string::npos);
}

TEST_F(ConfigTest, ControlCharactersInErrorsAreShownEscaped) {
  auto c = load_config(write("[guardd]\nbog\rus = 1\nx\x1b[2J = 2\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("unknown key 'bog\\x0dus'"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("unknown key 'x\\x1b[2J'"), std::string::npos) << c.error();
  EXPECT_EQ(c.error().find('\x1b'), std::string::npos);
  EXPECT_EQ(std::count(c.error().begin(), c.error().end(), '\n'), 1) << "one line per error";
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  auto c = load_config(dir_ / "absent.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().find("absent.conf: cannot read"), std::string::npos);
}

TEST_F(ConfigTest, TypeSpecificKeysAreValidatedWhenBuilt) {
  auto c = load_config(write("[check.p]\ntype = process\n"));
  ASSERT_TRUE(c.ok()) << c.error();
  auto p = build_policy(*c, CheckServices{});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find(path() + ":1: [check.p] needs 'names'"), std::string::npos) << p.error();
  c = load_config(write("[check.p]\ntype = process\nnames = /usr/sbin/mysqld\n"));
  ASSERT_TRUE(c.ok());
  p = build_policy(*c, CheckServices{});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find(path() + ":3: names: '/usr/sbin/mysqld' must be a command name"),
            std::string::npos)
      << p.error();
}

}  // namespace
}  // namespace guardd
