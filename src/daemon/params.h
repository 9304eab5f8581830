// Typed access to Varlink call parameters; a wrong type names the parameter.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "guardd/result.h"

namespace guardd::params {

/// The first parameter not in `known`, if any.
std::optional<std::string> unknown_parameter(const nlohmann::json& params,
                                             std::initializer_list<std::string_view> known);

/// An optional string parameter; error (the parameter's name) on a wrong type.
Result<std::optional<std::string>> optional_string(const nlohmann::json& params, const char* name);

/// An optional boolean parameter.
Result<std::optional<bool>> optional_bool(const nlohmann::json& params, const char* name);

/// An optional integer parameter.
Result<std::optional<int64_t>> optional_int(const nlohmann::json& params, const char* name);

/// An optional array of strings.
Result<std::optional<std::vector<std::string>>> optional_strings(const nlohmann::json& params,
                                                                 const char* name);

}  // namespace guardd::params
