#include "common/duration.h"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace guardd {
namespace {

struct Unit {
  std::string_view name;
  int64_t micros;
};

// Longest spellings first within a family so "ms" is not read as "m" + "s".
constexpr Unit kUnits[] = {
    {"usec", 1},
    {"us", 1},
    {"msec", 1000},
    {"ms", 1000},
    {"seconds", 1000000},
    {"second", 1000000},
    {"sec", 1000000},
    {"s", 1000000},
    {"minutes", 60000000},
    {"minute", 60000000},
    {"min", 60000000},
    {"m", 60000000},
    {"hours", 3600000000LL},
    {"hour", 3600000000LL},
    {"hr", 3600000000LL},
    {"h", 3600000000LL},
    {"days", 86400000000LL},
    {"day", 86400000000LL},
    {"d", 86400000000LL},
    {"weeks", 604800000000LL},
    {"week", 604800000000LL},
    {"w", 604800000000LL},
};

}  // namespace

Result<Micros> parse_duration(std::string_view text) {
  const std::string original(text);
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  if (i == text.size()) return Error{"empty duration"};
  long double total = 0;
  bool any = false;
  while (true) {
    skip_space();
    if (i == text.size()) break;
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i) return Error{fmt::format("invalid duration '{}': expected a number", original)};
    std::string number(text.substr(start, i - start));
    if (number.find('.') != number.rfind('.') || number == ".")
      return Error{fmt::format("invalid duration '{}': bad number '{}'", original, number)};
    long double value = std::stold(number);
    skip_space();
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    int64_t scale = 0;
    if (unit.empty()) {
      scale = 1000000;  // systemd: a bare number is seconds
    } else {
      for (const auto& u : kUnits)
        if (u.name == unit) scale = u.micros;
      if (scale == 0)
        return Error{
            fmt::format("invalid duration '{}': unknown unit '{}' (use us, ms, s, "
                        "min, h, d, w)",
                        original, unit)};
    }
    total += value * static_cast<long double>(scale);
    any = true;
    if (total > static_cast<long double>(std::numeric_limits<int64_t>::max() / 2))
      return Error{fmt::format("invalid duration '{}': too large", original)};
  }
  if (!any) return Error{fmt::format("invalid duration '{}'", original)};
  return Micros(static_cast<int64_t>(std::llround(total)));
}

std::string format_duration(Micros d) {
  int64_t us = d.count();
  if (us == 0) return "0";
  constexpr std::pair<int64_t, std::string_view> kParts[] = {
      {86400000000LL, "d"}, {3600000000LL, "h"}, {60000000, "min"},
      {1000000, "s"},       {1000, "ms"},        {1, "us"}};
  std::string out;
  if (us < 0) {
    out = "-";
    us = -us;
  }
  for (const auto& [scale, name] : kParts) {
    if (us >= scale) {
      if (out.size() > 1 || (out.size() == 1 && out != "-")) out += ' ';
      out += fmt::format("{}{}", us / scale, name);
      us %= scale;
    }
  }
  return out;
}

}  // namespace guardd
