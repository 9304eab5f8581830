// libFuzzer target: Varlink framing (arbitrary read splits) and call decoding. Besides
// not crashing (a violation traps): no message handed on is larger than the cap or holds
// a NUL, and an error reply to it stays within the cap too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/varlink_frame.h"
#include "common/varlink_message.h"
#include "fuzz/fuzz_property.h"
#include "guardd/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using guardd::fuzz::require;
  if (size == 0) return 0;
  // The first byte picks the read size, so message boundaries fall anywhere.
  size_t chunk = 1 + data[0] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  guardd::FrameReader reader(guardd::protocol::kMaxMessageBytes);
  while (!rest.empty()) {
    size_t n = std::min(chunk, rest.size());
    reader.feed(rest.substr(0, n));
    rest.remove_prefix(n);
    while (auto message = reader.next()) {
      require(message->size() <= guardd::protocol::kMaxMessageBytes);
      require(message->find('\0') == std::string::npos);
      auto call = guardd::decode_call(*message);
      if (call) {
        std::string iface, member;
        guardd::split_method(call->method, iface, member);
      } else {
        // What the server sends back: the decoder's message, quoted.
        auto reply =
            guardd::encode_error(guardd::protocol::kErrInvalidRequest, {{"reason", call.error()}});
        require(reply.size() <= guardd::protocol::kMaxMessageBytes);
      }
    }
    if (reader.overflowed()) break;
  }
  return 0;
}
