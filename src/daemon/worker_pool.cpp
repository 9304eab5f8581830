#include "daemon/worker_pool.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace guardd {

struct WorkerPool::State {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> tasks;  // never more than `idle` of them
  std::size_t idle = 0;
  std::size_t max_idle = 0;
  bool stopping = false;
};

void WorkerPool::work(const std::shared_ptr<State>& s, std::function<void()> task) {
  task();
  task = nullptr;  // release what the task captured before parking
  std::unique_lock lock(s->mutex);
  while (!s->stopping && s->idle < s->max_idle) {
    ++s->idle;
    s->wake.wait(lock, [&] { return s->stopping || !s->tasks.empty(); });
    --s->idle;
    if (s->tasks.empty()) return;  // stopping
    task = std::move(s->tasks.front());
    s->tasks.pop_front();
    lock.unlock();
    task();
    task = nullptr;
    lock.lock();
  }
}

WorkerPool::WorkerPool(std::size_t max_idle) : state_(std::make_shared<State>()) {
  state_->max_idle = max_idle;
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->wake.notify_all();
}

Status WorkerPool::run(std::function<void()> task) {
  {
    std::lock_guard lock(state_->mutex);
    // Each queued task has a parked worker of its own, so nothing queues behind a busy one.
    if (!state_->stopping && state_->idle > state_->tasks.size()) {
      state_->tasks.push_back(std::move(task));
      state_->wake.notify_one();
      return ok_status();
    }
  }
  try {
    std::thread([state = state_, task = std::move(task)]() mutable {
      work(state, std::move(task));
    }).detach();
  } catch (const std::system_error& e) {
    return Error{fmt::format("cannot start a worker thread: {}", e.what())};
  }
  return ok_status();
}

std::size_t WorkerPool::idle() const {
  std::lock_guard lock(state_->mutex);
  return state_->idle;
}

}  // namespace guardd
