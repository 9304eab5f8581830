// Threads for calls and checks, reused instead of started per task. A task never waits
// behind a busy worker — a hung check must not delay anyone else — so the pool starts a
// new thread whenever no idle one is parked, and parks at most `max_idle` of them.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "guardd/result.h"

namespace guardd {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t max_idle);
  /// Ends parked workers and waits for them (their thread-local state goes with them);
  /// busy ones are abandoned, never joined (a task may overrun its deadline), and exit
  /// when their task ends. Tasks not yet started are dropped.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `task` on a parked worker, or on a new thread when none is parked. Fails only
  /// when a thread cannot be started. `task` must not throw.
  Status run(std::function<void()> task);

  /// Workers parked now, waiting for a task.
  std::size_t idle() const;

 private:
  struct State;
  /// A worker's life: its first task, then tasks handed to it while parked.
  static void work(const std::shared_ptr<State>& state, std::function<void()> task);

  std::shared_ptr<State> state_;
};

}  // namespace guardd
