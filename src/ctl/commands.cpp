#include "ctl/commands.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/device_path.h"
#include "ctl/client.h"
#include "ctl/output.h"
#include "ctl/when.h"
#include "guardd/protocol.h"

namespace guardd::ctl {
namespace {
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// What a call came to, in terms of exit codes.
enum class CallStatus { Ok, Refused, Invalid, Unavailable };

struct CallResult {
  CallStatus status;
  Response response;
  std::string message;  // for anything but Ok
};

int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CallResult call_guardd(const Invocation& inv, const std::string& method, const json& params) {
  auto deadline = Clock::now() + inv.timeout;
  auto client = Client::connect(inv.socket, deadline);
  if (!client) return {CallStatus::Unavailable, {}, client.error()};
  auto response = client->call(method, params, deadline);
  if (!response) return {CallStatus::Unavailable, {}, response.error()};
  const std::string& e = response->error;
  if (e.empty()) return {CallStatus::Ok, *response, ""};
  if (e == protocol::kErrPermissionDenied)
    return {CallStatus::Refused, *response, "permission denied: " + response->reason()};
  if (e == protocol::kErrInvalidRequest || e == protocol::kErrInvalidParameter ||
      e == protocol::kErrMethodNotFound || e == protocol::kErrInterfaceNotFound)
    return {CallStatus::Invalid, *response, "invalid request: " + response->reason()};
  if (e == protocol::kErrAuditUnavailable)
    return {CallStatus::Unavailable, *response, "audit log unavailable: " + response->reason()};
  return {CallStatus::Unavailable, *response, fmt::format("{}: {}", e, response->reason())};
}

// Prints a failed call's reason (or the raw error reply with --json) and returns its exit code.
int report_failure(const Invocation& inv, const CallResult& r) {
  if (inv.json && !r.response.error.empty())
    fmt::print("{}\n",
               json{{"error", r.response.error}, {"parameters", r.response.parameters}}.dump());
  std::string note = r.status == CallStatus::Unavailable ? " (treat as refused)" : "";
  fmt::print(stderr, "guardctl: {}{}\n", r.message, note);
  switch (r.status) {
    case CallStatus::Refused:
      return kExitRefused;
    case CallStatus::Invalid:
      return kExitUsage;
    default:
      return kExitUnavailable;
  }
}

json check_params(const Invocation& inv) {
  json p = {{"operation", inv.positional.at(0)}};
  if (inv.target) p["target"] = *inv.target;
  if (inv.reason) p["reason"] = *inv.reason;
  if (inv.force) p["force"] = true;
  if (inv.dry_run) p["dry_run"] = true;
  return p;
}

// Asks guardd; returns the exit code of `check` and prints what check prints.
int ask(const Invocation& inv, std::FILE* out) {
  CallResult r = call_guardd(inv, "io.guardd.Guard.Check", check_params(inv));
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  const json& p = r.response.parameters;
  bool allowed = p.value("allowed", false);
  if (!p.contains("decision") || !p["decision"].is_object()) {
    fmt::print(stderr, "guardctl: guardd's reply has no decision (treat as refused)\n");
    return kExitUnavailable;
  }
  if (inv.json)
    fmt::print(out, "{}\n", p.dump());
  else
    print_check(out, p["decision"], allowed);
  return allowed ? kExitAllowed : kExitRefused;
}

}  // namespace

int check_command(const Invocation& inv) {
  return ask(inv, stdout);
}

int run_command(const Invocation& inv) {
  // With --target, guardd decides the node the target resolves to now, and COMMAND gets
  // that node wherever it names the target (an argument equal to it, or ending in
  // "=TARGET" as dd's of= does): a symlink flipped after the decision changes nothing.
  Invocation asked = inv;
  std::optional<ResolvedDevice> device;
  if (inv.target) {
    auto resolved = resolve_device(*inv.target);
    if (!resolved) {
      fmt::print(stderr, "guardctl: refused: {}; COMMAND not run\n", resolved.error());
      return kRunUsage;
    }
    device = std::move(*resolved);
    asked.target = device->path;
    for (auto& a : asked.exec_argv) {
      if (a == device->named)
        a = device->path;
      else if (a.size() > device->named.size() && a.ends_with("=" + device->named))
        a = a.substr(0, a.size() - device->named.size()) + device->path;
    }
  }
  // The verdict goes to stderr so COMMAND's stdout stays its own.
  int code = ask(asked, stderr);
  if (code == kExitRefused) return kRunRefused;
  if (code == kExitUsage) return kRunUsage;
  if (code != kExitAllowed) return kRunUnavailable;
  if (device) {
    Status same = verify_unchanged(*device);
    if (!same) {
      fmt::print(stderr, "guardctl: refused: {}; COMMAND not run\n", same.error());
      return kRunRefused;
    }
  }
  std::vector<char*> argv;
  for (const auto& a : asked.exec_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  int e = errno;
  fmt::print(stderr, "guardctl: cannot execute {}: {}\n", asked.exec_argv[0], std::strerror(e));
  return e == ENOENT ? kRunNotFound : kRunCannotExec;
}

int status_command(const Invocation& inv) {
  CallResult r = call_guardd(inv, "io.guardd.Guard.GetStatus", json::object());
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json)
    fmt::print("{}\n", r.response.parameters.dump());
  else
    print_status(stdout, r.response.parameters);
  return kExitAllowed;
}

int log_command(const Invocation& inv) {
  json p = json::object();
  int64_t now = wall_now_us();
  for (auto [value, key] : {std::pair{&inv.since, "since_us"}, std::pair{&inv.until, "until_us"}}) {
    if (!*value) continue;
    auto t = parse_when(**value, now);
    if (!t) {
      fmt::print(stderr, "guardctl: {}\n", t.error());
      return kExitUsage;
    }
    p[key] = *t;
  }
  if (inv.operations.size() > 1) {
    fmt::print(stderr, "guardctl: log takes one --operation\n");
    return kExitUsage;
  }
  if (!inv.operations.empty()) p["operation"] = inv.operations[0];
  if (inv.verdict) p["verdict"] = *inv.verdict;
  if (inv.limit) p["limit"] = *inv.limit;
  CallResult r = call_guardd(inv, "io.guardd.Guard.ListDecisions", p);
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json)
    fmt::print("{}\n", r.response.parameters.dump());
  else
    print_log(stdout, r.response.parameters.value("decisions", json::array()));
  return kExitAllowed;
}

int hold_command(const Invocation& inv) {
  json p = {{"reason", inv.reason.value_or("")}};
  if (!inv.operations.empty()) p["operations"] = inv.operations;
  CallResult r = call_guardd(inv, "io.guardd.Guard.PlaceHold", p);
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json)
    fmt::print("{}\n", r.response.parameters.dump());
  else
    fmt::print("Placed {}\n", describe_hold(r.response.parameters.value("hold", json::object())));
  return kExitAllowed;
}

int release_command(const Invocation& inv) {
  const std::string& text = inv.positional.at(0);
  char* end = nullptr;
  long long id = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || id <= 0) {
    fmt::print(stderr, "guardctl: '{}' is not a hold id\n", text);
    return kExitUsage;
  }
  CallResult r = call_guardd(inv, "io.guardd.Guard.ReleaseHold", {{"id", id}});
  if (r.status == CallStatus::Invalid && r.response.error == protocol::kErrInvalidRequest) {
    r.status = CallStatus::Refused;  // no such active hold: the request was well-formed
    r.message = r.response.reason();
  }
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json)
    fmt::print("{}\n", r.response.parameters.dump());
  else
    fmt::print("Released hold {}\n", id);
  return kExitAllowed;
}

int datadirs_command(const Invocation& inv) {
  CallResult r = call_guardd(inv, "io.guardd.Guard.ListDatadirs", json::object());
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json) {
    fmt::print("{}\n", r.response.parameters.dump());
    return kExitAllowed;
  }
  const json list = r.response.parameters.value("datadirs", json::array());
  if (list.empty()) fmt::print("No remembered datadirs.\n");
  for (const auto& d : list) fmt::print("{}\n", describe_datadir(d));
  return kExitAllowed;
}

int retire_command(const Invocation& inv) {
  const std::string& datadir = inv.positional.at(0);
  CallResult r = call_guardd(inv, "io.guardd.Guard.RetireDatadir",
                             {{"datadir", datadir}, {"reason", inv.reason.value_or("")}});
  if (r.status == CallStatus::Invalid && r.response.error == protocol::kErrInvalidRequest) {
    r.status = CallStatus::Refused;  // not remembered: the request was well-formed
    r.message = r.response.reason();
  }
  if (r.status != CallStatus::Ok) return report_failure(inv, r);
  if (inv.json)
    fmt::print("{}\n", r.response.parameters.dump());
  else
    fmt::print(
        "Retired {}: no longer protected unless seen in use again or named by an "
        "option file\n",
        datadir);
  return kExitAllowed;
}

}  // namespace guardd::ctl
