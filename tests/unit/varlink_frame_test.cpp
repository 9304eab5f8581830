#include <gtest/gtest.h>

#include "common/varlink_frame.h"
#include "common/varlink_message.h"

namespace guardd {
namespace {

using namespace std::string_literals;

TEST(FrameReader, ReassemblesSplitReads) {
  FrameReader r(1024);
  r.feed("{\"method\":");
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.has_partial());
  r.feed("\"a.b.C\"}");
  EXPECT_FALSE(r.next());
  r.feed("\0"s);
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, "{\"method\":\"a.b.C\"}");
  EXPECT_FALSE(r.has_partial());
}

TEST(FrameReader, SplitsSeveralMessagesInOneRead) {
  FrameReader r(1024);
  r.feed("one\0two\0thr"s);
  EXPECT_EQ(r.next().value_or(""), "one");
  EXPECT_EQ(r.next().value_or(""), "two");
  EXPECT_FALSE(r.next());
  r.feed("ee\0"s);
  EXPECT_EQ(r.next().value_or(""), "three");
}

TEST(FrameReader, ByteAtATime) {
  FrameReader r(1024);
  std::string msg = "{\"x\":1}\0"s;
  std::vector<std::string> got;
  for (char c : msg) {
    r.feed(std::string_view(&c, 1));
    while (auto m = r.next()) got.push_back(*m);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "{\"x\":1}");
}

TEST(FrameReader, FlagsOversizeWithoutNul) {
  FrameReader r(16);
  r.feed(std::string(16, 'x'));
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.overflowed()) << "exactly at the limit is not yet oversize";
  r.feed("y");
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.overflowed());
}

TEST(FrameReader, FlagsOversizeCompleteMessage) {
  FrameReader r(8);
  r.feed("ok\0"s + std::string(20, 'z') + "\0after\0"s);
  EXPECT_EQ(r.next().value_or(""), "ok");
  EXPECT_FALSE(r.next()) << "an oversize message is never returned";
  EXPECT_TRUE(r.overflowed());
  EXPECT_FALSE(r.next()) << "nothing after it either: the stream is unusable";
}

TEST(FrameReader, MissingNulLeavesPartial) {
  FrameReader r(1024);
  r.feed("{\"method\":\"x.y.Z\"}");
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.has_partial());
  EXPECT_FALSE(r.overflowed());
}

TEST(VarlinkMessage, DecodesCall) {
  auto c = decode_call(
      R"({"method":"io.guardd.Guard.Check","parameters":{"operation":"reboot"},"oneway":true})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->method, "io.guardd.Guard.Check");
  EXPECT_EQ(c->parameters["operation"], "reboot");
  EXPECT_TRUE(c->oneway);
  EXPECT_FALSE(c->more);
}

TEST(VarlinkMessage, MissingParametersMeansEmpty) {
  auto c = decode_call(R"({"method":"io.guardd.Guard.GetStatus"})");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->parameters.is_object());
  EXPECT_TRUE(c->parameters.empty());
}

TEST(VarlinkMessage, RejectsMalformed) {
  struct Case {
    std::string text, expect;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {"{\"parameters\":{}}", "no \"method\""},
      {"{\"method\":5}", "no \"method\""},
      {"{\"method\":\"a.b\",\"parameters\":[]}", "not an object"},
      {"{\"method\":\"a.b\",\"oneway\":\"yes\"}", "not a boolean"},
      {"{\"method\":\"a.b\",\"upgrade\":true}", "upgrade"},
      {std::string(100, '[') + std::string(100, ']'), "nests deeper"},
      {"{\"method\":\"a\xff\"}", "not valid JSON"},
  };
  for (const auto& c : cases) {
    auto r = decode_call(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().find(c.expect), std::string::npos) << c.text << " -> " << r.error();
  }
}

TEST(VarlinkMessage, EncodesRepliesAndSplitsMethods) {
  EXPECT_EQ(encode_reply({{"a", 1}}), R"({"parameters":{"a":1}})");
  EXPECT_EQ(encode_error("x.Y", {{"reason", "r"}}),
            R"({"error":"x.Y","parameters":{"reason":"r"}})");
  // The same bytes as the whole envelope dumped by nlohmann::json, escapes and invalid
  // UTF-8 (replaced) included.
  const nlohmann::json nested = {{"b", {{"q", "say \"hi\"\n"}, {"bad", "\xff"}}}, {"a", {1, 2}}};
  auto whole = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  EXPECT_EQ(encode_reply(nested), whole({{"parameters", nested}}));
  EXPECT_EQ(encode_error("x.\xffY", nested), whole({{"error", "x.\xffY"}, {"parameters", nested}}));
  std::string iface, member;
  EXPECT_TRUE(split_method("io.guardd.Guard.Check", iface, member));
  EXPECT_EQ(iface, "io.guardd.Guard");
  EXPECT_EQ(member, "Check");
  EXPECT_FALSE(split_method("Check", iface, member));
  EXPECT_FALSE(split_method("io.guardd.", iface, member));
}

}  // namespace
}  // namespace guardd
