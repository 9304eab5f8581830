#include "common/varlink_message.h"

#include <fmt/format.h>

namespace guardd {
namespace {
using nlohmann::json;

// Nesting deeper than any real call is refused before it can exhaust the stack.
constexpr int kMaxDepth = 32;

// Compact JSON text; invalid UTF-8 is replaced rather than thrown on.
std::string dump_text(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Result<VarlinkCall> decode_call(std::string_view text) {
  int depth = 0;
  bool too_deep = false;
  json::parser_callback_t limit_depth = [&](int d, json::parse_event_t event, json&) {
    if (event == json::parse_event_t::object_start || event == json::parse_event_t::array_start)
      depth = d + 1;
    if (depth > kMaxDepth) too_deep = true;
    return !too_deep;
  };
  json doc = json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/false);
  if (too_deep) return Error{fmt::format("message nests deeper than {} levels", kMaxDepth)};
  if (doc.is_discarded()) return Error{"message is not valid JSON"};
  if (!doc.is_object()) return Error{"message is not a JSON object"};
  VarlinkCall call;
  auto method = doc.find("method");
  if (method == doc.end() || !method->is_string()) return Error{"message has no \"method\" string"};
  call.method = method->get<std::string>();
  if (auto p = doc.find("parameters"); p != doc.end() && !p->is_null()) {
    if (!p->is_object()) return Error{"\"parameters\" is not an object"};
    call.parameters = *p;
  }
  for (const char* flag : {"oneway", "more", "upgrade"}) {
    auto f = doc.find(flag);
    if (f != doc.end() && !f->is_boolean() && !f->is_null())
      return Error{fmt::format("\"{}\" is not a boolean", flag)};
  }
  call.oneway = doc.value("oneway", false);
  call.more = doc.value("more", false);
  if (doc.value("upgrade", false)) return Error{"connection upgrade is not supported"};
  return call;
}

// The envelope is written around the parameters' text rather than built as a json object
// that would deep-copy them (a decision with its checks and facts); the bytes are the same.
std::string encode_reply(const json& parameters) {
  return "{\"parameters\":" + dump_text(parameters) + "}";
}

std::string encode_error(std::string_view error, const json& parameters) {
  return "{\"error\":" + dump_text(error) + ",\"parameters\":" + dump_text(parameters) + "}";
}

bool split_method(std::string_view qualified, std::string& interface, std::string& member) {
  auto dot = qualified.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == qualified.size()) return false;
  interface = std::string(qualified.substr(0, dot));
  member = std::string(qualified.substr(dot + 1));
  return true;
}

}  // namespace guardd
