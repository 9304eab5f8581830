#include "common/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace guardd::procfs {
namespace {

std::string pid_path(const std::string& root, pid_t pid, const char* leaf) {
  return root + "/" + std::to_string(pid) + "/" + leaf;
}

// Up to `max_bytes` of a file with plain read(2): a discovery reads a few files of every
// process, and a stream's set-up and a buffer sized for the largest file cost more than
// the reads themselves.
std::optional<std::string> slurp(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string data;
  char chunk[4096];
  while (data.size() < max_bytes) {
    ssize_t n = read(fd, chunk, std::min(sizeof(chunk), max_bytes - data.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the end, or the process went away meanwhile
    data.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

}  // namespace

std::optional<Stat> read_stat(pid_t pid, const std::string& proc_root) {
  auto text = slurp(pid_path(proc_root, pid, "stat"), 4096);
  if (!text) return std::nullopt;
  // comm is in parentheses and may itself contain ')' or spaces: split at the last ')'.
  auto open = text->find('(');
  auto close = text->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return std::nullopt;
  Stat st;
  st.comm = text->substr(open + 1, close - open - 1);
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime
  if (std::sscanf(text->c_str() + close + 1,
                  " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                  &st.state, &st.ppid, &st.start_time) < 2)
    return std::nullopt;
  return st;
}

std::optional<std::vector<std::string>> read_argv(pid_t pid, const std::string& proc_root) {
  auto text = slurp(pid_path(proc_root, pid, "cmdline"), 64 * 1024);
  if (!text) return std::nullopt;
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    argv.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

std::optional<std::string> read_cmdline(pid_t pid, size_t max_bytes, const std::string& proc_root) {
  auto text = slurp(pid_path(proc_root, pid, "cmdline"), max_bytes);
  if (!text) return std::nullopt;
  while (!text->empty() && text->back() == '\0') text->pop_back();
  for (char& c : *text)
    if (c == '\0') c = ' ';
  return text;
}

std::optional<std::string> read_comm(pid_t pid, const std::string& proc_root) {
  // One read: the kernel hands out the whole name (16 bytes at most) at once, so the end
  // of the file is not read for (a scan reads this of every process at every decision).
  int fd = open(pid_path(proc_root, pid, "comm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[64];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0) return std::nullopt;
  std::string text(buf, static_cast<size_t>(n));
  if (text.back() == '\n') text.pop_back();
  return text;
}

std::optional<std::string> read_exe(pid_t pid, const std::string& proc_root) {
  char buf[4096];
  ssize_t n = readlink(pid_path(proc_root, pid, "exe").c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return std::nullopt;
  std::string exe(buf, static_cast<size_t>(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.size() > kDeleted.size() && exe.ends_with(kDeleted))
    exe.resize(exe.size() - kDeleted.size());
  return exe;
}

std::vector<pid_t> list_pids(const std::string& proc_root) {
  std::vector<pid_t> pids;
  DIR* dir = opendir(proc_root.c_str());
  if (dir == nullptr) return pids;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  closedir(dir);
  return pids;
}

std::string_view ProcessNames::exe_name() const {
  if (!exe) return {};
  std::string_view path = *exe;
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

namespace {

// The host uid that is root inside the user namespace of `pid` (0 for the host's own).
std::optional<uid_t> namespace_root(pid_t pid, const std::string& proc_root) {
  struct stat mine {
  }, theirs{};
  const std::string base = proc_root + "/" + std::to_string(pid);
  if (stat((proc_root + "/self/ns/user").c_str(), &mine) != 0 ||
      stat((base + "/ns/user").c_str(), &theirs) != 0)
    return std::nullopt;
  if (mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev) return 0;
  // "inside outside count" lines; the one whose inside range holds 0.
  std::ifstream map(base + "/uid_map");
  unsigned long inside = 0, outside = 0, count = 0;
  while (map >> inside >> outside >> count)
    if (inside == 0 && count > 0) return static_cast<uid_t>(outside);
  return std::nullopt;
}

}  // namespace

ExecutableOwner executable_owner(pid_t pid, const std::string& proc_root) {
  struct stat st {};
  if (stat((proc_root + "/" + std::to_string(pid) + "/exe").c_str(), &st) != 0)
    return ExecutableOwner::Unknown;
  auto root = namespace_root(pid, proc_root);
  if (!root) return ExecutableOwner::Unknown;
  const bool roots = st.st_uid == 0 || st.st_uid == *root || st.st_uid == geteuid();
  const bool others_may_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  return roots && !others_may_write ? ExecutableOwner::Root : ExecutableOwner::SomeoneElse;
}

std::vector<FoundProcess> find_processes(
    const std::function<std::optional<std::string>(const ProcessNames&)>& pick,
    const std::string& proc_root) {
  std::vector<FoundProcess> found;
  for (pid_t pid : list_pids(proc_root)) {
    auto comm = read_comm(pid, proc_root);
    if (!comm) continue;  // gone
    ProcessNames names{std::move(*comm), read_exe(pid, proc_root)};
    auto name = pick(names);
    if (!name) continue;
    auto st = read_stat(pid, proc_root);
    if (!st || st->state == 'Z' || st->state == 'X') continue;  // gone, or a zombie
    found.push_back({pid, std::move(*name), std::move(names.exe), executable_owner(pid, proc_root),
                     st->start_time});
  }
  return found;
}

}  // namespace guardd::procfs
