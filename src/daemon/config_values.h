// Parsers for config values, shared by the [guardd] table and the check types' keys.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "guardd/result.h"

namespace guardd {

/// yes/no, true/false, on/off, 1/0.
Result<bool> parse_bool(std::string_view text);

/// A whole number within [min, max].
Result<long long> parse_integer(std::string_view text, long long min, long long max);

/// Words separated by commas and/or white space.
std::vector<std::string> parse_list(std::string_view text);

/// Words separated by white space only (program arguments, where a comma is text).
std::vector<std::string> parse_words(std::string_view text);

/// A duration within [min, max].
Result<Micros> parse_duration_between(std::string_view text, Micros min, Micros max);

/// An absolute path without NUL bytes.
Result<std::string> parse_absolute_path(std::string_view text);

}  // namespace guardd
