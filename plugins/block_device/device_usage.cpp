#include "plugins/block_device/device_usage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/local_time.h"
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
          {"unverifiable", p,
           fmt::format("(in protected_devices) cannot be resolved: {}", std::strerror(errno))});
      continue;
    }
    if (!S_ISBLK(st.st_mode)) {
      found.push_back({"unverifiable", p,
                       fmt::format("(in protected_devices) is not a block device: {}", resolved)});
      continue;
    }
    if (const Device* d = which(st.st_rdev))
      found.push_back({"protected", d->path, p});
    else if (target.disk && target.disk->dev == st.st_rdev)  // a partition of a protected disk
      found.push_back({"protected", target.disk->path, p});
  }

  for (const auto& m : read_mounts()) {
    const Device* d = which(m.dev);
    if (d == nullptr) continue;
    if (m.mount_point == "/" || m.mount_point == "/boot" || m.mount_point == "/boot/efi")
      found.push_back({"root", d->path, m.mount_point});
    else
      found.push_back({"mounted", d->path, m.mount_point});
  }
  for (dev_t s : swap_devices())
    if (const Device* d = which(s)) found.push_back({"swap", d->path, "active swap"});
  for (const auto& h : target.holders) found.push_back({"holder", h.path, h.name});

  for (const auto& inst : servers) {
    struct stat st {};
    if (stat(inst.datadir.c_str(), &st) != 0) continue;
    if (const Device* d = which(st.st_dev))
      found.push_back(
          {"datadir", d->path,
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
        found.push_back({"datadir", d->path, what});
        continue;
      }
    for (const auto& [d, fs] : filesystems)
      if (!k.fs_uuid.empty() && fs.uuid == k.fs_uuid)
        found.push_back({"datadir", d->path,
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
      found.push_back({"exclusive", d.path, "cannot be opened exclusively (EBUSY): in use"});
    else
      found.push_back({"unverifiable", d.path,
                       fmt::format("cannot be opened to check: {}", std::strerror(errno))});
  }
  return found;
}

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings)
    out.push_back({{"kind", f.kind}, {"device", f.device}, {"detail", f.detail}});
  return out;
}

}  // namespace guardd::block
