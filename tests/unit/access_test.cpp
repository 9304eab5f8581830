#include <gtest/gtest.h>

#include "daemon/access.h"
#include "daemon/wipe_target.h"

namespace guardd {
namespace {

Caller caller(uid_t uid, gid_t gid, std::vector<gid_t> groups = {}) {
  Caller c;
  c.uid = uid;
  c.gid = gid;
  c.groups = std::move(groups);
  return c;
}

TEST(Access, RootMayDoEverything) {
  Policy p;
  for (auto priv : {Privilege::Anyone, Privilege::Client, Privilege::Admin})
    EXPECT_TRUE(has_privilege(caller(0, 0), priv, p));
}

TEST(Access, GroupsGrantClientAndAdmin) {
  Policy p;
  p.client_gid = 100;
  p.admin_gid = 200;
  EXPECT_TRUE(has_privilege(caller(1000, 100), Privilege::Client, p)) << "primary group";
  EXPECT_TRUE(has_privilege(caller(1000, 5, {7, 100}), Privilege::Client, p)) << "supplementary";
  EXPECT_FALSE(has_privilege(caller(1000, 100), Privilege::Admin, p));
  EXPECT_TRUE(has_privilege(caller(1000, 5, {200}), Privilege::Admin, p));
  EXPECT_TRUE(has_privilege(caller(1000, 5, {200}), Privilege::Client, p)) << "admins are clients";
  EXPECT_FALSE(has_privilege(caller(1000, 5), Privilege::Client, p));
  EXPECT_TRUE(has_privilege(caller(1000, 5), Privilege::Anyone, p));
}

TEST(Access, MissingGroupsGrantNothing) {
  Policy p;  // neither group exists
  EXPECT_FALSE(has_privilege(caller(1000, 1000), Privilege::Client, p));
  EXPECT_FALSE(has_privilege(caller(1000, 1000), Privilege::Admin, p));
}

TEST(WipeTarget, RejectsOddTargets) {
  struct Case {
    std::optional<std::string> target;
    std::string expect;
  } cases[] = {
      {std::nullopt, "needs a target"},    {"", "needs a target"},
      {"dev/sda", "not an absolute path"}, {"/dev/sd*", "wildcard"},
      {"/dev/sd[a-z]", "wildcard"},        {"/dev/does-not-exist-guardd", "No such file"},
      {"/dev/null", "not a block device"}, {"/etc/hostname", "not a block device"},
      {"/", "not a block device"},
  };
  for (const auto& c : cases) {
    auto r = resolve_wipe_target(c.target);
    ASSERT_FALSE(r.ok()) << c.target.value_or("(none)");
    EXPECT_NE(r.error().find(c.expect), std::string::npos) << r.error();
  }
}

}  // namespace
}  // namespace guardd
