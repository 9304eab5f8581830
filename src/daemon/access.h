// Who may call what: the privilege levels of io.guardd.Guard.
#pragma once

#include <string_view>

#include "daemon/policy.h"
#include "guardd/request.h"

namespace guardd {

/// The privilege a method (or a parameter such as force) needs.
enum class Privilege {
  Anyone,  // anyone who could connect: introspection only
  Client,  // root or a member of client_group: Check, ListDecisions, GetStatus
  Admin,   // root or a member of admin_group: force, PlaceHold, ReleaseHold
};

/// True when `caller` holds `needed` under `policy`.
bool has_privilege(const Caller& caller, Privilege needed, const Policy& policy);

/// Human description of a privilege for refusal messages.
std::string_view describe(Privilege privilege);

}  // namespace guardd
