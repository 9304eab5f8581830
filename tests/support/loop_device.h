// Real loop devices for wipe tests: created by the test, always cleaned up (unmounted,
// swapped off, detached) even when the test fails. Needs root.
#pragma once

#include <string>
#include <vector>

#include "support/harness.h"

namespace guardd::test {

class LoopDevice {
 public:
  /// A loop device over a sparse image of `megabytes`; with `partitions` > 0 the image gets
  /// that many equal GPT partitions and the device is attached with partition scanning.
  explicit LoopDevice(int megabytes = 64, int partitions = 0);
  ~LoopDevice();
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  /// The device node (/dev/loopN), or "" when it could not be set up (see error()).
  const std::string& path() const { return path_; }
  /// The node of partition `n` (1-based).
  std::string partition(int n) const { return path_ + "p" + std::to_string(n); }
  const std::string& error() const { return error_; }

  /// mkfs.ext4 on `device` and mount it on a fresh folder; returns the mount point or "".
  std::string format_and_mount(const std::string& device);
  /// mkswap and swapon on `device`.
  bool enable_swap(const std::string& device);

 private:
  TempDir dir_;
  std::string path_, error_;
  std::vector<std::string> mounts_, swaps_;
};

}  // namespace guardd::test
