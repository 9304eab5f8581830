// No decision without a record: the audit database's filesystem fills up, fails, or is
// read-only. Mounting needs root (CI runs as root); the suite name says so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;

// ext4's "the disk just died" switch: every later write fails with EIO.
constexpr unsigned long kExt4IocShutdown = 0x8004587d;  // _IOR('X', 125, __u32)
constexpr unsigned kExt4GoingFlagsNoLogFlush = 2;

class RootAuditFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root to mount filesystems";
    state_ = g_.dir() / "state";
    std::filesystem::create_directories(state_);
  }
  void TearDown() override {
    g_.stop();
    if (mounted_) umount2(state_.c_str(), MNT_DETACH);
    if (!loop_.empty()) run_process({"/usr/sbin/losetup", "-d", loop_});
  }
  void mount_tmpfs(unsigned long flags) {
    ASSERT_EQ(mount("tmpfs", state_.c_str(), "tmpfs", flags, "size=4m"), 0) << strerror(errno);
    mounted_ = true;
  }
  void mount_ext4_on_loop() {
    std::string image = g_.dir() / "disk.img";
    ASSERT_EQ(truncate(image.c_str(), 0), -1);
    write_file(image, "");
    ASSERT_EQ(truncate(image.c_str(), 32 << 20), 0);
    auto l = run_process({"/usr/sbin/losetup", "-f", "--show", image});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    loop_ = l.out.substr(0, l.out.find('\n'));
    auto mk = run_process({"/usr/sbin/mkfs.ext4", "-q", loop_});
    ASSERT_EQ(mk.exit_code, 0) << mk.err;
    ASSERT_EQ(mount(loop_.c_str(), state_.c_str(), "ext4", 0, nullptr), 0) << strerror(errno);
    mounted_ = true;
  }
  Guardd g_;
  std::string state_;
  std::string loop_;
  bool mounted_ = false;
};

TEST_F(RootAuditFailure, DiskFullRefusesWithAuditUnavailableThenRecovers) {
  mount_tmpfs(0);
  ASSERT_TRUE(g_.start()) << g_.log();
  ASSERT_EQ(g_.ctl({"check", "reboot"}).exit_code, 0);
  std::string filler = state_ + "/filler";
  {
    std::FILE* f = std::fopen(filler.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string block(64 * 1024, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  // The WAL may have room for a few more records; within a bounded number it must fail.
  json failed;
  int granted = 0;
  for (int i = 0; i < 200 && failed.is_null(); ++i) {
    auto reply = varlink_call(g_.socket(), "io.guardd.Guard.Check",
                              {{"operation", "reboot"}, {"reason", std::string(2000, 'r')}});
    if (reply["error"] == "io.guardd.Guard.AuditUnavailable")
      failed = reply;
    else if (reply["parameters"]["allowed"] == true)
      ++granted;
  }
  ASSERT_FALSE(failed.is_null()) << "never refused on a full disk";
  EXPECT_FALSE(failed["parameters"].contains("allowed")) << "no verdict without a record";
  EXPECT_NE(failed["parameters"]["reason"].get<std::string>().find("not recorded"),
            std::string::npos);
  auto ctl = g_.ctl({"check", "reboot"});
  EXPECT_EQ(ctl.exit_code, 3) << ctl.out << ctl.err;
  EXPECT_NE(ctl.err.find("audit log unavailable"), std::string::npos) << ctl.err;
  EXPECT_EQ(json::parse(g_.ctl({"status", "--json"}).out)["audit"]["healthy"], false);
  EXPECT_TRUE(g_.running()) << g_.log();

  std::filesystem::remove(filler);
  auto again = g_.ctl({"check", "reboot", "--json"});
  EXPECT_EQ(again.exit_code, 0) << again.err << g_.log();
  EXPECT_EQ(json::parse(again.out)["decision"]["id"], granted + 2)
      << "every granted decision has a row, and refused ones took none";
  EXPECT_EQ(json::parse(g_.ctl({"status", "--json"}).out)["audit"]["healthy"], true);
}

TEST_F(RootAuditFailure, IoErrorRefusesWithAuditUnavailable) {
  mount_ext4_on_loop();
  ASSERT_TRUE(g_.start()) << g_.log();
  ASSERT_EQ(g_.ctl({"check", "reboot"}).exit_code, 0);
  int fd = open(state_.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  unsigned flags = kExt4GoingFlagsNoLogFlush;
  ASSERT_EQ(ioctl(fd, kExt4IocShutdown, &flags), 0) << strerror(errno);
  close(fd);
  auto r = varlink_call(g_.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
  EXPECT_EQ(r["error"], "io.guardd.Guard.AuditUnavailable") << r;
  EXPECT_EQ(g_.ctl({"check", "poweroff"}).exit_code, 3);
  EXPECT_EQ(g_.ctl({"hold", "--reason", "x"}).exit_code, 3)
      << "a hold that cannot be stored is not placed";
  EXPECT_TRUE(g_.running()) << g_.log();
}

TEST_F(RootAuditFailure, ReadOnlyDatabaseStopsStartUp) {
  mount_tmpfs(MS_RDONLY);
  EXPECT_FALSE(g_.start());
  EXPECT_NE(g_.log().find("audit database"), std::string::npos) << g_.log();
  auto r = g_.ctl({"check", "reboot"});
  EXPECT_EQ(r.exit_code, 3) << "no guardd, no permission";
}

// The audit database deleted (rm db db-wal db-shm) or replaced under a running guardd:
// what it wrote next would be gone at its next start. From then on every decision and hold
// is refused as AuditUnavailable, and status says so at once, until guardd is restarted.
TEST(AuditFiles, DeletedOrReplacedDatabaseRefusesAndStatusSaysSo) {
  for (const std::string what : {"deleted", "replaced"}) {
    Guardd g;
    ASSERT_TRUE(g.start()) << g.log();
    ASSERT_EQ(g.ctl({"check", "reboot"}).exit_code, 0);
    const std::string db = g.database();
    if (what == "deleted") {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
    } else {
      std::filesystem::copy_file(db, db + ".new");
      std::filesystem::rename(db + ".new", db);
    }
    auto status = json::parse(g.ctl({"status", "--json"}).out);
    EXPECT_EQ(status["audit"]["healthy"], false) << what << ": " << status.dump();
    EXPECT_NE(
        status["audit"].value("last_error", "").find("was " + what + " while guardd had it open"),
        std::string::npos)
        << status.dump();
    auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
    EXPECT_EQ(r["error"], "io.guardd.Guard.AuditUnavailable") << what << ": " << r;
    EXPECT_EQ(g.ctl({"check", "poweroff"}).exit_code, 3) << what;
    EXPECT_EQ(g.ctl({"hold", "--reason", "x"}).exit_code, 3)
        << what << ": a hold that would be lost is not placed";
    EXPECT_TRUE(g.running()) << g.log();
  }
}

}  // namespace
}  // namespace guardd::test
