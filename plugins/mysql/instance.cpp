#include "plugins/mysql/instance.h"

#include <algorithm>
#include <fstream>

#include <unistd.h>
#include <climits>

#include <fmt/format.h>

#include "common/procfs.h"
#include "daemon/config_values.h"
#include "plugins/mysql/listening_sockets.h"
#include "plugins/mysql/option_files.h"

namespace guardd::mysql {
namespace {

constexpr const char* kServerNames[] = {"mysqld", "mariadbd"};
constexpr const char* kDefaultSocket = "/run/mysqld/mysqld.sock";
constexpr const char* kDefaultDatadir = "/var/lib/mysql";

std::optional<std::string> server_name(const procfs::ProcessNames& p) {
  for (const char* n : kServerNames)
    if (p.comm == n || p.exe_name() == n) return std::string(n);
  return std::nullopt;
}

// Where a server's own paths are reached from guardd: through /proc/PID/root when it runs
// in another mount namespace (a container), else as they are.
std::string server_root(const Instance& inst, const std::string& proc_root) {
  return inst.other_namespace ? proc_root + "/" + std::to_string(inst.pid) + "/root" : "";
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

}  // namespace

nlohmann::json Instance::facts() const {
  return {{"pid", pid},
          {"name", name},
          {"exe", exe},
          {"socket", socket},
          {"connect_socket", connect_socket},
          {"socket_from", socket_listening ? "listening sockets" : "command line and option files"},
          {"other_mount_namespace", other_namespace},
          {"port", port},
          {"datadir", datadir},
          {"pid_file", pid_file},
          {"pid_file_confirmed", pid_file_confirmed}};
}

ServerArgs parse_server_args(const std::vector<std::string>& argv) {
  ServerArgs args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    std::replace(name.begin(), name.end(), '_', '-');
    auto take = [&]() -> std::optional<std::string> {
      if (has_value) return value;
      if (i + 1 < argv.size() && argv[i + 1].rfind("--", 0) != 0) return argv[++i];
      return std::nullopt;
    };
    if (name == "socket")
      args.socket = take();
    else if (name == "datadir")
      args.datadir = take();
    else if (name == "pid-file")
      args.pid_file = take();
    else if (name == "defaults-file")
      args.defaults_file = take();
    else if (name == "defaults-extra-file")
      args.extra_file = take();
    else if (name == "defaults-group-suffix")
      args.group_suffix = take();
    else if (name == "no-defaults")
      args.no_defaults = true;
    else if (name == "port") {
      if (auto v = take())
        if (auto port = parse_integer(*v, 0, 65535)) args.port = static_cast<int>(*port);
    }
  }
  return args;
}

namespace {

// Everything discovery reads of one server process but its pid file.
std::optional<Instance> look_at(procfs::FoundProcess& server, const std::string& proc_root) {
  const pid_t pid = server.pid;
  auto argv = procfs::read_argv(pid, proc_root);
  if (!argv) return std::nullopt;
  ServerArgs args = parse_server_args(*argv);
  Instance inst;
  inst.pid = pid;
  inst.name = std::move(server.name);
  inst.exe = server.exe.value_or("");
  inst.defaults_file = args.defaults_file.value_or("");
  inst.defaults_group_suffix = args.group_suffix.value_or("");
  // A server in a container is reached, and its files read, through its own root.
  inst.other_namespace = in_other_mount_namespace(pid, proc_root);
  const std::string root = server_root(inst, proc_root);
  // What the option files say, read as this server reads them (its group suffix
  // included); its command line wins over them.
  const ConfiguredServer configured = read_server_options(
      server_option_files(args.defaults_file, args.extra_file, args.no_defaults, root),
      inst.defaults_group_suffix);
  inst.socket = args.socket.value_or(configured.socket.value_or(kDefaultSocket));
  inst.datadir = args.datadir.value_or(configured.datadir.value_or(kDefaultDatadir));
  inst.port = args.port.value_or(configured.port.value_or(3306));
  inst.pid_file = args.pid_file.value_or(configured.pid_file.value_or(""));
  if (!inst.pid_file.empty() && inst.pid_file[0] != '/')
    inst.pid_file = inst.datadir + "/" + inst.pid_file;
  // What the kernel says the server listens on beats any guess from its arguments: an
  // option file, [client-server] or a group suffix may have put the socket elsewhere.
  auto listening = listening_sockets(pid, proc_root);
  if (!listening.unix_paths.empty()) {
    auto& paths = listening.unix_paths;
    auto it = std::find(paths.begin(), paths.end(), inst.socket);
    inst.socket = it != paths.end() ? *it : paths.front();
    inst.socket_listening = true;
  }
  if (!listening.tcp_ports.empty()) {
    auto& ports = listening.tcp_ports;
    if (std::find(ports.begin(), ports.end(), inst.port) == ports.end()) inst.port = ports.front();
  }
  // Without --datadir, the server's working directory is its datadir (it chdir()s
  // there at start), whatever option file set it.
  if (!args.datadir && !inst.other_namespace) {
    char cwd[PATH_MAX];
    std::string link = proc_root + "/" + std::to_string(pid) + "/cwd";
    ssize_t n = readlink(link.c_str(), cwd, sizeof cwd - 1);
    if (n > 0) inst.datadir.assign(cwd, static_cast<size_t>(n));
  }
  inst.connect_socket = root + inst.socket;
  return inst;
}

}  // namespace

std::optional<Instance> KnownServers::find(pid_t pid, unsigned long long start_time) const {
  std::lock_guard lock(mutex_);
  auto it = known_.find(pid);
  if (it == known_.end() || it->second.first != start_time) return std::nullopt;
  return it->second.second;
}

void KnownServers::remember(const Instance& instance, unsigned long long start_time) {
  if (!instance.socket_listening) return;  // starting: its sockets are not all there yet
  std::lock_guard lock(mutex_);
  known_.insert_or_assign(instance.pid, std::pair{start_time, instance});
}

void KnownServers::keep_only(const std::vector<pid_t>& alive) {
  std::lock_guard lock(mutex_);
  std::erase_if(known_, [&](const auto& entry) {
    return !std::binary_search(alive.begin(), alive.end(), entry.first);
  });
}

Discovery discover_instances(const std::string& proc_root, KnownServers* known) {
  Discovery found;
  std::vector<pid_t> alive;
  for (auto& server : procfs::find_processes(server_name, proc_root)) {
    const pid_t pid = server.pid;
    // Any local user can run a copy of a shell named mariadbd: only a root-owned program
    // is a server (one that vanished meanwhile is left to the probe to find out).
    if (server.owner == procfs::ExecutableOwner::SomeoneElse) {
      found.impostors.push_back(
          fmt::format("pid {} ({}, not root's)", pid, server.exe.value_or("?")));
      continue;
    }
    alive.push_back(pid);
    std::optional<Instance> inst = known ? known->find(pid, server.start_time) : std::nullopt;
    if (!inst) {
      inst = look_at(server, proc_root);
      if (!inst) continue;  // gone
      if (known) known->remember(*inst, server.start_time);
    }
    // The pid file is read each time: a server that exits leaves it, a new one rewrites it.
    if (!inst->pid_file.empty())
      inst->pid_file_confirmed =
          read_pid_file(server_root(*inst, proc_root) + inst->pid_file) == pid;
    found.servers.push_back(std::move(*inst));
  }
  std::sort(alive.begin(), alive.end());
  if (known) known->keep_only(alive);
  return found;
}

std::shared_ptr<const Discovery> running_instances(DecisionScope& scope) {
  // For the life of guardd: a server process is looked at closely once.
  static KnownServers known;
  return scope.shared<Discovery>("mysql-discovery",
                                 [] { return discover_instances("/proc", &known); });
}

std::string impostor_note(const Discovery& discovery) {
  if (discovery.impostors.empty()) return "";
  return fmt::format("; ignored, not root's executables: {}", fmt::join(discovery.impostors, ", "));
}

}  // namespace guardd::mysql
