// libFuzzer target: validating a wipe target (read-only look-ups of the file system).
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/wipe_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string target(reinterpret_cast<const char*>(data), size);
  (void)guardd::resolve_wipe_target(target);
  return 0;
}
