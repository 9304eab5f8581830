// The `hook` check: a site executable says pass, veto or error.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "plugins/hook/hook_runner.h"
#include "plugins/registry.h"

namespace guardd {

/// Keys of the hook check type.
std::span<const TypeKey> hook_keys();

/// Builds a hook check from its config section (key `exec` is required).
Result<std::shared_ptr<const Check>> create_hook_check(const CheckSection& section,
                                                       const CheckServices& services);

namespace hook {

/// How a hook's exit status is read.
enum class Protocol { Guardd, Nagios };

/// What Nagios WARNING (exit 1) counts as.
enum class WarningMeans { Veto, Pass };

/// Turns a finished run into an answer: guardd protocol (0 pass, 1 veto with the first
/// stdout line as reason, else error) or nagios (0 pass, 1 per `warning`, 2 veto, 3 and
/// others error; the first output line before '|' perfdata is the reason).
CheckAnswer interpret(const HookRun& run, Protocol protocol, WarningMeans warning);

}  // namespace hook
}  // namespace guardd
