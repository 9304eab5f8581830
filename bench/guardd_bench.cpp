// guardd-bench: measures Check round trips against a running guardd, or one it starts
// itself on a temporary socket and database with the hold check only.
#include <getopt.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctl/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using guardd::ctl::Client;

constexpr const char* kUsage =
    R"(Usage: guardd-bench [--socket PATH | --guardd BINARY] [--requests N]
                    [--clients LIST] [--operation OP] [--json-out FILE]

Sends Check calls over persistent connections and reports latency percentiles and
throughput for each client count.

  --socket PATH      Benchmark the guardd answering on PATH.
  --guardd BINARY    Start BINARY on a temporary socket and database (hold check only).
                     Default: ./guardd next to this program.
  --requests N       Requests per client count (default 1000).
  --clients LIST     Comma-separated concurrent client counts (default 1,8,64).
  --operation OP     Operation to ask about (default reboot).
  --json-out FILE    Also write the results as JSON.
)";

struct Options {
  std::string socket;
  std::string guardd;
  int requests = 1000;
  std::vector<int> clients = {1, 8, 64};
  std::string operation = "reboot";
  std::string json_out;
};

struct Row {
  int clients;
  int requests;
  int failures;
  double p50_us, p99_us, p999_us, max_us, throughput;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

Row run(const Options& o, int clients) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> failures{0};
  std::atomic<int> next{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto conn = Client::connect(o.socket, Clock::now() + std::chrono::seconds(10));
      if (!conn) {
        failures += 1;
        return;
      }
      nlohmann::json params = {{"operation", o.operation}, {"reason", "guardd-bench"}};
      while (next.fetch_add(1) < o.requests) {
        auto t0 = Clock::now();
        auto r = conn->call("io.guardd.Guard.Check", params, t0 + std::chrono::seconds(30));
        auto t1 = Clock::now();
        if (!r || !r->error.empty()) ++failures;
        lat[c].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    });
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  Row row{clients, static_cast<int>(all.size()), failures.load(), 0, 0, 0, 0, 0};
  row.p50_us = percentile(all, 0.50);
  row.p99_us = percentile(all, 0.99);
  row.p999_us = percentile(all, 0.999);
  row.max_us = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  row.throughput = static_cast<double>(all.size()) / secs;
  return row;
}

Options parse(int argc, char** argv) {
  static const option kLong[] = {{"socket", required_argument, nullptr, 's'},
                                 {"guardd", required_argument, nullptr, 'g'},
                                 {"requests", required_argument, nullptr, 'n'},
                                 {"clients", required_argument, nullptr, 'c'},
                                 {"operation", required_argument, nullptr, 'o'},
                                 {"json-out", required_argument, nullptr, 'j'},
                                 {"help", no_argument, nullptr, 'h'},
                                 {nullptr, 0, nullptr, 0}};
  Options o;
  o.guardd = (std::filesystem::path(argv[0]).parent_path() / "guardd").string();
  int c;
  while ((c = getopt_long(argc, argv, "h", kLong, nullptr)) != -1) {
    switch (c) {
      case 's':
        o.socket = optarg;
        break;
      case 'g':
        o.guardd = optarg;
        break;
      case 'n':
        o.requests = std::max(1, std::atoi(optarg));
        break;
      case 'c': {
        o.clients.clear();
        std::string list = optarg;
        size_t pos = 0;
        while (pos <= list.size()) {
          size_t comma = list.find(',', pos);
          if (comma == std::string::npos) comma = list.size();
          int n = std::atoi(list.substr(pos, comma - pos).c_str());
          if (n > 0) o.clients.push_back(n);
          pos = comma + 1;
        }
        break;
      }
      case 'o':
        o.operation = optarg;
        break;
      case 'j':
        o.json_out = optarg;
        break;
      case 'h':
        std::fputs(kUsage, stdout);
        std::exit(0);
      default:
        std::fputs(kUsage, stderr);
        std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  pid_t daemon = -1;
  std::string tmp;
  if (o.socket.empty()) {
    char tmpl[] = "/tmp/guardd-bench-XXXXXX";
    tmp = mkdtemp(tmpl);
    o.socket = tmp + "/guardd.sock";
    std::ofstream(tmp + "/guardd.conf")
        << "[guardd]\nsocket = " << o.socket << "\ndatabase = " << tmp
        << "/guardd.db\nmax_connections_per_uid = 1024\nlog_level = warning\n";
    daemon = fork();
    if (daemon == 0) {
      execl(o.guardd.c_str(), o.guardd.c_str(), "--config", (tmp + "/guardd.conf").c_str(),
            nullptr);
      _exit(127);
    }
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!Client::connect(o.socket, deadline) && Clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // waiting for start-up
  }
  fmt::print("{:>8} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>12}\n", "clients", "requests",
             "failures", "p50 us", "p99 us", "p99.9 us", "max us", "checks/s");
  nlohmann::json out = nlohmann::json::array();
  run(o, 1);  // warm-up
  for (int clients : o.clients) {
    Row r = run(o, clients);
    fmt::print("{:>8} {:>9} {:>9} {:>10.0f} {:>10.0f} {:>10.0f} {:>10.0f} {:>12.0f}\n", r.clients,
               r.requests, r.failures, r.p50_us, r.p99_us, r.p999_us, r.max_us, r.throughput);
    out.push_back({{"clients", r.clients},
                   {"requests", r.requests},
                   {"failures", r.failures},
                   {"p50_us", r.p50_us},
                   {"p99_us", r.p99_us},
                   {"p999_us", r.p999_us},
                   {"max_us", r.max_us},
                   {"throughput", r.throughput}});
  }
  if (!o.json_out.empty()) std::ofstream(o.json_out) << out.dump(2) << "\n";
  if (daemon > 0) {
    kill(daemon, SIGTERM);
    waitpid(daemon, nullptr, 0);
    std::filesystem::remove_all(tmp);
  }
  return 0;
}
