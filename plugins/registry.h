// The explicit list of built-in check types. Adding a type means adding it here.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "daemon/config.h"
#include "guardd/check.h"
#include "guardd/datadir_memory.h"
#include "guardd/hold.h"
#include "guardd/result.h"

namespace guardd {

/// Daemon facilities a check may use.
struct CheckServices {
  std::shared_ptr<HoldSource> holds;        // null when only validating config
  std::shared_ptr<DatadirMemory> datadirs;  // null when only validating config
};

/// A key of a check type's own, documented beside the type.
struct TypeKey {
  std::string_view name;
  std::string_view default_text;  // empty: required or no default
  std::string_view help;
};

/// A built-in check type.
struct CheckType {
  std::string_view name;
  std::string_view summary;
  std::vector<std::string_view> default_operations;  // empty: every operation
  bool always_on;                                    // runs even without a config section
  std::span<const TypeKey> keys;
  /// Builds an instance from a validated section; errors name file:line.
  Result<std::shared_ptr<const Check>> (*create)(const CheckSection& section,
                                                 const CheckServices& services);
};

/// Every built-in check type.
std::span<const CheckType> check_types();

/// The type called `name`, or nullptr.
const CheckType* find_check_type(std::string_view name);

}  // namespace guardd
