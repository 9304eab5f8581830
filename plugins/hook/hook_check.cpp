#include "plugins/hook/hook_check.h"

#include <signal.h>

#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/config_values.h"
#include "plugins/hook/hook_program.h"

namespace guardd {
namespace {

using hook::HookRun;
using hook::Protocol;
using hook::WarningMeans;

constexpr TypeKey kHookKeys[] = {
    {"exec", "", "Absolute path of the program (root-owned, not group/world-writable)."},
    {"args", "", "Arguments, separated by white space (no shell, no quoting)."},
    {"protocol", "guardd", "guardd (exit 0 pass, 1 veto, else error) or nagios."},
    {"warning", "veto", "nagios only: what WARNING (exit 1) means, veto or pass."},
};

constexpr std::size_t kReasonMax = 512;

std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  std::string line = text.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() > kReasonMax) line = line.substr(0, kReasonMax) + "...";
  return line;
}

std::string trim(std::string s) {
  s.erase(0, s.find_first_not_of(" \t"));
  s.erase(s.find_last_not_of(" \t") + 1);
  return s;
}

class HookCheck final : public Check {
 public:
  HookCheck(std::string name, std::vector<std::string> argv, Protocol protocol,
            WarningMeans warning)
      : name_(std::move(name)), argv_(std::move(argv)), protocol_(protocol), warning_(warning) {}

  CheckAnswer evaluate(const CheckContext& ctx) const override {
    // The file is checked and opened at every decision: it may have changed since the last.
    auto program = hook::open_hook_program(argv_[0]);
    if (!program) return {Outcome::Error, program.error(), {{"exec", argv_[0]}}};
    const CheckRequest& r = ctx.request;
    std::map<std::string, std::string> env = {
        {"GUARDD_OPERATION", r.operation},
        {"GUARDD_TARGET", r.target.value_or("")},
        {"GUARDD_REASON", r.reason.value_or("")},
        {"GUARDD_CALLER_UID", std::to_string(ctx.caller.uid)},
        {"GUARDD_DECISION_DRY_RUN", r.dry_run ? "1" : "0"},
        {"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
    };
    nlohmann::json request = {{"operation", r.operation},
                              {"target", r.target ? nlohmann::json(*r.target) : nullptr},
                              {"reason", r.reason ? nlohmann::json(*r.reason) : nullptr},
                              {"force", r.force},
                              {"dry_run", r.dry_run},
                              {"caller", {{"uid", ctx.caller.uid}, {"pid", ctx.caller.pid}}}};
    auto run = hook::run_hook(program->fd(), argv_, env, request.dump() + "\n", ctx.deadline);
    if (!run) return {Outcome::Error, run.error(), {{"exec", argv_[0]}}};
    CheckAnswer answer = hook::interpret(*run, protocol_, warning_);
    nlohmann::json facts = {
        {"exec", argv_[0]},
        {"exit_code", run->exit_code ? nlohmann::json(*run->exit_code) : nullptr},
        {"stdout", first_line(run->out)},
        {"truncated", run->truncated}};
    if (run->signal) facts["signal"] = *run->signal;
    if (!run->err.empty()) facts["stderr"] = first_line(run->err);
    answer.facts = facts;
    return answer;
  }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  Protocol protocol_;
  WarningMeans warning_;
};

}  // namespace

namespace hook {

CheckAnswer interpret(const HookRun& run, Protocol protocol, WarningMeans warning) {
  if (run.timed_out) return {Outcome::Error, "hook timed out and was killed", nullptr};
  if (run.signal)
    return {Outcome::Error,
            fmt::format("hook killed by signal {} ({})", *run.signal, strsignal(*run.signal)),
            nullptr};
  int code = run.exit_code.value_or(-1);
  if (protocol == Protocol::Guardd) {
    std::string line = first_line(run.out);
    if (code == 0) return {Outcome::Pass, line.empty() ? "hook passed" : line, nullptr};
    if (code == 1)
      return {Outcome::Veto, line.empty() ? "hook vetoed without giving a reason" : line, nullptr};
    std::string detail = first_line(run.err.empty() ? run.out : run.err);
    return {Outcome::Error,
            fmt::format("hook exited with status {}{}{}", code, detail.empty() ? "" : ": ", detail),
            nullptr};
  }
  // Nagios plugins print "STATUS - text | perfdata" on their first line.
  std::string line = trim(first_line(run.out).substr(0, first_line(run.out).find('|')));
  if (line.empty()) line = fmt::format("plugin exited with status {} and printed nothing", code);
  switch (code) {
    case 0:
      return {Outcome::Pass, line, nullptr};
    case 1:
      return {warning == WarningMeans::Veto ? Outcome::Veto : Outcome::Pass, line, nullptr};
    case 2:
      return {Outcome::Veto, line, nullptr};
    default:
      return {Outcome::Error, fmt::format("{} (status {})", line, code), nullptr};
  }
}

}  // namespace hook

std::span<const TypeKey> hook_keys() {
  return kHookKeys;
}

Result<std::shared_ptr<const Check>> create_hook_check(const CheckSection& s,
                                                       const CheckServices&) {
  auto get = [&](const char* key) -> const ConfigValue* {
    auto it = s.options.find(key);
    return it == s.options.end() ? nullptr : &it->second;
  };
  const ConfigValue* exec = get("exec");
  if (exec == nullptr)
    return Error{
        fmt::format("{}: [check.{}] needs 'exec' (the program to run)", s.where(), s.name)};
  auto path = parse_absolute_path(exec->text);
  if (!path) return Error{fmt::format("{}: exec: {}", exec->where(), path.error())};
  std::vector<std::string> argv = {*path};
  if (const ConfigValue* args = get("args"))
    for (auto& word : parse_words(args->text)) argv.push_back(std::move(word));
  Protocol protocol = Protocol::Guardd;
  if (const ConfigValue* p = get("protocol")) {
    if (p->text == "nagios")
      protocol = Protocol::Nagios;
    else if (p->text != "guardd")
      return Error{fmt::format("{}: protocol: '{}' is not guardd or nagios", p->where(), p->text)};
  }
  WarningMeans warning = WarningMeans::Veto;
  if (const ConfigValue* w = get("warning")) {
    if (protocol != Protocol::Nagios)
      return Error{fmt::format("{}: warning applies to protocol = nagios only", w->where())};
    if (w->text == "pass")
      warning = WarningMeans::Pass;
    else if (w->text != "veto")
      return Error{fmt::format("{}: warning: '{}' is not veto or pass", w->where(), w->text)};
  }
  return std::shared_ptr<const Check>(
      std::make_shared<HookCheck>(s.name, std::move(argv), protocol, warning));
}

}  // namespace guardd
