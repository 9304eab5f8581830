// libFuzzer target: reading a hook's exit status and output, both protocols. Besides not
// crashing, every answer must keep the hook contract (a violation traps):
//  - a hook that timed out or was killed by a signal is an error, never a pass or veto;
//  - only exit 0 passes (and a Nagios WARNING, 1, where warning = pass);
//  - an exit status the protocol does not define is an error;
//  - the reason is never empty and stays short.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_property.h"
#include "plugins/hook/hook_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using guardd::Outcome;
  using guardd::fuzz::require;
  using guardd::hook::Protocol;
  using guardd::hook::WarningMeans;
  if (size < 2) return 0;
  guardd::hook::HookRun run;
  if (data[0] & 0x80) run.signal = data[0] & 0x1f;
  else run.exit_code = data[0];
  run.timed_out = data[1] & 1;
  run.out.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (data[1] & 4) run.err = run.out;
  const WarningMeans warning = data[1] & 2 ? WarningMeans::Pass : WarningMeans::Veto;
  const bool ended_badly = run.timed_out || (run.signal && *run.signal != 0);
  for (auto protocol : {Protocol::Guardd, Protocol::Nagios}) {
    auto answer = guardd::hook::interpret(run, protocol, warning);
    const int code = run.exit_code.value_or(-1);
    if (ended_badly) require(answer.outcome == Outcome::Error);
    if (answer.outcome == Outcome::Pass)
      require(code == 0 || (protocol == Protocol::Nagios && code == 1 && warning == WarningMeans::Pass));
    const int last_defined = protocol == Protocol::Guardd ? 1 : 2;
    if (!ended_badly && (code < 0 || code > last_defined)) require(answer.outcome == Outcome::Error);
    require(!answer.reason.empty());
    require(answer.reason.size() < 1024);
  }
  return 0;
}
