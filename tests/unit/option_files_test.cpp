// Server option files read as MariaDB reads them: the groups a server with a group suffix
// reads, in reading order, the last line winning; mysqld_multi's numbered groups win.
#include <gtest/gtest.h>

#include "plugins/mysql/option_files.h"
#include "support/harness.h"

namespace guardd::mysql {
namespace {

using test::TempDir;
using test::write_file;

TEST(OptionFiles, SuffixedGroupsAreReadInOrderAndTheLastLineWins) {
  TempDir dir;
  write_file(dir / "my.cnf",
             "[mysqld]\ndatadir = /var/lib/mysql\nsocket = /run/mysqld/mysqld.sock\n"
             "!includedir " +
                 (dir / "conf.d") + "\n");
  std::filesystem::create_directories(dir / "conf.d");
  write_file(dir / "conf.d/10-two.cnf",
             "[mariadbd.2]\ndatadir = /srv/two\nsocket = /run/mysqld/two.sock\nport = 3307\n");
  // Read later: a plain [mysqld] line overrides the suffixed one read before it.
  write_file(dir / "conf.d/50-server.cnf", "[mysqld]\nsocket = /run/mysqld/main.sock\n");

  auto two = read_server_options({dir / "my.cnf"}, ".2");
  EXPECT_EQ(two.datadir.value_or(""), "/srv/two");
  EXPECT_EQ(two.datadir_where, (dir / "conf.d/10-two.cnf") + ":2");
  EXPECT_EQ(two.socket.value_or(""), "/run/mysqld/main.sock");
  EXPECT_EQ(two.port.value_or(0), 3307);
  auto plain = read_server_options({dir / "my.cnf"}, "");
  EXPECT_EQ(plain.datadir.value_or(""), "/var/lib/mysql");
  EXPECT_FALSE(plain.port.has_value()) << "[mariadbd.2] is not the plain server's";
  auto other = read_server_options({dir / "my.cnf"}, ".3");
  EXPECT_EQ(other.datadir.value_or(""), "/var/lib/mysql") << "no [mysqld.3]: the plain groups";

  auto all = read_server_option_files({dir / "my.cnf"});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].suffix, ".2");
  EXPECT_EQ(all[1].datadir.value_or(""), "/srv/two");
}

TEST(OptionFiles, MysqldMultiGroupsWinWhereverTheyAre) {
  TempDir dir;
  write_file(dir / "my.cnf",
             "[mysqld1]\ndatadir = /srv/one\n\n[mysqld]\ndatadir = /var/lib/mysql\nport = 1\n");
  auto one = read_server_options({dir / "my.cnf"}, "1");
  EXPECT_EQ(one.datadir.value_or(""), "/srv/one");
  EXPECT_EQ(one.port.value_or(0), 1);
}

TEST(OptionFiles, TheFilesAServerReads) {
  EXPECT_EQ(server_option_files(std::nullopt, std::nullopt, false, ""),
            (std::vector<std::string>{"/etc/my.cnf", "/etc/mysql/my.cnf"}));
  EXPECT_EQ(server_option_files(std::nullopt, "/etc/extra.cnf", false, "/proc/7/root"),
            (std::vector<std::string>{"/proc/7/root/etc/my.cnf", "/proc/7/root/etc/mysql/my.cnf",
                                      "/proc/7/root/etc/extra.cnf"}));
  EXPECT_EQ(server_option_files("/srv/my.cnf", "/etc/extra.cnf", false, ""),
            (std::vector<std::string>{"/srv/my.cnf"}));
  EXPECT_TRUE(server_option_files("/srv/my.cnf", std::nullopt, true, "").empty());
}

}  // namespace
}  // namespace guardd::mysql
