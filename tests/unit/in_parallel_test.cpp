// Asking several servers at once: answers in order, every ask ended before a failure is
// passed on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "plugins/mysql/in_parallel.h"

namespace guardd::mysql {
namespace {

TEST(InParallel, AllAskAtOnceAndAnswersComeInTheItemsOrder) {
  std::vector<int> items{5, 1, 4, 2, 3};
  // Each ask waits (10 s at most) until every ask has begun: they only all get through
  // when they run at the same time.
  std::mutex m;
  std::condition_variable all_in;
  size_t begun = 0;
  auto answers = in_parallel(items, [&](const int& n) {
    std::unique_lock lock(m);
    ++begun;
    all_in.notify_all();
    const bool together =
        all_in.wait_for(lock, std::chrono::seconds(10), [&] { return begun == items.size(); });
    return together ? std::to_string(n * 10) : "alone";
  });
  EXPECT_EQ(answers, (std::vector<std::string>{"50", "10", "40", "20", "30"}));
  EXPECT_TRUE(in_parallel(std::vector<int>{}, [](const int& n) { return n; }).empty());
}

TEST(InParallel, AFailureIsRethrownAfterEveryAskEnded) {
  std::atomic<int> ended{0};
  std::vector<int> items{0, 1, 2, 3};
  EXPECT_THROW(in_parallel(items,
                           [&](const int& n) {
                             if (n == 0) throw std::runtime_error("bug");
                             ++ended;
                             return n;
                           }),
               std::runtime_error);
  EXPECT_EQ(ended, 3);
}

}  // namespace
}  // namespace guardd::mysql
