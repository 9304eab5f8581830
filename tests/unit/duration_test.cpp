#include <gtest/gtest.h>

#include "common/duration.h"

namespace guardd {
namespace {

using std::chrono::microseconds;

TEST(Duration, ParsesSystemdForms) {
  EXPECT_EQ(*parse_duration("500ms"), microseconds(500000));
  EXPECT_EQ(*parse_duration("5s"), microseconds(5000000));
  EXPECT_EQ(*parse_duration("2min"), microseconds(120000000));
  EXPECT_EQ(*parse_duration("1h 30min"), microseconds(5400000000LL));
  EXPECT_EQ(*parse_duration("1.5s"), microseconds(1500000));
  EXPECT_EQ(*parse_duration("7d"), microseconds(7LL * 86400 * 1000000));
  EXPECT_EQ(*parse_duration("250us"), microseconds(250));
  EXPECT_EQ(*parse_duration("3"), microseconds(3000000)) << "a bare number is seconds";
  EXPECT_EQ(*parse_duration(" 2 h "), microseconds(7200000000LL));
  EXPECT_EQ(*parse_duration("1w"), microseconds(7LL * 86400 * 1000000));
}

TEST(Duration, RejectsMalformed) {
  for (const char* bad : {"", "   ", "ms", "5 parsecs", "1..2s", "-5s", "5s!", "."}) {
    auto d = parse_duration(bad);
    EXPECT_FALSE(d.ok()) << "'" << bad << "' parsed";
  }
  EXPECT_NE(parse_duration("5 parsecs").error().find("unknown unit 'parsecs'"), std::string::npos);
  EXPECT_FALSE(parse_duration("99999999999999999999w").ok());
}

TEST(Duration, FormatsExactly) {
  EXPECT_EQ(format_duration(microseconds(0)), "0");
  EXPECT_EQ(format_duration(microseconds(250000)), "250ms");
  EXPECT_EQ(format_duration(microseconds(90000000)), "1min 30s");
  EXPECT_EQ(format_duration(microseconds(5000000)), "5s");
}

}  // namespace
}  // namespace guardd
