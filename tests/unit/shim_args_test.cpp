#include <gtest/gtest.h>

#include "shim/shim_args.h"

namespace guardd::shim {
namespace {

Plan plan(const std::string& tool, std::vector<std::string> args) {
  auto p = plan_for(tool, args);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error());
  return p.ok() ? *p : Plan{};
}

TEST(ShimArgs, PowerCommands) {
  EXPECT_EQ(plan("reboot", {}).operation, "reboot");
  EXPECT_FALSE(plan("reboot", {"-f"}).pass_through) << "-f changes nothing";
  EXPECT_EQ(plan("poweroff", {"--force"}).operation, "poweroff");
  EXPECT_EQ(plan("halt", {}).operation, "poweroff");
  EXPECT_TRUE(plan("reboot", {"--help"}).pass_through);
  EXPECT_EQ(plan("shutdown", {"-r", "now"}).operation, "reboot");
  EXPECT_EQ(plan("shutdown", {"--reboot", "+5"}).operation, "reboot");
  EXPECT_EQ(plan("shutdown", {"-h", "now"}).operation, "poweroff");
  EXPECT_EQ(plan("shutdown", {"-P", "now"}).operation, "poweroff");
  EXPECT_EQ(plan("shutdown", {}).operation, "poweroff") << "shutdown powers off by default";
  EXPECT_EQ(plan("shutdown", {"-rf", "now"}).operation, "reboot");
  EXPECT_TRUE(plan("shutdown", {"-c"}).pass_through);
  EXPECT_TRUE(plan("shutdown", {"--help"}).pass_through);
  EXPECT_TRUE(plan("shutdown", {"-k", "now"}).pass_through) << "-k only warns";
}

TEST(ShimArgs, WipeTools) {
  auto w = plan("wipefs", {"-a", "/dev/sdb"});
  EXPECT_EQ(w.operation, "wipe");
  EXPECT_EQ(w.targets, std::vector<std::string>{"/dev/sdb"});
  EXPECT_EQ(plan("wipefs", {"--all", "-f", "/dev/sdb", "/dev/sdc"}).targets,
            (std::vector<std::string>{"/dev/sdb", "/dev/sdc"}));
  EXPECT_EQ(plan("wipefs", {"-o", "0x438", "/dev/sdb"}).targets,
            std::vector<std::string>{"/dev/sdb"});
  EXPECT_TRUE(plan("wipefs", {"/dev/sdb"}).pass_through) << "listing is read-only";
  EXPECT_TRUE(plan("wipefs", {"-a", "-n", "/dev/sdb"}).pass_through) << "--no-act";
  EXPECT_EQ(plan("blkdiscard", {"/dev/nvme0n1"}).targets, std::vector<std::string>{"/dev/nvme0n1"});
  EXPECT_EQ(plan("blkdiscard", {"-o", "4096", "-l", "8192", "/dev/sdb"}).targets,
            std::vector<std::string>{"/dev/sdb"});
  EXPECT_TRUE(plan("blkdiscard", {}).targets.empty()) << "asked without a target: refused";
  EXPECT_EQ(plan("sgdisk", {"--zap-all", "/dev/sdb"}).targets,
            std::vector<std::string>{"/dev/sdb"});
  EXPECT_EQ(plan("sgdisk", {"-Z", "/dev/sdb"}).operation, "wipe");
  EXPECT_TRUE(plan("sgdisk", {"-p", "/dev/sdb"}).pass_through) << "printing is read-only";
}

TEST(ShimArgs, GuarddOptionsAreRemovedAndChecked) {
  auto f = plan("reboot", {"--guardd-force", "--guardd-reason", "fire", "-f"});
  EXPECT_TRUE(f.force);
  EXPECT_EQ(f.reason, "fire");
  EXPECT_EQ(f.real_argv, std::vector<std::string>{"-f"});
  EXPECT_FALSE(plan_for("reboot", {"--guardd-force"}).ok()) << "force needs a reason";
  EXPECT_FALSE(plan_for("reboot", {"--guardd-reason"}).ok());
  EXPECT_FALSE(plan_for("reboot", {"--guardd-bypass"}).ok());
  EXPECT_FALSE(plan_for("rm", {}).ok());
  EXPECT_TRUE(is_shimmed_tool("sgdisk"));
  EXPECT_FALSE(is_shimmed_tool("dd"));
}

}  // namespace
}  // namespace guardd::shim
