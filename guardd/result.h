// Result-style returns for expected failures (bad input, I/O, missing facts).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace guardd {

/// An expected failure, carrying a message a human can act on.
struct Error {
  std::string message;
  int code = 0;  // a library's error number where the caller may act on it; 0: none
};

/// Placeholder value for a Result that only reports success or failure.
struct Unit {};

/// Either a value or an Error; exceptions are reserved for bugs and start-up.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  /// True when a value is held.
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  /// The value; only valid when ok().
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The failure message; only valid when !ok().
  const std::string& error() const { return std::get<1>(v_).message; }
  /// The failure's error number (0 when none was given); only valid when !ok().
  int error_code() const { return std::get<1>(v_).code; }

 private:
  std::variant<T, Error> v_;
};

/// Success-or-failure without a value.
using Status = Result<Unit>;

/// The successful Status.
inline Status ok_status() {
  return Unit{};
}

}  // namespace guardd
