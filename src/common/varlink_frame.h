// Varlink framing: each message is one JSON text terminated by a NUL byte.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace guardd {

/// Reassembles NUL-terminated messages from arbitrary reads.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_message_bytes) : max_(max_message_bytes) {}

  /// Appends received bytes to the buffer.
  void feed(std::string_view bytes);

  /// Removes and returns the next complete message (without its NUL), if one is buffered.
  std::optional<std::string> next();

  /// True once a message larger than the limit was received; nothing more is returned.
  bool overflowed() const;

  /// True when bytes of an unterminated message are buffered (a truncated message at EOF).
  bool has_partial() const { return start_ < buf_.size(); }

  /// The largest message accepted, in bytes (without its NUL).
  std::size_t max_message() const { return max_; }

 private:
  std::size_t max_;
  std::string buf_;
  std::size_t start_ = 0;    // first byte not yet returned
  std::size_t scanned_ = 0;  // bytes already known to hold no NUL
  bool oversize_ = false;    // a message over the limit was seen; the stream is unusable
};

/// Frames one message for sending: the text plus its terminating NUL.
std::string frame_message(std::string_view json_text);

}  // namespace guardd
