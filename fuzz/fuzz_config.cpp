// libFuzzer target: the config parser and the check types' key validation. Besides not
// crashing (a violation traps): a config that builds has a positive decision deadline and
// every check a positive timeout, a known on_error and, unless it is off, an operation.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "daemon/config.h"
#include "daemon/policy.h"
#include "fuzz/fuzz_property.h"

namespace {

// The file each input is written to for the parser; removed when the fuzzer exits.
struct ScratchFile {
  std::string path = "/tmp/guardd-fuzz-config-" + std::to_string(getpid()) + ".conf";
  ~ScratchFile() { unlink(path.c_str()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using guardd::fuzz::require;
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = guardd::load_config(path);
  if (!config) return 0;
  auto policy = guardd::build_policy(*config, guardd::CheckServices{});
  if (!policy) return 0;
  require((*policy)->config.daemon.decision_timeout.count() > 0);
  for (const auto& check : (*policy)->checks) {
    require(check.timeout.count() > 0);
    require(check.on_error == guardd::OnError::Veto || check.on_error == guardd::OnError::Pass);
    require(!check.enabled || !check.operations.empty());
    require(check.check != nullptr);
  }
  return 0;
}
