// libFuzzer target: the config parser and the check types' key validation.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "daemon/config.h"
#include "daemon/policy.h"

namespace {

// The file each input is written to for the parser; removed when the fuzzer exits.
struct ScratchFile {
  std::string path = "/tmp/guardd-fuzz-config-" + std::to_string(getpid()) + ".conf";
  ~ScratchFile() { unlink(path.c_str()); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ScratchFile scratch;
  const std::string& path = scratch.path;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = guardd::load_config(path);
  if (config) (void)guardd::build_policy(*config, guardd::CheckServices{});
  return 0;
}
