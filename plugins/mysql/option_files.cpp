#include "plugins/mysql/option_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

namespace guardd::mysql {
namespace {

constexpr const char* kServerGroups[] = {"mysqld",   "server",        "mariadb",
                                         "mariadbd", "client-server", "galera"};
constexpr int kMaxIncludeDepth = 10;  // the server's own limit is similar; never loop

// The instance suffix a server group applies to, or nullopt when `group` is not a server
// group: "" for [mysqld] and version groups ([mariadb-10.11]), ".x" for [mysqld.x], "1"
// for [mysqld1]. [mysqld_safe], [mysqldump], [mariadb-client] are other programs' groups.
std::optional<std::string> server_suffix(const std::string& group) {
  for (const char* base : kServerGroups) {
    std::string b = base;
    if (group.compare(0, b.size(), b) != 0) continue;
    std::string rest = group.substr(b.size());
    if (rest.empty()) return std::string();
    if (rest[0] == '.') return rest;
    if (rest[0] == '-' && rest.size() > 1 && std::isdigit(static_cast<unsigned char>(rest[1])))
      return std::string();  // [mariadb-10.11]: the running version's group
    if (std::all_of(rest.begin(), rest.end(), [](char c) { return std::isdigit(c); })) return rest;
  }
  return std::nullopt;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// A value as the server reads it: quotes removed, a '#' outside quotes ends it.
std::string unquote(const std::string& raw) {
  std::string v = trim(raw);
  if (!v.empty() && (v[0] == '"' || v[0] == '\'')) {
    auto close = v.find(v[0], 1);
    return close == std::string::npos ? v.substr(1) : v.substr(1, close - 1);
  }
  if (auto hash = v.find('#'); hash != std::string::npos) v = trim(v.substr(0, hash));
  return v;
}

struct Reader {
  std::map<std::string, ConfiguredServer> servers;  // by suffix
  std::vector<std::string> order;

  ConfiguredServer& server(const std::string& suffix) {
    auto [it, inserted] = servers.try_emplace(suffix);
    if (inserted) {
      it->second.suffix = suffix;
      order.push_back(suffix);
    }
    return it->second;
  }

  void read_file(const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) return;
    std::ifstream in(path);
    if (!in) return;
    std::string line;
    int number = 0;
    std::optional<std::string> suffix;  // current group's, nullopt outside server groups
    while (std::getline(in, line)) {
      ++number;
      std::string t = trim(line);
      if (t.empty() || t[0] == '#' || t[0] == ';') continue;
      if (t.rfind("!includedir", 0) == 0) {
        read_dir(trim(t.substr(11)), depth + 1);
        continue;
      }
      if (t.rfind("!include", 0) == 0) {
        read_file(trim(t.substr(8)), depth + 1);
        continue;
      }
      if (t[0] == '[') {
        auto close = t.find(']');
        std::string group =
            trim(t.substr(1, close == std::string::npos ? std::string::npos : close - 1));
        std::transform(group.begin(), group.end(), group.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        std::replace(group.begin(), group.end(), '_', '-');
        suffix = server_suffix(group);
        continue;
      }
      if (!suffix) continue;
      auto eq = t.find('=');
      std::string key = trim(t.substr(0, eq));
      std::replace(key.begin(), key.end(), '_', '-');
      if (key.rfind("loose-", 0) == 0) key = key.substr(6);
      if (eq == std::string::npos) continue;
      std::string value = unquote(t.substr(eq + 1));
      ConfiguredServer& s = server(*suffix);
      if (key == "datadir") {
        s.datadir = value;
        s.datadir_where = fmt::format("{}:{}", path, number);
      } else if (key == "socket") {
        s.socket = value;
      } else if (key == "pid-file") {
        s.pid_file = value;
      } else if (key == "port") {
        try {
          s.port = std::stoi(value);
        } catch (...) {
        }
      }
    }
  }

  void read_dir(const std::string& dir, int depth) {
    std::error_code ec;
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".cnf") files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) read_file(f, depth);
  }
};

}  // namespace

std::vector<ConfiguredServer> read_server_option_files(const std::vector<std::string>& files) {
  Reader r;
  for (const auto& f : files) r.read_file(f, 0);
  // A suffixed server reads the plain groups too: what it does not set, it inherits.
  std::vector<ConfiguredServer> out;
  const ConfiguredServer* base = r.servers.count("") ? &r.servers.at("") : nullptr;
  for (const auto& suffix : r.order) {
    ConfiguredServer s = r.servers.at(suffix);
    if (base && !suffix.empty()) {
      if (!s.datadir) {
        s.datadir = base->datadir;
        s.datadir_where = base->datadir_where;
      }
      if (!s.socket) s.socket = base->socket;
      if (!s.pid_file) s.pid_file = base->pid_file;
      if (!s.port) s.port = base->port;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace guardd::mysql
