#include <gtest/gtest.h>
#include <stdlib.h>

#include "ctl/when.h"

namespace guardd::ctl {
namespace {

constexpr int64_t kS = 1000000;
constexpr int64_t kNow = 1795700000LL * kS;

TEST(When, RelativeForms) {
  EXPECT_EQ(*parse_when("2h", kNow), kNow - 2 * 3600 * kS);
  EXPECT_EQ(*parse_when("7d", kNow), kNow - 7 * 86400 * kS);
  EXPECT_EQ(*parse_when("30min", kNow), kNow - 1800 * kS);
  EXPECT_EQ(*parse_when("2h ago", kNow), kNow - 2 * 3600 * kS);
  EXPECT_EQ(*parse_when("now", kNow), kNow);
  EXPECT_EQ(*parse_when("@1700000000", kNow), 1700000000LL * kS);
}

TEST(When, IsoWithZones) {
  EXPECT_EQ(*parse_when("2026-11-26T10:00:00Z", kNow), 1795687200LL * kS);
  EXPECT_EQ(*parse_when("2026-11-26T11:00:00+01:00", kNow), 1795687200LL * kS);
  EXPECT_EQ(*parse_when("2026-11-26T05:30:00-0430", kNow), 1795687200LL * kS);
  EXPECT_EQ(*parse_when("2026-11-26T10:00:00.5Z", kNow), 1795687200LL * kS + 500000);
}

TEST(When, IsoLocalTime) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(*parse_when("2026-11-26", kNow), 1795651200LL * kS);
  EXPECT_EQ(*parse_when("2026-11-26 10:00", kNow), 1795687200LL * kS);
  EXPECT_EQ(*parse_when("2026-11-26T10:00", kNow), 1795687200LL * kS);
  EXPECT_EQ(*parse_when("today", kNow), (kNow / (86400 * kS)) * 86400 * kS);
}

TEST(When, HugeValuesAreOutOfRangeNotOverflow) {
  // Found by fuzz_time: @9223372036854775807 overflowed the conversion to microseconds.
  EXPECT_FALSE(parse_when("@9223372036854775807", kNow).ok());
  EXPECT_FALSE(parse_when("@-9223372036854775807", kNow).ok());
  EXPECT_TRUE(parse_when("@0", kNow).ok());
}

TEST(When, RejectsGarbage) {
  for (const char* bad :
       {"", "soon", "2026-13-45", "2026-11-26T10:00:00+25:00", "@x", "5 parsecs"}) {
    auto r = parse_when(bad, kNow);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parse_when("soon", kNow).error().find("ISO 8601"), std::string::npos);
}

}  // namespace
}  // namespace guardd::ctl
