// WorkerPool: tasks run, parked workers are reused, a busy worker never delays another
// task, at most max_idle are parked, and the pool's end lets parked workers go.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "daemon/worker_pool.h"
#include "support/harness.h"

namespace guardd {
namespace {

using namespace std::chrono_literals;

// A gate that tasks block on until the test opens it.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

std::thread::id run_and_wait(WorkerPool& pool) {
  std::promise<std::thread::id> ran;
  auto got = ran.get_future();
  EXPECT_TRUE(pool.run([&] { ran.set_value(std::this_thread::get_id()); }).ok());
  return got.get();
}

TEST(WorkerPool, ParkedWorkerRunsTheNextTask) {
  WorkerPool pool(2);
  std::thread::id first = run_and_wait(pool);
  ASSERT_TRUE(test::wait_until([&] { return pool.idle() == 1; }, 5s));
  EXPECT_EQ(run_and_wait(pool), first);
  EXPECT_NE(first, std::this_thread::get_id());
}

TEST(WorkerPool, BusyWorkersNeverDelayANewTask) {
  WorkerPool pool(1);
  Gate gate;
  std::atomic<int> blocked{0}, finished{0};
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(pool.run([&] {
                      ++blocked;
                      gate.wait();
                      ++finished;
                    })
                    .ok());
  ASSERT_TRUE(test::wait_until([&] { return blocked == 3; }, 5s));
  // Three workers are stuck; a fourth task still runs at once on a thread of its own.
  std::thread::id other = run_and_wait(pool);
  EXPECT_NE(other, std::this_thread::get_id());
  gate.release();
  // The tasks use `gate` and the counters, which end with this test; the pool does not
  // wait for busy workers.
  EXPECT_TRUE(test::wait_until([&] { return finished == 3; }, 5s));
}

// Starts `n` tasks that block on `gate`; returns their workers' thread ids once all run.
std::vector<pid_t> start_blocked(WorkerPool& pool, Gate& gate, int n) {
  std::mutex mutex;
  std::vector<pid_t> tids;
  for (int i = 0; i < n; ++i)
    EXPECT_TRUE(pool.run([&] {
                      {
                        std::lock_guard lock(mutex);
                        tids.push_back(gettid());
                      }
                      gate.wait();
                    })
                    .ok());
  EXPECT_TRUE(test::wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return static_cast<int>(tids.size()) == n;
      },
      5s));
  std::lock_guard lock(mutex);
  return tids;
}

// How many of `tids` are still threads of this process.
int alive(const std::vector<pid_t>& tids) {
  int n = 0;
  for (pid_t t : tids) n += std::filesystem::exists(fmt::format("/proc/self/task/{}", t));
  return n;
}

TEST(WorkerPool, ParksAtMostMaxIdle) {
  WorkerPool pool(2);
  Gate gate;
  auto tids = start_blocked(pool, gate, 6);
  gate.release();
  // Two stay parked for the next tasks; the other four end.
  EXPECT_TRUE(test::wait_until([&] { return alive(tids) == 2 && pool.idle() == 2; }, 5s));
}

TEST(WorkerPool, ManyConcurrentTasksAllRun) {
  WorkerPool pool(4);
  std::atomic<int> done{0};
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.run([&] { ++done; }).ok());
  EXPECT_TRUE(test::wait_until([&] { return done == 500; }, 10s));
}

TEST(WorkerPool, EndingThePoolReleasesParkedWorkers) {
  std::vector<pid_t> tids;
  {
    WorkerPool pool(3);
    Gate gate;
    tids = start_blocked(pool, gate, 3);
    gate.release();
    ASSERT_TRUE(test::wait_until([&] { return pool.idle() == 3; }, 5s));
    EXPECT_EQ(alive(tids), 3);
  }
  EXPECT_TRUE(test::wait_until([&] { return alive(tids) == 0; }, 5s));
}

}  // namespace
}  // namespace guardd
