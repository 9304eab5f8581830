#include "daemon/config.h"

#include <ini.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "daemon/config_schema.h"
#include "daemon/config_values.h"
#include "guardd/operations.h"
#include "plugins/registry.h"

namespace guardd {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kCheckPrefix = "check.";

// A section as written, merged across files: later files override earlier keys.
struct RawSection {
  std::string name;
  std::string file;
  int line = 0;
  std::map<std::string, ConfigValue> keys;
};

struct RawConfig {
  std::vector<RawSection> sections;  // in order of first appearance
  std::vector<std::string> errors;

  RawSection& section(const std::string& name, const std::string& file, int line) {
    for (auto& s : sections)
      if (s.name == name) return s;
    sections.push_back(RawSection{name, file, line, {}});
    return sections.back();
  }
};

// State for reading one file through inih. The reader hands inih one line at a time,
// which is how we know the line number of every key and section header. C stdio, not
// iostreams: an ifstream would set up the C++ locale machinery at start-up only for this
// (~0.2 MiB of an otherwise idle guardd's resident memory).
struct FileReader {
  std::FILE* in = nullptr;
  char* buffer = nullptr;  // getline(3)'s, reused line to line
  size_t capacity = 0;
  int read_errno = 0;  // set when reading (not the end of the file) stopped it
  std::string file;
  int line = 0;
  std::string section;                    // current section as seen by the reader
  std::map<std::string, int> section_at;  // sections opened in this file
  std::map<std::string, int> key_at;      // "section\nkey" -> line, in this file
  RawConfig* raw = nullptr;

  void error(int at, const std::string& message) {
    raw->errors.push_back(fmt::format("{}:{}: {}", file, at, message));
  }
  ~FileReader() {
    if (in != nullptr) std::fclose(in);
    std::free(buffer);
  }
};

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// `line` up to its comment: a '#' or ';' that starts it or follows a space or tab.
std::string_view without_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i)
    if ((line[i] == '#' || line[i] == ';') && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return line.substr(0, i);
  return line;
}

char* read_line(char* str, int num, void* stream) {
  auto* r = static_cast<FileReader*>(stream);
  errno = 0;
  ssize_t n = getline(&r->buffer, &r->capacity, r->in);
  if (n < 0) {
    if (std::ferror(r->in)) r->read_errno = errno != 0 ? errno : EIO;
    return nullptr;
  }
  std::string text(r->buffer, static_cast<size_t>(n));
  if (!text.empty() && text.back() == '\n') text.pop_back();
  ++r->line;
  if (text.size() + 2 > static_cast<size_t>(num)) {
    r->error(r->line, fmt::format("line is longer than {} characters", num - 2));
    std::strcpy(str, "#\n");
    return str;
  }
  // One rule for comments, the same wherever they are: '#' or ';' at the start of a
  // line or after whitespace begins a comment (`names = mysqld # was: sleep` names only
  // mysqld). Leading whitespace is dropped, so inih never sees an indented line and never
  // joins it to the key above as a continuation: indentation means nothing, and a line
  // that is not a comment, a [section] or key = value is a syntax error.
  std::string t = trim(without_comment(text));
  if (t.size() >= 2 && t.front() == '[' && t.find(']') != std::string::npos) {
    std::string name = trim(std::string_view(t).substr(1, t.find(']') - 1));
    if (auto seen = r->section_at.find(name); seen != r->section_at.end()) {
      r->error(r->line,
               fmt::format("duplicate section [{}] (first at line {})", name, seen->second));
    } else {
      r->section_at[name] = r->line;
    }
    r->section = name;
    r->raw->section(name, r->file, r->line);
  }
  std::memcpy(str, t.data(), t.size());
  str[t.size()] = '\n';
  str[t.size() + 1] = '\0';
  return str;
}

int on_key(void* user, const char* section, const char* name, const char* value) {
  auto* r = static_cast<FileReader*>(user);
  if (section == nullptr || name == nullptr) return 1;
  std::string sec(section), key(name);
  if (sec.empty()) {
    r->error(r->line, fmt::format("'{}' is outside of any [section]", key));
    return 1;
  }
  std::string id = sec + "\n" + key;
  if (auto seen = r->key_at.find(id); seen != r->key_at.end()) {
    r->error(r->line, fmt::format("duplicate key '{}' in [{}] (first set at line {})", key, sec,
                                  seen->second));
    return 1;
  }
  r->key_at[id] = r->line;
  r->raw->section(sec, r->file, r->line).keys[key] =
      ConfigValue{value ? value : "", r->file, r->line};
  return 1;
}

void read_file(const std::string& path, RawConfig& raw) {
  FileReader r;
  r.file = path;
  r.raw = &raw;
  r.in = std::fopen(path.c_str(), "re");
  if (r.in == nullptr) {
    raw.errors.push_back(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    return;
  }
  int syntax = ini_parse_stream(read_line, &r, on_key, &r);
  if (syntax > 0) r.error(syntax, "syntax error (expected '[section]' or 'key = value')");
  if (r.read_errno != 0)
    raw.errors.push_back(fmt::format("{}: cannot read: {}", path, std::strerror(r.read_errno)));
}

std::vector<std::string> drop_in_files(const std::string& path, std::vector<std::string>& errors) {
  std::vector<std::string> files;
  fs::path dir = path + ".d";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".conf" && !it->is_directory()) files.push_back(it->path());
  }
  if (ec) errors.push_back(fmt::format("{}: cannot list: {}", dir.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

bool valid_check_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

void apply_daemon_section(const RawSection* section, DaemonSettings& settings,
                          std::vector<std::string>& errors) {
  for (const auto& key : daemon_keys()) {
    Status st = key.apply(settings, key.default_text);
    if (!st) errors.push_back(fmt::format("built-in default of {}: {}", key.name, st.error()));
  }
  if (section == nullptr) return;
  for (const auto& entry : section->keys) {
    const std::string& name = entry.first;  // a plain reference: lambdas capture it
    const ConfigValue& value = entry.second;
    auto key = std::find_if(daemon_keys().begin(), daemon_keys().end(),
                            [&](const DaemonKey& k) { return k.name == name; });
    if (key == daemon_keys().end()) {
      errors.push_back(fmt::format("{}: unknown key '{}' in [guardd]", value.where(), name));
      continue;
    }
    Status st = key->apply(settings, value.text);
    if (!st) errors.push_back(fmt::format("{}: {}: {}", value.where(), name, st.error()));
  }
}

// Resolves an operations list against the configured operation names.
Result<std::vector<std::string>> resolve_operations(const std::vector<std::string>& words,
                                                    const Config& config) {
  if (words.size() == 1 && words[0] == "all") return config.operations();
  if (words.empty()) return Error{"empty operations list (use 'all' or name operations)"};
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (w == "all") return Error{"'all' cannot be combined with other operations"};
    if (!config.knows_operation(w))
      return Error{
          fmt::format("unknown operation '{}' (known: {}; add site operations to "
                      "[guardd] extra_operations)",
                      w, fmt::join(config.operations(), ", "))};
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  return out;
}

void apply_check_section(const RawSection& raw, Config& config, std::vector<std::string>& errors) {
  CheckSection check;
  check.name = raw.name.substr(kCheckPrefix.size());
  check.file = raw.file;
  check.line = raw.line;
  std::string where = check.where();
  if (!valid_check_name(check.name)) {
    errors.push_back(fmt::format("{}: invalid check name '{}' (letters, digits, '-', '_', '.')",
                                 where, check.name));
    return;
  }
  auto value_of = [&](std::string_view key) -> const ConfigValue* {
    auto it = raw.keys.find(std::string(key));
    return it == raw.keys.end() ? nullptr : &it->second;
  };
  const ConfigValue* type_value = value_of("type");
  check.type = type_value ? type_value->text : check.name;
  const CheckType* type = find_check_type(check.type);
  if (type == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& t : check_types()) names.push_back(t.name);
    errors.push_back(fmt::format("{}: unknown check type '{}' in [{}] (known: {})",
                                 type_value ? type_value->where() : where, check.type, raw.name,
                                 fmt::join(names, ", ")));
    return;
  }
  size_t before = errors.size();
  for (const auto& entry : raw.keys) {
    const std::string& name = entry.first;  // a plain reference: lambdas capture it
    const ConfigValue& value = entry.second;
    bool common = std::any_of(common_check_keys().begin(), common_check_keys().end(),
                              [&](const CommonCheckKey& k) { return k.name == name; });
    bool own = std::any_of(type->keys.begin(), type->keys.end(),
                           [&](const TypeKey& k) { return k.name == name; });
    if (common) continue;
    if (own) {
      check.options[name] = value;
    } else {
      errors.push_back(
          fmt::format("{}: unknown key '{}' for check type '{}'", value.where(), name, check.type));
    }
  }
  if (const ConfigValue* v = value_of("operations")) {
    auto ops = resolve_operations(parse_list(v->text), config);
    if (ops)
      check.operations = *ops;
    else
      errors.push_back(fmt::format("{}: operations: {}", v->where(), ops.error()));
  } else if (type->default_operations.empty()) {
    check.operations = config.operations();
  } else {
    for (auto op : type->default_operations) check.operations.emplace_back(op);
  }
  check.timeout = std::chrono::seconds(3);
  if (const ConfigValue* v = value_of("timeout")) {
    auto d =
        parse_duration_between(v->text, std::chrono::milliseconds(1), std::chrono::seconds(300));
    if (d)
      check.timeout = *d;
    else
      errors.push_back(fmt::format("{}: timeout: {}", v->where(), d.error()));
  }
  if (const ConfigValue* v = value_of("on_error")) {
    if (v->text == "veto")
      check.on_error = OnError::Veto;
    else if (v->text == "pass")
      check.on_error = OnError::Pass;
    else
      errors.push_back(fmt::format("{}: on_error: '{}' is not veto or pass", v->where(), v->text));
  }
  if (const ConfigValue* v = value_of("enabled")) {
    auto b = parse_bool(v->text);
    if (b)
      check.enabled = *b;
    else
      errors.push_back(fmt::format("{}: enabled: {}", v->where(), b.error()));
  }
  if (type->always_on) {
    // An always-on check is the floor under every decision (the hold check: an admin's
    // hold covers what it says it covers). Keys that would narrow it, let it time out or
    // turn its errors into passes are refused, not obeyed.
    if (!check.enabled)
      errors.push_back(fmt::format("{}: the {} check cannot be disabled", where, check.type));
    for (std::string_view key : {"operations", "timeout", "on_error"})
      if (const ConfigValue* v = value_of(key))
        errors.push_back(
            fmt::format("{}: the {} check does not take '{}': it guards every "
                        "operation, within the decision's deadline, and refuses "
                        "on error",
                        v->where(), check.type, key));
  }
  for (const auto& other : check_types())
    if (other.always_on && check.name == other.name && check.type != other.name)
      errors.push_back(
          fmt::format("{}: [check.{}] is the built-in {} check's name; give this "
                      "{} check another name",
                      where, check.name, other.name, check.type));
  if (errors.size() == before) config.checks.push_back(std::move(check));
}

}  // namespace

std::string ConfigValue::where() const {
  return fmt::format("{}:{}", file, line);
}

std::string CheckSection::where() const {
  return fmt::format("{}:{}", file, line);
}

std::vector<std::string> Config::operations() const {
  std::vector<std::string> ops = builtin_operations();
  for (const auto& op : daemon.extra_operations)
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  return ops;
}

bool Config::knows_operation(std::string_view name) const {
  auto ops = operations();
  return std::find(ops.begin(), ops.end(), name) != ops.end();
}

Result<Config> load_config(const std::string& path) {
  RawConfig raw;
  Config config;
  config.files.push_back(path);
  read_file(path, raw);
  for (auto& f : drop_in_files(path, raw.errors)) {
    config.files.push_back(f);
    read_file(f, raw);
  }
  std::vector<std::string> errors = std::move(raw.errors);

  const RawSection* daemon = nullptr;
  for (const auto& s : raw.sections)
    if (s.name == "guardd") daemon = &s;
  apply_daemon_section(daemon, config.daemon, errors);

  for (const auto& s : raw.sections) {
    if (s.name == "guardd") continue;
    if (s.name.rfind(kCheckPrefix, 0) == 0) {
      apply_check_section(s, config, errors);
    } else {
      errors.push_back(
          fmt::format("{}:{}: unknown section [{}] (expected [guardd] or "
                      "[check.NAME])",
                      s.file, s.line, s.name));
    }
  }

  std::set<std::string_view> singletons;
  for (const auto& c : config.checks) {
    const CheckType* type = find_check_type(c.type);
    if (type->always_on && !singletons.insert(type->name).second)
      errors.push_back(
          fmt::format("{}: a second check of type '{}'; only one is allowed", c.where(), c.type));
  }
  // Always-on checks run even when no section configures them.
  for (const auto& type : check_types()) {
    if (!type.always_on || singletons.count(type.name)) continue;
    CheckSection implicit;
    implicit.name = std::string(type.name);
    implicit.type = std::string(type.name);
    implicit.file = "(built-in)";
    implicit.timeout = std::chrono::seconds(3);
    implicit.operations = config.operations();
    config.checks.insert(config.checks.begin(), std::move(implicit));
  }

  if (!errors.empty()) return Error{join_config_errors(errors)};
  return config;
}

std::string join_config_errors(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += '\n';
    for (char c : e) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f)
        out += fmt::format("\\x{:02x}", byte);
      else
        out += c;
    }
  }
  return out;
}

}  // namespace guardd
