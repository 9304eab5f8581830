#include "common/local_time.h"

#include <ctime>

namespace guardd {

std::string format_local_time(int64_t time_us) {
  std::time_t t = static_cast<std::time_t>(time_us / 1000000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace guardd
