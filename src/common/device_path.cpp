#include "common/device_path.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace guardd {
namespace {

// A folder only root can change: owned by root and not writable by group or others.
Status root_only_folder(const std::string& folder) {
  struct stat st {};
  if (lstat(folder.c_str(), &st) != 0)
    return Error{fmt::format("cannot inspect {}: {}", folder, std::strerror(errno))};
  if (!S_ISDIR(st.st_mode)) return Error{fmt::format("{} is not a folder", folder)};
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return Error{fmt::format("{} can be changed by users other than root", folder)};
  return ok_status();
}

}  // namespace

Result<ResolvedDevice> resolve_device(const std::string& named) {
  if (named.empty() || named.front() != '/')
    return Error{fmt::format("'{}' is not an absolute path to a block device", named)};
  char resolved[PATH_MAX];
  if (realpath(named.c_str(), resolved) == nullptr)
    return Error{fmt::format("{}: {}", named, std::strerror(errno))};
  struct stat st {};
  if (lstat(resolved, &st) != 0) return Error{fmt::format("{}: {}", named, std::strerror(errno))};
  if (!S_ISBLK(st.st_mode)) return Error{fmt::format("{} is not a block device", named)};
  const std::string path = resolved;
  for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/', slash - 1)) {
    Status folder = root_only_folder(path.substr(0, slash));
    if (!folder) return Error{fmt::format("{} (resolved to {}): {}", named, path, folder.error())};
  }
  Status top = root_only_folder("/");
  if (!top) return Error{fmt::format("{}: {}", named, top.error())};
  return ResolvedDevice{named, path, st.st_rdev};
}

Status verify_unchanged(const ResolvedDevice& device) {
  struct stat st {};
  if (lstat(device.path.c_str(), &st) != 0)
    return Error{fmt::format("{} is gone: {}", device.path, std::strerror(errno))};
  if (!S_ISBLK(st.st_mode) || st.st_rdev != device.rdev)
    return Error{fmt::format("{} is no longer the device guardd decided about", device.path)};
  return ok_status();
}

}  // namespace guardd
