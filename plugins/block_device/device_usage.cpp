#include "plugins/block_device/device_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/local_time.h"
#include "common/procfs.h"
#include "daemon/filesystem_identity.h"
#include "plugins/mysql/instance.h"

namespace guardd::block {
namespace {

namespace fs = std::filesystem;

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "8:16" -> dev_t
std::optional<dev_t> parse_dev(const std::string& text) {
  unsigned maj = 0, min = 0;
  if (std::sscanf(text.c_str(), "%u:%u", &maj, &min) != 2) return std::nullopt;
  return makedev(maj, min);
}

std::string dev_text(dev_t d) {
  return fmt::format("{}:{}", major(d), minor(d));
}

std::optional<Device> device_by_name(const std::string& name) {
  auto dev = parse_dev(read_line("/sys/class/block/" + name + "/dev"));
  if (!dev) return std::nullopt;
  return Device{name, "/dev/" + name, *dev};
}

void collect_holders(const std::string& name, std::vector<Device>& out, int depth) {
  if (depth > 16) return;  // holder chains are short; never loop
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/class/block/" + name + "/holders", ec)) {
    std::string holder = e.path().filename();
    if (std::any_of(out.begin(), out.end(), [&](const Device& d) { return d.name == holder; }))
      continue;
    if (auto d = device_by_name(holder)) out.push_back(*d);
    collect_holders(holder, out, depth + 1);
  }
}

struct MountEntry {
  dev_t dev;
  std::string mount_point;
};

std::vector<MountEntry> read_mounts() {
  std::vector<MountEntry> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, point;
    f >> id >> parent >> majmin >> root >> point;
    auto dev = parse_dev(majmin);
    if (!dev) continue;
    // mountinfo escapes spaces and friends as \ooo octal.
    std::string unescaped;
    for (size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        unescaped.push_back(static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        unescaped.push_back(point[i]);
      }
    }
    mounts.push_back({*dev, unescaped});
  }
  return mounts;
}

// The "flags:" line of /proc/PID/fdinfo/FD (octal open flags); "" when gone.
std::string fdinfo_flags(pid_t pid, const char* fd) {
  std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags:", 0) == 0) return line.substr(6);
  return "";
}

// "read-write", "read-only" or "write-only", from fdinfo's octal flags.
std::string access_mode(const std::string& octal_flags) {
  char* end = nullptr;
  const unsigned long flags = std::strtoul(octal_flags.c_str(), &end, 8);
  if (end == octal_flags.c_str()) return "(mode unknown)";
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      return "read-only";
    case O_WRONLY:
      return "write-only";
    default:
      return "read-write";
  }
}

std::vector<dev_t> swap_devices() {
  std::vector<dev_t> out;
  std::ifstream in("/proc/swaps");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::string file = line.substr(0, line.find_first_of(" \t"));
    struct stat st {};
    if (stat(file.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) out.push_back(st.st_rdev);
  }
  return out;
}

// A device number as the loop driver hands it out (the kernel's new_encode_dev).
dev_t from_kernel_dev(uint64_t encoded) {
  const unsigned maj = static_cast<unsigned>((encoded & 0xfff00) >> 8);
  const unsigned min = static_cast<unsigned>((encoded & 0xff) | ((encoded >> 12) & 0xfff00));
  return makedev(maj, min);
}

// Loop devices that an affected device backs, or whose backing file lives on a filesystem
// on one: the kernel holds such a file open without claiming the device, so an exclusive
// open of the target succeeds while a wipe would destroy what the loop device shows.
void find_loop_backings(const std::function<const Device*(dev_t)>& which,
                        std::vector<Finding>& found) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
    const std::string name = e.path().filename();
    if (name.rfind("loop", 0) != 0 || !fs::exists(e.path() / "loop")) continue;  // unbound
    const std::string node = "/dev/" + name;
    const std::string file = read_line("/sys/block/" + name + "/loop/backing_file");
    dev_t backing_rdev = 0, backing_fs = 0;  // the backing device; or the file's filesystem
    int fd = open(node.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    loop_info64 info{};
    const bool asked = fd >= 0 && ioctl(fd, LOOP_GET_STATUS64, &info) == 0;
    const int err = errno;
    if (fd >= 0) close(fd);
    struct stat st {};
    if (asked) {
      backing_rdev = from_kernel_dev(info.lo_rdevice);
      backing_fs = from_kernel_dev(info.lo_device);
    } else if (err == ENXIO) {
      continue;  // unbound meanwhile
    } else if (err == ENOENT && !file.empty() && stat(file.c_str(), &st) == 0) {
      // No node here (a container sees the host's loop devices in /sys): by its file's path.
      backing_rdev = S_ISBLK(st.st_mode) ? st.st_rdev : 0;
      backing_fs = st.st_dev;
    } else {
      found.push_back({Use::Unverifiable, node,
                       fmt::format("(a loop device over {}) cannot be asked what backs it: {}",
                                   file.empty() ? "?" : file, std::strerror(err))});
      continue;
    }
    // A block device node as backing file: its own device number; a file: its filesystem's.
    if (const Device* d = which(backing_rdev); d && backing_rdev != 0)
      found.push_back({Use::LoopBacking, d->path, fmt::format("backs the loop device {}", node)});
    else if (const Device* d = which(backing_fs))
      found.push_back({Use::LoopBacking, d->path,
                       fmt::format("holds {}, the backing file of the loop device {}",
                                   file.empty() ? "the file" : file, node)});
  }
}

// Processes holding an affected device open (qemu, nbd, dd, a backup reading it): the
// kernel knows only of those that opened it exclusively. Every fd of every process is
// looked at; statx does not go to a network filesystem for it (AT_STATX_DONT_SYNC), so a
// dead NFS server cannot stall the check.
void find_open_files(const std::function<const Device*(dev_t)>& which,
                     std::vector<Finding>& found) {
  const pid_t self = getpid();
  std::set<std::pair<pid_t, dev_t>> seen;
  for (pid_t pid : procfs::list_pids()) {
    if (pid == self) continue;
    const std::string fd_dir = fmt::format("/proc/{}/fd", pid);
    DIR* dir = opendir(fd_dir.c_str());
    if (dir == nullptr) {
      if (errno != ENOENT && errno != ESRCH)  // gone meanwhile
        found.push_back(
            {Use::Unverifiable, fd_dir,
             fmt::format("cannot be read to look for open devices: {}", std::strerror(errno))});
      continue;
    }
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      struct statx stx {};
      if (statx(dirfd(dir), e->d_name, AT_STATX_DONT_SYNC, STATX_TYPE, &stx) != 0) continue;
      if (!S_ISBLK(stx.stx_mode)) continue;
      const dev_t dev = makedev(stx.stx_rdev_major, stx.stx_rdev_minor);
      const Device* d = which(dev);
      if (d == nullptr || !seen.insert({pid, dev}).second) continue;
      const std::string flags = fdinfo_flags(pid, e->d_name);
      found.push_back({Use::OpenFile, d->path,
                       fmt::format("is open {} by pid {} ({})", access_mode(flags), pid,
                                   procfs::read_comm(pid).value_or("gone"))});
    }
    closedir(dir);
  }
}

}  // namespace

std::vector<Device> Target::affected() const {
  std::vector<Device> all = {device};
  all.insert(all.end(), partitions.begin(), partitions.end());
  all.insert(all.end(), holders.begin(), holders.end());
  return all;
}

Result<Target> inspect(const std::string& resolved_path) {
  struct stat st {};
  if (stat(resolved_path.c_str(), &st) != 0)
    return Error{fmt::format("{}: {}", resolved_path, std::strerror(errno))};
  if (!S_ISBLK(st.st_mode)) return Error{fmt::format("{} is not a block device", resolved_path)};
  char sys[PATH_MAX];
  std::string link = "/sys/dev/block/" + dev_text(st.st_rdev);
  if (realpath(link.c_str(), sys) == nullptr)
    return Error{fmt::format("{} ({}) is unknown to the block layer: {}", resolved_path,
                             dev_text(st.st_rdev), std::strerror(errno))};
  Target t;
  t.device = Device{fs::path(sys).filename(), resolved_path, st.st_rdev};
  t.is_partition = fs::exists(std::string(sys) + "/partition");
  std::error_code ec;
  if (!t.is_partition) {
    for (const auto& e : fs::directory_iterator(sys, ec)) {
      if (!fs::exists(e.path() / "partition")) continue;
      if (auto d = device_by_name(e.path().filename())) t.partitions.push_back(*d);
    }
    std::sort(t.partitions.begin(), t.partitions.end(),
              [](const Device& a, const Device& b) { return a.name < b.name; });
  }
  if (t.is_partition) t.disk = device_by_name(fs::path(sys).parent_path().filename());
  collect_holders(t.device.name, t.holders, 0);
  for (const auto& p : t.partitions) collect_holders(p.name, t.holders, 0);
  return t;
}

std::vector<Finding> find_uses(const Target& target,
                               const std::vector<std::string>& protected_devices,
                               const std::vector<mysql::Instance>& servers,
                               const std::vector<KnownDatadir>& remembered) {
  std::vector<Finding> found;
  const std::vector<Device> affected = target.affected();
  auto which = [&](dev_t d) -> const Device* {
    for (const auto& a : affected)
      if (a.dev == d) return &a;
    return nullptr;
  };

  for (const auto& p : protected_devices) {
    char resolved[PATH_MAX];
    struct stat st {};
    // An entry that names nothing is a protection that silently stopped working (a
    // renamed by-id link, a typo): the answer is "cannot tell", never "not protected".
    if (realpath(p.c_str(), resolved) == nullptr || stat(resolved, &st) != 0) {
      found.push_back(
          {Use::Unverifiable, p,
           fmt::format("(in protected_devices) cannot be resolved: {}", std::strerror(errno))});
      continue;
    }
    if (!S_ISBLK(st.st_mode)) {
      found.push_back({Use::Unverifiable, p,
                       fmt::format("(in protected_devices) is not a block device: {}", resolved)});
      continue;
    }
    if (const Device* d = which(st.st_rdev))
      found.push_back({Use::Protected, d->path, p});
    else if (target.disk && target.disk->dev == st.st_rdev)  // a partition of a protected disk
      found.push_back({Use::Protected, target.disk->path, p});
  }

  for (const auto& m : read_mounts()) {
    const Device* d = which(m.dev);
    if (d == nullptr) continue;
    if (m.mount_point == "/" || m.mount_point == "/boot" || m.mount_point == "/boot/efi")
      found.push_back({Use::Root, d->path, m.mount_point});
    else
      found.push_back({Use::Mounted, d->path, m.mount_point});
  }
  for (dev_t s : swap_devices())
    if (const Device* d = which(s)) found.push_back({Use::Swap, d->path, "active swap"});
  for (const auto& h : target.holders) found.push_back({Use::Holder, h.path, h.name});
  find_loop_backings(which, found);
  find_open_files(which, found);

  for (const auto& inst : servers) {
    struct stat st {};
    if (stat(inst.datadir.c_str(), &st) != 0) continue;
    if (const Device* d = which(st.st_dev))
      found.push_back(
          {Use::Datadir, d->path,
           fmt::format("the datadir {} of {} (pid {})", inst.datadir, inst.name, inst.pid)});
  }

  // A remembered datadir: mounted from the target now, or its filesystem (by the UUID
  // recorded when it was seen) on the target though nothing mounts it.
  std::vector<std::pair<const Device*, FilesystemIdentity>> filesystems;
  if (std::any_of(remembered.begin(), remembered.end(),
                  [](const KnownDatadir& k) { return !k.fs_uuid.empty(); }))
    for (const auto& d : affected)
      if (auto fs = filesystem_on_device(d.dev); fs && *fs) filesystems.push_back({&d, **fs});
  for (const auto& k : remembered) {
    std::string what = fmt::format("the datadir {}", k.datadir);
    if (!k.server.empty())
      what += fmt::format(" ({} last seen running {}{})", k.server,
                          format_local_time(k.last_seen_us).substr(0, 16),
                          k.role.empty() ? "" : " as " + k.role);
    struct stat st {};
    if (stat(k.datadir.c_str(), &st) == 0)
      if (const Device* d = which(st.st_dev)) {
        found.push_back({Use::Datadir, d->path, what});
        continue;
      }
    for (const auto& [d, fs] : filesystems)
      if (!k.fs_uuid.empty() && fs.uuid == k.fs_uuid)
        found.push_back({Use::Datadir, d->path,
                         fmt::format("{}, filesystem UUID {}, not mounted", what, fs.uuid)});
  }

  // Last, the kernel's own word: an exclusive open fails while anyone holds the device
  // (a mount, swap, a holder, or a process that opened it with O_EXCL).
  std::vector<Device> own = {target.device};
  own.insert(own.end(), target.partitions.begin(), target.partitions.end());
  for (const auto& d : own) {
    int fd = open(d.path.c_str(), O_RDONLY | O_EXCL | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      continue;
    }
    if (errno == EBUSY)
      found.push_back({Use::Exclusive, d.path, "cannot be opened exclusively (EBUSY): in use"});
    else
      found.push_back({Use::Unverifiable, d.path,
                       fmt::format("cannot be opened to check: {}", std::strerror(errno))});
  }
  return found;
}

std::string_view use_name(Use use) {
  switch (use) {
    case Use::Mounted:
      return "mounted";
    case Use::Root:
      return "root";
    case Use::Swap:
      return "swap";
    case Use::Holder:
      return "holder";
    case Use::Exclusive:
      return "exclusive";
    case Use::Datadir:
      return "datadir";
    case Use::Protected:
      return "protected";
    case Use::LoopBacking:
      return "loop-backing";
    case Use::OpenFile:
      return "open";
    case Use::Unverifiable:
      return "unverifiable";
  }
  return "unknown";
}

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings)
    out.push_back({{"kind", use_name(f.kind)}, {"device", f.device}, {"detail", f.detail}});
  return out;
}

}  // namespace guardd::block
