#include "collector/component.h"

#include <gtest/gtest.h>

namespace sprout::collector {
namespace {

TEST(ComponentIDTest, ParsesTypeAndName) {
  auto id = ComponentID::Parse("otlp/tempo");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->type, "otlp");
  EXPECT_EQ(id->name, "tempo");
  EXPECT_EQ(id->String(), "otlp/tempo");
  EXPECT_EQ(ComponentID::Parse("batch")->String(), "batch");
  EXPECT_EQ(ComponentID::Parse("health_check")->type, "health_check");
}

TEST(ComponentIDTest, RejectsBadIDs) {
  EXPECT_EQ(ComponentID::Parse("otlp/").status().message(),
            "in \"otlp/\" id: the part after / should not be empty");
  EXPECT_FALSE(ComponentID::Parse("1otlp").ok());
  EXPECT_FALSE(ComponentID::Parse("").ok());
  EXPECT_FALSE(ComponentID::Parse("ot-lp").ok());
  EXPECT_FALSE(ComponentID::Parse("otlp/a b").ok());
  EXPECT_FALSE(ComponentID::Parse(std::string(64, 'a')).ok());
  EXPECT_TRUE(ComponentID::Parse(std::string(63, 'a')).ok());
}

}  // namespace
}  // namespace sprout::collector
