#include "net/tenant.h"

#include <string>

#include "gtest/gtest.h"

namespace sprout::net {
namespace {

TEST(TenantTest, ValidIds) {
  for (const char* id : {"a", "team-1", "A_b.c", "x!*'()", "..."}) {
    EXPECT_TRUE(ValidateTenantId(id).ok()) << id;
  }
  EXPECT_TRUE(ValidateTenantId(std::string(150, 'a')).ok());
}

TEST(TenantTest, InvalidIdsGetDskitMessages) {
  EXPECT_EQ(ValidateTenantId("a/b").message(),
            "tenant ID 'a/b' contains unsupported character '/'");
  EXPECT_EQ(ValidateTenantId("a b").message(),
            "tenant ID 'a b' contains unsupported character ' '");
  EXPECT_EQ(ValidateTenantId(std::string(151, 'a')).message(),
            "tenant ID is too long: max 150 characters");
  EXPECT_EQ(ValidateTenantId(".").message(), "tenant ID is '.' or '..'");
  EXPECT_EQ(ValidateTenantId("..").message(), "tenant ID is '.' or '..'");
}

TEST(TenantTest, FromOrgId) {
  auto missing = TenantFromOrgId("", false);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(missing.status().message(), "no org id");
  EXPECT_EQ(*TenantFromOrgId("team", false), "team");
  EXPECT_EQ(*TenantFromOrgId("a|a", false), "a");  // the same tenant twice is one tenant
  auto several = TenantFromOrgId("b|a", false);
  EXPECT_EQ(several.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(several.status().message(), "multiple org IDs present");
  EXPECT_EQ(*TenantFromOrgId("c|a|b|a", true), "a|b|c");
  EXPECT_EQ(TenantFromOrgId("a|b/c", true).status().message(),
            "tenant ID 'b/c' contains unsupported character '/'");
}

}  // namespace
}  // namespace sprout::net
