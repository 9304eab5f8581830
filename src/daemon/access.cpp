#include "daemon/access.h"

#include <algorithm>

namespace guardd {
namespace {

bool in_group(const Caller& caller, const std::optional<gid_t>& gid) {
  if (!gid) return false;
  return caller.gid == *gid ||
         std::find(caller.groups.begin(), caller.groups.end(), *gid) != caller.groups.end();
}

}  // namespace

bool has_privilege(const Caller& caller, Privilege needed, const Policy& policy) {
  if (caller.uid == 0) return true;
  switch (needed) {
    case Privilege::Anyone:
      return true;
    case Privilege::Client:
      return in_group(caller, policy.client_gid) || in_group(caller, policy.admin_gid);
    case Privilege::Admin:
      return in_group(caller, policy.admin_gid);
  }
  return false;
}

std::string_view describe(Privilege privilege) {
  switch (privilege) {
    case Privilege::Anyone:
      return "anyone";
    case Privilege::Client:
      return "root or a member of client_group";
    case Privilege::Admin:
      return "root or a member of admin_group";
  }
  return "root";
}

}  // namespace guardd
