#include "plugins/mysql/option_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "daemon/config_values.h"

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

// One option line of a server group, as read.
struct OptionLine {
  std::string suffix;  // the group's instance suffix ("" for [mysqld])
  std::string key, value, where;
};

// Option lines of the server groups in reading order, following includes.
struct Reader {
  std::vector<OptionLine> lines;
  std::vector<std::string> suffixes;  // in order of first appearance

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
        if (suffix && std::find(suffixes.begin(), suffixes.end(), *suffix) == suffixes.end())
          suffixes.push_back(*suffix);
        continue;
      }
      if (!suffix) continue;
      auto eq = t.find('=');
      if (eq == std::string::npos) continue;
      std::string key = trim(t.substr(0, eq));
      std::replace(key.begin(), key.end(), '_', '-');
      if (key.rfind("loose-", 0) == 0) key = key.substr(6);
      lines.push_back(
          {*suffix, key, unquote(t.substr(eq + 1)), fmt::format("{}:{}", path, number)});
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

void apply(ConfiguredServer& s, const OptionLine& line) {
  if (line.key == "datadir") {
    s.datadir = line.value;
    s.datadir_where = line.where;
  } else if (line.key == "socket") {
    s.socket = line.value;
  } else if (line.key == "pid-file") {
    s.pid_file = line.value;
  } else if (line.key == "port") {
    if (auto port = parse_integer(line.value, 0, 65535)) s.port = static_cast<int>(*port);
  }
}

// mysqld_multi's [mysqld1]: a suffix of digits only.
bool is_multi_suffix(const std::string& suffix) {
  return !suffix.empty() && std::all_of(suffix.begin(), suffix.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

ConfiguredServer resolve(const Reader& r, const std::string& suffix) {
  ConfiguredServer s;
  s.suffix = suffix;
  const bool multi = is_multi_suffix(suffix);
  for (const auto& line : r.lines)
    if (line.suffix.empty() || (!multi && line.suffix == suffix)) apply(s, line);
  if (multi)
    for (const auto& line : r.lines)
      if (line.suffix == suffix) apply(s, line);
  return s;
}

}  // namespace

std::vector<ConfiguredServer> read_server_option_files(const std::vector<std::string>& files) {
  Reader r;
  for (const auto& f : files) r.read_file(f, 0);
  std::vector<ConfiguredServer> out;
  for (const auto& suffix : r.suffixes) out.push_back(resolve(r, suffix));
  return out;
}

ConfiguredServer read_server_options(const std::vector<std::string>& files,
                                     const std::string& group_suffix) {
  Reader r;
  for (const auto& f : files) r.read_file(f, 0);
  return resolve(r, group_suffix);
}

std::vector<std::string> server_option_files(const std::optional<std::string>& defaults_file,
                                             const std::optional<std::string>& extra_file,
                                             bool no_defaults, const std::string& root) {
  if (no_defaults) return {};
  std::vector<std::string> files;
  if (defaults_file) {
    files.push_back(root + *defaults_file);
    return files;  // the server reads that file only, not even --defaults-extra-file
  }
  files = {root + "/etc/my.cnf", root + "/etc/mysql/my.cnf"};
  if (extra_file) files.push_back(root + *extra_file);
  return files;
}

}  // namespace guardd::mysql
