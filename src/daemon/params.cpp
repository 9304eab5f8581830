#include "daemon/params.h"

namespace guardd::params {
namespace {

const nlohmann::json* find(const nlohmann::json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::optional<std::string> unknown_parameter(const nlohmann::json& params,
                                             std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : params.items()) {
    bool ok = false;
    for (auto k : known) ok = ok || key == k;
    if (!ok) return key;
  }
  return std::nullopt;
}

Result<std::optional<std::string>> optional_string(const nlohmann::json& params, const char* name) {
  const auto* v = find(params, name);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return Error{name};
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<bool>> optional_bool(const nlohmann::json& params, const char* name) {
  const auto* v = find(params, name);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return Error{name};
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<int64_t>> optional_int(const nlohmann::json& params, const char* name) {
  const auto* v = find(params, name);
  if (!v) return std::optional<int64_t>();
  if (!v->is_number_integer()) return Error{name};
  return std::optional<int64_t>(v->get<int64_t>());
}

Result<std::optional<std::vector<std::string>>> optional_strings(const nlohmann::json& params,
                                                                 const char* name) {
  const auto* v = find(params, name);
  if (!v) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return Error{name};
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) return Error{name};
    out.push_back(item.get<std::string>());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

}  // namespace guardd::params
