#include "plugins/mysql/shared_probe.h"

namespace guardd::mysql {

std::optional<InstanceProbe> SharedProbes::join(const std::string& server,
                                                const std::string& variant,
                                                std::chrono::steady_clock::time_point deadline,
                                                const Run& run) {
  std::unique_lock lock(mutex_);
  Server& s = servers_[server];
  // The first probe to start from now on, or any later one, answers this caller.
  const uint64_t wanted = s.started + 1;
  while (true) {
    if (s.finished >= wanted && s.result_variant == variant) return *s.result;
    if (!s.running) {
      s.running = true;
      const uint64_t mine = ++s.started;
      const std::shared_ptr<const InstanceProbe> last = s.result;
      lock.unlock();
      std::shared_ptr<const InstanceProbe> result;
      try {
        result = std::make_shared<const InstanceProbe>(run(last.get()));
      } catch (...) {
        lock.lock();
        s.running = false;  // the waiters run their own
        s.changed.notify_all();
        throw;
      }
      lock.lock();
      s.running = false;
      s.finished = mine;
      s.result = result;
      s.result_variant = variant;
      s.changed.notify_all();
      return *result;
    }
    ++s.waiting;
    const auto woke = s.changed.wait_until(lock, deadline);
    --s.waiting;
    if (woke == std::cv_status::timeout) {
      if (s.finished >= wanted && s.result_variant == variant) return *s.result;
      return std::nullopt;
    }
  }
}

int SharedProbes::waiting(const std::string& server) {
  std::lock_guard lock(mutex_);
  auto it = servers_.find(server);
  return it == servers_.end() ? 0 : it->second.waiting;
}

}  // namespace guardd::mysql
