#include "common/varlink_frame.h"

#include <cstring>

namespace guardd {

void FrameReader::feed(std::string_view bytes) {
  // Drop consumed bytes before growing, so the buffer stays bounded by the limit.
  if (start_ > 0 && (start_ == buf_.size() || start_ > buf_.size() / 2)) {
    buf_.erase(0, start_);
    scanned_ -= start_;
    start_ = 0;
  }
  buf_.append(bytes);
}

std::optional<std::string> FrameReader::next() {
  if (oversize_) return std::nullopt;
  if (scanned_ < start_) scanned_ = start_;
  const void* hit = std::memchr(buf_.data() + scanned_, '\0', buf_.size() - scanned_);
  if (hit == nullptr) {
    scanned_ = buf_.size();
    return std::nullopt;
  }
  std::size_t end = static_cast<const char*>(hit) - buf_.data();
  if (end - start_ > max_) {
    oversize_ = true;
    return std::nullopt;
  }
  std::string message = buf_.substr(start_, end - start_);
  start_ = end + 1;
  scanned_ = start_;
  return message;
}

bool FrameReader::overflowed() const {
  // Only bytes scanned without finding a NUL count: complete messages are popped by next().
  return oversize_ || scanned_ - start_ > max_;
}

std::string frame_message(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 1);
  out.append(json_text);
  out.push_back('\0');
  return out;
}

}  // namespace guardd
