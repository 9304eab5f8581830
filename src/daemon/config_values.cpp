#include "daemon/config_values.h"

#include <cctype>
#include <charconv>

#include <fmt/format.h>

namespace guardd {

Result<bool> parse_bool(std::string_view text) {
  for (std::string_view yes : {"yes", "true", "on", "1"})
    if (text == yes) return true;
  for (std::string_view no : {"no", "false", "off", "0"})
    if (text == no) return false;
  return Error{fmt::format("'{}' is not a boolean (use yes or no)", text)};
}

Result<long long> parse_integer(std::string_view text, long long min, long long max) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return Error{fmt::format("'{}' is not a whole number", text)};
  if (value < min || value > max)
    return Error{fmt::format("{} is out of range ({}..{})", value, min, max)};
  return value;
}

namespace {

// The non-empty runs of `text` between characters for which `separates` holds.
template <typename Separates>
std::vector<std::string> split_words(std::string_view text, Separates separates) {
  std::vector<std::string> out;
  std::string word;
  for (char c : text) {
    if (separates(static_cast<unsigned char>(c))) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word.push_back(c);
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

}  // namespace

std::vector<std::string> parse_list(std::string_view text) {
  return split_words(text, [](unsigned char c) { return c == ',' || std::isspace(c); });
}

std::vector<std::string> parse_words(std::string_view text) {
  return split_words(text, [](unsigned char c) { return std::isspace(c) != 0; });
}

Result<Micros> parse_duration_between(std::string_view text, Micros min, Micros max) {
  auto d = parse_duration(text);
  if (!d) return Error{d.error()};
  if (*d < min || *d > max)
    return Error{fmt::format("{} is out of range ({}..{})", format_duration(*d),
                             format_duration(min), format_duration(max))};
  return *d;
}

Result<std::string> parse_absolute_path(std::string_view text) {
  if (text.empty() || text[0] != '/')
    return Error{fmt::format("'{}' is not an absolute path", text)};
  return std::string(text);
}

}  // namespace guardd
