#include "base/logging.h"

#include <gtest/gtest.h>

namespace sprout::log {
namespace {

TEST(LoggingTest, FieldsRenderAsZapJson) {
  std::string out;
  AppendFieldsJson({{"kind", "exporter"}, {"n", 3}}, {{"ok", true}, {"msg", "a\"b\n"}}, &out);
  EXPECT_EQ(out, R"({"kind": "exporter", "n": 3, "ok": true, "msg": "a\"b\n"})");
}

TEST(LoggingTest, ParsesLevels) {
  Level level;
  ASSERT_TRUE(ParseLevel("WARN", &level));
  EXPECT_EQ(level, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &level));
}

TEST(LoggingTest, LevelFilters) {
  SetLevel(Level::kWarn);
  EXPECT_FALSE(Logger::Enabled(Level::kInfo));
  EXPECT_TRUE(Logger::Enabled(Level::kError));
  SetLevel(Level::kInfo);
}

}  // namespace
}  // namespace sprout::log
