#include "base/hash.h"

#include <gtest/gtest.h>

#include <vector>

namespace sprout {
namespace {

// Values computed by an independent (Python) implementation of the definition in hash.h; they
// must never change, since hashes may be stored and compared across versions.
TEST(HashLabelsTest, MatchesTheDocumentedDefinition) {
  EXPECT_EQ(HashLabels({}), 0u);
  const std::vector<LabelView> request = {
      {"__name__", "http_requests_total"}, {"job", "api"}, {"method", "GET"}};
  EXPECT_EQ(HashLabels(request), 0xb03254555ddcba9aULL);
  const std::vector<LabelView> long_value = {{"instance", "0f8e5a1c-2b7d-4e36-9a51-6c3d2e1f0a9b"},
                                             {"x", ""}};
  EXPECT_EQ(HashLabels(long_value), 0x635658bba1a2619fULL);
}

TEST(HashLabelsTest, BoundariesBetweenStringsCount) {
  const std::vector<LabelView> a = {{"ab", "c"}};
  const std::vector<LabelView> b = {{"a", "bc"}};
  EXPECT_EQ(HashLabels(a), 0xc1b969cd70596831ULL);
  EXPECT_EQ(HashLabels(b), 0x517d40bbacdf16e7ULL);
  const std::vector<LabelView> c = {{"a", "b"}, {"c", ""}};
  EXPECT_NE(HashLabels(a), HashLabels(c));
}

}  // namespace
}  // namespace sprout
