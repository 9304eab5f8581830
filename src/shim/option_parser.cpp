#include "shim/option_parser.h"

#include <fmt/format.h>

namespace guardd::shim {
namespace {

// Reads one argument list; each step consumes one argument (and maybe its value).
class Reader {
 public:
  Reader(Grammar grammar, std::span<const OptionSpec> table, const std::vector<std::string>& args)
      : grammar_(grammar), table_(table), args_(args) {}

  Result<ParsedArgs> run() {
    bool only_operands = false;
    for (i_ = 0; i_ < args_.size(); ++i_) {
      const std::string& a = args_[i_];
      if (only_operands || a.size() < 2 || a[0] != '-') {
        add_operand(i_);
        continue;
      }
      if (a == "--") {
        only_operands = true;
        continue;
      }
      Status s = a[1] == '-' ? long_option() : short_cluster();
      if (!s) return Error{s.error()};
    }
    return std::move(out_);
  }

 private:
  void add_operand(size_t index) {
    out_.operands.push_back(args_[index]);
    out_.operand_at.push_back({index, 0});
  }

  // "--name", "--name=VALUE", "--name VALUE"; getopt_long also takes a unique prefix.
  Status long_option() {
    const std::string& a = args_[i_];
    size_t eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    auto found = find_long(name);
    if (!found) return Error{found.error()};
    const OptionSpec& spec = **found;
    ParsedOption opt{spec.id, "--" + name, std::nullopt, {}};
    if (eq != std::string::npos) {
      if (spec.value == HasValue::No)
        return Error{fmt::format("option '--{}' doesn't allow an argument", spec.long_name)};
      opt.value = a.substr(eq + 1);
      opt.value_at = {i_, eq + 1};
    } else if (spec.value == HasValue::Required) {
      if (i_ + 1 >= args_.size())
        return Error{fmt::format("option '--{}' requires an argument", spec.long_name)};
      ++i_;
      opt.value = args_[i_];
      opt.value_at = {i_, 0};
    }
    out_.options.push_back(std::move(opt));
    return ok_status();
  }

  Result<const OptionSpec*> find_long(const std::string& name) {
    for (const auto& spec : table_)
      if (spec.long_name && name == spec.long_name) return &spec;
    if (grammar_ == Grammar::Popt) return Error{fmt::format("unknown option '--{}'", name)};
    // glibc: a prefix of several options is ambiguous unless they are one option (the
    // same val): here, rows with the same short letter.
    const OptionSpec* match = nullptr;
    std::string candidates;
    bool ambiguous = false;
    for (const auto& spec : table_) {
      if (!spec.long_name || std::string_view(spec.long_name).substr(0, name.size()) != name)
        continue;
      candidates += fmt::format(" '--{}'", spec.long_name);
      if (!match)
        match = &spec;
      else if (match->short_name == 0 || match->short_name != spec.short_name)
        ambiguous = true;
    }
    if (!match) return Error{fmt::format("unrecognized option '--{}'", name)};
    if (ambiguous)
      return Error{fmt::format("option '--{}' is ambiguous; possibilities:{}", name, candidates)};
    return match;
  }

  // "-abc", "-oVALUE", "-o VALUE"; popt also skips one '=' before an attached value.
  Status short_cluster() {
    const std::string& a = args_[i_];
    const size_t here = i_;
    for (size_t pos = 1; pos < a.size(); ++pos) {
      const char c = a[pos];
      const OptionSpec* spec = nullptr;
      for (const auto& s : table_)
        if (s.short_name != 0 && s.short_name == c) spec = &s;
      if (!spec) return Error{fmt::format("invalid option -- '{}'", c)};
      ParsedOption opt{spec->id, std::string("-") + c, std::nullopt, {}};
      size_t rest = pos + 1;
      if (spec->value == HasValue::No) {
        if (grammar_ == Grammar::Popt && rest < a.size() && a[rest] == '=')
          return Error{fmt::format("option '-{}' doesn't allow an argument", c)};
        out_.options.push_back(std::move(opt));
        continue;
      }
      if (grammar_ == Grammar::Popt && rest < a.size() && a[rest] == '=') ++rest;
      if (rest < a.size()) {
        opt.value = a.substr(rest);
        opt.value_at = {here, rest};
      } else if (spec->value == HasValue::Required) {
        if (i_ + 1 >= args_.size())
          return Error{fmt::format("option requires an argument -- '{}'", c)};
        ++i_;
        opt.value = args_[i_];
        opt.value_at = {i_, 0};
      }
      out_.options.push_back(std::move(opt));
      return ok_status();  // a value ends the cluster
    }
    return ok_status();
  }

  Grammar grammar_;
  std::span<const OptionSpec> table_;
  const std::vector<std::string>& args_;
  size_t i_ = 0;
  ParsedArgs out_;
};

}  // namespace

Result<ParsedArgs> parse_options(Grammar grammar, std::span<const OptionSpec> table,
                                 const std::vector<std::string>& args) {
  return Reader(grammar, table, args).run();
}

}  // namespace guardd::shim
