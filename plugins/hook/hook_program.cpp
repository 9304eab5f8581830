#include "plugins/hook/hook_program.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include <fmt/format.h>

namespace guardd::hook {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit for one path

// `text` split at '/', without empty and "." parts.
std::deque<std::string> components(const std::string& text) {
  std::deque<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('/', start);
    if (end == std::string::npos) end = text.size();
    std::string part = text.substr(start, end - start);
    if (!part.empty() && part != ".") out.push_back(std::move(part));
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& walked) {
  std::string out;
  for (const auto& part : walked) out += "/" + part;
  return out.empty() ? "/" : out;
}

// Why someone other than root could change what `shown` leads to; ok when no one can.
Status check_owner_and_mode(const std::string& shown, const struct stat& st, const char* what) {
  if (st.st_uid != 0) return Error{fmt::format("{} {} is not owned by root", what, shown)};
  const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_dir && !S_ISLNK(st.st_mode))
    return Error{fmt::format("{} {} is group- or world-writable (mode {:04o})", what, shown,
                             st.st_mode & 07777)};
  return ok_status();
}

}  // namespace

HookProgram::~HookProgram() {
  if (fd_ >= 0) close(fd_);
}

Result<HookProgram> open_hook_program(const std::string& path) {
  if (path.empty() || path[0] != '/')
    return Error{fmt::format("hook program '{}' is not an absolute path", path)};
  // Step 1: start at "/", itself a directory to check.
  HookProgram dir(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.fd() < 0)
    return Error{fmt::format("hook program {}: cannot open /: {}", path, std::strerror(errno))};
  std::vector<std::string> walked;  // the resolved path so far, for messages
  std::deque<std::string> todo = components(path);
  int symlinks = 0;
  struct stat st {};
  if (fstat(dir.fd(), &st) != 0)
    return Error{fmt::format("hook directory /: {}", std::strerror(errno))};
  if (Status ok = check_owner_and_mode("/", st, "hook directory"); !ok) return Error{ok.error()};
  if (todo.empty()) return Error{fmt::format("hook program {} is not a regular file", path)};

  while (true) {
    // Step 2: open the next component where we stand, never following it.
    const std::string part = todo.front();
    todo.pop_front();
    if (part == "..") {
      if (!walked.empty()) walked.pop_back();
    } else {
      walked.push_back(part);
    }
    const std::string shown = joined(walked);
    HookProgram next(openat(dir.fd(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (next.fd() < 0)
      return Error{fmt::format("hook program {}: {}", shown, std::strerror(errno))};
    if (fstat(next.fd(), &st) != 0)
      return Error{fmt::format("hook program {}: {}", shown, std::strerror(errno))};

    // Step 3: a symlink, itself root's in a directory only root changes, is read and its
    // target walked from "/" or from where it stands.
    if (S_ISLNK(st.st_mode)) {
      if (Status ok = check_owner_and_mode(shown, st, "hook symlink"); !ok)
        return Error{ok.error()};
      if (++symlinks > kMaxSymlinks)
        return Error{fmt::format("hook program {}: too many symlinks", path)};
      char target[PATH_MAX];
      ssize_t n = readlinkat(next.fd(), "", target, sizeof(target) - 1);
      if (n <= 0)
        return Error{fmt::format("hook symlink {}: cannot read: {}", shown,
                                 n < 0 ? std::strerror(errno) : "empty")};
      const std::string to(target, static_cast<size_t>(n));
      walked.pop_back();
      if (to[0] == '/') {
        HookProgram root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (root.fd() < 0)
          return Error{
              fmt::format("hook program {}: cannot open /: {}", path, std::strerror(errno))};
        dir.swap(root);
        walked.clear();
      }
      auto more = components(to);
      todo.insert(todo.begin(), more.begin(), more.end());
      if (todo.empty()) return Error{fmt::format("hook program {} is not a regular file", path)};
      continue;
    }

    // Step 4: the last component is the program: root's own regular executable.
    if (todo.empty()) {
      if (!S_ISREG(st.st_mode))
        return Error{fmt::format("hook program {} is not a regular file", shown)};
      if (!(st.st_mode & S_IXUSR))
        return Error{fmt::format("hook program {} is not executable", shown)};
      if (Status ok = check_owner_and_mode(shown, st, "hook program"); !ok)
        return Error{ok.error()};
      return next;
    }

    // Step 5: anything else on the way is a directory that only root can change.
    if (!S_ISDIR(st.st_mode))
      return Error{fmt::format("hook program {}: {} is not a directory", path, shown)};
    if (Status ok = check_owner_and_mode(shown, st, "hook directory"); !ok)
      return Error{ok.error()};
    dir.swap(next);
  }
}

}  // namespace guardd::hook
