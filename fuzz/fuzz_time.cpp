// libFuzzer target: duration parsing (config, guardctl) and guardctl's WHEN parsing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/duration.h"
#include "ctl/when.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = guardd::parse_duration(text);
  if (d) (void)guardd::format_duration(*d);
  (void)guardd::ctl::parse_when(text, 1795700000000000LL);
  return 0;
}
