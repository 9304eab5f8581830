// guardd: the guard daemon. Runs in the foreground under systemd or a terminal alike.
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/procfs.h"
#include "daemon/audit_store.h"
#include "daemon/config.h"
#include "daemon/config_values.h"
#include "daemon/inhibitor.h"
#include "daemon/listen_socket.h"
#include "daemon/logging.h"
#include "daemon/policy.h"
#include "daemon/scheduled_shutdown.h"
#include "daemon/server.h"
#include "daemon/service.h"
#include "daemon/setup_problems.h"
#include "daemon/shutdown_block.h"
#include "daemon/worker_pool.h"
#include "guardd/protocol.h"
#include "guardd_version.h"
#include "plugins/hook/hook_orphans.h"

namespace guardd {
namespace {

constexpr int kExitConfig = 78;  // EX_CONFIG, as sysexits.h
constexpr int kExitFailure = 1;

constexpr const char* kUsage =
    R"(Usage: guardd [--config FILE] [--check-config | --reload PID] [--version] [--help]

guardd answers "may I reboot / power off / reinstall / wipe / decommission this
host now?" over a Varlink socket, after asking its checks about the host's live
state, and records every decision in an audit log before it answers.

Options:
  -c, --config FILE   Read FILE and then FILE.d/*.conf (default: /etc/guardd/guardd.conf).
      --check-config  Validate the configuration, print a summary and exit:
                      0 when valid, 78 (EX_CONFIG) with every problem as file:line.
                      Then each check tests its setup on this host now and warns of
                      what would make it refuse (e.g. a replica whose monitoring
                      account cannot log in to its source); warnings keep exit 0.
      --reload PID    Validate the configuration as --check-config does (without the
                      setup tests) and, only when it is valid, send SIGHUP to the guardd
                      running as PID. Exits 78 with every problem as file:line and
                      signals nothing when it is not, so `systemctl reload guardd`
                      (ExecReload=guardd --reload $MAINPID) fails and the configuration
                      in force stays. The daemon swaps the new one in right after.
      --version       Print the version and exit.
  -h, --help          Print this help and exit.

Signals:
  SIGHUP              Reload the configuration atomically; a bad one is reported and
                      the old one stays in force.
  SIGTERM, SIGINT     Stop accepting, finish the decisions in flight, exit.

The daemon takes its listening socket from systemd (socket activation) or binds the
configured one itself (mode 0660, group client_group). It never forks: run it under
systemd (Type=notify) or in a terminal. See guardd.conf(5) and guardctl(8).
)";

struct Options {
  std::string config_path{kDefaultConfigPath};
  bool check_config = false;
  pid_t reload_pid = 0;  // --reload: the daemon to signal once the config is valid
};

// Parses the command line; exits for --help, --version and usage errors.
Options parse_options(int argc, char** argv) {
  static const option kLong[] = {
      {"config", required_argument, nullptr, 'c'}, {"check-config", no_argument, nullptr, 'C'},
      {"reload", required_argument, nullptr, 'R'}, {"version", no_argument, nullptr, 'V'},
      {"help", no_argument, nullptr, 'h'},         {nullptr, 0, nullptr, 0}};
  Options opts;
  int c;
  while ((c = getopt_long(argc, argv, "c:h", kLong, nullptr)) != -1) {
    switch (c) {
      case 'c':
        opts.config_path = optarg;
        break;
      case 'C':
        opts.check_config = true;
        break;
      case 'R': {
        // As systemd passes $MAINPID: decimal, above 1 (never init, never a process group).
        auto pid = parse_integer(optarg, 2, INT32_MAX);
        opts.reload_pid = pid ? static_cast<pid_t>(*pid) : 0;
        if (opts.reload_pid == 0) {
          std::fprintf(stderr,
                       "guardd: --reload needs the daemon's pid (a number above 1), not '%s'\n"
                       "Try 'guardd --help'.\n",
                       optarg);
          std::exit(2);
        }
        break;
      }
      case 'V':
        std::printf("guardd %s\n", GUARDD_VERSION);
        std::exit(0);
      case 'h':
        std::fputs(kUsage, stdout);
        std::exit(0);
      default:
        std::fputs("Try 'guardd --help' for more information.\n", stderr);
        std::exit(2);
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "guardd: unexpected argument '%s'\nTry 'guardd --help'.\n", argv[optind]);
    std::exit(2);
  }
  if (opts.check_config && opts.reload_pid != 0) {
    std::fputs("guardd: --check-config and --reload exclude each other\nTry 'guardd --help'.\n",
               stderr);
    std::exit(2);
  }
  return opts;
}

// Reads the configuration at `path` and builds its policy; errors name file:line.
Result<std::shared_ptr<const Policy>> load_policy(const std::string& path,
                                                  const CheckServices& services) {
  auto config = load_config(path);
  if (!config) return Error{config.error()};
  return build_policy(*config, services);
}

int check_config(const std::string& path) {
  auto policy = load_policy(path, CheckServices{});
  if (!policy) {
    std::fprintf(stderr, "%s\n", policy.error().c_str());
    return kExitConfig;
  }
  for (const auto& w : (*policy)->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%s: OK (%zu files)\n", path.c_str(), (*policy)->config.files.size());
  for (const auto& c : (*policy)->checks)
    std::printf("  check %-22s type %-18s %s  %s\n", c.name.c_str(), c.type.c_str(),
                c.enabled ? "enabled " : "disabled",
                fmt::format("{}", fmt::join(c.operations, ",")).c_str());
  // The setup as it works on this host now: problems are warnings, the config is valid.
  WorkerPool workers(0);
  const auto deadline =
      std::chrono::steady_clock::now() + (*policy)->config.daemon.decision_timeout;
  for (const auto& report : find_setup_problems((*policy)->checks, deadline, workers))
    for (const auto& problem : report.problems)
      std::fprintf(stderr, "warning: check %s: %s\n", report.check.c_str(), problem.c_str());
  std::fflush(stderr);
  return 0;
}

int reload_daemon(const std::string& path, pid_t pid) {
  auto policy = load_policy(path, CheckServices{});
  if (!policy) {
    std::fprintf(stderr, "%s\nguardd: not reloaded; the configuration in force stays\n",
                 policy.error().c_str());
    return kExitConfig;
  }
  for (const auto& w : (*policy)->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  // SIGHUP ends a process that does not handle it: make sure the pid is a guardd.
  auto comm = procfs::read_comm(pid);
  if (comm != "guardd") {
    std::fprintf(stderr, "guardd: pid %d is not a running guardd (%s); nothing signalled\n",
                 static_cast<int>(pid), comm ? comm->c_str() : "no such process");
    return kExitFailure;
  }
  if (kill(pid, SIGHUP) != 0) {
    std::fprintf(stderr, "guardd: cannot signal pid %d to reload: %s\n", static_cast<int>(pid),
                 std::strerror(errno));
    return kExitFailure;
  }
  return 0;
}

// Workers kept parked between calls: enough for a few clients' calls and their checks;
// bursts beyond it start threads that exit when done.
constexpr std::size_t kParkedWorkers = 16;

struct Daemon {
  std::string config_path;
  std::unique_ptr<WorkerPool> workers = std::make_unique<WorkerPool>(kParkedWorkers);
  std::shared_ptr<AuditStore> store;
  std::unique_ptr<PolicyHolder> policy;
  std::unique_ptr<Service> service;
  std::unique_ptr<Server> server;
  std::unique_ptr<ScheduledShutdownGuard> schedule_guard;  // runs on the inhibitor's thread
  std::unique_ptr<Inhibitor> inhibitor;
  std::unique_ptr<ScheduleFileWatch> schedule_watch;  // pokes the inhibitor
  sd_event* event = nullptr;
  sd_event_source* stop_timer = nullptr;
};

void notify_status(const Daemon& d, const char* prefix) {
  auto p = d.policy->get();
  sd_notifyf(0, "%sSTATUS=Serving; %zu checks configured", prefix, p->checks.size());
}

void reload(Daemon& d) {
  sd_notifyf(
      0, "RELOADING=1\nMONOTONIC_USEC=%llu",
      static_cast<unsigned long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count()));
  auto policy = load_policy(d.config_path, CheckServices{d.store, d.store});
  if (!policy) {
    spdlog::error("Reload failed; keeping the configuration in force:\n{}", policy.error());
    notify_status(d, "READY=1\n");
    return;
  }
  auto old = d.policy->get();
  for (const char* key : {"socket", "database"}) {
    bool changed = std::string(key) == "socket"
                       ? old->config.daemon.socket != (*policy)->config.daemon.socket
                       : old->config.daemon.database != (*policy)->config.daemon.database;
    if (changed) spdlog::warn("Changing '{}' takes effect only after a restart", key);
  }
  for (const auto& w : (*policy)->warnings) spdlog::warn("{}", w);
  set_log_level((*policy)->config.daemon.log_level);
  d.policy->set(*policy);
  if (d.inhibitor) d.inhibitor->poke();  // the new policy may start or stop blocking shutdown
  spdlog::info("Configuration reloaded: {} checks", (*policy)->checks.size());
  notify_status(d, "READY=1\n");
}

int on_signal(sd_event_source*, const signalfd_siginfo* si, void* userdata) {
  auto& d = *static_cast<Daemon*>(userdata);
  if (si->ssi_signo == SIGHUP) {
    reload(d);
    return 0;
  }
  if (d.stop_timer != nullptr) return 0;  // already stopping
  spdlog::info("Stopping: finishing {} decisions in flight", d.server->in_flight());
  sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
  d.server->shut_down([&d] { sd_event_exit(d.event, 0); });
  // Decisions end by their deadline; allow that plus a margin, then exit regardless.
  auto grace = d.policy->get()->config.daemon.decision_timeout + std::chrono::seconds(2);
  sd_event_add_time_relative(
      d.event, &d.stop_timer, CLOCK_MONOTONIC, static_cast<uint64_t>(grace.count()), 0,
      [](sd_event_source*, uint64_t, void* ud) {
        spdlog::warn("Stopping with calls still in flight after the grace period");
        return sd_event_exit(static_cast<sd_event*>(ud), 0);
      },
      d.event);
  return 0;
}

int run(const Options& opts) {
  // Blocked from the start, before the socket exists: a client may connect (and a reload
  // or stop be sent) as soon as it does, and until the event loop runs SIGHUP's default
  // action would kill guardd. Pending signals are handled once the loop starts.
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Daemon d;
  d.config_path = opts.config_path;
  auto config = load_config(opts.config_path);
  if (!config) {
    spdlog::critical("Invalid configuration:\n{}", config.error());
    return kExitConfig;
  }
  set_log_level(config->daemon.log_level);
  auto store = AuditStore::open(config->daemon.database);
  if (!store) {
    spdlog::critical("{}", store.error());
    return kExitFailure;
  }
  d.store = *store;
  auto policy = build_policy(*config, CheckServices{d.store, d.store});
  if (!policy) {
    spdlog::critical("Invalid configuration:\n{}", policy.error());
    return kExitConfig;
  }
  for (const auto& w : (*policy)->warnings) spdlog::warn("{}", w);
  d.policy = std::make_unique<PolicyHolder>(*policy);
  d.service = std::make_unique<Service>(d.store, *d.policy, *d.workers);

  auto listener = open_listen_socket(config->daemon.socket, (*policy)->client_gid);
  if (!listener) {
    spdlog::critical("{}", listener.error());
    return kExitFailure;
  }

  int r = sd_event_default(&d.event);
  if (r < 0) {
    spdlog::critical("Failed to create the event loop: {}", std::strerror(-r));
    return kExitFailure;
  }
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sd_event_add_signal(d.event, nullptr, s, on_signal, &d);
  sd_event_set_watchdog(d.event, true);

  PolicyHolder* holder = d.policy.get();
  d.server = std::make_unique<Server>(d.event, *d.service, *d.workers, [holder] {
    auto policy = holder->get();  // keep it alive: a reload may swap it meanwhile
    const auto& s = policy->config.daemon;
    return ServerLimits{protocol::kMaxMessageBytes, s.idle_timeout, s.max_connections_per_uid,
                        s.max_connections};
  });
  Status started = d.server->start(listener->fd);
  if (!started) {
    spdlog::critical("{}", started.error());
    return kExitFailure;
  }
  d.schedule_guard = std::make_unique<ScheduledShutdownGuard>(*d.service);
  try {
    d.inhibitor = std::make_unique<Inhibitor>(
        [holder, workers = d.workers.get()] {
          return evaluate_shutdown_block(*holder->get(), *workers);
        },
        [holder] {
          auto policy = holder->get();  // keep it alive: a reload may swap it meanwhile
          const auto& s = policy->config.daemon;
          return std::make_pair(s.inhibit, s.inhibit_interval);
        },
        [holder, guard = d.schedule_guard.get()](sd_bus* bus) {
          // The last decision is made this long before logind fires: a whole decision
          // and the cancellation fit in it.
          Micros margin = holder->get()->config.daemon.decision_timeout + std::chrono::seconds(2);
          return guard->round(bus, margin);
        });
  } catch (const std::system_error& e) {
    spdlog::critical("Failed to start the shutdown inhibitor's thread: {}", e.what());
    return kExitFailure;
  }
  d.schedule_watch = std::make_unique<ScheduleFileWatch>(
      d.event, [inhibit = d.inhibitor.get()] { inhibit->poke(); });
  d.service->prune_if_due();
  d.service->on_change([inhibit = d.inhibitor.get()](const Decision* decision) {
    // A hold changes what a reboot would meet; a decision only matters when it shows the
    // lock held (or not held) is out of date. Host state changing silently is caught by
    // the interval.
    if (decision == nullptr || contradicts_shutdown_block(*decision, *inhibit)) inhibit->poke();
  });
  spdlog::info("guardd {} ready on {} ({}), audit log {}, {} checks", GUARDD_VERSION,
               listener->activated ? "the socket passed by systemd" : listener->path,
               listener->activated ? "socket-activated" : "bound by guardd",
               config->daemon.database, (*policy)->checks.size());
  notify_status(d, "READY=1\n");

  r = sd_event_loop(d.event);
  if (r < 0) spdlog::error("Event loop failed: {}", std::strerror(-r));
  std::size_t abandoned = d.server->in_flight();
  d.server.reset();
  d.service->on_change(nullptr);
  d.schedule_watch.reset();
  if (abandoned == 0) d.inhibitor.reset();  // releases the lock before the store closes
  d.store->close();
  if (!listener->activated && !listener->path.empty()) unlink(listener->path.c_str());
  spdlog::info("guardd stopped");
  spdlog::shutdown();
  // Worker threads of calls still in flight reference the service: do not run destructors
  // under them.
  if (abandoned > 0) std::_Exit(r < 0 ? kExitFailure : 0);
  sd_event_unref(d.event);
  return r < 0 ? kExitFailure : 0;
}

}  // namespace
}  // namespace guardd

int main(int argc, char** argv) {
  auto opts = guardd::parse_options(argc, argv);
  if (opts.reload_pid != 0) return guardd::reload_daemon(opts.config_path, opts.reload_pid);
  if (opts.check_config) {
    // A setup test that overran may still run on an abandoned worker: leave without
    // running destructors under it.
    int rc = guardd::check_config(opts.config_path);
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  guardd::setup_logging();
  umask(077);  // the audit log is root's; guardctl is how others read it
  // glibc gives each busy thread a malloc arena of its own (up to 8 per core), and each
  // keeps what it once held: under 64 concurrent calls that was ~4 MiB that never went
  // back. Decisions allocate little; two arenas are plenty.
  mallopt(M_ARENA_MAX, 2);
  // A hook's child that leaves its process group (setsid) and is orphaned comes back to
  // guardd, to be killed when its decision ends (see HookOrphans), not to init.
  if (!guardd::hook::HookOrphans::become_subreaper())
    spdlog::warn(
        "cannot become the child subreaper ({}): a hook's child that leaves its process "
        "group may outlive its decision",
        std::strerror(errno));
  return guardd::run(opts);
}
