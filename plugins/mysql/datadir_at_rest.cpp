#include "plugins/mysql/datadir_at_rest.h"

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "common/local_time.h"
#include "daemon/filesystem_identity.h"

namespace guardd::mysql {
namespace {

namespace fs = std::filesystem;

constexpr size_t kEvidenceEntries = 4;

struct Candidate {
  std::vector<std::string> sources;
  std::vector<std::string> pid_files;
  std::optional<KnownDatadir> known;
};

// The entries of a directory that say it holds data; empty when it holds none.
std::vector<std::string> data_entries(const std::string& dir, size_t* total) {
  std::vector<std::string> names;
  std::error_code ec;
  *total = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename();
    if (name == "lost+found") continue;  // a fresh filesystem's, not a server's
    ++*total;
    names.push_back(e.is_directory(ec) ? name + "/" : name);
  }
  // The evidence a DBA recognises first: the system schema and tablespace, then the
  // databases (folders), then the rest.
  auto rank = [](const std::string& n) {
    if (n == "mysql/" || n == "ibdata1" || n == "mysql.ibd") return 0;
    return n.back() == '/' ? 1 : 2;
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    return std::pair(rank(a), a) < std::pair(rank(b), b);
  });
  return names;
}

bool pid_alive(pid_t pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

// A pid file naming no live process: the server it belonged to did not shut down cleanly.
std::string stale_pid_file(const std::string& datadir, const std::vector<std::string>& extra) {
  std::vector<std::string> files = extra;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(datadir, ec))
    if (e.path().extension() == ".pid") files.push_back(e.path().string());
  for (const auto& f : files) {
    std::ifstream in(f);
    long pid = 0;
    if (in >> pid && !pid_alive(static_cast<pid_t>(pid))) return f;
  }
  return "";
}

// Whether a remembered datadir's filesystem is on this host but not mounted where the
// datadir is: the data is still on the disk, only out of sight.
std::string unmounted_filesystem(const KnownDatadir& k) {
  if (k.fs_uuid.empty()) return "";
  fs::path p = k.datadir;
  std::error_code ec;
  while (!p.empty() && p != p.root_path() && !fs::exists(p, ec)) p = p.parent_path();
  auto here = filesystem_of_path(p.empty() ? "/" : p.string());
  if (here && *here && (*here)->uuid == k.fs_uuid) return "";  // mounted; the path decides
  auto devices = devices_with_uuid(k.fs_uuid);
  return devices.empty() ? "" : devices.front().device;
}

}  // namespace

std::string canonical_path(const std::string& path) {
  std::error_code ec;
  auto c = fs::weakly_canonical(path, ec);
  if (ec) return path;
  std::string s = c.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

std::string DatadirAtRest::describe() const {
  std::vector<std::string> details;
  if (!unmounted_device.empty())
    details.push_back(fmt::format("its filesystem (UUID {}) is on {}, not mounted", known->fs_uuid,
                                  unmounted_device));
  else
    details.push_back(fmt::format("{}", fmt::join(contents, ", ")));
  if (known && !known->server.empty()) {
    std::string seen = fmt::format("{} last seen running {}", known->server,
                                   format_local_time(known->last_seen_us).substr(0, 16));
    if (!known->role.empty()) seen += " as " + known->role;
    details.push_back(seen);
  }
  if (!stale_pid_file.empty())
    details.push_back(fmt::format("stale pid file {}: crashed?", stale_pid_file));
  return fmt::format("datadir {} holds data ({})", datadir, fmt::join(details, "; "));
}

nlohmann::json DatadirAtRest::facts() const {
  nlohmann::json j = {{"datadir", datadir}, {"sources", sources}, {"contents", contents}};
  if (!stale_pid_file.empty()) j["stale_pid_file"] = stale_pid_file;
  if (!unmounted_device.empty()) j["unmounted_device"] = unmounted_device;
  if (known) {
    j["last_seen"] = {{"time_us", known->last_seen_us},
                      {"server", known->server},
                      {"socket", known->socket},
                      {"port", known->port},
                      {"role", known->role},
                      {"fs_uuid", known->fs_uuid},
                      {"fs_device", known->fs_device}};
  }
  return j;
}

std::vector<DatadirAtRest> datadirs_at_rest(const DatadirSources& src,
                                            const std::vector<Instance>& running) {
  std::map<std::string, Candidate> candidates;  // by canonical path
  for (const auto& server : read_server_option_files(src.option_files)) {
    if (!server.datadir || server.datadir->empty() || (*server.datadir)[0] != '/') continue;
    Candidate& c = candidates[canonical_path(*server.datadir)];
    c.sources.push_back(server.datadir_where);
    if (server.pid_file && (*server.pid_file)[0] == '/') c.pid_files.push_back(*server.pid_file);
  }
  for (const auto& d : src.default_datadirs)
    candidates[canonical_path(d)].sources.push_back("distribution default");
  for (const auto& k : src.remembered) {
    Candidate& c = candidates[canonical_path(k.datadir)];
    c.sources.push_back("remembered");
    c.known = k;
  }
  for (const auto& inst : running) candidates.erase(canonical_path(inst.datadir));

  std::vector<DatadirAtRest> out;
  for (const auto& [path, c] : candidates) {
    DatadirAtRest d{path, c.sources, c.known, {}, "", ""};
    size_t total = 0;
    auto entries = data_entries(path, &total);
    if (entries.empty()) {
      if (!c.known) continue;
      d.unmounted_device = unmounted_filesystem(*c.known);
      if (d.unmounted_device.empty()) continue;  // gone on purpose: nothing left to protect
    } else {
      d.contents.assign(entries.begin(), entries.begin() + static_cast<long>(std::min(
                                                               entries.size(), kEvidenceEntries)));
      if (total > kEvidenceEntries)
        d.contents.push_back(fmt::format("and {} more", total - kEvidenceEntries));
      d.stale_pid_file = stale_pid_file(path, c.pid_files);
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace guardd::mysql
