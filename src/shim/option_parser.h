// Reads a command line the way the wrapped tool's own option parser does, so the shim
// asks guardd about exactly what the tool will do. Two grammars are modelled:
// glibc's getopt_long (util-linux's wipefs and blkdiscard, systemd's reboot family) and
// popt (gdisk's sgdisk). Both are read with argument permutation and without
// POSIXLY_CORRECT: the shim removes that variable before it runs the real tool.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "guardd/result.h"

namespace guardd::shim {

/// Which library parses the tool's arguments.
enum class Grammar {
  GnuGetopt,  // getopt_long: unique prefixes of long options, "-W" not used
  Popt,       // popt: long options by their exact name only
};

/// Whether an option takes a value, as in getopt_long's has_arg.
enum class HasValue {
  No,
  Required,  // attached ("-oVAL", "--opt=VAL") or the next argument, whatever it is
  Optional,  // attached only ("-bVAL", "--opt=VAL")
};

/// One option of a tool's table; `id` is what the planner switches on.
struct OptionSpec {
  char short_name;        // 0 when the option has no short form
  const char* long_name;  // nullptr when the option has no long form
  HasValue value;
  int id;
};

/// Where a piece of text sits in the argument list, so it can be replaced there.
struct ArgSpan {
  size_t index = 0;   // which argument
  size_t offset = 0;  // where the text starts inside it (attached values start past 0)
};

/// One option as the tool's parser returns it, in command-line order.
struct ParsedOption {
  int id = 0;
  std::string spelled;               // as written, for messages: "--al", "-t"
  std::optional<std::string> value;  // its value, if it took one
  ArgSpan value_at;                  // where the value is, when there is one
};

/// The whole command line as the tool sees it.
struct ParsedArgs {
  std::vector<ParsedOption> options;  // in the order the tool processes them
  std::vector<std::string> operands;  // non-option arguments, in order
  std::vector<ArgSpan> operand_at;    // where each operand is
};

/// Parses `args` (argv without argv[0]) against `table` as `grammar` does; the error is
/// the message the shim prints (an unknown, ambiguous or malformed option).
Result<ParsedArgs> parse_options(Grammar grammar, std::span<const OptionSpec> table,
                                 const std::vector<std::string>& args);

}  // namespace guardd::shim
