// Decoding Varlink calls and encoding replies.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "guardd/result.h"

namespace guardd {

/// A decoded Varlink call.
struct VarlinkCall {
  std::string method;  // fully qualified, e.g. io.guardd.Guard.Check
  nlohmann::json parameters = nlohmann::json::object();
  bool oneway = false;
  bool more = false;
};

/// Parses one framed message into a call; the error says what is malformed.
Result<VarlinkCall> decode_call(std::string_view text);

/// Encodes a successful reply.
std::string encode_reply(const nlohmann::json& parameters);

/// Encodes an error reply.
std::string encode_error(std::string_view error, const nlohmann::json& parameters);

/// Splits "a.b.Method" into interface "a.b" and member "Method"; false when malformed.
bool split_method(std::string_view qualified, std::string& interface, std::string& member);

}  // namespace guardd
