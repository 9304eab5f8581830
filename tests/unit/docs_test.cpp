// The README's configuration reference must match the one key table.
#include <gtest/gtest.h>

#include "daemon/config_schema.h"
#include "plugins/registry.h"
#include "support/harness.h"

namespace guardd {
namespace {

TEST(Docs, ReadmeDocumentsEveryDaemonKeyWithItsDefault) {
  std::string readme = test::read_file(test::source_dir() + "/README.md");
  ASSERT_FALSE(readme.empty());
  for (const auto& key : daemon_keys()) {
    std::string row = "| `" + std::string(key.name) + "` | ";
    auto at = readme.find(row);
    ASSERT_NE(at, std::string::npos) << "README lacks a row for " << key.name;
    if (!key.default_text.empty()) {
      EXPECT_NE(readme.substr(at, 120).find("`" + std::string(key.default_text) + "`"),
                std::string::npos)
          << "README's default for " << key.name << " differs from " << key.default_text;
    }
  }
}

TEST(Docs, ReadmeAndShippedConfigDocumentEveryCheckType) {
  std::string readme = test::read_file(test::source_dir() + "/README.md");
  for (const auto& type : check_types()) {
    EXPECT_NE(readme.find("| `" + std::string(type.name) + "` |"), std::string::npos) << type.name;
    for (const auto& key : type.keys)
      EXPECT_NE(readme.find("`" + std::string(key.name) + "`"), std::string::npos) << key.name;
  }
  std::string conf = test::read_file(test::source_dir() + "/etc/guardd.conf");
  for (const auto& key : daemon_keys())
    EXPECT_NE(conf.find("\n" + std::string(key.name) + " ="), std::string::npos)
        << "etc/guardd.conf does not document " << key.name;
}

}  // namespace
}  // namespace guardd
