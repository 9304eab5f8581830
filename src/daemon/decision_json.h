// JSON forms of decisions, check results and holds, as the Varlink interface defines them.
#pragma once

#include <nlohmann/json.hpp>

#include "guardd/datadir_memory.h"
#include "guardd/decision.h"
#include "guardd/hold.h"

namespace guardd {

/// The `Caller` type of io.guardd.Guard.
nlohmann::json caller_to_json(const Caller& caller);

/// The `CheckResult` type.
nlohmann::json check_result_to_json(const CheckResult& result);

/// Reads back what check_result_to_json wrote (as stored in the audit log).
CheckResult check_result_from_json(const nlohmann::json& j);

/// The `Decision` type.
nlohmann::json decision_to_json(const Decision& decision);

/// The `Hold` type.
nlohmann::json hold_to_json(const Hold& hold);

/// A remembered datadir as ListDatadirs returns it.
nlohmann::json datadir_to_json(const KnownDatadir& datadir);

}  // namespace guardd
