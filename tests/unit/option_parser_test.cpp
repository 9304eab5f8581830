// The shim's getopt_long reading, compared with glibc's own getopt_long on random
// argument lists: same options in the same order with the same values, same operands,
// and an error exactly where getopt_long reports one. (popt's reading is compared with
// the real sgdisk in tests/integration/shim_forms_test.cpp.)
#include <getopt.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <random>

#include "shim/option_parser.h"

namespace guardd::shim {
namespace {

// Options shaped like wipefs's: shared prefixes, all three kinds of value.
constexpr std::array<OptionSpec, 8> kTable{{
    {'a', "all", HasValue::No, 'a'},
    {'b', "backup", HasValue::Optional, 'b'},
    {'n', "no-act", HasValue::No, 'n'},
    {'i', "noheadings", HasValue::No, 'i'},
    {'o', "offset", HasValue::Required, 'o'},
    {'t', "types", HasValue::Required, 't'},
    {0, "lock", HasValue::Optional, 1000},
    {0, "lockless", HasValue::No, 1001},
}};
constexpr const char* kShort = "ab::nio:t:";

struct Reading {
  bool error = false;
  std::vector<std::pair<int, std::string>> options;  // id, value ("<none>" without one)
  std::vector<std::string> operands;
};

Reading glibc_reading(const std::vector<std::string>& args) {
  std::vector<std::string> storage{"tool"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<option> longs;
  for (const auto& s : kTable)
    if (s.long_name)
      longs.push_back({s.long_name,
                       s.value == HasValue::No         ? no_argument
                       : s.value == HasValue::Required ? required_argument
                                                       : optional_argument,
                       nullptr, s.id});
  longs.push_back({nullptr, 0, nullptr, 0});
  Reading r;
  optind = 0;  // glibc: start afresh
  opterr = 0;
  int c;
  while ((c = getopt_long(static_cast<int>(argv.size() - 1), argv.data(), kShort, longs.data(),
                          nullptr)) != -1) {
    if (c == '?' || c == ':') {
      r.error = true;
      return r;
    }
    r.options.emplace_back(c, optarg ? optarg : "<none>");
  }
  for (int i = optind; i < static_cast<int>(argv.size() - 1); ++i) r.operands.push_back(argv[i]);
  return r;
}

Reading shim_reading(const std::vector<std::string>& args) {
  Reading r;
  auto p = parse_options(Grammar::GnuGetopt, kTable, args);
  if (!p) {
    r.error = true;
    return r;
  }
  for (const auto& o : p->options) r.options.emplace_back(o.id, o.value.value_or("<none>"));
  r.operands = p->operands;
  // Each value and operand is found where the shim says it is.
  for (size_t i = 0; i < p->operands.size(); ++i) {
    EXPECT_EQ(args.at(p->operand_at[i].index).substr(p->operand_at[i].offset), p->operands[i]);
  }
  for (const auto& o : p->options) {
    if (o.value) {
      EXPECT_EQ(args.at(o.value_at.index).substr(o.value_at.offset), *o.value);
    }
  }
  return r;
}

TEST(OptionParser, ReadsLikeGlibcGetoptLong) {
  ASSERT_EQ(std::getenv("POSIXLY_CORRECT"), nullptr) << "getopt_long would not permute";
  const std::vector<std::string> words{
      "-a",       "-an",      "-ab",     "-b",         "-bdir",    "-o",     "-o5",  "-ao5",
      "-t",       "-tnox",    "-x",      "-",          "--",       "--all",  "--al", "--a",
      "--no",     "--no-act", "--noh",   "--all=1",    "--offset", "--off=", "--lo", "--lock",
      "--lock=x", "--lockl",  "--bogus", "--backup=d", "/dev/sdb", "value",  "-n-",  "--="};
  std::mt19937 rng(20261201);
  int errors = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> args(rng() % 7);
    for (auto& a : args) a = words[rng() % words.size()];
    Reading want = glibc_reading(args), got = shim_reading(args);
    std::string line;
    for (const auto& a : args) line += " " + a;
    ASSERT_EQ(got.error, want.error) << line;
    errors += want.error;
    if (want.error) continue;
    ASSERT_EQ(got.options, want.options) << line;
    ASSERT_EQ(got.operands, want.operands) << line;
  }
  // Both kinds of answer were exercised.
  EXPECT_GT(errors, 1000);
  EXPECT_LT(errors, 19000);
}

}  // namespace
}  // namespace guardd::shim
