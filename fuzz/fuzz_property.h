// A property a fuzz target checks beyond "does not crash".
#pragma once

namespace guardd::fuzz {

/// Traps when `property` does not hold: libFuzzer reports it as a crash, with its input.
inline void require(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace guardd::fuzz
