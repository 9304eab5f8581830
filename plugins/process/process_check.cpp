#include "plugins/process/process_check.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/procfs.h"
#include "daemon/config_values.h"

namespace guardd {
namespace {

// The kernel truncates comm to 15 characters; compare names the same way.
constexpr size_t kCommLength = 15;

class ProcessCheck final : public Check {
 public:
  explicit ProcessCheck(std::vector<std::string> names) : names_(std::move(names)) {}

  CheckAnswer evaluate(const CheckContext&) const override {
    nlohmann::json found = nlohmann::json::array(), ignored = nlohmann::json::array();
    std::vector<std::string> summary, impostors;
    const pid_t self = getpid();
    for (const auto& p : procfs::find_processes([this](const auto& n) { return match(n); })) {
      if (p.pid == self) continue;
      // Any local user can run a copy of a shell under a protected name: only a program
      // root installed counts (one that vanished meanwhile still does: fail closed).
      if (p.owner == procfs::ExecutableOwner::SomeoneElse) {
        ignored.push_back({{"pid", p.pid}, {"name", p.name}, {"exe", p.exe.value_or("")}});
        impostors.push_back(fmt::format("{} (pid {}, {})", p.name, p.pid, p.exe.value_or("?")));
        continue;
      }
      found.push_back({{"pid", p.pid},
                       {"name", p.name},
                       {"exe", p.exe ? nlohmann::json(*p.exe) : nlohmann::json(nullptr)},
                       {"cmdline", procfs::read_cmdline(p.pid, 1024).value_or("")}});
      summary.push_back(fmt::format("{} (pid {})", p.name, p.pid));
    }
    const std::string note =
        impostors.empty()
            ? ""
            : fmt::format("; ignored, not root's executables: {}", fmt::join(impostors, ", "));
    nlohmann::json facts = {{"processes", found}};
    if (!ignored.empty()) facts["ignored"] = ignored;
    if (found.empty())
      return {Outcome::Pass, fmt::format("none of {} running{}", fmt::join(names_, ", "), note),
              ignored.empty() ? nlohmann::json(nullptr) : facts};
    std::string reason = summary.size() == 1
                             ? fmt::format("critical process running: {}", summary[0])
                             : fmt::format("{} critical processes running: {}", summary.size(),
                                           fmt::join(summary, ", "));
    return {Outcome::Veto, reason + note, facts};
  }

 private:
  std::optional<std::string> match(const procfs::ProcessNames& p) const {
    for (const auto& n : names_) {
      if (p.exe_name() == n) return n;
      if (p.comm == n.substr(0, kCommLength)) return n;
    }
    return std::nullopt;
  }

  std::vector<std::string> names_;
};

}  // namespace

Result<std::shared_ptr<const Check>> create_process_check(const CheckSection& section,
                                                          const CheckServices&) {
  auto names = section.options.find("names");
  if (names == section.options.end())
    return Error{fmt::format("{}: [check.{}] needs 'names' (process names to protect)",
                             section.where(), section.name)};
  auto list = parse_list(names->second.text);
  if (list.empty()) return Error{fmt::format("{}: names: empty list", names->second.where())};
  for (const auto& n : list)
    if (n.find('/') != std::string::npos)
      return Error{fmt::format("{}: names: '{}' must be a command name, not a path",
                               names->second.where(), n)};
  return std::shared_ptr<const Check>(std::make_shared<ProcessCheck>(list));
}

}  // namespace guardd
