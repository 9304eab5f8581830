// Loading libmariadb on demand (plugins/mysql/client_library.h): the real library loads and
// answers; a missing or wrong library is a clear error, which the MySQL checks turn into a
// refusal like any other failure to connect.
#include <gtest/gtest.h>

#include "plugins/mysql/client_library.h"

namespace guardd::mysql {
namespace {

TEST(MySqlClientLibrary, LoadsTheInstalledLibraryOnce) {
  auto first = client_library();
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = client_library();
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(*first, *second) << "loaded once and shared";
  MYSQL* db = (*first)->init(nullptr);
  ASSERT_NE(db, nullptr);
  (*first)->close(db);
}

TEST(MySqlClientLibrary, AMissingLibraryIsAnErrorNamingIt) {
  auto lib = load_client_library("libguardd-no-such-library.so.0");
  ASSERT_FALSE(lib.ok());
  EXPECT_NE(lib.error().find("cannot load the MySQL client library "
                             "libguardd-no-such-library.so.0"),
            std::string::npos)
      << lib.error();
}

TEST(MySqlClientLibrary, ALibraryWithoutTheClientApiIsAnError) {
  auto lib = load_client_library("libz.so.1");  // installed with libmariadb3, no mysql_*
  ASSERT_FALSE(lib.ok());
  EXPECT_EQ(lib.error(), "the MySQL client library libz.so.1 has no mysql_init");
}

}  // namespace
}  // namespace guardd::mysql
