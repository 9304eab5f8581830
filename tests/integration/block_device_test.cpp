// Wipe protection on real loop devices the tests create (losetup, sfdisk, mkfs, mount,
// swapon). Needs root, as CI is; the suite name says so.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>

#include "support/harness.h"
#include "support/loop_device.h"

namespace guardd::test {
namespace {

// A sparse file of `bytes`; 0 or -1 as truncate(2).
int truncate_file(const std::string& path, off_t bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  int r = ftruncate(fd, bytes);
  close(fd);
  return r;
}

using nlohmann::json;

class RootBlockDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root for loop devices and mounts";
  }
  // guardd with the block-device check (plus whatever `extra` adds to it).
  Guardd& daemon(const std::string& extra = "") {
    g_ = std::make_unique<Guardd>("", "[check.block-device]\n" + extra + "\n");
    EXPECT_TRUE(g_->start()) << g_->log();
    return *g_;
  }
  struct Answer {
    int code;
    json check;  // the block-device result
    json reply;
  };
  Answer wipe(const std::string& target) {
    auto r = g_->ctl({"check", "wipe", "--target", target, "--json"});
    json reply = json::parse(r.out, nullptr, false);
    json check;
    if (reply.is_object())
      for (const auto& c : reply["decision"]["checks"])
        if (c["name"] == "block-device") check = c;
    return {r.exit_code, check, reply};
  }
  std::unique_ptr<Guardd> g_;
};

TEST_F(RootBlockDevice, UnusedDeviceIsAllowed) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  daemon();
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 0) << a.reply;
  EXPECT_EQ(a.check["outcome"], "pass");
  EXPECT_EQ(a.check["facts"]["resolved"], loop.path());
}

// A loop device attached by a test over `backing` (a device or a file), detached on
// every exit path.
class ExtraLoop {
 public:
  explicit ExtraLoop(const std::string& backing) {
    auto r = run_process({"/usr/sbin/losetup", "-f", "--show", backing});
    if (r.exit_code == 0) path_ = r.out.substr(0, r.out.find('\n'));
  }
  ~ExtraLoop() {
    if (!path_.empty()) run_process({"/usr/sbin/losetup", "-d", path_});
  }
  ExtraLoop(const ExtraLoop&) = delete;
  ExtraLoop& operator=(const ExtraLoop&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool contains(const json& text, const std::string& part) {
  return text.is_string() && text.get<std::string>().find(part) != std::string::npos;
}

// The kernel only knows of exclusive openers: qemu, nbd or dd holding a disk open are
// seen in the processes' open files. Failed before (allowed).
TEST_F(RootBlockDevice, DeviceHeldOpenByAProcessIsRefusedNamingIt) {
  LoopDevice loop(64, 2);
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  daemon();
  const std::string by_me = "by pid " + std::to_string(getpid()) + " (";
  // A wipe of the whole disk while `node` is held open with `flags`.
  auto wipe_while_open = [&](const std::string& node, int flags) {
    int fd = open(node.c_str(), flags | O_CLOEXEC);
    EXPECT_GE(fd, 0) << node;
    auto a = wipe(loop.path());
    if (fd >= 0) close(fd);
    return a;
  };
  auto a = wipe_while_open(loop.path(), O_RDWR);
  EXPECT_EQ(a.code, 1) << a.reply;
  EXPECT_TRUE(contains(a.check["reason"], loop.path() + " is open read-write " + by_me)) << a.check;
  a = wipe_while_open(loop.partition(2), O_RDONLY);
  EXPECT_EQ(a.code, 1) << "a partition held open is lost with its disk: " << a.reply;
  EXPECT_TRUE(contains(a.check["reason"], loop.partition(2) + " is open read-only " + by_me))
      << a.check;
  a = wipe(loop.path());
  EXPECT_EQ(a.code, 0) << "closed again: " << a.reply;
}

// A loop device over the device itself: the loop driver opens its backing without
// claiming it, so the kernel lets an exclusive open of the target through. Failed before
// (allowed).
TEST_F(RootBlockDevice, DeviceBackingALoopDeviceIsRefused) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  daemon();
  {
    ExtraLoop over(loop.path());
    ASSERT_FALSE(over.path().empty());
    auto a = wipe(loop.path());
    EXPECT_EQ(a.code, 1) << a.reply;
    EXPECT_TRUE(contains(a.check["reason"], loop.path() + " backs the loop device " + over.path()))
        << a.check;
  }
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 0) << "the loop device over it is gone: " << a.reply;
}

// A loop device over a file on the target's filesystem, which was then unmounted lazily
// (nothing shows as mounted): the reason names the loop device and its file.
TEST_F(RootBlockDevice, DeviceHoldingALoopBackingFileIsRefusedNamingTheFile) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  const std::string mount = loop.format_and_mount(loop.path());
  ASSERT_FALSE(mount.empty());
  const std::string image = mount + "/inner.img";
  ASSERT_EQ(truncate_file(image, 8 << 20), 0);
  daemon();
  ExtraLoop over(image);
  ASSERT_FALSE(over.path().empty());
  ASSERT_EQ(run_process({"/usr/bin/umount", "-l", mount}).exit_code, 0);
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 1) << a.reply;
  // (The kernel names the file from its detached filesystem's root now: /inner.img.)
  EXPECT_TRUE(contains(a.check["reason"], loop.path() + " holds ")) << a.check;
  EXPECT_TRUE(contains(a.check["reason"], ", the backing file of the loop device " + over.path()))
      << a.check;
}

TEST_F(RootBlockDevice, MountedDeviceIsRefused) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  std::string point = loop.format_and_mount(loop.path());
  ASSERT_FALSE(point.empty());
  daemon();
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 1);
  EXPECT_EQ(a.check["outcome"], "veto");
  EXPECT_NE(a.check["reason"].get<std::string>().find("mounted on " + point), std::string::npos)
      << a.check;
}

TEST_F(RootBlockDevice, MountedPartitionRefusesTheWholeDisk) {
  LoopDevice loop(64, 2);
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  std::string point = loop.format_and_mount(loop.partition(2));
  ASSERT_FALSE(point.empty());
  daemon();
  auto disk = wipe(loop.path());
  EXPECT_EQ(disk.code, 1) << disk.reply;
  EXPECT_NE(
      disk.check["reason"].get<std::string>().find(loop.partition(2) + " is mounted on " + point),
      std::string::npos)
      << disk.check;
  EXPECT_EQ(disk.check["facts"]["partitions"].size(), 2u);
  EXPECT_EQ(wipe(loop.partition(1)).code, 0) << "the unused partition may go";
  EXPECT_EQ(wipe(loop.partition(2)).code, 1);
}

TEST_F(RootBlockDevice, ActiveSwapIsRefused) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  ASSERT_TRUE(loop.enable_swap(loop.path()));
  daemon();
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 1);
  EXPECT_NE(a.check["reason"].get<std::string>().find("is active swap"), std::string::npos)
      << a.check;
}

TEST_F(RootBlockDevice, ExclusiveOpenerIsRefused) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  int fd = open(loop.path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  daemon();
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 1);
  // The kernel's refusal is on record; the reason names who holds it.
  EXPECT_TRUE(contains(a.check["reason"],
                       loop.path() + " is open read-only by pid " + std::to_string(getpid())))
      << a.check;
  bool exclusive_on_record = false;
  for (const auto& f : a.check["facts"]["findings"])
    exclusive_on_record |= f["kind"] == "exclusive";
  EXPECT_TRUE(exclusive_on_record) << a.check;
  close(fd);
  EXPECT_EQ(wipe(loop.path()).code, 0);
}

TEST_F(RootBlockDevice, SymlinkIsResolvedAndBothAreRecorded) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  TempDir links;
  std::string link = links / "by-id-disk";
  std::filesystem::create_symlink(loop.path(), link);
  daemon();
  auto a = wipe(link);
  EXPECT_EQ(a.code, 0) << a.reply;
  EXPECT_EQ(a.check["facts"]["target"], link);
  EXPECT_EQ(a.check["facts"]["resolved"], loop.path());
  EXPECT_EQ(a.reply["decision"]["target"], link);
}

TEST_F(RootBlockDevice, ProtectedDevicesAreRefused) {
  LoopDevice loop(64, 2);
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  daemon("protected_devices = " + loop.partition(1));
  auto part = wipe(loop.partition(1));
  EXPECT_EQ(part.code, 1);
  EXPECT_NE(part.check["reason"].get<std::string>().find("protected_devices"), std::string::npos);
  EXPECT_EQ(wipe(loop.path()).code, 1) << "a disk holding a protected partition";
  EXPECT_EQ(wipe(loop.partition(2)).code, 0);
}

// A protected_devices entry that resolves to no block device (a typo, a by-id link gone)
// is a protection that silently stopped working: every wipe is refused with that reason
// until the entry is fixed, instead of passing as if it protected nothing.
TEST_F(RootBlockDevice, AProtectedDeviceThatDoesNotResolveRefusesWipes) {
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  TempDir dir;
  write_file(dir / "not-a-device", "");
  daemon("protected_devices = /dev/disk/by-id/guardd-test-no-such-disk " + (dir / "not-a-device"));
  auto a = wipe(loop.path());
  EXPECT_EQ(a.code, 1) << a.reply;
  EXPECT_EQ(a.check["outcome"], "error") << a.check;
  const std::string reason = a.check["reason"];
  EXPECT_NE(reason.find("/dev/disk/by-id/guardd-test-no-such-disk (in protected_devices) cannot "
                        "be resolved: No such file or directory"),
            std::string::npos)
      << reason;
  EXPECT_NE(reason.find("not-a-device (in protected_devices) is not a block device"),
            std::string::npos)
      << reason;
}

TEST_F(RootBlockDevice, RootFilesystemDeviceIsRefused) {
  daemon();
  // Whatever carries / here: found from mountinfo, never from a name.
  struct stat st {};
  ASSERT_EQ(stat("/", &st), 0);
  std::string link =
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
  if (!std::filesystem::exists(link))
    GTEST_SKIP() << "/ is not on a block device here (" << link << ")";
  std::string node = "/dev/" + std::filesystem::canonical(link).filename().string();
  if (!std::filesystem::exists(node)) GTEST_SKIP() << node << " has no device node here";
  auto a = wipe(node);
  EXPECT_EQ(a.code, 1) << a.reply;
  EXPECT_NE(a.check["reason"].get<std::string>().find("carries /"), std::string::npos) << a.check;
}

TEST_F(RootBlockDevice, BadTargetsAreInvalid) {
  daemon();
  TempDir dir;
  write_file(dir / "file", "x");
  for (const std::string& t :
       {std::string(""), std::string("loop0"), std::string("/dev/loop*"), std::string("/dev/null"),
        dir / "file", dir.path(), dir / "absent"}) {
    auto r = g_->ctl({"check", "wipe", "--target", t});
    EXPECT_EQ(r.exit_code, 2) << "'" << t << "': " << r.err;
  }
  auto log = json::parse(g_->ctl({"log", "--verdict", "invalid", "--json"}).out);
  EXPECT_EQ(log["decisions"].size(), 7u) << "every rejected target is recorded";
}

// Device-mapper (LVM, dm-linear, dm-crypt) holders need the kernel's device-mapper, which
// some machines lack; the test says so instead of passing.
TEST_F(RootBlockDevice, DeviceMapperHolderIsRefused) {
  if (!std::filesystem::exists("/dev/mapper/control") ||
      run_process({"/usr/sbin/dmsetup", "version"}).exit_code != 0)
    GTEST_SKIP() << "device-mapper is not available in this kernel";
  LoopDevice loop;
  ASSERT_TRUE(loop.error().empty()) << loop.error();
  std::string name = "guardd-test-" + std::to_string(getpid());
  auto sectors = run_process({"/usr/sbin/blockdev", "--getsz", loop.path()}).out;
  sectors = sectors.substr(0, sectors.find('\n'));
  auto made = run_process({"/usr/sbin/dmsetup", "create", name, "--table",
                           "0 " + sectors + " linear " + loop.path() + " 0"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  daemon();
  auto a = wipe(loop.path());
  run_process({"/usr/sbin/dmsetup", "remove", name});
  EXPECT_EQ(a.code, 1);
  EXPECT_NE(a.check["reason"].get<std::string>().find("is held by dm-"), std::string::npos)
      << a.check;
}

}  // namespace
}  // namespace guardd::test
