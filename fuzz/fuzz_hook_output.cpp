// libFuzzer target: reading a hook's exit status and output, both protocols.
#include <cstddef>
#include <cstdint>

#include "plugins/hook/hook_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  guardd::hook::HookRun run;
  if (data[0] & 0x80) run.signal = data[0] & 0x1f;
  else run.exit_code = data[0];
  run.timed_out = data[1] & 1;
  run.out.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
  for (auto protocol : {guardd::hook::Protocol::Guardd, guardd::hook::Protocol::Nagios})
    (void)guardd::hook::interpret(run, protocol,
                                  data[1] & 2 ? guardd::hook::WarningMeans::Pass
                                              : guardd::hook::WarningMeans::Veto);
  return 0;
}
