// guardctl: ask guardd before destructive operations, and administer it.
#include <getopt.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/duration.h"
#include "ctl/commands.h"
#include "guardd/protocol.h"
#include "guardd_version.h"

namespace guardd::ctl {
namespace {

constexpr const char* kUsage = R"(Usage:
  guardctl [GLOBAL OPTIONS] check OPERATION [--target DEV] [--reason TEXT]
                                  [--force] [--dry-run] [--json]
  guardctl [GLOBAL OPTIONS] run OPERATION [--target DEV] [--reason TEXT] -- COMMAND [ARG...]
  guardctl [GLOBAL OPTIONS] status [--json]
  guardctl [GLOBAL OPTIONS] log [--since WHEN] [--until WHEN] [--operation OP]
                                [--verdict V] [--limit N] [--json]
  guardctl [GLOBAL OPTIONS] hold --reason TEXT [--operation OP]... [--json]
  guardctl [GLOBAL OPTIONS] release HOLD_ID [--json]
  guardctl [GLOBAL OPTIONS] datadirs [--json]
  guardctl [GLOBAL OPTIONS] retire DATADIR --reason TEXT [--json]

Ask guardd whether a destructive operation may go ahead on this host now, and
administer its holds and audit log.

Commands:
  check OPERATION   Ask guardd. OPERATION is reboot, poweroff, reinstall, wipe,
                    decommission, or a site operation from guardd.conf. Prints the
                    verdict and one line per check: name, outcome, reason.
  run OPERATION -- COMMAND [ARG...]
                    Ask guardd and execute COMMAND only when allowed; the verdict
                    goes to stderr. Exits with COMMAND's status, or one of run's own
                    codes below.
  status            Version, configured checks, active holds, audit log health.
  log               Recorded decisions, oldest first (the newest --limit of them).
  hold              Place a hold: guardd refuses the operations (default: all) until
                    it is released. Root or guardd's admin_group only.
  release HOLD_ID   Release a hold. Root or guardd's admin_group only.
  datadirs          The MySQL/MariaDB datadirs guardd has seen in use and keeps
                    protected while they hold data, running or not: server, socket,
                    port, role, filesystem UUID and device, first and last seen.
  retire DATADIR    Forget a remembered datadir whose data was moved or destroyed on
                    purpose (the reason is recorded). It is protected again once seen
                    in use, or while an option file names it and it holds data.
                    Root or guardd's admin_group only.

Options:
  -t, --target DEV       The device a wipe is aimed at (required for wipe).
  -r, --reason TEXT      Why: recorded with the decision; required with --force, hold
                         and retire.
  -f, --force            Override a refusal (root or admin_group, needs --reason and
                         allow_force = yes). The vetoes are still recorded.
  -n, --dry-run          Evaluate and record, grant nothing; exit as the verdict would.
  -s, --since WHEN       log: decisions at or after WHEN.
  -u, --until WHEN       log: decisions at or before WHEN.
  -o, --operation OP     log: only this operation; hold: cover OP (repeatable).
  -V, --verdict V        log: allowed, refused, forced, denied or invalid.
  -l, --limit N          log: at most N decisions (default 100, at most 10000).
  -j, --json             Print guardd's reply as JSON, unchanged.

Global options:
      --socket PATH      guardd's socket (default $GUARDD_SOCKET, else
                         /run/guardd/guardd.sock).
      --timeout DURATION Give up waiting for guardd after DURATION (default 10s;
                         500ms, 5s, 1min ...). Giving up counts as unavailable.
  -h, --help             Print this help.
      --version          Print the version.

WHEN is ISO 8601 (2026-11-26, 2026-11-26T10:00, 2026-11-26T10:00:00Z, with an
offset such as +01:00; local time without one), @EPOCH_SECONDS, now, today,
yesterday, or a time ago (30min, 2h, 7d).

Exit status of check, status, log, hold, release, datadirs and retire:
  0  allowed (check) or done
  1  refused: a check vetoed or errored, permission denied, or no such hold or
     remembered datadir
  2  usage error, or guardd rejected the request as invalid
  3  guardd unavailable or unable to decide (not running, timed out, audit log
     unavailable): callers must treat this as refused
Exit status of run:
  COMMAND's own status when allowed
  120  refused by guardd; COMMAND not run
  121  guardd unavailable or unable to decide; COMMAND not run
  122  usage error or invalid request; COMMAND not run
  126  allowed, but COMMAND cannot be executed
  127  allowed, but COMMAND was not found

Examples:
  guardctl check reboot
  guardctl check wipe --target /dev/disk/by-id/ata-EXAMPLE --reason "RMA"
  guardctl run reinstall --reason "ticket 4711" -- /usr/local/sbin/reimage
  guardctl hold --reason "schema migration until 18:00" --operation reboot
  guardctl log --since 1d --verdict refused
  guardctl retire /srv/mysql --reason "moved to db7, ticket 4712"
)";

enum Opt { kSocket = 1000, kTimeout, kVersion };

// Which options each command accepts (global options are accepted by all).
const std::map<std::string, std::set<int>> kCommandOptions = {
    {"check", {'t', 'r', 'f', 'n', 'j'}},
    {"run", {'t', 'r'}},
    {"status", {'j'}},
    {"log", {'s', 'u', 'o', 'V', 'l', 'j'}},
    {"hold", {'r', 'o', 'j'}},
    {"release", {'j'}},
    {"datadirs", {'j'}},
    {"retire", {'r', 'j'}},
};

const std::map<std::string, std::size_t> kPositionals = {
    {"check", 1}, {"run", 1},     {"status", 0},   {"log", 0},
    {"hold", 0},  {"release", 1}, {"datadirs", 0}, {"retire", 1}};

// `run` reports usage errors with its own code, so a caller never mistakes them for COMMAND's.
int g_usage_exit = kExitUsage;

[[noreturn]] void usage_error(const std::string& message) {
  fmt::print(stderr, "guardctl: {}\nTry 'guardctl --help' for more information.\n", message);
  std::exit(g_usage_exit);
}

Invocation parse(int argc, char** argv) {
  Invocation inv;
  const char* env_socket = std::getenv("GUARDD_SOCKET");
  inv.socket = env_socket && *env_socket ? env_socket : std::string(protocol::kDefaultSocket);
  inv.timeout = std::chrono::seconds(10);

  // `run` passes everything after "--" to COMMAND untouched.
  std::vector<char*> args(argv, argv + argc);
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (std::strcmp(args[i], "--") == 0) {
      for (std::size_t j = i + 1; j < args.size(); ++j) inv.exec_argv.emplace_back(args[j]);
      args.resize(i);
      break;
    }
  }
  for (std::size_t i = 1; i < args.size(); ++i)
    if (std::strcmp(args[i], "run") == 0) g_usage_exit = kRunUsage;
  args.push_back(nullptr);

  static const option kLong[] = {{"target", required_argument, nullptr, 't'},
                                 {"reason", required_argument, nullptr, 'r'},
                                 {"force", no_argument, nullptr, 'f'},
                                 {"dry-run", no_argument, nullptr, 'n'},
                                 {"since", required_argument, nullptr, 's'},
                                 {"until", required_argument, nullptr, 'u'},
                                 {"operation", required_argument, nullptr, 'o'},
                                 {"verdict", required_argument, nullptr, 'V'},
                                 {"limit", required_argument, nullptr, 'l'},
                                 {"json", no_argument, nullptr, 'j'},
                                 {"socket", required_argument, nullptr, kSocket},
                                 {"timeout", required_argument, nullptr, kTimeout},
                                 {"help", no_argument, nullptr, 'h'},
                                 {"version", no_argument, nullptr, kVersion},
                                 {nullptr, 0, nullptr, 0}};
  std::vector<int> seen;
  int c;
  int count = static_cast<int>(args.size()) - 1;
  while ((c = getopt_long(count, args.data(), "t:r:fns:u:o:V:l:jh", kLong, nullptr)) != -1) {
    switch (c) {
      case 't':
        inv.target = optarg;
        break;
      case 'r':
        inv.reason = optarg;
        break;
      case 'f':
        inv.force = true;
        break;
      case 'n':
        inv.dry_run = true;
        break;
      case 's':
        inv.since = optarg;
        break;
      case 'u':
        inv.until = optarg;
        break;
      case 'o':
        inv.operations.emplace_back(optarg);
        break;
      case 'V':
        inv.verdict = optarg;
        break;
      case 'l': {
        char* end = nullptr;
        long n = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || n < 1)
          usage_error(fmt::format("--limit: '{}' is not a positive number", optarg));
        inv.limit = n;
        break;
      }
      case 'j':
        inv.json = true;
        break;
      case kSocket:
        inv.socket = optarg;
        break;
      case kTimeout: {
        auto d = parse_duration(optarg);
        if (!d || d->count() <= 0)
          usage_error(fmt::format("--timeout: {}", d ? "must be positive" : d.error()));
        inv.timeout = *d;
        break;
      }
      case 'h':
        std::fputs(kUsage, stdout);
        std::exit(0);
      case kVersion:
        fmt::print("guardctl {}\n", GUARDD_VERSION);
        std::exit(0);
      default:
        fmt::print(stderr, "Try 'guardctl --help' for more information.\n");
        std::exit(g_usage_exit);
    }
    seen.push_back(c);
  }
  std::vector<std::string> rest(args.begin() + optind, args.begin() + count);
  if (rest.empty()) usage_error("no command given");
  inv.command = rest[0];
  auto allowed = kCommandOptions.find(inv.command);
  if (allowed == kCommandOptions.end())
    usage_error(fmt::format("unknown command '{}'", inv.command));
  for (int opt : seen) {
    if (opt == kSocket || opt == kTimeout) continue;
    if (!allowed->second.count(opt)) {
      std::string name;
      for (const auto& o : kLong)
        if (o.val == opt && o.name) name = o.name;
      usage_error(fmt::format("{} does not take --{}", inv.command, name));
    }
  }
  inv.positional.assign(rest.begin() + 1, rest.end());
  std::size_t want = kPositionals.at(inv.command);
  if (inv.positional.size() < want) usage_error(fmt::format("{} needs an argument", inv.command));
  if (inv.positional.size() > want)
    usage_error(fmt::format("unexpected argument '{}'", inv.positional[want]));
  if (inv.command == "run" && inv.exec_argv.empty()) usage_error("run needs -- COMMAND [ARG...]");
  if (inv.command != "run" && !inv.exec_argv.empty())
    usage_error(fmt::format("{} takes no -- COMMAND", inv.command));
  if (inv.command == "hold" && (!inv.reason || inv.reason->empty()))
    usage_error("hold needs --reason TEXT");
  if (inv.command == "retire" && (!inv.reason || inv.reason->empty()))
    usage_error("retire needs --reason TEXT");
  if (inv.force && (!inv.reason || inv.reason->empty())) usage_error("--force needs --reason TEXT");
  return inv;
}

}  // namespace
}  // namespace guardd::ctl

int main(int argc, char** argv) {
  using namespace guardd::ctl;
  Invocation inv = parse(argc, argv);
  if (inv.command == "check") return check_command(inv);
  if (inv.command == "run") return run_command(inv);
  if (inv.command == "status") return status_command(inv);
  if (inv.command == "log") return log_command(inv);
  if (inv.command == "hold") return hold_command(inv);
  if (inv.command == "datadirs") return datadirs_command(inv);
  if (inv.command == "retire") return retire_command(inv);
  return release_command(inv);
}
