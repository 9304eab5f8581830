// libFuzzer target: the config parser and the check types' key validation.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "daemon/config.h"
#include "daemon/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/guardd-fuzz-config-" + std::to_string(getpid()) + ".conf";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = guardd::load_config(path);
  if (config) (void)guardd::build_policy(*config, guardd::CheckServices{});
  return 0;
}
