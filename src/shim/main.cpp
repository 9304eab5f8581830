// guardd-shim: stands in for reboot, poweroff, halt, shutdown, wipefs, blkdiscard and
// sgdisk (installed under their names, the real tools diverted to NAME.guardd-real), asks
// guardd, and runs the real tool only when allowed. It fails closed: no daemon, a timeout
// or an error refuses; -f/--force flags and environment variables change nothing; a form
// of the tool's options it cannot read is refused, not passed on (shim/shim_args.h).
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/device_path.h"
#include "ctl/client.h"
#include "guardd/protocol.h"
#include "shim/shim_args.h"

namespace {

namespace fs = std::filesystem;
using guardd::ctl::Client;

// Exit codes, as guardctl check's: the shimmed tool's own codes never mean "guardd said no".
constexpr int kRefused = 1;
constexpr int kUsage = 2;
constexpr int kUnavailable = 3;
constexpr int kCannotExec = 126;

constexpr auto kTimeout = std::chrono::seconds(10);

// The directory the tool was run from: argv[0]'s, or the PATH entry that holds it.
std::string invoked_dir(const std::string& argv0) {
  if (argv0.find('/') != std::string::npos) return fs::path(argv0).parent_path().string();
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    std::error_code ec;
    if (!dir.empty() && fs::exists(dir + "/" + argv0, ec) &&
        fs::equivalent(dir + "/" + argv0, "/proc/self/exe", ec))
      return dir;
    start = end + 1;
  }
  return "/usr/sbin";
}

[[noreturn]] void exec_real(const std::string& real, const std::string& argv0,
                            const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(argv0.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execv(real.c_str(), argv.data());
  fmt::print(stderr, "{}: cannot run the real tool {}: {}\n", argv0, real, std::strerror(errno));
  std::exit(kCannotExec);
}

// A shutdown for later is decided again by guardd while logind holds it; without logind
// systemd would not wait either, but shut down at once.
guardd::Status logind_reachable() {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r >= 0) r = sd_bus_set_method_call_timeout(bus, 2'000'000);
  sd_bus_error error = SD_BUS_ERROR_NULL;
  if (r >= 0)
    r = sd_bus_call_method(bus, "org.freedesktop.login1", "/org/freedesktop/login1",
                           "org.freedesktop.DBus.Peer", "Ping", &error, nullptr, "");
  std::string why = r < 0 ? (error.message ? error.message : std::strerror(-r)) : "";
  sd_bus_error_free(&error);
  sd_bus_flush_close_unref(bus);
  if (r < 0) return guardd::Error{fmt::format("logind is not reachable ({})", why)};
  return guardd::ok_status();
}

// Asks guardd about one operation/target; prints why when not allowed.
int ask(const std::string& tool, const guardd::shim::Plan& plan, const std::string* target) {
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  std::string subject = plan.operation + (target ? " " + *target : "");
  auto client = Client::connect(std::string(guardd::protocol::kDefaultSocket), deadline);
  if (!client) {
    fmt::print(stderr, "{}: refused: guardd is unavailable ({}); not running {}\n", tool,
               client.error(), tool);
    return kUnavailable;
  }
  nlohmann::json params = {{"operation", plan.operation}};
  if (target) params["target"] = *target;
  if (plan.reason) params["reason"] = *plan.reason;
  if (plan.force) params["force"] = true;
  auto reply = client->call("io.guardd.Guard.Check", params, deadline);
  if (!reply) {
    fmt::print(stderr, "{}: refused: guardd did not answer ({})\n", tool, reply.error());
    return kUnavailable;
  }
  if (!reply->error.empty()) {
    fmt::print(stderr, "{}: refused: {}\n", tool, reply->reason());
    if (reply->error == guardd::protocol::kErrInvalidRequest ||
        reply->error == guardd::protocol::kErrInvalidParameter)
      return kUsage;
    if (reply->error == guardd::protocol::kErrPermissionDenied) return kRefused;
    return kUnavailable;
  }
  const auto& d = reply->parameters["decision"];
  if (reply->parameters.value("allowed", false)) {
    if (d.value("verdict", "") == "forced")
      fmt::print(stderr, "{}: guardd decision {}: {} forced past its vetoes\n", tool,
                 d.value("id", 0), subject);
    return 0;
  }
  fmt::print(stderr, "{}: guardd refused {} (decision {}):\n", tool, subject, d.value("id", 0));
  for (const auto& c : d.value("checks", nlohmann::json::array()))
    if (c.value("outcome", "") != "pass")
      fmt::print(stderr, "  {}: {}: {}\n", c.value("name", ""), c.value("outcome", ""),
                 c.value("reason", ""));
  return kRefused;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string argv0 = argv[0];
  const std::string tool = fs::path(argv0).filename().string();
  if (!guardd::shim::is_shimmed_tool(tool)) {
    fmt::print(stderr,
               "guardd-shim: install me as reboot, poweroff, halt, shutdown, wipefs, "
               "blkdiscard or sgdisk, not as '{}'\n",
               tool);
    return kUsage;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  auto plan = guardd::shim::plan_for(tool, args);
  if (!plan) {
    fmt::print(stderr, "{}: {}; not running {}\n", tool, plan.error(), tool);
    return kUsage;
  }
  // getopt and popt stop at the first operand when these are set; the shim read the
  // arguments with permutation, so the real tool must too.
  unsetenv("POSIXLY_CORRECT");
  unsetenv("POSIX_ME_HARDER");
  const std::string real = invoked_dir(argv0) + "/" + tool + ".guardd-real";
  if (plan->pass_through) exec_real(real, argv0, plan->real_argv);
  if (plan->force && geteuid() != 0) {
    fmt::print(stderr, "{}: --guardd-force is for root only\n", tool);
    return kRefused;
  }
  if (plan->delayed) {
    auto logind = logind_reachable();
    if (!logind) {
      fmt::print(stderr,
                 "{}: refused: a shutdown for later needs logind, which guardd watches to decide "
                 "it again when it is due, and {}; not running {} (use 'now')\n",
                 tool, logind.error(), tool);
      return kRefused;
    }
  }
  // Decide the nodes the tool will open, resolved once, and hand the tool those nodes:
  // a symlink flipped after the decision then changes nothing.
  std::vector<guardd::ResolvedDevice> devices;
  for (const auto& t : plan->targets) {
    auto device = guardd::resolve_device(t.path);
    if (!device) {
      fmt::print(stderr, "{}: refused: {}; not running {}\n", tool, device.error(), tool);
      return kUsage;
    }
    devices.push_back(std::move(*device));
  }
  if (devices.empty()) {
    int rc = ask(tool, *plan, nullptr);
    if (rc != 0) return rc;
  }
  std::vector<std::string> resolved;
  for (const auto& d : devices) {
    int rc = ask(tool, *plan, &d.path);
    if (rc != 0) return rc;
    resolved.push_back(d.path);
  }
  for (const auto& d : devices) {
    auto same = guardd::verify_unchanged(d);
    if (!same) {
      fmt::print(stderr, "{}: refused: {}; not running {}\n", tool, same.error(), tool);
      return kRefused;
    }
  }
  exec_real(real, argv0,
            guardd::shim::with_resolved_targets(plan->real_argv, plan->targets, resolved));
}
