// The Varlink protocol and hostile input, through guardd's real socket.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "support/harness.h"

namespace guardd::test {
namespace {

using nlohmann::json;
using namespace std::string_literals;

// The daemon answers a normal call: used after every abuse.
void expect_alive(Guardd& g) {
  ASSERT_TRUE(g.running()) << g.log();
  auto r = varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}});
  EXPECT_EQ(r["parameters"]["allowed"], true) << r;
}

// A Check call of about 70 KiB, over the 64 KiB message limit.
std::string oversize_call() {
  return "{\"method\":\"io.guardd.Guard.Check\",\"parameters\":{\"reason\":\"" +
         std::string(70 * 1024, 'x') + "\"}}";
}

TEST(Protocol, GetInfoAndInterfaceDescription) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  auto info = varlink_call(g.socket(), "org.varlink.service.GetInfo");
  EXPECT_EQ(info["parameters"]["product"], "guardd");
  EXPECT_EQ(info["parameters"]["interfaces"], json({"org.varlink.service", "io.guardd.Guard"}));
  auto desc = varlink_call(g.socket(), "org.varlink.service.GetInterfaceDescription",
                           {{"interface", "io.guardd.Guard"}});
  EXPECT_EQ(desc["parameters"]["description"],
            read_file(source_dir() + "/src/io.guardd.Guard.varlink"))
      << "served verbatim";
  auto svc = varlink_call(g.socket(), "org.varlink.service.GetInterfaceDescription",
                          {{"interface", "org.varlink.service"}});
  EXPECT_NE(
      svc["parameters"]["description"].get<std::string>().find("interface org.varlink.service"),
      std::string::npos);
  auto missing = varlink_call(g.socket(), "org.varlink.service.GetInterfaceDescription",
                              {{"interface", "com.example.Nope"}});
  EXPECT_EQ(missing["error"], "org.varlink.service.InterfaceNotFound");
}

TEST(Protocol, UnknownMethodAndInterface) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  auto m = varlink_call(g.socket(), "io.guardd.Guard.Explode");
  EXPECT_EQ(m["error"], "org.varlink.service.MethodNotFound");
  EXPECT_EQ(m["parameters"]["method"], "io.guardd.Guard.Explode");
  auto i = varlink_call(g.socket(), "com.example.Thing.Do");
  EXPECT_EQ(i["error"], "org.varlink.service.InterfaceNotFound");
  auto p = varlink_call(g.socket(), "io.guardd.Guard.Check",
                        {{"operation", "reboot"}, {"force", "yes"}});
  EXPECT_EQ(p["error"], "org.varlink.service.InvalidParameter");
  EXPECT_NE(p["parameters"]["reason"].get<std::string>().find("force"), std::string::npos) << p;
  auto u =
      varlink_call(g.socket(), "io.guardd.Guard.Check", {{"operation", "reboot"}, {"colour", 1}});
  EXPECT_EQ(u["error"], "org.varlink.service.InvalidParameter");
  auto none = varlink_call(g.socket(), "io.guardd.Guard.Check");
  EXPECT_EQ(none["error"], "org.varlink.service.InvalidParameter");
  expect_alive(g);
}

TEST(Protocol, MalformedJsonGetsAnErrorAndTheConnectionStaysUsable) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  ASSERT_TRUE(c.connected());
  for (std::string bad : {"{not json"s, "[]"s, "\"str\""s, "{\"method\": 7}"s,
                          "{\"method\":\"a\xff\"}"s, std::string(500, '[')}) {
    ASSERT_TRUE(c.send_raw(bad + '\0'));
    auto r = c.reply();
    ASSERT_TRUE(r) << "no answer to " << bad.substr(0, 40);
    EXPECT_EQ((*r)["error"], "io.guardd.Guard.InvalidRequest") << *r;
  }
  ASSERT_TRUE(c.call("io.guardd.Guard.Check", {{"operation", "reboot"}}));
  auto ok = c.reply();
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["parameters"]["allowed"], true);
}

TEST(Protocol, RepliesInOrderForPipelinedCalls) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  std::string batch;
  for (int i = 0; i < 20; ++i) {
    json call = {{"method", "io.guardd.Guard.Check"},
                 {"parameters", {{"operation", "reboot"}, {"reason", std::to_string(i)}}}};
    batch += call.dump() + '\0';
  }
  ASSERT_TRUE(c.send_raw(batch));
  for (int i = 0; i < 20; ++i) {
    auto r = c.reply();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ((*r)["parameters"]["decision"]["reason"], std::to_string(i));
  }
}

// The worker that answered a call waits briefly for the same client's next one and answers
// it itself. Whatever arrives right after an answer — two calls at once, half a call, bad
// JSON, a oneway call, an oversize message, the end of the stream — is answered as if the
// event loop had read it: in order, with the same errors.
json check_call(const std::string& reason) {
  return {{"method", "io.guardd.Guard.Check"},
          {"parameters", {{"operation", "reboot"}, {"reason", reason}}}};
}

std::optional<std::string> reply_reason(RawClient& c) {
  auto r = c.reply();
  if (!r || !(*r)["parameters"].contains("decision")) return std::nullopt;
  return (*r)["parameters"]["decision"]["reason"].get<std::string>();
}

TEST(Protocol, WhateverFollowsAnAnswerQuicklyIsAnsweredInOrder) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  ASSERT_TRUE(c.send_raw(check_call("first").dump() + '\0'));
  ASSERT_EQ(reply_reason(c), "first");

  // Two calls in one write.
  ASSERT_TRUE(c.send_raw(check_call("a").dump() + '\0' + check_call("b").dump() + '\0'));
  EXPECT_EQ(reply_reason(c), "a");
  EXPECT_EQ(reply_reason(c), "b");

  // Half a call, then the rest.
  std::string whole = check_call("halves").dump() + '\0';
  ASSERT_TRUE(c.send_raw(whole.substr(0, 20)));
  ASSERT_TRUE(c.send_raw(whole.substr(20)));
  EXPECT_EQ(reply_reason(c), "halves");

  // Bad JSON, and a call that is not an object.
  ASSERT_TRUE(c.send_raw("{not json"s + '\0'));
  auto bad = c.reply();
  ASSERT_TRUE(bad);
  EXPECT_EQ((*bad)["error"], "io.guardd.Guard.InvalidRequest") << *bad;
  ASSERT_TRUE(c.send_raw("[]"s + '\0'));
  auto array = c.reply();
  ASSERT_TRUE(array);
  EXPECT_EQ((*array)["error"], "io.guardd.Guard.InvalidRequest") << *array;

  // A oneway call (recorded, no reply), then a call that is answered.
  json oneway = check_call("oneway");
  oneway["oneway"] = true;
  ASSERT_TRUE(c.send_raw(check_call("before").dump() + '\0'));
  ASSERT_EQ(reply_reason(c), "before");
  ASSERT_TRUE(c.send_raw(oneway.dump() + '\0'));
  ASSERT_TRUE(c.send_raw(check_call("after").dump() + '\0'));
  EXPECT_EQ(reply_reason(c), "after") << "the oneway call got no reply";
  ASSERT_TRUE(c.call("io.guardd.Guard.GetStatus"));
  auto status = c.reply();
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["parameters"]["audit"]["last_decision_id"], 7)
      << "first, a, b, halves, before, oneway, after";

  // An oversize message is refused and the connection closed.
  ASSERT_TRUE(c.send_raw(check_call("x").dump() + '\0'));
  ASSERT_EQ(reply_reason(c), "x");
  const std::string huge = oversize_call();
  c.send_raw(huge + '\0');  // the server may close before taking it all
  auto over = c.reply();
  ASSERT_TRUE(over);
  EXPECT_NE((*over)["parameters"]["reason"].get<std::string>().find("exceeds 65536 bytes"),
            std::string::npos)
      << *over;
  EXPECT_TRUE(c.closed_by_peer());
  expect_alive(g);
}

// Each decision is announced — a log line here, where stderr is not the journal — once its
// reply is sent, also for calls a worker takes one after another on a connection.
TEST(Protocol, EveryDecisionIsLoggedAfterItsReply) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.send_raw(check_call(std::to_string(i)).dump() + '\0'));
    ASSERT_EQ(reply_reason(c), std::to_string(i));
  }
  for (int id = 1; id <= 3; ++id)
    EXPECT_TRUE(wait_until([&] {
      return g.log().find(fmt::format("decision {}: reboot allowed for uid", id)) !=
             std::string::npos;
    })) << id
        << "\n"
        << g.log();
}

// Connections guardd holds on `socket`: /proc/net/unix names the path on the listening
// socket and on each accepted one (never on the clients' ends).
int connections_held(const std::string& socket) {
  int n = 0;
  std::istringstream lines(read_file("/proc/net/unix"));
  for (std::string line; std::getline(lines, line);)
    if (line.size() > socket.size() && line.ends_with(" " + socket)) ++n;
  return n - 1;  // the listening socket
}

// Many short connections that each ask once and close right after their answer (as
// guardctl does), and some that close without reading it: every call is recorded, and
// guardd lets go of every connection.
TEST(Protocol, ClientsThatCloseRightAfterTheirAnswerAreLetGo) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  for (int i = 0; i < 200; ++i) {
    RawClient c(g.socket());
    ASSERT_TRUE(c.send_raw(check_call(std::to_string(i)).dump() + '\0'));
    if (i % 2 == 0) {
      ASSERT_EQ(reply_reason(c), std::to_string(i));
    }
  }
  EXPECT_TRUE(wait_until([&] { return connections_held(g.socket()) == 0; }, 10s))
      << connections_held(g.socket()) << " connections still held";
  auto status = varlink_call(g.socket(), "io.guardd.Guard.GetStatus");
  EXPECT_EQ(status["parameters"]["audit"]["last_decision_id"], 200) << "each call recorded";
}

// Records `n` decisions through one connection, pipelined; their reasons are "0".."n-1".
void record_decisions(Guardd& g, int n) {
  RawClient c(g.socket());
  std::string batch;
  for (int i = 0; i < n; ++i)
    batch += json{{"method", "io.guardd.Guard.Check"},
                  {"parameters", {{"operation", "reboot"}, {"reason", std::to_string(i)}}}}
                 .dump() +
             '\0';
  ASSERT_TRUE(c.send_raw(batch));
  for (int i = 0; i < n; ++i) ASSERT_TRUE(c.reply()) << i;
}

std::string list_call(int limit) {
  return json{{"method", "io.guardd.Guard.ListDecisions"}, {"parameters", {{"limit", limit}}}}
             .dump() +
         '\0';
}

// A reply of about a megabyte does not fit the socket's buffer: the part the worker cannot
// send at once is finished by the event loop, intact and in order.
TEST(Protocol, ReplyLargerThanTheSocketBufferArrivesWhole) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  record_decisions(g, 1200);
  RawClient c(g.socket());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(c.send_raw(list_call(1200)));
    auto r = c.reply();
    ASSERT_TRUE(r) << round;
    const auto& decisions = (*r)["parameters"]["decisions"];
    ASSERT_EQ(decisions.size(), 1200u);
    for (int i = 0; i < 1200; ++i) ASSERT_EQ(decisions[i]["reason"], std::to_string(i)) << i;
  }
}

// A client that asks and never reads is cut off once 16 MiB wait for it; others are served.
TEST(Protocol, ClientThatNeverReadsIsCutOffAndStallsNoOne) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  record_decisions(g, 1200);
  RawClient hog(g.socket());
  std::string calls;
  for (int i = 0; i < 40; ++i) calls += list_call(1200);  // about 40 MiB of replies
  ASSERT_TRUE(hog.send_raw(calls));
  // Some 17 lists of 1,200 decisions are answered first: allow for sanitizer builds.
  EXPECT_TRUE(wait_until(
      [&] { return g.log().find("does not read its replies") != std::string::npos; }, 120s))
      << g.log();
  expect_alive(g);
}

TEST(Protocol, OnewayGetsNoReplyButIsRecorded) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  json call = {{"method", "io.guardd.Guard.Check"},
               {"parameters", {{"operation", "reboot"}}},
               {"oneway", true}};
  ASSERT_TRUE(c.send_raw(call.dump() + '\0'));
  ASSERT_TRUE(c.call("io.guardd.Guard.GetStatus"));
  auto r = c.reply();
  ASSERT_TRUE(r);
  EXPECT_TRUE((*r)["parameters"].contains("version")) << "the first reply is GetStatus's";
  EXPECT_EQ((*r)["parameters"]["audit"]["last_decision_id"], 1);
}

TEST(Protocol, OversizeMessageIsRefusedAndClosed) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  RawClient c(g.socket());
  const std::string huge = oversize_call();
  c.send_raw(huge + '\0');  // the server may close before taking it all
  auto r = c.reply();
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)["error"], "io.guardd.Guard.InvalidRequest");
  EXPECT_NE((*r)["parameters"]["reason"].get<std::string>().find("exceeds 65536 bytes"),
            std::string::npos);
  EXPECT_TRUE(c.closed_by_peer());
  expect_alive(g);
}

TEST(Protocol, UnterminatedMessageThenCloseDoesNotHurt) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  {
    RawClient c(g.socket());
    ASSERT_TRUE(c.send_raw("{\"method\":\"io.guardd.Guard.Check\""));
  }
  expect_alive(g);
}

TEST(Protocol, SilentClientIsClosedAtIdleTimeoutAndStallsNoOne) {
  Guardd g("idle_timeout = 2s\n");
  ASSERT_TRUE(g.start()) << g.log();
  RawClient silent(g.socket());
  ASSERT_TRUE(silent.connected());
  RawClient dribbler(g.socket());
  ASSERT_TRUE(dribbler.send_raw("{\"meth"));
  auto start = Clock::now();
  expect_alive(g);
  EXPECT_LT(Clock::now() - start, 1500ms) << "others were not served while those two hung";
  EXPECT_TRUE(silent.closed_by_peer(10000ms));
  EXPECT_TRUE(dribbler.closed_by_peer(10000ms));
  EXPECT_GE(Clock::now() - start, 1900ms) << "closed before the idle timeout (2s)";
}

TEST(Protocol, TwoHundredConcurrentClients) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  constexpr int kClients = 200;
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<RawClient>(g.socket()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  // All connected at once, then all ask at once, each from its own thread.
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      if (!clients[i]->call("io.guardd.Guard.Check", {{"operation", "reboot"}})) return;
      auto r = clients[i]->reply(30000ms);
      if (r && (*r)["parameters"]["allowed"] == true) ++allowed;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), kClients);
  auto log = varlink_call(g.socket(), "io.guardd.Guard.ListDecisions", {{"limit", 1000}});
  EXPECT_EQ(log["parameters"]["decisions"].size(), static_cast<size_t>(kClients));
  expect_alive(g);
}

TEST(Protocol, GarbageFloodLeavesTheDaemonAlive) {
  Guardd g;
  ASSERT_TRUE(g.start()) << g.log();
  std::mt19937 rng(42);
  for (int conn = 0; conn < 20; ++conn) {
    RawClient c(g.socket());
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(rng()));
    c.send_raw(junk);
  }
  expect_alive(g);
}

}  // namespace
}  // namespace guardd::test
