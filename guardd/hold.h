// Admin holds: while one is active, the hold check vetoes the operations it covers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd {

/// An admin hold as stored and returned.
struct Hold {
  int64_t id = 0;
  int64_t created_us = 0;
  uid_t uid = 0;
  std::string reason;
  std::vector<std::string> operations;  // empty: every operation

  /// True when the hold covers `operation`.
  bool covers(const std::string& operation) const;
};

/// Where the hold check reads the active holds from (the audit store).
class HoldSource {
 public:
  virtual ~HoldSource() = default;

  /// Holds placed and not yet released, oldest first. Answers from memory: the hold
  /// check runs on the deciding thread, without a timeout guard.
  virtual Result<std::vector<Hold>> active_holds() = 0;
};

}  // namespace guardd
