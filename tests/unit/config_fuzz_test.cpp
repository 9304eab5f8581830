// The shipped config mutated thousands of ways: every variant loads, or is rejected with
// every problem as "file:line: message" (or "file: message" for the file itself).
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <sstream>

#include "daemon/config.h"
#include "daemon/policy.h"
#include "support/harness.h"

namespace guardd {
namespace {

std::string mutate(const std::string& text, std::mt19937& rng) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !lines.empty(); ++e) {
    size_t i = rng() % lines.size();
    switch (rng() % 7) {
      case 0:
        lines.erase(lines.begin() + static_cast<long>(i));
        break;
      case 1:
        lines.insert(lines.begin() + static_cast<long>(i), lines[i]);
        break;
      case 2:
        if (!lines[i].empty()) lines[i][rng() % lines[i].size()] = static_cast<char>(rng() % 256);
        break;
      case 3:
        lines[i] += std::string(rng() % 300, 'x');
        break;
      case 4:
        lines.insert(lines.begin() + static_cast<long>(i),
                     "[" + std::string(1, static_cast<char>('a' + rng() % 26)) + "]");
        break;
      case 5:
        lines[i] = lines[i].substr(0, lines[i].size() / 2);
        break;
      default:
        lines.insert(lines.begin() + static_cast<long>(i),
                     "timeout = " + std::to_string(static_cast<int>(rng())) + "q");
        break;
    }
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(ConfigFuzz, EveryMutationLoadsOrNamesFileAndLine) {
  const std::string shipped = test::read_file(test::source_dir() + "/etc/guardd.conf");
  ASSERT_FALSE(shipped.empty());
  test::TempDir dir;
  const std::string path = dir / "guardd.conf";
  const std::regex located(
      "^" + std::regex_replace(path, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
      R"((:[0-9]+)?: .+)");
  std::mt19937 rng(20261126);
  int loaded = 0, rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    test::write_file(path, mutate(shipped, rng));
    auto c = load_config(path);
    Result<std::shared_ptr<const Policy>> p =
        c ? build_policy(*c, CheckServices{}) : Error{c.error()};
    if (p) {
      ++loaded;
      continue;
    }
    ++rejected;
    std::istringstream lines(p.error());
    for (std::string line; std::getline(lines, line);)
      ASSERT_TRUE(std::regex_match(line, located)) << "variant " << i << ": '" << line << "'";
  }
  EXPECT_GT(loaded, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace guardd
