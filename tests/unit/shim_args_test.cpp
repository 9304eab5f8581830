// What the shims ask guardd for each command-line form: the forms the issue found
// passing unasked, and the wrapped tools' documented forms. The readings were checked
// against the tools' sources (systemd 252/257 compat verbs, util-linux 2.38/2.41, gdisk
// 1.0.9/1.0.10 with popt 1.19); tests/integration/shim_forms_test.cpp runs the real
// wipefs and sgdisk on the same forms.
#include <gtest/gtest.h>

#include "shim/shim_args.h"

namespace guardd::shim {
namespace {

// "pass", "error", or "ask OPERATION [TARGET...]" (+ " later" for a delayed shutdown).
std::string asked(const std::string& tool, const std::vector<std::string>& args) {
  auto p = plan_for(tool, args);
  if (!p) return "error";
  if (p->pass_through) return "pass";
  std::string s = "ask " + p->operation;
  for (const auto& t : p->targets) s += " " + t.path;
  if (p->delayed) s += " later";
  return s;
}

struct Form {
  std::string tool;
  std::vector<std::string> args;
  std::string expect;
};

void expect_forms(const std::vector<Form>& forms) {
  for (const auto& f : forms) {
    std::string line = f.tool;
    for (const auto& a : f.args) line += " " + a;
    EXPECT_EQ(asked(f.tool, f.args), f.expect) << line;
  }
}

TEST(ShimArgs, HaltFamilyReadsLikeSystemd) {
  expect_forms({
      {"reboot", {}, "ask reboot"},
      {"reboot", {"-f"}, "ask reboot"},
      {"reboot", {"--force"}, "ask reboot"},
      {"reboot", {"--fo"}, "ask reboot"},  // getopt_long takes a unique prefix
      {"poweroff", {}, "ask poweroff"},
      {"halt", {}, "ask poweroff"},
      {"halt", {"-p"}, "ask poweroff"},
      {"reboot", {"-p"}, "ask reboot"},  // -p does not turn a reboot into a power-off
      {"poweroff", {"--reboot"}, "ask reboot"},
      {"halt", {"--reboot"}, "ask reboot"},
      {"reboot", {"--halt"}, "ask poweroff"},
      {"reboot", {"--halt", "--reboot"}, "ask reboot"},  // the last action wins
      {"reboot", {"--help"}, "pass"},
      {"reboot", {"--he"}, "pass"},
      {"reboot", {"--h"}, "error"},  // --help or --halt: getopt_long calls it ambiguous
      {"reboot", {"--help", "-f"}, "ask reboot"},
      {"reboot", {"-f", "--help"}, "ask reboot"},
      {"reboot", {"--", "--help"}, "ask reboot"},  // after --, the reboot parameter
      {"reboot", {"firmware-param"}, "ask reboot"},
      {"reboot", {"a", "b"}, "error"},
      {"poweroff", {"now"}, "error"},  // systemd: "Too many arguments"
      {"reboot", {"-w"}, "pass"},      // wtmp record only
      {"reboot", {"--wtmp-only", "-f"}, "pass"},
      {"reboot", {"-nd", "--no-wall"}, "ask reboot"},
      {"reboot", {"--no-w"}, "error"},  // --no-wtmp or --no-wall
      {"reboot", {"--version"}, "error"},
      {"reboot", {"--force=yes"}, "error"},
      {"reboot", {"-x"}, "error"},
  });
}

TEST(ShimArgs, ShutdownReadsLikeSystemd) {
  expect_forms({
      {"shutdown", {}, "ask poweroff later"},
      {"shutdown", {"now"}, "ask poweroff"},
      {"shutdown", {"-r", "now"}, "ask reboot"},
      {"shutdown", {"-rf", "now"}, "ask reboot"},
      {"shutdown", {"--reboot", "+5"}, "ask reboot later"},
      {"shutdown", {"-r", "+10", "kernel", "update"}, "ask reboot later"},
      {"shutdown", {"-h", "now"}, "ask poweroff"},
      {"shutdown", {"-P", "now"}, "ask poweroff"},
      {"shutdown", {"-H", "now"}, "ask poweroff"},
      {"shutdown", {"-H", "-h", "now"}, "ask poweroff"},
      {"shutdown", {"-c"}, "pass"},
      {"shutdown", {"-c", "maintenance", "over"}, "pass"},
      {"shutdown", {"-r", "-c"}, "pass"},  // the last action wins: cancel
      {"shutdown", {"--show"}, "pass"},
      {"shutdown", {"--help"}, "pass"},
      {"shutdown", {"-k", "now"}, "pass"},  // wall message only
      {"shutdown", {"-r", "now", "-k"}, "pass"},
      // The issue's forms:
      {"shutdown", {"-c", "-r", "now"}, "ask reboot"},
      {"shutdown", {"-r", "now", "--", "-c"}, "ask reboot"},
      {"shutdown", {"-r", "-tk", "now"}, "ask reboot"},  // -t takes "k"
      {"shutdown", {"-r", "-t", "-k", "now"}, "ask reboot"},
      {"shutdown", {"--reb", "now"}, "ask reboot"},
      {"shutdown", {"-K", "now"}, "ask reboot"},
      {"shutdown", {"--kexec", "now"}, "ask reboot"},
      {"shutdown", {"--cancel"}, "error"},  // no such option: shutdown rejects it
      {"shutdown", {"-t"}, "error"},
      {"shutdown", {"-r", "--help", "now"}, "ask reboot"},
  });
}

TEST(ShimArgs, WipefsReadsLikeUtilLinux) {
  expect_forms({
      {"wipefs", {"/dev/sdb"}, "pass"},  // listing
      {"wipefs", {"-a", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--all", "-f", "/dev/sdb", "/dev/sdc"}, "ask wipe /dev/sdb /dev/sdc"},
      {"wipefs", {"-o", "0x438", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-o0x438", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--offset", "0x438", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-a", "-n", "/dev/sdb"}, "pass"},
      {"wipefs", {"-an", "/dev/sdb"}, "pass"},
      {"wipefs", {"-a", "-t", "ext4", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-h"}, "pass"},
      {"wipefs", {"-a"}, "error"},  // no device
      // The issue's forms:
      {"wipefs", {"-a", "-f", "/dev/sdb", "--", "--help"}, "ask wipe /dev/sdb --help"},
      {"wipefs", {"-a", "-f", "/dev/sdb", "--help"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--al", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--a", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--off=0", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-a", "-tnox", "/dev/sdb"}, "ask wipe /dev/sdb"},  // -t takes "nox"
      {"wipefs", {"-tnox", "/dev/sdb"}, "pass"},
      {"wipefs", {"-a", "-b", "/dev/sdb", "/dev/sdc"}, "ask wipe /dev/sdb /dev/sdc"},
      {"wipefs", {"--all", "--backup", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-ba", "/dev/sdb"}, "ask wipe /dev/sdb"},  // 2.38: -b -a; 2.41: backup to "a"
      {"wipefs", {"-a", "--lock", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"-a", "--lock=no", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"wipefs", {"--no", "/dev/sdb"}, "error"},  // --no-act or --noheadings
      {"wipefs", {"-a", "--bogus", "/dev/sdb"}, "error"},
      {"wipefs", {"-a", "/dev/sdb", "-o"}, "error"},
  });
}

TEST(ShimArgs, BlkdiscardReadsLikeUtilLinux) {
  expect_forms({
      {"blkdiscard", {"/dev/nvme0n1"}, "ask wipe /dev/nvme0n1"},
      {"blkdiscard", {"-o", "4096", "-l", "8192", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"blkdiscard", {"-zf", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"blkdiscard", {"--secure", "--quiet", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"blkdiscard", {"-h"}, "pass"},
      {"blkdiscard", {"--version"}, "pass"},
      {"blkdiscard", {"-h", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"blkdiscard", {}, "error"},
      {"blkdiscard", {"/dev/sdb", "/dev/sdc"}, "error"},
      {"blkdiscard", {"-l", "/dev/sdb"}, "error"},  // -l takes the device as its value
  });
}

TEST(ShimArgs, SgdiskReadsLikePopt) {
  expect_forms({
      {"sgdisk", {"-p", "/dev/sdb"}, "pass"},
      {"sgdisk", {"--print", "-v", "/dev/sdb"}, "pass"},
      {"sgdisk", {"-i", "1", "/dev/sdb"}, "pass"},
      {"sgdisk", {"-b", "/root/sdb.gpt", "/dev/sdb"}, "pass"},
      {"sgdisk", {"-A", "list"}, "pass"},
      {"sgdisk", {"-A", "1:show", "/dev/sdb"}, "pass"},
      {"sgdisk", {"-A", "1:set:2", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"--help"}, "pass"},
      {"sgdisk", {"-?"}, "pass"},
      {"sgdisk", {"-V"}, "pass"},
      {"sgdisk", {"--zap-all", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-Z", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-z", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-o", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-n", "1:0:0", "-t", "1:8300", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-n1:0:0", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-d", "2", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"--load-backup=/root/x.gpt", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-G", "/dev/sdb"}, "ask wipe /dev/sdb"},
      {"sgdisk", {"-k", "2048", "/dev/sdb"}, "ask wipe /dev/sdb"},  // 1.0.10
      {"sgdisk", {"/dev/sdb", "-Z"}, "ask wipe /dev/sdb"},          // popt permutes
      {"sgdisk", {"-V", "-Z", "/dev/sdb"}, "ask wipe /dev/sdb"},    // -V does not exit
      {"sgdisk", {"--help", "-Z", "/dev/sdb"}, "ask wipe /dev/sdb"},
      // -R writes the device's table to another: only that one is asked about.
      {"sgdisk", {"-R", "/dev/sdc", "/dev/sdb"}, "ask wipe /dev/sdc"},
      {"sgdisk", {"-R/dev/sdc", "/dev/sdb"}, "ask wipe /dev/sdc"},
      {"sgdisk", {"-R=/dev/sdc", "/dev/sdb"}, "ask wipe /dev/sdc"},
      {"sgdisk", {"--replicate=/dev/sdc", "-G", "/dev/sdb"}, "ask wipe /dev/sdb /dev/sdc"},
      // The issue's forms: sgdisk acts on its first operand.
      {"sgdisk", {"-Z", "/dev/sdb", "/dev/sdc"}, "error"},
      {"sgdisk", {"-Z", "/dev/sdb", "--", "--help"}, "error"},
      {"sgdisk", {"--zap-al", "/dev/sdb"}, "error"},  // popt takes no abbreviations
      {"sgdisk", {"-Z=", "/dev/sdb"}, "error"},
      {"sgdisk", {"-Z"}, "error"},
      {"sgdisk", {"-Z", "/dev/sdb", "-x"}, "error"},
  });
}

TEST(ShimArgs, HarmlessFormsSayWhy) {
  auto why = [](const std::string& tool, const std::vector<std::string>& args) {
    auto p = plan_for(tool, args);
    return p && p->pass_through ? p->why : "not harmless";
  };
  EXPECT_EQ(why("shutdown", {"-r", "-c"}), "cancel");
  EXPECT_EQ(why("shutdown", {"-k", "now"}), "wall message only");
  EXPECT_EQ(why("wipefs", {"-a", "-n", "/dev/sdb"}), "no-act");
  EXPECT_EQ(why("sgdisk", {"-p", "/dev/sdb"}), "read-only");
  EXPECT_EQ(why("reboot", {"-f"}), "not harmless");
}

TEST(ShimArgs, TargetsAreReplacedWhereTheyWereWritten) {
  auto p = plan_for("sgdisk", {"-R=/dev/disk/by-id/x", "-G", "/dev/disk/by-id/y"});
  ASSERT_TRUE(p.ok()) << p.error();
  ASSERT_EQ(p->targets.size(), 2u);
  EXPECT_EQ(with_resolved_targets(p->real_argv, p->targets, {"/dev/sdb", "/dev/sdc"}),
            (std::vector<std::string>{"-R=/dev/sdc", "-G", "/dev/sdb"}));
  auto w = plan_for("wipefs", {"--guardd-reason", "spare", "-a", "/dev/disk/by-id/z"});
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(with_resolved_targets(w->real_argv, w->targets, {"/dev/sdd"}),
            (std::vector<std::string>{"-a", "/dev/sdd"}));
}

TEST(ShimArgs, GuarddOptionsAreRemovedAndChecked) {
  auto f = plan_for("reboot", {"--guardd-force", "--guardd-reason", "fire", "-f"});
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_TRUE(f->force);
  EXPECT_EQ(f->reason, "fire");
  EXPECT_EQ(f->real_argv, std::vector<std::string>{"-f"});
  EXPECT_FALSE(plan_for("reboot", {"--guardd-force"}).ok()) << "force needs a reason";
  EXPECT_FALSE(plan_for("reboot", {"--guardd-reason"}).ok());
  EXPECT_FALSE(plan_for("reboot", {"--guardd-bypass"}).ok());
  EXPECT_FALSE(plan_for("rm", {}).ok());
  EXPECT_TRUE(is_shimmed_tool("sgdisk"));
  EXPECT_FALSE(is_shimmed_tool("dd"));
}

}  // namespace
}  // namespace guardd::shim
