// Decisions that arrive together share one probe, never one that began before they
// arrived; one probe of a server runs at a time.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "plugins/mysql/shared_probe.h"
#include "support/harness.h"

namespace guardd::mysql {
namespace {

using namespace std::chrono_literals;
using guardd::test::wait_until;

// A probe's result, told apart by its number.
InstanceProbe numbered(int n) {
  InstanceProbe p;
  p.error = "probe " + std::to_string(n);
  return p;
}

// Holds a probe until the test opens it.
class Gate {
 public:
  void pass() {
    std::unique_lock lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    opened_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

std::chrono::steady_clock::time_point in(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

TEST(SharedProbes, CallersArrivingDuringAProbeShareTheNextOne) {
  SharedProbes probes;
  std::atomic<int> runs{0}, concurrent{0}, most_concurrent{0};
  Gate first;
  auto probe = [&](Gate* gate) {
    return [&, gate](const InstanceProbe*) {
      int now = ++concurrent;
      most_concurrent = std::max(most_concurrent.load(), now);
      int n = ++runs;
      if (gate) gate->pass();
      --concurrent;
      return numbered(n);
    };
  };
  std::string a, b, c;
  std::thread leader([&] { a = probes.join("s", "v", in(30s), probe(&first))->error; });
  ASSERT_TRUE(wait_until([&] { return runs == 1; }));
  std::thread second([&] { b = probes.join("s", "v", in(30s), probe(nullptr))->error; });
  std::thread third([&] { c = probes.join("s", "v", in(30s), probe(nullptr))->error; });
  ASSERT_TRUE(wait_until([&] { return probes.waiting("s") == 2; }));
  EXPECT_EQ(runs, 1);  // nobody probes while one runs
  first.open();
  leader.join();
  second.join();
  third.join();
  EXPECT_EQ(a, "probe 1");
  EXPECT_EQ(b, "probe 2");  // not probe 1: it began before they asked
  EXPECT_EQ(c, "probe 2");
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(most_concurrent, 1);
}

TEST(SharedProbes, AProbeThatEndedIsNeverReusedButOfferedAsAHint) {
  SharedProbes probes;
  int runs = 0;
  std::vector<std::string> hints;
  auto probe = [&](const InstanceProbe* last) {
    hints.push_back(last ? last->error : "none");
    return numbered(++runs);
  };
  EXPECT_EQ(probes.join("s", "v", in(5s), probe)->error, "probe 1");
  EXPECT_EQ(probes.join("s", "v", in(5s), probe)->error, "probe 2");
  EXPECT_EQ(probes.join("other", "v", in(5s), probe)->error, "probe 3");
  EXPECT_EQ(hints, (std::vector<std::string>{"none", "probe 1", "none"}));
}

TEST(SharedProbes, ACallerOfAnotherVariantRunsItsOwn) {
  SharedProbes probes;
  std::atomic<int> runs{0};
  Gate first;
  std::string a, b, c;
  std::thread leader([&] {
    a = probes
            .join("s", "pid 1", in(30s),
                  [&](const InstanceProbe*) {
                    int n = ++runs;
                    first.pass();
                    return numbered(n);
                  })
            ->error;
  });
  ASSERT_TRUE(wait_until([&] { return runs == 1; }));
  std::thread same([&] {
    b = probes.join("s", "pid 1", in(30s), [&](const InstanceProbe*) { return numbered(++runs); })
            ->error;
  });
  std::thread other([&] {
    c = probes
            .join("s", "pid 2", in(30s),
                  [&](const InstanceProbe*) { return numbered(100 + ++runs); })
            ->error;
  });
  ASSERT_TRUE(wait_until([&] { return probes.waiting("s") == 2; }));
  first.open();
  leader.join();
  same.join();
  other.join();
  EXPECT_EQ(a, "probe 1");
  EXPECT_EQ(runs, 3);  // one for each variant after the first
  EXPECT_NE(b, "probe 1");
  EXPECT_NE(b, c);
  EXPECT_EQ(c.rfind("probe 10", 0), 0u) << c;  // its own probe, whichever went first
}

TEST(SharedProbes, AWaiterGivesUpAtItsDeadline) {
  SharedProbes probes;
  std::atomic<int> runs{0};
  Gate first;
  std::thread leader([&] {
    probes.join("s", "v", in(30s), [&](const InstanceProbe*) {
      ++runs;
      first.pass();
      return numbered(1);
    });
  });
  ASSERT_TRUE(wait_until([&] { return runs == 1; }));
  EXPECT_FALSE(
      probes.join("s", "v", in(200ms), [&](const InstanceProbe*) { return numbered(++runs); })
          .has_value());
  EXPECT_EQ(runs, 1);
  first.open();
  leader.join();
}

TEST(SharedProbes, WhenAProbeThrowsTheWaitersRunTheirOwn) {
  SharedProbes probes;
  std::atomic<int> runs{0};
  Gate first;
  std::thread leader([&] {
    EXPECT_THROW(probes.join("s", "v", in(30s),
                             [&](const InstanceProbe*) -> InstanceProbe {
                               ++runs;
                               first.pass();
                               throw std::runtime_error("bug");
                             }),
                 std::runtime_error);
  });
  ASSERT_TRUE(wait_until([&] { return runs == 1; }));
  std::string b;
  std::thread waiter([&] {
    b = probes.join("s", "v", in(30s), [&](const InstanceProbe*) { return numbered(++runs); })
            ->error;
  });
  ASSERT_TRUE(wait_until([&] { return probes.waiting("s") == 1; }));
  first.open();
  leader.join();
  waiter.join();
  EXPECT_EQ(b, "probe 2");
}

}  // namespace
}  // namespace guardd::mysql
