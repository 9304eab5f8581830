// The wipe shims in front of the real wipefs, sgdisk and blkdiscard, on real loop
// devices: one disk in use (mounted, or with a mounted partition) that guardd's
// block-device check refuses, one spare it allows. Whatever the form, the disk in use is
// never written, and whatever the tool writes on the spare was decided first. Needs root
// (loop devices, mounts, a private mount namespace for the shim's socket path).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "support/harness.h"
#include "support/loop_device.h"

namespace guardd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr off_t kExt4Magic = 0x438;

std::string read_bytes(const std::string& device, off_t offset, size_t length) {
  std::string buf(length, '\0');
  int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  ssize_t n = pread(fd, buf.data(), length, offset);
  close(fd);
  return n == static_cast<ssize_t>(length) ? buf : "";
}

bool write_bytes(const std::string& device, off_t offset, const std::string& bytes) {
  int fd = open(device.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = pwrite(fd, bytes.data(), bytes.size(), offset) == static_cast<ssize_t>(bytes.size());
  fsync(fd);
  close(fd);
  return ok;
}

off_t device_size(const std::string& device) {
  int fd = open(device.c_str(), O_RDONLY | O_CLOEXEC);
  off_t size = fd < 0 ? 0 : lseek(fd, 0, SEEK_END);
  if (fd >= 0) close(fd);
  return size;
}

// A disk's partition tables: the first 34 and the last 33 sectors (GPT, protective MBR).
std::string tables(const std::string& device) {
  off_t size = device_size(device);
  return read_bytes(device, 0, 34 * 512) + read_bytes(device, size - 33 * 512, 33 * 512);
}

bool restore_tables(const std::string& device, const std::string& saved) {
  off_t size = device_size(device);
  return write_bytes(device, 0, saved.substr(0, 34 * 512)) &&
         write_bytes(device, size - 33 * 512, saved.substr(34 * 512));
}

class RootShimForms : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root for loop devices and mounts";
    g_ = std::make_unique<Guardd>("", "[check.block-device]\n");
    ASSERT_TRUE(g_->start()) << g_->log();
    for (const char* tool : {"wipefs", "sgdisk", "blkdiscard"}) {
      fs::create_symlink(GUARDD_SHIM_BINARY, tools_ / tool);
      fs::create_symlink(std::string("/usr/sbin/") + tool,
                         tools_ / (std::string(tool) + ".guardd-real"));
    }
  }
  ProcessResult shim(const std::string& tool, std::vector<std::string> args) {
    args.insert(args.begin(), tools_ / tool);
    return run_with_default_socket(g_.get(), args, {{"HOME", home_.path()}});
  }
  // Allowed wipe decisions, by target.
  std::map<std::string, int> allowed_wipes() {
    std::map<std::string, int> out;
    auto log =
        json::parse(g_->ctl({"log", "--json", "--verdict", "allowed", "--limit", "10000"}).out);
    for (const auto& d : log["decisions"])
      if (d["operation"] == "wipe") ++out[d["target"].get<std::string>()];
    return out;
  }
  // Two whole disks with ext4 on them: `busy` mounted, `spare` not.
  struct Disks {
    LoopDevice busy{16}, spare{16};
  };
  static ::testing::AssertionResult prepare(Disks& d) {
    if (!d.busy.error().empty() || !d.spare.error().empty())
      return ::testing::AssertionFailure() << d.busy.error() << d.spare.error();
    if (d.busy.format_and_mount(d.busy.path()).empty())
      return ::testing::AssertionFailure() << "cannot mount " << d.busy.path();
    if (run_process({"/usr/sbin/mkfs.ext4", "-q", "-F", d.spare.path()}).exit_code != 0)
      return ::testing::AssertionFailure() << "mkfs.ext4 failed on " << d.spare.path();
    return ::testing::AssertionSuccess();
  }
  static std::string line(const std::string& tool, const std::vector<std::string>& args) {
    std::string s = tool;
    for (const auto& a : args) s += " " + a;
    return s;
  }
  std::unique_ptr<Guardd> g_;
  TempDir tools_, home_;
};

TEST_F(RootShimForms, WipefsNeverErasesAMountedFilesystem) {
  Disks disks;
  ASSERT_TRUE(prepare(disks));
  const LoopDevice &busy = disks.busy, &spare = disks.spare;
  const std::string magic = read_bytes(busy.path(), kExt4Magic, 2);
  ASSERT_EQ(magic, "\x53\xEF");
  const std::string b = busy.path(), s = spare.path();
  // The forms that erased a mounted disk before, and getopt's other spellings.
  const std::vector<std::vector<std::string>> forms = {
      {"-a", "-f", b, "--", "--help"},
      {"-a", "-f", b, "--help"},
      {"--al", "-f", b},
      {"--a", "--fo", b},
      {"--off=0x438", "-f", b},
      {"-a", "-tnox", "-f", b},
      {"-af", "-b", s, b},
      {"--all", "--backup", "-f", b},
      {"-fba", b},
      {"-a", "-f", s, b},
      {"-o", "0x438", "-f", b},
  };
  for (const auto& f : forms) {
    auto r = shim("wipefs", f);
    EXPECT_NE(r.exit_code, 0) << line("wipefs", f) << "\n" << r.err;
    ASSERT_EQ(read_bytes(b, kExt4Magic, 2), magic) << line("wipefs", f) << " erased " << b;
  }
  EXPECT_EQ(read_bytes(s, kExt4Magic, 2), magic) << "nothing ran: the spare is intact too";

  // The documented form on the spare is allowed, decided, and erases it. (The forms
  // above that also named the spare were allowed for it, refused for the disk in use.)
  const int earlier = allowed_wipes()[s];
  auto ok = shim("wipefs", {"--all", "--backup", s});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(read_bytes(s, kExt4Magic, 2), magic);
  EXPECT_EQ(allowed_wipes()[s], earlier + 1);
  // Listing is read-only and is not asked about.
  EXPECT_EQ(shim("wipefs", {b}).exit_code, 0);
  EXPECT_EQ(allowed_wipes().size(), 1u);
}

TEST_F(RootShimForms, SgdiskNeverRewritesADiskInUse) {
  LoopDevice busy(32, 2), spare(32, 2);
  ASSERT_TRUE(busy.error().empty() && spare.error().empty()) << busy.error() << spare.error();
  ASSERT_FALSE(busy.format_and_mount(busy.partition(2)).empty());
  const std::string b = busy.path(), s = spare.path();
  const std::string before = tables(b), spare_before = tables(s);
  ASSERT_NE(before.find("EFI PART"), std::string::npos);
  const std::vector<std::vector<std::string>> forms = {
      {"-Z", b, "--", "--help"},
      {"-Z", b, s},
      {"--zap-al", b},
      {"-V", "-Z", b},
      {b, "-Z"},
      {"-d", "1", b},
      {"-n", "3:0:0", b},
      {"-o", b},
      {"-R", b, s},
      {"--replicate=" + b, s},
      {"-R=" + b, s},
      {"-G", b},
      {"--load-backup=/nonexistent", b},
      {"-Z", b, "--bogus"},
  };
  for (const auto& f : forms) {
    auto r = shim("sgdisk", f);
    EXPECT_NE(r.exit_code, 0) << line("sgdisk", f) << "\n" << r.err;
    ASSERT_EQ(tables(b), before) << line("sgdisk", f) << " rewrote " << b;
  }
  EXPECT_EQ(tables(s), spare_before);
  // Replicating the disk in use's table onto the spare writes the spare only: allowed.
  auto ok = shim("sgdisk", {"-R", s, b});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(allowed_wipes()[s], 1);
  EXPECT_EQ(allowed_wipes().count(b), 0u);
  EXPECT_EQ(shim("sgdisk", {"-p", b}).exit_code, 0) << "printing is not asked about";
  EXPECT_EQ(tables(b), before);
}

TEST_F(RootShimForms, BlkdiscardOnlyDiscardsWhatWasDecided) {
  Disks disks;
  ASSERT_TRUE(prepare(disks));
  const LoopDevice &busy = disks.busy, &spare = disks.spare;
  const std::string magic = read_bytes(busy.path(), kExt4Magic, 2);
  for (const auto& f : std::vector<std::vector<std::string>>{{"-f", busy.path()},
                                                             {"-zf", spare.path(), busy.path()},
                                                             {"-h", "-f", busy.path()},
                                                             {"-f", "-l", busy.path()}}) {
    EXPECT_NE(shim("blkdiscard", f).exit_code, 0) << line("blkdiscard", f);
    ASSERT_EQ(read_bytes(busy.path(), kExt4Magic, 2), magic) << line("blkdiscard", f);
  }
  EXPECT_EQ(shim("blkdiscard", {"-z", spare.path()}).exit_code, 0);
  EXPECT_EQ(allowed_wipes()[spare.path()], 1);
}

// Random forms from each tool's options and the two disks: the disk in use is never
// written, and every change on the spare follows an allowed decision about the spare.
TEST_F(RootShimForms, RandomFormsNeverActWithoutADecision) {
  LoopDevice busy(32, 2), spare(32, 2);
  ASSERT_TRUE(busy.error().empty() && spare.error().empty()) << busy.error() << spare.error();
  ASSERT_FALSE(busy.format_and_mount(busy.partition(2)).empty());
  const std::string b = busy.path(), s = spare.path();
  ASSERT_EQ(run_process({"/usr/sbin/mkfs.ext4", "-q", "-F", spare.partition(1)}).exit_code, 0);
  // Partition 2 of the disk in use is mounted; its partition 1 and the spare are not.
  const std::vector<std::string> wipefs_words = {
      "-a",       "--all", "--al", "-f",     "--force", "-n",     "-b",
      "--backup", "-t",    "ext4", "-tnox",  "-o",      "0x438",  "--offset=0x438",
      "-q",       "-p",    "--",   "-h",     "-ba",     "-af",    "--lock",
      "-i",       b,       s,      b + "p2", s + "p1",  b + "p2", s + "p1"};
  const std::vector<std::string> sgdisk_words = {"-Z",
                                                 "--zap-all",
                                                 "-z",
                                                 "-o",
                                                 "--clear",
                                                 "-p",
                                                 "-v",
                                                 "-V",
                                                 "-P",
                                                 "-d",
                                                 "1",
                                                 "-n",
                                                 "3:0:+1M",
                                                 "-G",
                                                 "-A",
                                                 "1:show",
                                                 "1:set:2",
                                                 "-R",
                                                 "--replicate=" + s,
                                                 "-R" + b,
                                                 "-e",
                                                 "--",
                                                 "-t",
                                                 "1:8300",
                                                 "-i",
                                                 "--pretend",
                                                 b,
                                                 s,
                                                 b,
                                                 s};
  std::mt19937 rng(1201);
  auto form = [&](const std::vector<std::string>& words) {
    std::vector<std::string> args(1 + rng() % 5);
    for (auto& a : args) a = words[rng() % words.size()];
    return args;
  };
  const std::string busy_parts = tables(b), spare_parts = tables(s);
  const std::string busy_fs = read_bytes(b + "p2", kExt4Magic, 2);
  const std::string spare_fs = read_bytes(s + "p1", kExt4Magic, 2);
  ASSERT_EQ(busy_fs, "\x53\xEF");
  ASSERT_EQ(spare_fs, "\x53\xEF");
  auto decisions_for = [](const std::map<std::string, int>& m, const std::string& device) {
    return m.count(device) ? m.at(device) : 0;
  };
  int decided = 0, acted = 0;
  for (int round = 0; round < 240; ++round) {
    const bool wipefs = round % 2 == 0;
    const std::string tool = wipefs ? "wipefs" : "sgdisk";
    const auto args = form(wipefs ? wipefs_words : sgdisk_words);
    const auto before = allowed_wipes();
    shim(tool, args);
    const auto after = allowed_wipes();
    ASSERT_EQ(tables(b), busy_parts) << line(tool, args) << " rewrote the disk in use";
    ASSERT_EQ(read_bytes(b + "p2", kExt4Magic, 2), busy_fs) << line(tool, args);
    decided += after != before;
    // A changed table must follow a decision about the disk; with the table intact, a
    // changed filesystem on partition 1 one about the disk or that partition.
    const bool table_changed = tables(s) != spare_parts;
    const bool fs_changed = !table_changed && read_bytes(s + "p1", kExt4Magic, 2) != spare_fs;
    if (table_changed || fs_changed) {
      ++acted;
      int was = decisions_for(before, s), now = decisions_for(after, s);
      if (fs_changed) {
        was += decisions_for(before, s + "p1");
        now += decisions_for(after, s + "p1");
      }
      EXPECT_GT(now, was) << line(tool, args) << " changed the spare undecided";
    }
    if (table_changed) {
      ASSERT_TRUE(restore_tables(s, spare_parts));
      // The kernel here does not rescan on BLKRRPART alone; partx updates its partitions.
      ASSERT_EQ(run_process({"/usr/bin/partx", "-u", s}).exit_code, 0);
      ASSERT_TRUE(wait_until([&] { return read_bytes(s + "p1", 0, 512).size() == 512; }))
          << line(tool, args) << ": partition 1 did not come back";
    }
    ASSERT_TRUE(write_bytes(s + "p1", kExt4Magic, spare_fs));
  }
  // Both directions were exercised: some forms were allowed and acted.
  EXPECT_GT(decided, 10);
  EXPECT_GT(acted, 5);
}

TEST_F(RootShimForms, TheToolGetsTheNodeThatWasDecided) {
  Disks disks;
  ASSERT_TRUE(prepare(disks));
  const LoopDevice &busy = disks.busy, &spare = disks.spare;
  const std::string magic = read_bytes(busy.path(), kExt4Magic, 2);
  // The "real" wipefs flips the link to the disk in use before it runs, as a user racing
  // the decision would: only the node guardd decided may be erased.
  TempDir links;
  const std::string link = links / "disk";
  fs::create_symlink(spare.path(), link);
  fs::remove(tools_ / "wipefs.guardd-real");
  write_file(tools_ / "wipefs.guardd-real", "#!/bin/sh\nln -sfn '" + busy.path() + "' '" + link +
                                                "'\nexec /usr/sbin/wipefs \"$@\"\n");
  chmod((tools_ / "wipefs.guardd-real").c_str(), 0755);
  auto r = shim("wipefs", {"-a", "-f", link});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_bytes(busy.path(), kExt4Magic, 2), magic) << "the swapped-in disk was erased";
  EXPECT_NE(read_bytes(spare.path(), kExt4Magic, 2), magic) << "the decided disk was not";
  EXPECT_EQ(allowed_wipes()[spare.path()], 1);

  // guardctl run --target does the same for COMMAND's arguments.
  ASSERT_EQ(run_process({"/usr/sbin/mkfs.ext4", "-q", "-F", spare.path()}).exit_code, 0);
  fs::remove(link);
  fs::create_symlink(spare.path(), link);
  auto run = g_->ctl(
      {"run", "wipe", "--target", link, "--", tools_ / "wipefs.guardd-real", "-a", "-f", link});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(read_bytes(busy.path(), kExt4Magic, 2), magic);
  EXPECT_NE(read_bytes(spare.path(), kExt4Magic, 2), magic);
  EXPECT_EQ(allowed_wipes()[spare.path()], 2);
}

TEST_F(RootShimForms, ANodeInAFolderOthersCanChangeIsRefused) {
  LoopDevice spare(16);
  ASSERT_TRUE(spare.error().empty()) << spare.error();
  ASSERT_EQ(run_process({"/usr/sbin/mkfs.ext4", "-q", "-F", spare.path()}).exit_code, 0);
  struct stat st {};
  ASSERT_EQ(stat(spare.path().c_str(), &st), 0);
  TempDir open_dir;
  chmod(open_dir.path().c_str(), 01777);
  const std::string node = open_dir / "disk";
  ASSERT_EQ(mknod(node.c_str(), S_IFBLK | 0600, st.st_rdev), 0);
  auto r = shim("wipefs", {"-a", node});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("can be changed by users other than root"), std::string::npos) << r.err;
  EXPECT_EQ(read_bytes(spare.path(), kExt4Magic, 2), "\x53\xEF");
  auto run = g_->ctl({"run", "wipe", "--target", node, "--", "/bin/true"});
  EXPECT_EQ(run.exit_code, 122) << run.err;
  EXPECT_TRUE(allowed_wipes().empty());
}

}  // namespace
}  // namespace guardd::test
