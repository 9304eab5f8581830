// Which file a hook check runs: checked component by component, then held open, so the
// file executed is the file checked whatever is renamed or swapped meanwhile.
#pragma once

#include <string>
#include <utility>

#include "guardd/result.h"

namespace guardd::hook {

/// A hook program opened for running: owns an O_PATH descriptor of the checked file.
class HookProgram {
 public:
  explicit HookProgram(int fd) : fd_(fd) {}
  HookProgram(HookProgram&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  HookProgram(const HookProgram&) = delete;
  HookProgram& operator=(const HookProgram&) = delete;
  HookProgram& operator=(HookProgram&&) = delete;
  ~HookProgram();

  /// Exchanges the descriptors of two programs (walking moves from one to the next).
  void swap(HookProgram& other) noexcept { std::swap(fd_, other.fd_); }

  /// The descriptor to execute (never closed by its user).
  int fd() const { return fd_; }

 private:
  int fd_;
};

/// Opens `path` for running as root, or says why it may not run. Every component is
/// opened in turn without following it: each directory on the way, each symlink and the
/// file must be owned by root and not group- or world-writable (a directory may be both
/// if it is sticky, like /tmp: no one else can rename what root owns in it); symlinks are
/// followed only from such directories, at most 40. The file must be a regular executable.
Result<HookProgram> open_hook_program(const std::string& path);

}  // namespace guardd::hook
