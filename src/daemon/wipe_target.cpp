#include "daemon/wipe_target.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace guardd {

Result<std::string> resolve_wipe_target(const std::optional<std::string>& target) {
  if (!target || target->empty()) return Error{"wipe needs a target block device"};
  const std::string& t = *target;
  if (t.front() != '/') return Error{fmt::format("wipe target '{}' is not an absolute path", t)};
  if (t.find_first_of("*?[]{}\n") != std::string::npos)
    return Error{fmt::format("wipe target '{}' contains wildcard characters", t)};
  char resolved[PATH_MAX];
  if (realpath(t.c_str(), resolved) == nullptr)
    return Error{fmt::format("wipe target {}: {}", t, std::strerror(errno))};
  struct stat st {};
  if (stat(resolved, &st) != 0)
    return Error{fmt::format("wipe target {}: {}", t, std::strerror(errno))};
  if (!S_ISBLK(st.st_mode)) return Error{fmt::format("wipe target {} is not a block device", t)};
  return std::string(resolved);
}

}  // namespace guardd
