// A blocking Varlink client with a deadline on every call.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "guardd/result.h"

namespace guardd::ctl {

/// A reply from guardd: parameters, or an error name with its parameters.
struct Response {
  std::string error;  // empty on success
  nlohmann::json parameters = nlohmann::json::object();

  /// The error's human reason (parameters.reason, else the error name).
  std::string reason() const;
};

/// One connection to guardd.
class Client {
 public:
  /// Connects to the socket at `path` before `deadline`; the error says why not.
  static Result<Client> connect(const std::string& path,
                                std::chrono::steady_clock::time_point deadline);
  Client(Client&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Client& operator=(Client&&) = delete;
  ~Client();

  /// Sends a call and waits for its reply until `deadline`; errors are transport failures.
  Result<Response> call(const std::string& method, const nlohmann::json& parameters,
                        std::chrono::steady_clock::time_point deadline);

 private:
  explicit Client(int fd) : fd_(fd) {}
  int fd_;
  std::string buffer_;
};

}  // namespace guardd::ctl
