#include <gtest/gtest.h>
#include <signal.h>

#include "plugins/hook/hook_check.h"

namespace guardd::hook {
namespace {

HookRun exited(int code, std::string out = "", std::string err = "") {
  HookRun r;
  r.exit_code = code;
  r.out = std::move(out);
  r.err = std::move(err);
  return r;
}

TEST(HookInterpret, GuarddProtocol) {
  EXPECT_EQ(interpret(exited(0, "fine\n"), Protocol::Guardd, WarningMeans::Veto).outcome,
            Outcome::Pass);
  auto veto = interpret(exited(1, "backup running\nmore\n"), Protocol::Guardd, WarningMeans::Veto);
  EXPECT_EQ(veto.outcome, Outcome::Veto);
  EXPECT_EQ(veto.reason, "backup running");
  auto err = interpret(exited(2, "", "boom\n"), Protocol::Guardd, WarningMeans::Veto);
  EXPECT_EQ(err.outcome, Outcome::Error);
  EXPECT_EQ(err.reason, "hook exited with status 2: boom");
}

TEST(HookInterpret, NagiosProtocol) {
  auto ok = interpret(exited(0, "TCP OK - 0.001 second response time|time=0.001s\n"),
                      Protocol::Nagios, WarningMeans::Veto);
  EXPECT_EQ(ok.outcome, Outcome::Pass);
  EXPECT_EQ(ok.reason, "TCP OK - 0.001 second response time");
  EXPECT_EQ(interpret(exited(1, "WARN"), Protocol::Nagios, WarningMeans::Veto).outcome,
            Outcome::Veto);
  EXPECT_EQ(interpret(exited(1, "WARN"), Protocol::Nagios, WarningMeans::Pass).outcome,
            Outcome::Pass);
  EXPECT_EQ(interpret(exited(2, "CRIT"), Protocol::Nagios, WarningMeans::Pass).outcome,
            Outcome::Veto);
  auto unknown = interpret(exited(3, "UNKNOWN - bad args"), Protocol::Nagios, WarningMeans::Veto);
  EXPECT_EQ(unknown.outcome, Outcome::Error);
  EXPECT_EQ(interpret(exited(7, ""), Protocol::Nagios, WarningMeans::Veto).outcome, Outcome::Error);
  EXPECT_NE(
      interpret(exited(2, ""), Protocol::Nagios, WarningMeans::Veto).reason.find("printed nothing"),
      std::string::npos);
}

TEST(HookInterpret, SignalsAndTimeoutsAreErrors) {
  HookRun killed;
  killed.signal = SIGSEGV;
  EXPECT_EQ(interpret(killed, Protocol::Guardd, WarningMeans::Veto).outcome, Outcome::Error);
  HookRun late;
  late.timed_out = true;
  EXPECT_EQ(interpret(late, Protocol::Nagios, WarningMeans::Pass).outcome, Outcome::Error);
}

TEST(HookInterpret, LongReasonsAreCut) {
  auto r = interpret(exited(1, std::string(5000, 'x')), Protocol::Guardd, WarningMeans::Veto);
  EXPECT_EQ(r.outcome, Outcome::Veto);
  EXPECT_LT(r.reason.size(), 600u);
  EXPECT_GT(r.reason.size(), 100u) << "cut, not dropped";
  EXPECT_EQ(r.reason.substr(0, 100), std::string(100, 'x'));
}

}  // namespace
}  // namespace guardd::hook
