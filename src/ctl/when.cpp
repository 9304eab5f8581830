#include "ctl/when.h"

#include <cctype>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "common/duration.h"

namespace guardd::ctl {
namespace {

constexpr int64_t kSecond = 1000000;
// Seconds that still fit in microseconds (about ±292,000 years).
constexpr long long kMaxSeconds = std::numeric_limits<int64_t>::max() / kSecond;

Result<int64_t> seconds_to_us(long long secs) {
  if (secs > kMaxSeconds || secs < -kMaxSeconds) return Error{"time is out of range"};
  return static_cast<int64_t>(secs) * kSecond;
}

int64_t start_of_local_day(int64_t now_us) {
  std::time_t t = static_cast<std::time_t>(now_us / kSecond);
  std::tm tm{};
  localtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * kSecond;
}

// Parses "+HH:MM", "+HHMM", "-HH" or "Z" into seconds east of UTC.
bool parse_zone(std::string_view z, long& offset) {
  if (z == "Z" || z == "z") {
    offset = 0;
    return true;
  }
  if (z.size() < 3 || (z[0] != '+' && z[0] != '-')) return false;
  std::string digits;
  for (char c : z.substr(1))
    if (c != ':') digits.push_back(c);
  if ((digits.size() != 2 && digits.size() != 4) ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  long h = std::stol(digits.substr(0, 2));
  long m = digits.size() == 4 ? std::stol(digits.substr(2, 2)) : 0;
  if (h > 23 || m > 59) return false;
  offset = (h * 3600 + m * 60) * (z[0] == '-' ? -1 : 1);
  return true;
}

Result<int64_t> parse_iso(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* rest = nullptr;
  for (const char* format :
       {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    tm = std::tm{};
    rest = strptime(s.c_str(), format, &tm);
    if (rest != nullptr) break;
  }
  if (rest == nullptr) return Error{"not a date"};
  std::string_view tail(rest);
  int64_t fraction_us = 0;
  if (!tail.empty() && tail[0] == '.') {
    size_t i = 1;
    int64_t scale = 100000;
    while (i < tail.size() && std::isdigit(static_cast<unsigned char>(tail[i]))) {
      fraction_us += (tail[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    tail.remove_prefix(i);
  }
  if (tail.empty()) {
    tm.tm_isdst = -1;
    std::time_t t = std::mktime(&tm);
    if (t == -1) return Error{"not a valid local time"};
    auto us = seconds_to_us(t);
    if (!us) return us;
    return *us + fraction_us;
  }
  long offset = 0;
  if (!parse_zone(tail, offset)) return Error{"bad time zone"};
  std::time_t t = timegm(&tm);
  auto us = seconds_to_us(static_cast<long long>(t) - offset);
  if (!us) return us;
  return *us + fraction_us;
}

}  // namespace

Result<int64_t> parse_when(std::string_view text, int64_t now_us) {
  if (text.empty()) return Error{"empty time"};
  if (text == "now") return now_us;
  if (text == "today") return start_of_local_day(now_us);
  if (text == "yesterday") return start_of_local_day(now_us) - 86400 * kSecond;
  if (text[0] == '@') {
    std::string digits(text.substr(1));
    char* end = nullptr;
    long long secs = std::strtoll(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0')
      return Error{fmt::format("'{}' is not a time: expected @SECONDS", text)};
    auto us = seconds_to_us(secs);
    if (!us) return Error{fmt::format("'{}' is out of range", text)};
    return *us;
  }
  // A relative form: a duration ago, "2h" or "2h ago"; a leading '-' is accepted too.
  std::string_view rel = text;
  if (rel.front() == '-') rel.remove_prefix(1);
  if (rel.ends_with(" ago")) rel.remove_suffix(4);
  if (!(text.size() >= 8 && text[4] == '-')) {
    auto d = parse_duration(rel);
    if (d) return now_us - d->count();
  }
  auto iso = parse_iso(text);
  if (iso) return *iso;
  return Error{
      fmt::format("'{}' is not a time: use ISO 8601 (2026-11-26T10:00, with Z or "
                  "+01:00 for a zone) or a relative form (30min, 2h, 7d)",
                  text)};
}

}  // namespace guardd::ctl
