#include "metrics/tsdb/head/exemplars.h"

#include "gtest/gtest.h"

namespace sprout::metrics::tsdb {
namespace {

using R = ExemplarStore::AddResult;

Exemplar E(int64_t t, double v, std::string_view trace = "t") {
  return Exemplar{Labels::FromStrings({"trace_id", trace}), v, t};
}

TEST(ExemplarStoreTest, RingOverwritesTheOldestOfAnySeries) {
  ExemplarStore store(3);
  EXPECT_EQ(store.Add(1, E(10, 1)), R::kAdded);
  EXPECT_EQ(store.Add(2, E(11, 1)), R::kAdded);
  EXPECT_EQ(store.Add(1, E(12, 1)), R::kAdded);
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(store.Add(2, E(13, 1)), R::kAdded);  // overwrites series 1's t=10
  EXPECT_EQ(store.size(), 3u);
  std::vector<Exemplar> one = store.Get(1, 0, 100);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].t, 12);
  EXPECT_EQ(store.Get(2, 0, 100).size(), 2u);
  EXPECT_EQ(store.Add(3, E(14, 1)), R::kAdded);  // overwrites series 2's t=11
  EXPECT_EQ(store.Add(3, E(15, 1)), R::kAdded);  // overwrites series 1's t=12: 1 is gone
  EXPECT_FALSE(store.Has(1));
  EXPECT_EQ(store.Get(1, 0, 100).size(), 0u);
  EXPECT_EQ(store.Get(2, 0, 100).size(), 1u);
  EXPECT_EQ(store.Get(3, 0, 14).size(), 1u);
}

// A new capacity (a tenant's runtime override) keeps the newest exemplars, in order, and the
// ring then wraps at the new capacity; 0 disables the store.
TEST(ExemplarStoreTest, SetCapacityKeepsTheNewest) {
  ExemplarStore store(4);
  for (int64_t t = 10; t < 14; ++t) EXPECT_EQ(store.Add(t % 2 == 0 ? 1 : 2, E(t, 1)), R::kAdded);
  EXPECT_EQ(store.Add(1, E(14, 1)), R::kAdded);  // full: t=10 goes
  store.SetCapacity(2);
  EXPECT_EQ(store.capacity(), 2u);
  EXPECT_EQ(store.size(), 2u);
  ASSERT_EQ(store.Get(2, 0, 100).size(), 1u);
  EXPECT_EQ(store.Get(2, 0, 100)[0].t, 13);
  ASSERT_EQ(store.Get(1, 0, 100).size(), 1u);
  EXPECT_EQ(store.Get(1, 0, 100)[0].t, 14);
  EXPECT_EQ(store.Add(2, E(15, 1)), R::kAdded);  // overwrites t=13
  EXPECT_FALSE(store.Has(2) && store.Get(2, 0, 14).size() > 0);
  store.SetCapacity(10);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.Add(3, E(16, 1)), R::kAdded);
  EXPECT_EQ(store.size(), 3u);
  store.SetCapacity(0);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.Add(3, E(17, 1)), R::kDisabled);
}

// The ring grows as exemplars arrive (a large capacity costs nothing until used) and Retain on
// a ring that is not full yet keeps the order: later adds continue after the kept ones and
// wrap at the capacity.
TEST(ExemplarStoreTest, RetainOnAGrowingRingThenWrapAtCapacity) {
  ExemplarStore store(4);
  EXPECT_EQ(store.capacity(), 4u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.Add(1, E(10, 1)), R::kAdded);
  EXPECT_EQ(store.Add(2, E(11, 1)), R::kAdded);
  EXPECT_EQ(store.Add(1, E(12, 1)), R::kAdded);
  store.Retain([](uint32_t series, const Exemplar&) { return series == 1; });
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.Has(2));
  EXPECT_EQ(store.Add(3, E(13, 1)), R::kAdded);
  EXPECT_EQ(store.Add(3, E(14, 1)), R::kAdded);
  EXPECT_EQ(store.size(), 4u);
  EXPECT_EQ(store.Add(3, E(15, 1)), R::kAdded);  // full: overwrites the oldest, series 1's t=10
  EXPECT_EQ(store.size(), 4u);
  std::vector<Exemplar> one = store.Get(1, 0, 100);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].t, 12);
  std::vector<Exemplar> three = store.Get(3, 0, 100);
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].t, 13);
  EXPECT_EQ(three[2].t, 15);
}

TEST(ExemplarStoreTest, DuplicatesAndOutOfOrder) {
  ExemplarStore store(10);
  EXPECT_EQ(store.Add(1, E(10, 1)), R::kAdded);
  EXPECT_EQ(store.Add(1, E(10, 1)), R::kDuplicate);
  EXPECT_EQ(store.Add(1, E(9, 5)), R::kOutOfOrder);
  EXPECT_EQ(store.Add(1, E(10, 0.5)), R::kOutOfOrder);  // same time, smaller value
  EXPECT_EQ(store.Add(1, E(10, 2)), R::kAdded);         // same time, larger value
  EXPECT_EQ(store.Add(2, E(1, 1)), R::kAdded);          // other series: own order
  EXPECT_EQ(store.size(), 3u);
  EXPECT_EQ(ExemplarStore(0).Add(1, E(1, 1)), R::kDisabled);
}

}  // namespace
}  // namespace sprout::metrics::tsdb
