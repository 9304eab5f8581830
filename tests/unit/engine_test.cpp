// Engine tests use scripted Check implementations: the engine's job (concurrency,
// timeouts, deadlines, verdicts) is what is under test, not any real check.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "daemon/engine.h"
#include "daemon/setup_problems.h"

namespace guardd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Answers a fixed outcome, optionally after blocking until released or its deadline.
class ScriptedCheck : public Check {
 public:
  ScriptedCheck(Outcome o, std::string reason, std::chrono::milliseconds delay = 0ms)
      : outcome_(o), reason_(std::move(reason)), delay_(delay) {}
  CheckAnswer evaluate(const CheckContext&) const override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);  // simulates a slow check
    return {outcome_, reason_, {{"fact", 1}}};
  }

 private:
  Outcome outcome_;
  std::string reason_;
  std::chrono::milliseconds delay_;
};

// Claims to answer inline; notes the thread it ran on and can be told to overrun.
class InlineCheck : public Check {
 public:
  explicit InlineCheck(std::chrono::milliseconds delay = 0ms) : delay_(delay) {}
  CheckAnswer evaluate(const CheckContext&) const override {
    ran_on = std::this_thread::get_id();
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);  // simulates an overrun
    return {Outcome::Pass, "in memory", nullptr};
  }
  bool answers_inline() const override { return true; }
  mutable std::thread::id ran_on;

 private:
  std::chrono::milliseconds delay_;
};

class ThrowingCheck : public Check {
 public:
  CheckAnswer evaluate(const CheckContext&) const override { throw std::runtime_error("boom"); }
};

CheckInstance instance(std::string name, std::shared_ptr<const Check> check,
                       std::chrono::milliseconds timeout = 1000ms, OnError on_error = OnError::Veto,
                       std::vector<std::string> ops = {"reboot"}) {
  return CheckInstance{std::move(name), "scripted", std::move(ops),  timeout,
                       on_error,        true,       std::move(check)};
}

std::vector<CheckResult> run(const std::vector<CheckInstance>& checks,
                             std::chrono::milliseconds deadline = 5000ms) {
  static WorkerPool workers(4);  // shared across tests, as the daemon shares its pool
  CheckRequest req{"reboot", std::nullopt, std::nullopt, false, false};
  return run_checks(checks, req, Caller{}, Clock::now() + deadline, workers);
}

TEST(Engine, PassAndVetoAreReported) {
  auto results = run({instance("a", std::make_shared<ScriptedCheck>(Outcome::Pass, "fine")),
                      instance("b", std::make_shared<ScriptedCheck>(Outcome::Veto, "busy"))});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].name, "a");
  EXPECT_EQ(results[0].outcome, Outcome::Pass);
  EXPECT_EQ(results[1].outcome, Outcome::Veto);
  EXPECT_EQ(results[1].reason, "busy");
  EXPECT_EQ(results[1].facts["fact"], 1);
  EXPECT_EQ(decide(results, ForceMode::No), Verdict::Refused);
}

TEST(Engine, OnlyChecksGuardingTheOperationRun) {
  auto results = run({instance("r", std::make_shared<ScriptedCheck>(Outcome::Veto, "x")),
                      instance("w", std::make_shared<ScriptedCheck>(Outcome::Veto, "x"), 1000ms,
                               OnError::Veto, {"wipe"})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].name, "r");
}

TEST(Engine, DisabledChecksDoNotRun) {
  auto inst = instance("off", std::make_shared<ScriptedCheck>(Outcome::Veto, "x"));
  inst.enabled = false;
  EXPECT_TRUE(run({inst}).empty());
  EXPECT_EQ(decide({}, ForceMode::No), Verdict::Allowed) << "no checks, nothing objects";
}

TEST(Engine, ErrorRefusesUnlessOnErrorPass) {
  auto r1 = run({instance("e", std::make_shared<ScriptedCheck>(Outcome::Error, "no access"))});
  EXPECT_EQ(decide(r1, ForceMode::No), Verdict::Refused);
  auto r2 = run({instance("e", std::make_shared<ScriptedCheck>(Outcome::Error, "no access"), 1000ms,
                          OnError::Pass)});
  EXPECT_EQ(r2[0].outcome, Outcome::Error) << "the error is still recorded";
  EXPECT_EQ(decide(r2, ForceMode::No), Verdict::Allowed);
  auto r3 = run({instance("v", std::make_shared<ScriptedCheck>(Outcome::Veto, "busy"), 1000ms,
                          OnError::Pass)});
  EXPECT_EQ(decide(r3, ForceMode::No), Verdict::Refused) << "on_error = pass never passes a veto";
}

TEST(Engine, ExceptionBecomesError) {
  auto r = run({instance("t", std::make_shared<ThrowingCheck>())});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].outcome, Outcome::Error);
  EXPECT_NE(r[0].reason.find("boom"), std::string::npos);
}

TEST(Engine, CheckTimeoutIsAnErrorWithinItsTimeout) {
  auto start = Clock::now();
  auto r =
      run({instance("slow", std::make_shared<ScriptedCheck>(Outcome::Pass, "late", 3000ms), 100ms),
           instance("fast", std::make_shared<ScriptedCheck>(Outcome::Pass, "ok"))});
  auto took = Clock::now() - start;
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].outcome, Outcome::Error);
  EXPECT_EQ(r[0].reason, "timed out after 100ms");
  EXPECT_EQ(r[1].outcome, Outcome::Pass);
  // Margins hold under the sanitizers on a loaded machine; speed is guardd-bench's job.
  EXPECT_LT(took, 2000ms) << "waited for the slow check (3000ms)";
  EXPECT_EQ(decide(r, ForceMode::No), Verdict::Refused);
}

TEST(Engine, DecisionDeadlineCapsEveryCheck) {
  auto start = Clock::now();
  auto r = run(
      {instance("slow", std::make_shared<ScriptedCheck>(Outcome::Pass, "late", 3000ms), 2000ms)},
      150ms);
  EXPECT_LT(Clock::now() - start, 2000ms) << "waited for the slow check (3000ms)";
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].outcome, Outcome::Error);
  EXPECT_EQ(r[0].reason, "timed out after 150ms");
}

TEST(Engine, ChecksRunConcurrently) {
  std::vector<CheckInstance> checks;
  for (int i = 0; i < 8; ++i)
    checks.push_back(instance("c" + std::to_string(i),
                              std::make_shared<ScriptedCheck>(Outcome::Pass, "ok", 500ms)));
  auto start = Clock::now();
  auto r = run(checks);
  // One after another they take 4 s; together, 0.5 s plus scheduling.
  EXPECT_LT(Clock::now() - start, 2500ms) << "8 x 500ms checks ran one after another";
  ASSERT_EQ(r.size(), 8u);
  for (const auto& x : r) EXPECT_EQ(x.outcome, Outcome::Pass);
}

TEST(Engine, InlineChecksRunOnTheDecidingThreadBesideWorkers) {
  auto in_memory = std::make_shared<InlineCheck>();
  auto r = run({instance("slow", std::make_shared<ScriptedCheck>(Outcome::Veto, "busy", 50ms)),
                instance("mem", in_memory)});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(in_memory->ran_on, std::this_thread::get_id());
  EXPECT_EQ(r[0].outcome, Outcome::Veto) << "the worker's answer is still awaited";
  EXPECT_EQ(r[1].outcome, Outcome::Pass);
  EXPECT_EQ(r[1].reason, "in memory");
}

TEST(Engine, InlineCheckPastItsTimeoutCountsAsTimedOut) {
  auto r = run({instance("mem", std::make_shared<InlineCheck>(120ms), 50ms)});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].outcome, Outcome::Error);
  EXPECT_EQ(r[0].reason, "timed out after 50ms");
}

TEST(Engine, ForceTurnsARefusalIntoForced) {
  std::vector<CheckResult> veto = {{"v", Outcome::Veto, "busy", nullptr, 1, OnError::Veto}};
  std::vector<CheckResult> pass = {{"p", Outcome::Pass, "", nullptr, 1, OnError::Veto}};
  EXPECT_EQ(decide(veto, ForceMode::Yes), Verdict::Forced);
  EXPECT_EQ(decide(pass, ForceMode::Yes), Verdict::Allowed) << "nothing to override";
  EXPECT_TRUE(grants(Verdict::Forced));
  EXPECT_FALSE(grants(Verdict::Refused));
  EXPECT_FALSE(grants(Verdict::Denied));
  EXPECT_FALSE(grants(Verdict::Invalid));
}

// Setup tests (status, --check-config) share the engine's rules: each under its timeout,
// an overrun or an exception reported, never waited for.
class SetupCheck : public Check {
 public:
  SetupCheck(std::vector<std::string> problems, std::chrono::milliseconds delay = 0ms)
      : problems_(std::move(problems)), delay_(delay) {}
  CheckAnswer evaluate(const CheckContext&) const override { return {Outcome::Pass, "", {}}; }
  std::vector<std::string> setup_problems(Clock::time_point, DecisionScope&) const override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);  // simulates a hung server
    if (problems_.size() == 1 && problems_[0] == "throw") throw std::runtime_error("boom");
    return problems_;
  }

 private:
  std::vector<std::string> problems_;
  std::chrono::milliseconds delay_;
};

TEST(SetupProblems, EachEnabledCheckReportsWithinItsTimeout) {
  WorkerPool workers(2);
  auto disabled = instance("off", std::make_shared<SetupCheck>(std::vector<std::string>{"x"}));
  disabled.enabled = false;
  std::vector<CheckInstance> checks = {
      instance("fine", std::make_shared<SetupCheck>(std::vector<std::string>{})),
      instance("broken", std::make_shared<SetupCheck>(std::vector<std::string>{"no login"})),
      instance("hung", std::make_shared<SetupCheck>(std::vector<std::string>{}, 3000ms), 100ms),
      instance("throws", std::make_shared<SetupCheck>(std::vector<std::string>{"throw"})),
      disabled};
  auto start = Clock::now();
  auto reports = find_setup_problems(checks, Clock::now() + 5s, workers);
  EXPECT_LT(Clock::now() - start, 2s);  // the hung one is not waited for
  ASSERT_EQ(reports.size(), 4u);
  EXPECT_EQ(reports[0].check, "fine");
  EXPECT_TRUE(reports[0].problems.empty());
  EXPECT_EQ(reports[1].problems, std::vector<std::string>{"no login"});
  ASSERT_EQ(reports[2].problems.size(), 1u);
  EXPECT_EQ(reports[2].problems[0], "the setup test did not answer within 100ms");
  ASSERT_EQ(reports[3].problems.size(), 1u);
  EXPECT_NE(reports[3].problems[0].find("boom"), std::string::npos);
}

}  // namespace
}  // namespace guardd
