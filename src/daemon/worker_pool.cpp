#include "daemon/worker_pool.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace guardd {

struct WorkerPool::State {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> tasks;  // never more than parked.size() of them
  std::set<std::thread::id> parked;
  // Every worker's handle. A worker that leaves on its own detaches itself; the pool's end
  // joins the parked ones (so their thread-local state is gone before the process exits)
  // and abandons the busy ones, which may be stuck in a check past its deadline.
  std::map<std::thread::id, std::thread> threads;
  std::size_t max_idle = 0;
  bool stopping = false;
};

void WorkerPool::work(const std::shared_ptr<State>& s, std::function<void()> task) {
  const auto self = std::this_thread::get_id();
  task();
  task = nullptr;  // release what the task captured before parking
  std::unique_lock lock(s->mutex);
  while (!s->stopping) {
    if (s->parked.size() >= s->max_idle) {
      auto it = s->threads.find(self);
      it->second.detach();
      s->threads.erase(it);
      return;
    }
    s->parked.insert(self);
    s->wake.wait(lock, [&] { return s->stopping || !s->tasks.empty(); });
    s->parked.erase(self);
    if (s->stopping) return;  // joined by the pool's end; queued tasks are dropped
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
  std::vector<std::thread> parked;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    for (auto& [id, thread] : state_->threads) {
      if (state_->parked.count(id))
        parked.push_back(std::move(thread));
      else
        thread.detach();
    }
    state_->threads.clear();
  }
  state_->wake.notify_all();
  for (auto& t : parked) t.join();
}

Status WorkerPool::run(std::function<void()> task) {
  std::lock_guard lock(state_->mutex);
  // Each queued task has a parked worker of its own, so nothing queues behind a busy one.
  if (state_->parked.size() > state_->tasks.size()) {
    state_->tasks.push_back(std::move(task));
    state_->wake.notify_one();
    return ok_status();
  }
  try {
    // Started under the lock, so the handle is stored before the worker can look for it.
    std::thread t([state = state_, task = std::move(task)]() mutable {
      work(state, std::move(task));
    });
    const auto id = t.get_id();
    state_->threads.emplace(id, std::move(t));
  } catch (const std::system_error& e) {
    return Error{fmt::format("cannot start a worker thread: {}", e.what())};
  }
  return ok_status();
}

std::size_t WorkerPool::idle() const {
  std::lock_guard lock(state_->mutex);
  return state_->parked.size();
}

}  // namespace guardd
