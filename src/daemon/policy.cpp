#include "daemon/policy.h"

#include <grp.h>

#include <algorithm>

#include <fmt/format.h>

namespace guardd {
namespace {

std::optional<gid_t> lookup_group(const std::string& name, const char* key,
                                  std::vector<std::string>& warnings) {
  if (name.empty()) return std::nullopt;
  struct group grp {};
  struct group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    warnings.push_back(
        fmt::format("{} '{}' does not exist; only root is granted what it gives", key, name));
    return std::nullopt;
  }
  return found->gr_gid;
}

}  // namespace

bool CheckInstance::guards(const std::string& operation) const {
  return enabled && std::find(operations.begin(), operations.end(), operation) != operations.end();
}

Result<std::shared_ptr<const Policy>> build_policy(Config config, const CheckServices& services) {
  auto policy = std::make_shared<Policy>();
  std::vector<std::string> errors;
  for (const auto& section : config.checks) {
    const CheckType* type = find_check_type(section.type);
    if (type == nullptr) {
      errors.push_back(fmt::format("{}: unknown check type '{}'", section.where(), section.type));
      continue;
    }
    auto check = type->create(section, services);
    if (!check) {
      errors.push_back(check.error());
      continue;
    }
    policy->checks.push_back(CheckInstance{section.name, section.type, section.operations,
                                           section.timeout, section.on_error, section.enabled,
                                           *check});
  }
  if (!errors.empty()) return Error{join_config_errors(errors)};
  policy->client_gid = lookup_group(config.daemon.client_group, "client_group", policy->warnings);
  policy->admin_gid = lookup_group(config.daemon.admin_group, "admin_group", policy->warnings);
  policy->config = std::move(config);
  return std::shared_ptr<const Policy>(std::move(policy));
}

}  // namespace guardd
