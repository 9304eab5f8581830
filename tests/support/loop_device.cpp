#include "support/loop_device.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace guardd::test {

LoopDevice::LoopDevice(int megabytes, int partitions) {
  std::string image = dir_ / "disk.img";
  write_file(image, "");
  if (truncate(image.c_str(), static_cast<off_t>(megabytes) << 20) != 0) {
    error_ = "truncate failed";
    return;
  }
  if (partitions > 0) {
    std::string layout = "label: gpt\n";
    for (int i = 0; i < partitions; ++i)
      layout += "size=" + std::to_string((megabytes - 2) / partitions) + "MiB\n";
    write_file(dir_ / "layout", layout);
    auto r = run_process(
        {"/bin/sh", "-c", "/usr/sbin/sfdisk -q '" + image + "' < '" + (dir_ / "layout") + "'"});
    if (r.exit_code != 0) {
      error_ = "sfdisk: " + r.err;
      return;
    }
  }
  std::vector<std::string> argv = {"/usr/sbin/losetup", "-f", "--show"};
  if (partitions > 0) argv.push_back("-P");
  argv.push_back(image);
  auto r = run_process(argv);
  if (r.exit_code != 0) {
    error_ = "losetup: " + r.err;
    return;
  }
  path_ = r.out.substr(0, r.out.find('\n'));
  if (partitions > 0) {
    auto present = [&] { return std::filesystem::exists(partition(partitions)); };
    // Some kernels attach without scanning the table; ask for the partitions explicitly.
    if (!wait_until(present, std::chrono::milliseconds(1000)))
      run_process({"/usr/bin/partx", "-a", path_});
    if (!wait_until(present)) error_ = "partition nodes did not appear";
  }
}

LoopDevice::~LoopDevice() {
  for (const auto& s : swaps_) run_process({"/usr/sbin/swapoff", s});
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
  if (!path_.empty()) run_process({"/usr/sbin/losetup", "-d", path_});
}

std::string LoopDevice::format_and_mount(const std::string& device) {
  auto mk = run_process({"/usr/sbin/mkfs.ext4", "-q", "-F", device});
  if (mk.exit_code != 0) return "";
  std::string point = dir_ / ("mnt" + std::to_string(mounts_.size()));
  std::filesystem::create_directories(point);
  if (mount(device.c_str(), point.c_str(), "ext4", 0, nullptr) != 0) return "";
  mounts_.push_back(point);
  return point;
}

bool LoopDevice::enable_swap(const std::string& device) {
  if (run_process({"/usr/sbin/mkswap", "-q", device}).exit_code != 0) return false;
  if (run_process({"/usr/sbin/swapon", device}).exit_code != 0) return false;
  swaps_.push_back(device);
  return true;
}

}  // namespace guardd::test
