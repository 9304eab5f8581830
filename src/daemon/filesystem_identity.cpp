#include "daemon/filesystem_identity.h"

#include <blkid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

namespace guardd {
namespace {

struct ProbeDeleter {
  void operator()(blkid_probe p) const { blkid_free_probe(p); }
};
using Probe = std::unique_ptr<std::remove_pointer_t<blkid_probe>, ProbeDeleter>;

// "/dev/NAME" for a device number, from the kernel's own name in /sys/dev/block.
std::optional<std::string> device_node(dev_t dev) {
  std::string link = fmt::format("/sys/dev/block/{}:{}", major(dev), minor(dev));
  char resolved[PATH_MAX];
  if (realpath(link.c_str(), resolved) == nullptr) return std::nullopt;
  return "/dev/" + std::filesystem::path(resolved).filename().string();
}

std::optional<std::string> lookup(blkid_probe probe, const char* name) {
  const char* value = nullptr;
  if (blkid_probe_lookup_value(probe, name, &value, nullptr) != 0 || value == nullptr)
    return std::nullopt;
  return std::string(value);
}

}  // namespace

Result<std::optional<FilesystemIdentity>> filesystem_on_device(dev_t dev) {
  auto node = device_node(dev);
  if (!node)
    return Error{fmt::format("device {}:{} is unknown to the block layer", major(dev), minor(dev))};
  // Opened here, not by libblkid, so the node is checked to be the device asked about.
  int fd = open(node->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Error{fmt::format("cannot open {}: {}", *node, std::strerror(errno))};
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev) {
    close(fd);
    return Error{fmt::format("{} is not device {}:{}", *node, major(dev), minor(dev))};
  }
  Probe probe(blkid_new_probe());
  if (!probe || blkid_probe_set_device(probe.get(), fd, 0, 0) != 0) {
    close(fd);
    return Error{fmt::format("cannot probe {}", *node)};
  }
  blkid_probe_enable_superblocks(probe.get(), 1);
  blkid_probe_set_superblocks_flags(probe.get(), BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE);
  blkid_probe_enable_partitions(probe.get(), 0);
  // safeprobe: two filesystems' signatures on one device is "ambiguous" (-2), not a guess.
  const int rc = blkid_do_safeprobe(probe.get());
  std::optional<FilesystemIdentity> found;
  if (rc == 0) {
    auto uuid = lookup(probe.get(), "UUID");
    if (uuid) found = FilesystemIdentity{*uuid, lookup(probe.get(), "TYPE").value_or(""), *node};
  }
  probe.reset();
  close(fd);
  if (rc < 0 && rc != -2) return Error{fmt::format("cannot read the superblock of {}", *node)};
  return found;
}

Result<std::optional<FilesystemIdentity>> filesystem_of_path(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return Error{fmt::format("cannot stat {}: {}", path, std::strerror(errno))};
  if (major(st.st_dev) == 0) return std::optional<FilesystemIdentity>{};  // no block device
  return filesystem_on_device(st.st_dev);
}

std::vector<FilesystemIdentity> devices_with_uuid(const std::string& uuid) {
  std::vector<FilesystemIdentity> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/block", ec)) {
    struct stat st {};
    std::string node = "/dev/" + entry.path().filename().string();
    if (stat(node.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) continue;
    auto fs = filesystem_on_device(st.st_rdev);
    if (fs && *fs && (*fs)->uuid == uuid) found.push_back(**fs);
  }
  return found;
}

}  // namespace guardd
